"""The photo page with many faces and on a phone (issue 14, bug 8): labels on hover or focus on
a crowded photo, numbered chips that open the face panel, and nothing overflows at 390 px."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from accounts.tests.flows import make_verified_user
from e2e.helpers import PHONE, add_photos, assert_accessible, log_in, wait_processed, watch_console
from faces.models import Face

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]


def crowd(faces_dir: Path, folder: Path, columns: int = 6, rows: int = 4) -> Path:
    """A crowded photo: LFW portraits (250 px, one person each, sometimes one behind) side by
    side, as a class photo or a wedding."""
    portraits = [p for p in sorted(faces_dir.glob("*/*.jpg")) if Image.open(p).size == (250, 250)]
    sheet = Image.new("RGB", (250 * columns, 250 * rows), "white")
    for n, path in enumerate(portraits[: columns * rows]):
        with Image.open(path) as portrait:
            sheet.paste(portrait.convert("RGB"), ((n % columns) * 250, (n // columns) * 250))
    path = folder / "crowd.jpg"
    sheet.save(path, quality=90)
    return path


def overflow(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_a_crowded_photo_stays_readable_on_a_desktop_and_a_phone(
    page: Page, live_server, celery_worker_process, faces_dir, tmp_path
):
    alice = make_verified_user("alice@example.com", "correct-horse-battery-42", display_name="Alice")
    (photo,) = add_photos(alice, [crowd(faces_dir, tmp_path)])
    wait_processed(alice, celery_worker_process)
    count = Face.objects.filter(photo=photo).count()
    assert count >= 20, f"the detector found {count} faces in the crowd"

    errors = watch_console(page)
    log_in(page, live_server.url, alice)
    page.goto(f"{live_server.url}/photos/{photo.pk}/")
    boxes = page.locator("a.face-box")
    expect(boxes).to_have_count(count)
    # No pile of labels: they show on hover or focus only.
    labels = page.locator("a.face-box .face-label")
    assert sum(label.is_visible() for label in labels.all()) == 0
    boxes.nth(4).hover()
    expect(boxes.nth(4).locator(".face-label")).to_be_visible()
    expect(boxes.nth(4).locator(".face-label")).to_have_text("Unknown 5")

    # The chips under the photo tell the faces apart and open their panel.
    chips = page.locator("#face-legend a.face-chip")
    expect(chips).to_have_count(count)
    assert len(set(chips.all_inner_texts())) == count, chips.all_inner_texts()
    chips.nth(6).hover()
    expect(boxes.nth(6).locator(".face-label")).to_be_visible()  # pointing at a chip shows its box
    chips.nth(6).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Unknown face")).to_be_visible()
    dialog.get_by_label("Who is this?").fill("Someone In The Crowd")
    page.keyboard.press("Enter")
    expect(dialog.get_by_role("heading", name="Someone In The Crowd")).to_be_visible()
    page.keyboard.press("Escape")
    expect(chips.filter(has_text="Someone In The Crowd")).to_have_count(1)  # the chips follow the change
    assert_accessible(page, "crowded photo")
    assert overflow(page) <= 0

    # On a phone nothing makes the page scroll sideways, labels shown or not.
    page.set_viewport_size(PHONE)
    page.reload()
    expect(boxes).to_have_count(count)
    assert overflow(page) <= 0
    for n in range(count):
        boxes.nth(n).focus()
        assert overflow(page) <= 0, f"the label of face {n + 1} sticks out of the page"
    assert_accessible(page, "crowded photo (phone)")
    assert errors == [], errors
