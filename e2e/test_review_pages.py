"""The review grid a page of people at a time (issue 16): a big queue is never drawn whole;
"Next people" and "Previous people" move through it (with htmx, and as links), and a bulk
answer on a later page keeps that page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.tests.flows import make_verified_user
from e2e.helpers import assert_accessible, log_in, watch_console
from faces.models import Face
from smartgallery.tests.factories import FaceFactory, PersonFactory

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queue(live_server):
    alice = make_verified_user("alice@example.com", "correct-horse-battery-42", display_name="Alice")
    persons = [PersonFactory(owner=alice, name=f"Person {k}", faces__crop=True) for k in range(7)]
    for k, person in enumerate(persons):  # 12 suggestions each: 5 persons fill a page of 60
        for i in range(12):
            FaceFactory(owner=alice, person=person, state=Face.State.SUGGESTED, similarity=0.9 - k / 10 - i / 1000)
    return alice, persons


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}], ids=["desktop", "phone"]
)
def test_next_and_previous_people_move_through_the_grid(page: Page, live_server, queue, viewport, screenshots):
    alice, persons = queue
    page.set_viewport_size(viewport)
    errors = watch_console(page)
    log_in(page, live_server.url, alice)
    page.goto(f"{live_server.url}/people/review/?mode=grid")
    grid = page.locator("#review-grid")
    expect(grid.locator("section.review-person")).to_have_count(5)
    expect(grid).to_contain_text("84 suggestions left")
    expect(page.get_by_role("button", name="No to all 60 on this page")).to_be_visible()
    pager = page.get_by_role("navigation", name="More people to review")
    expect(pager.get_by_role("link", name="Previous people")).to_have_count(0)
    screenshots(page, "review-grid-pages", show=pager)
    assert_accessible(page, "review grid, first page")

    pager.get_by_role("link", name="Next people").click()
    expect(page).to_have_url(re.compile(r"mode=grid&from=5$"))
    expect(grid.locator("section.review-person")).to_have_count(2)
    expect(grid.get_by_role("heading", name=re.compile("Person 6"))).to_be_visible()
    expect(page.get_by_role("button", name="No to all 24 on this page")).to_be_visible()

    # No to all on this page: the second page's people are answered, the last page is shown.
    page.get_by_role("button", name="No to all 24 on this page").click()
    expect(grid).to_contain_text("60 suggestions left")
    expect(grid.locator("section.review-person")).to_have_count(5)
    expect(grid.get_by_role("heading", name=re.compile("Person 0"))).to_be_visible()
    assert Face.objects.filter(person__in=persons[5:], state=Face.State.SUGGESTED).count() == 0
    assert errors == [], errors
