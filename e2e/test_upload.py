"""Upload feedback (issue 14, bug 4): rows update live as the worker finishes each photo, the
progress stays pinned at the top however long the list, and the end says what to do next."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.tests.flows import make_verified_user
from e2e.helpers import assert_accessible, log_in, watch_console
from faces.models import Face
from gallery.models import Photo

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]


def test_rows_update_live_and_the_progress_stays_in_view(
    page: Page, live_server, celery_worker_process, faces_dir, tmp_path
):
    alice = make_verified_user("alice@example.com", "correct-horse-battery-42", display_name="Alice")
    photos = (
        sorted((faces_dir / "Colin_Powell").glob("*.jpg"))[:3] + sorted((faces_dir / "Tony_Blair").glob("*.jpg"))[:3]
    )
    # Files that are no photos make the list long (rejected at once, nothing for the worker).
    junk = []
    for n in range(25):
        path = tmp_path / f"notes-{n:02}.jpg"
        path.write_bytes(b"not a photo at all " * 10)
        junk.append(path)

    errors = watch_console(page, expected_statuses=(400,))  # the files that are no photos
    log_in(page, live_server.url, alice)
    page.goto(f"{live_server.url}/photos/upload/")
    page.evaluate("window.__noReload = true")
    page.get_by_label("Choose photos").set_input_files([str(p) for p in photos + junk])
    rows = page.locator("#upload-results .upload-result")
    expect(rows).to_have_count(31)
    expect(page.locator("#upload-results .upload-rejected")).to_have_count(25, timeout=30_000)

    # The progress is in view at the bottom of the long list.
    panel = page.locator("#upload-progress")
    expect(panel).to_be_visible()
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_timeout(300)
    box = panel.bounding_box()
    assert box is not None and 0 <= box["y"] < 250, box

    # Each photo's row says it is done, and how many faces, as the worker finishes it.
    accepted = page.locator("#upload-results .upload-accepted")
    expect(accepted).to_have_count(6)
    for photo in Photo.objects.filter(owner=alice):
        row = page.locator(f"#upload-row-{photo.pk}")
        expect(row).to_contain_text(re.compile(r"Done · (\d+ faces?|no faces)"), timeout=120_000)
    for photo in Photo.objects.filter(owner=alice):
        faces = Face.objects.filter(photo=photo).count()
        expected = f"{faces} face{'s' if faces != 1 else ''}" if faces else "no faces"
        expect(page.locator(f"#upload-row-{photo.pk}")).to_contain_text(f"Done · {expected}")

    # The end: how many photos and faces, and what to do next.
    expect(panel).to_contain_text("6 photos", timeout=60_000)
    summary = panel.locator(".upload-summary")
    expect(summary).to_be_visible(timeout=60_000)
    faces = Face.objects.filter(owner=alice).count()
    expect(summary).to_contain_text(f"6 photos, {faces} faces")
    expect(summary).to_contain_text(
        re.compile(r"new (person|people) to name|unknown faces? to name|everyone recognised")
    )
    if "to name" in summary.inner_text():
        expect(panel.get_by_role("link", name="Name them")).to_have_attribute("href", "/people/")
    assert page.evaluate("window.__noReload === true"), "the upload page was reloaded"
    assert_accessible(page, "upload (done)")
    assert errors == [], errors
