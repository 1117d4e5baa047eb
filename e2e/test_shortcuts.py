"""The keyboard help (issue 14): "?" on the photo and review pages opens a list of the page's
shortcuts, which act on nothing behind it while it is open; Escape closes it and the keys work
again. Served by us (static/js/app.js), no CDN."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from accounts.tests.flows import make_verified_user
from e2e.helpers import add_photos, assert_accessible, log_in, wait_processed
from faces.models import Face, Person
from gallery.models import Photo

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]


def test_question_mark_opens_the_keyboard_help_on_the_photo_and_review_pages(
    page: Page, live_server, celery_worker_process, faces_dir, screenshots
):
    alice = make_verified_user("alice@example.com", "correct-horse-battery-42", display_name="Alice")
    newer, older = add_photos(alice, sorted((faces_dir / "Colin_Powell").glob("*.jpg"))[:2])
    wait_processed(alice, celery_worker_process)
    Photo.objects.filter(pk=older.pk).update(taken_at=newer.taken_at.replace(year=2020))
    base = live_server.url
    log_in(page, base, alice)

    page.goto(f"{base}/photos/{newer.pk}/")
    shortcuts_help = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(shortcuts_help).to_be_hidden()
    page.keyboard.press("?")
    expect(shortcuts_help).to_be_visible()
    expect(shortcuts_help).to_contain_text("Older photo")
    assert_accessible(page, "photo page, keyboard help")
    screenshots(page, "shortcuts-photo")
    page.keyboard.press("ArrowRight")  # behind the help: nothing moves
    expect(page).to_have_url(f"{base}/photos/{newer.pk}/")
    page.keyboard.press("Escape")
    expect(shortcuts_help).to_be_hidden()
    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(f"{base}/photos/{older.pk}/")
    # The button says the key, for those who do not guess it; focus comes back to it.
    button = page.get_by_role("button", name="Keyboard shortcuts")
    button.click()
    expect(shortcuts_help).to_be_visible()
    page.keyboard.press("Escape")
    expect(button).to_be_focused()

    # The review queue: Y answers the card, but not while the help is open.
    colin = Person.objects.create(owner=alice, name="Colin Powell")
    face = Face.objects.filter(photo=newer).order_by("-size_px", "id").first()
    Face.objects.filter(pk=face.pk).update(
        state=Face.State.SUGGESTED, person=colin, similarity=0.42, recognisable=False
    )
    page.goto(f"{base}/people/review/")
    expect(page.locator("[data-review]")).to_contain_text("Colin Powell")
    page.keyboard.press("?")
    expect(shortcuts_help).to_contain_text("Yes: the suggestion on the card is right")
    page.keyboard.press("y")
    page.wait_for_timeout(300)
    assert Face.objects.get(pk=face.pk).state == Face.State.SUGGESTED
    page.keyboard.press("Escape")
    page.keyboard.press("y")
    expect(page.locator(".toast").first).to_be_visible()
    assert Face.objects.get(pk=face.pk).state == Face.State.CONFIRMED
