"""An answer and a refresh of the region it was given in must not cross (static/js/app.js): a
region redrawn while the answer's POST is in flight used to detach the form that sent it, so
the answer (its toast, its Undo) went into the detached copy and htmx reported the toast's
target missing. Each test holds one request in the browser to put the two in that order."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, Route, expect

from accounts.tests.flows import make_verified_user
from e2e.helpers import log_in, watch_console
from faces.models import Face, FaceRejection
from smartgallery.tests.factories import PersonFactory

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def anna_page(page: Page, live_server):
    alice = make_verified_user("alice@example.com", "correct-horse-battery-42", display_name="Alice")
    anna = PersonFactory(owner=alice, name="Anna", faces=3, faces__crop=True)
    errors = watch_console(page)
    log_in(page, live_server.url, alice)
    page.goto(f"{live_server.url}/people/{anna.pk}/")
    face = anna.faces.order_by("id").first()
    expect(page.locator("#person-photos li.tile")).to_have_count(3)
    return page, anna, face, errors


def held(page: Page, pattern, method: str) -> list[Route]:
    """Requests matching `pattern` and `method` wait in the browser until the test lets them go."""
    routes: list[Route] = []

    def hold(route: Route) -> None:
        if route.request.method == method:
            routes.append(route)
        else:
            route.continue_()

    page.route(pattern, hold)
    return routes


def answered(page: Page, anna, face, errors) -> None:
    expect(page.locator(".toast", has_text="Not Anna: remembered.")).to_be_visible()
    expect(page.locator(f"#person-tile-{face.pk}")).to_have_count(0)
    assert FaceRejection.objects.filter(face=face, person=anna).exists()
    assert Face.objects.get(pk=face.pk).state == Face.State.UNKNOWN
    assert errors == [], errors


def test_a_refresh_waits_for_an_answer_in_flight(anna_page):
    page, anna, face, errors = anna_page
    posts = held(page, re.compile(r"/reject/$"), "POST")
    page.locator(f"#person-tile-{face.pk}").get_by_role("button", name=re.compile("^Not Anna")).click()
    page.wait_for_function("() => document.querySelector('form.htmx-request')")
    assert len(posts) == 1
    # The worker's re-match ticks while the answer is on its way: the photos are not redrawn.
    page.evaluate("document.body.dispatchEvent(new CustomEvent('recognitionTick', {bubbles: true}))")
    page.wait_for_timeout(500)
    posts[0].continue_()
    answered(page, anna, face, errors)


def test_an_answer_aborts_a_refresh_in_flight(anna_page):
    page, anna, face, errors = anna_page
    refreshes = held(page, re.compile(rf"/people/{anna.pk}/$"), "GET")
    posts = held(page, re.compile(r"/reject/$"), "POST")
    page.evaluate("document.body.dispatchEvent(new CustomEvent('recognitionTick', {bubbles: true}))")
    page.wait_for_function("() => document.querySelector('[hx-select=\"#person-photos\"].htmx-request')")
    page.locator(f"#person-tile-{face.pk}").get_by_role("button", name=re.compile("^Not Anna")).click()
    page.wait_for_function("() => document.querySelector('form.htmx-request')")
    # The refreshes' answers (the heading, the photos, the suggestions), made before the POST
    # reached the server, come in first.
    assert len(refreshes) >= 2
    for route in refreshes:
        route.fulfill(response=route.fetch())
    page.wait_for_timeout(300)
    posts[0].continue_()
    answered(page, anna, face, errors)


def test_a_refresh_does_not_land_under_a_name_being_typed(page: Page, live_server):
    # The naming trial (bench.naming_trial) named a group "ll" instead of "Colin_Powell": a
    # background refresh sent just before the user clicked into the name field came back while
    # they typed, and the redrawn card took the first letters with the old field.
    from faces.models import FaceGroup, Person
    from smartgallery.tests.factories import FaceGroupFactory

    alice = make_verified_user("alice@example.com", "correct-horse-battery-42", display_name="Alice")
    group = FaceGroupFactory(owner=alice, faces=3)
    errors = watch_console(page)
    log_in(page, live_server.url, alice)
    page.goto(f"{live_server.url}/people/")
    field = page.locator(f"#group-name-{group.pk}")
    expect(field).to_be_visible()
    refreshes = held(page, re.compile(r"/people/(\?.*)?$"), "GET")
    page.evaluate("document.body.dispatchEvent(new CustomEvent('recognitionTick', {bubbles: true}))")
    page.wait_for_function("() => document.querySelector('.htmx-request')")
    assert refreshes
    field.click()
    field.press_sequentially("Colin_Powe")
    for route in refreshes:
        route.fulfill(response=route.fetch())
    page.wait_for_timeout(300)
    field.press_sequentially("ll")
    field.press("Enter")
    expect(page.locator(".toast", has_text="Colin_Powell")).to_be_visible()
    assert list(Person.objects.filter(owner=alice).values_list("name", flat=True)) == ["Colin_Powell"]
    assert not FaceGroup.objects.filter(pk=group.pk, faces__state=Face.State.UNKNOWN).exists()
    assert errors == [], errors
