"""Share with family (issue 17, item 3): alice invites carol by email, carol switches to alice's
library in the header and browses it (photos, a photo, people, a person), read-only; alice
stops sharing, and carol's next click is refused."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import Browser, Page, expect

from accounts.tests.flows import make_verified_user
from e2e.conftest import DESKTOP
from e2e.helpers import add_photos, assert_accessible, log_in, wait_processed, watch_console
from faces import services as face_services
from faces.models import Face
from sharing.models import Share

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]


def test_a_library_shared_with_family_until_the_owner_stops(
    page: Page, browser: Browser, live_server, celery_worker_process, faces_dir, screenshots
):
    alice = make_verified_user("alice@example.com", "correct-horse-battery-42", display_name="Alice")
    carol = make_verified_user("carol@example.com", "staple-battery-horse-24", display_name="Carol")
    photos = add_photos(alice, [*sorted((faces_dir / "Colin_Powell").glob("*.jpg"))[:3]])
    photos += add_photos(alice, sorted((faces_dir / "George_W_Bush").glob("*.jpg"))[:3])
    wait_processed(alice, celery_worker_process)
    for photo in photos[:3]:
        face = Face.objects.filter(photo=photo).order_by("-size_px").first()
        face_services.face_assign(user=alice, face_id=face.id, name="Colin Powell")
    base = live_server.url

    # alice invites carol from her account page.
    errors = watch_console(page)
    log_in(page, base, alice)
    page.goto(f"{base}/accounts/settings/")
    page.get_by_role("link", name="Share your library…").click()
    expect(page.get_by_role("heading", name="Sharing", exact=True)).to_be_visible()
    page.get_by_label("Their email address").fill("carol@example.com")
    page.get_by_role("button", name="Invite").click()
    expect(page.get_by_role("status")).to_contain_text("Invitation sent to carol@example.com.")
    expect(page.get_by_role("button", name="Stop sharing with carol@example.com")).to_be_visible()
    assert [m.to for m in mail.outbox] == [["carol@example.com"]]
    assert_accessible(page, "sharing")
    screenshots(page, "sharing")

    # carol, in her own browser, switches to alice's library.
    context = browser.new_context(viewport=DESKTOP, locale="en-GB", timezone_id="Europe/London")
    viewer = context.new_page()
    viewer_errors = watch_console(viewer, expected_statuses=(404,))
    log_in(viewer, base, carol)
    viewer.goto(f"{base}/photos/")
    switcher = viewer.locator("details.library-switcher")
    switcher.locator("summary").click()
    expect(switcher.get_by_role("link", name="Alice’s library")).to_be_visible()
    screenshots(viewer, "library-switcher")
    switcher.get_by_role("link", name="Alice’s library").click()
    share = Share.objects.get(owner=alice)
    expect(viewer).to_have_url(f"{base}/shared/{share.id}/")
    expect(viewer.get_by_role("heading", name="Alice’s photos")).to_be_visible()
    expect(viewer.locator("#timeline a.tile img")).to_have_count(6)
    expect(viewer.locator("details.library-switcher summary")).to_contain_text("Alice’s library")
    assert_accessible(viewer, "shared library")
    screenshots(viewer, "shared-library")

    # A photo: the named face, the original to download, nothing to change.
    viewer.locator("#timeline a.tile").last.click()
    expect(viewer.get_by_role("link", name="Download original")).to_be_visible()
    expect(viewer.get_by_role("button")).to_have_count(0)  # no delete, no naming
    with viewer.expect_download() as download:
        viewer.get_by_role("link", name="Download original").click()
    assert download.value.suggested_filename.endswith(".jpg")

    # People, a person, their photos.
    viewer.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    expect(viewer.get_by_role("heading", name="People")).to_be_visible()
    viewer.get_by_role("link", name="Colin Powell").first.click()
    expect(viewer.get_by_role("heading", name="Colin Powell")).to_be_visible()
    expect(viewer.locator("#person-photos .photo-tile")).to_have_count(3)
    assert_accessible(viewer, "shared person")
    screenshots(viewer, "shared-person")
    tile = viewer.locator("#person-photos .photo-tile a").first
    expect(tile).to_have_attribute("href", re.compile(rf"^/shared/{share.id}/photos/\d+/$"))

    # alice stops sharing; carol's next click is refused, and her own library is still hers.
    page.get_by_role("button", name="Stop sharing with carol@example.com").click()
    expect(page.get_by_role("status")).to_contain_text("carol@example.com can no longer see your library.")
    tile.click()
    expect(viewer.get_by_role("heading", name="Not Found")).to_be_visible()
    viewer.goto(f"{base}/photos/")
    expect(viewer.locator("details.library-switcher")).to_have_count(0)
    context.close()
    assert errors == [], errors
    assert viewer_errors == [], viewer_errors
