"""The People page draws 60 named persons; "Show more people" brings the next ones in place, on
the owner's page and on a library shared with a viewer."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.tests.flows import make_verified_user
from e2e.helpers import DESKTOP, PHONE, log_in, watch_console
from sharing.models import Share
from smartgallery.tests.factories import FaceGroupFactory, PersonFactory

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_show_more_people_adds_the_next_page_in_place(page: Page, live_server, screenshots):
    alice = make_verified_user("alice@example.com", "correct-horse-battery-42", display_name="Alice")
    for k in range(65):
        PersonFactory(owner=alice, name=f"Person {k:02d}", faces=0)
    errors = watch_console(page)
    log_in(page, live_server.url, alice)

    page.goto(f"{live_server.url}/people/?sort=name")
    names = page.locator("#people-list .person-name")
    expect(names).to_have_count(60)
    more = page.get_by_role("link", name="Show more people")
    screenshots(page, "people-show-more", show=more)
    more.click()
    expect(names).to_have_count(65)
    expect(names.nth(60)).to_have_text("Person 60")
    expect(names.last).to_have_text("Person 64")
    expect(more).to_have_count(0)
    expect(page).to_have_url(f"{live_server.url}/people/?sort=name")  # in place, not a new page
    assert errors == [], errors


def test_show_more_groups_adds_the_next_group_cards_in_place(page: Page, live_server):
    alice = make_verified_user("alice@example.com", "correct-horse-battery-42", display_name="Alice")
    PersonFactory(owner=alice, name="Anna", faces=1)
    for _ in range(14):
        FaceGroupFactory(owner=alice, faces=2)
    errors = watch_console(page)
    log_in(page, live_server.url, alice)

    page.goto(f"{live_server.url}/people/")
    cards = page.locator("#groups .group-card")
    expect(cards).to_have_count(12)
    page.get_by_role("link", name="Show more groups").click()
    expect(cards).to_have_count(14)
    expect(page.get_by_role("link", name="Show more groups")).to_have_count(0)
    # The new cards' forms work like the first ones: naming one takes it off the list.
    card = cards.last
    card.get_by_label("Who is this?").fill("Bea")
    card.get_by_role("button", name="Name all 2").click()
    expect(cards).to_have_count(12)  # the groups' refresh (facesChanged) starts again at page 1
    assert errors == [], errors


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_show_more_people_on_a_shared_library_adds_the_next_cards_in_place(
    viewport, page: Page, live_server, screenshots
):
    alice = make_verified_user("alice@example.com", "correct-horse-battery-42", display_name="Alice")
    carol = make_verified_user("carol@example.com", "staple-battery-horse-24", display_name="Carol")
    # Most photos first: "Person 00" has 2, the others 1 each, by name.
    for k in range(65):
        PersonFactory(owner=alice, name=f"Person {k:02d}", faces=2 if k == 0 else 1, faces__crop=True)
    share = Share.objects.create(owner=alice, email=carol.email, viewer=carol)
    page.set_viewport_size(viewport)
    errors = watch_console(page)
    log_in(page, live_server.url, carol)

    url = f"{live_server.url}/shared/{share.id}/people/"
    page.goto(url)
    cards = page.locator("#people-list .person-card")
    expect(cards).to_have_count(60)
    expect(cards.first.locator(".person-counts")).to_have_text("2 photos")
    more = page.get_by_role("link", name="Show more people")
    more.click()
    expect(cards).to_have_count(65)
    expect(cards.nth(60).locator(".person-name")).to_have_text("Person 60")
    expect(cards.last.locator(".person-name")).to_have_text("Person 64")
    # The new cards are whole: a cover from the shared library, the count, a link into the share.
    new = cards.nth(60)
    expect(new.locator("img.face-thumb")).to_have_attribute(
        "src", re.compile(rf"^/shared/{share.id}/faces/\d+/crop.jpg$")
    )
    expect(new.locator(".person-counts")).to_have_text("1 photo")
    expect(new.get_by_role("link")).to_have_attribute("href", re.compile(rf"^/shared/{share.id}/people/\d+/$"))
    expect(more).to_have_count(0)
    expect(page).to_have_url(url)  # in place, not a new page
    if viewport == PHONE:
        screenshots(page, "shared-people-show-more", show=new)
    new.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Person 60")).to_be_visible()
    assert errors == [], errors
