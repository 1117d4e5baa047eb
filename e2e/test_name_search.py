"""Find a person (issue 14): typing part of a name narrows the People list as you type and the
pick list of Photos by people; accents and case are ignored, and it is all keyboard-usable."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from accounts.tests.flows import make_verified_user
from e2e.conftest import DESKTOP, PHONE
from e2e.helpers import assert_accessible, log_in, watch_console
from sharing.models import Share
from smartgallery.tests.factories import PersonFactory

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_typing_part_of_a_name_narrows_the_lists(page: Page, live_server):
    alice = make_verified_user("alice@example.com", "correct-horse-battery-42", display_name="Alice")
    for name in ("Zoë Ørsted", "Anna Schmidt", "Joanna", "Ben"):
        PersonFactory(owner=alice, name=name, faces=0)
    errors = watch_console(page)
    log_in(page, live_server.url, alice)

    page.goto(f"{live_server.url}/people/")
    names = page.locator("#people-list .person-name")
    expect(names).to_have_count(4)
    # Keyboard only: the field is labelled, and what it finds is the next stop of Tab.
    search = page.get_by_label("Find a person")
    search.focus()
    page.keyboard.type("zoe")
    expect(names).to_have_text(["Zoë Ørsted"])
    expect(page).to_have_url(f"{live_server.url}/people/?q=zoe&sort=count")
    expect(search).to_be_focused()  # the list was swapped, not the field
    search.fill("")
    page.keyboard.type("ANNA")
    expect(names).to_have_count(2)
    page.keyboard.press("Enter")  # a plain GET: the same answer as a whole page
    expect(page).to_have_url(f"{live_server.url}/people/?q=ANNA&sort=count")
    expect(names).to_have_text(["Anna Schmidt", "Joanna"])
    assert_accessible(page, "people, searched")
    page.get_by_label("Find a person").focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="most photos")).to_be_focused()

    # Photos by people: the pick list narrows the same way; a picked person stays in it.
    page.goto(f"{live_server.url}/people/photos/")
    picks = page.locator("#person-picks .pick label")
    expect(picks).to_have_count(4)
    page.get_by_label("Ben").check()
    page.get_by_label("Find a person").fill("ORST")
    expect(picks).to_have_text(["Ben", "Zoë Ørsted"])
    expect(page.get_by_label("Ben")).to_be_checked()
    assert_accessible(page, "photos by people, searched")
    assert errors == [], errors


def test_find_a_person_in_a_library_shared_with_me(page: Page, live_server, screenshots):
    """The same search on the read-only pages of a shared library: the owner's people only."""
    alice = make_verified_user("alice@example.com", "correct-horse-battery-42", display_name="Alice")
    carol = make_verified_user("carol@example.com", "staple-battery-horse-24", display_name="Carol")
    for name in ("Zoë Ørsted", "Anna Schmidt", "Joanna", "Ben"):
        PersonFactory(owner=alice, name=name, faces=0)
    PersonFactory(owner=carol, name="Zoe of Carol", faces=0)
    share = Share.objects.create(owner=alice, email=carol.email, viewer=carol)
    errors = watch_console(page)
    log_in(page, live_server.url, carol)
    base = f"{live_server.url}/shared/{share.id}"

    page.goto(f"{base}/people/")
    names = page.locator("#people-list .person-name")
    expect(names).to_have_count(4)
    search = page.get_by_label("Find a person")
    search.focus()
    page.keyboard.type("zoe")
    expect(names).to_have_text(["Zoë Ørsted"])  # never carol's own Zoe
    expect(page).to_have_url(f"{base}/people/?q=zoe")
    expect(search).to_be_focused()
    search.fill("")
    page.keyboard.type("ANNA")
    expect(names).to_have_count(2)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/people/?q=ANNA")
    expect(names).to_have_text(["Anna Schmidt", "Joanna"])
    assert_accessible(page, "shared people, searched")
    screenshots(page, "shared-people-search")
    page.set_viewport_size(PHONE)
    assert_accessible(page, "shared people, searched, phone")
    page.set_viewport_size(DESKTOP)

    page.goto(f"{base}/people/photos/")
    picks = page.locator("#person-picks .pick label")
    expect(picks).to_have_count(4)
    page.get_by_label("Ben").check()
    page.get_by_label("Find a person").fill("ORST")
    expect(picks).to_have_text(["Ben", "Zoë Ørsted"])
    expect(page.get_by_label("Ben")).to_be_checked()
    assert_accessible(page, "shared photos by people, searched")
    page.set_viewport_size(PHONE)
    assert_accessible(page, "shared photos by people, searched, phone")
    assert errors == [], errors
