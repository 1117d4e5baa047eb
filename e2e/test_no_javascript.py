"""Without JavaScript the pages still read, and the main actions are plain full-page forms."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from accounts.tests.flows import make_verified_user
from e2e.helpers import DESKTOP, sign_in, wait_until
from gallery.models import Photo

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]


def test_reading_and_naming_without_javascript(browser: Browser, live_server, celery_worker_process, faces_dir):
    base = live_server.url
    make_verified_user("carol@example.com", "carol-password-5678", display_name="Carol")
    context = browser.new_context(java_script_enabled=False, viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, base, "carol@example.com", "carol-password-5678")

    # The plain upload form posts every chosen file at once and lists the results.
    page.goto(f"{base}/photos/upload/")
    photos = sorted((faces_dir / "Colin_Powell").glob("*.jpg"))[:3]
    page.get_by_label("Choose photos").set_input_files([str(p) for p in photos])
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#upload-results .upload-accepted")).to_have_count(3)
    wait_until(
        lambda: Photo.objects.filter(owner__email="carol@example.com", status="done").count() == 3,
        timeout=60,
        message=lambda: "the worker did not process the photos:\n" + celery_worker_process.log_text()[-3000:],
    )

    # Timeline → photo → face: every step is a link with an href.
    page.goto(f"{base}/photos/")
    expect(page.locator("#timeline a.tile img")).to_have_count(3)
    page.get_by_role("link", name=photos[0].name).click()
    expect(page.get_by_role("heading", name=photos[0].name)).to_be_visible()
    page.locator("a.face-box").first.click()
    expect(page.get_by_role("heading", name="Unknown face")).to_be_visible()

    # Naming is a full-page form: POST, then back to the photo with a message.
    page.get_by_label("Who is this?").fill("Colin Powell")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".message", has_text="Named Colin Powell.")).to_be_visible()
    expect(page.get_by_role("heading", name=photos[0].name)).to_be_visible()
    expect(page.locator("a.face-box")).to_contain_text("Colin Powell")

    # A face the detector missed: "Add a face" is a page where its box is typed in pixels.
    page.get_by_role("link", name="Add a face").click()
    expect(page.get_by_role("heading", name="Add a face")).to_be_visible()
    page.get_by_label("Left").fill("1")
    page.get_by_label("Top").fill("1")
    page.get_by_label("Right").fill("5")
    page.get_by_label("Bottom").fill("40")
    page.get_by_role("button", name="Add the face").click()
    expect(page.get_by_role("alert")).to_contain_text("The box is too small")
    page.get_by_label("Right").fill("40")
    page.get_by_role("button", name="Add the face").click()
    expect(page.locator(".message", has_text="Face added as unknown.")).to_be_visible()
    expect(page.locator("a.face-box")).to_have_count(2)
    page.goto(page.url)  # the photo again, without the face box's message

    # The person page reads, and renaming (a <details> form) works without a script.
    page.locator("a.face-box", has_text="Colin Powell").click()
    page.get_by_role("link", name="All photos of Colin Powell").click()
    expect(page.get_by_role("heading", name="Colin Powell", level=1)).to_be_visible()
    expect(page.locator("#person-photos li.tile").first).to_be_visible()
    page.get_by_text("Rename", exact=True).click()
    page.get_by_label("New name").fill("General Powell")
    page.get_by_role("button", name="Save").first.click()
    expect(page.locator(".message", has_text="Renamed.")).to_be_visible()
    expect(page.get_by_role("heading", name="General Powell", level=1)).to_be_visible()

    # The people page lists him with a link.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    page.locator("#people-list").get_by_role("link", name="General Powell").click()
    expect(page.get_by_role("heading", name="General Powell", level=1)).to_be_visible()
    context.close()
