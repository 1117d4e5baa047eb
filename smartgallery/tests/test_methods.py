"""Which methods each route takes, the same way in both apps (issue 12 item 2, issue 15 item 9).

- A signed-out visitor is sent to sign in by every route that needs an account, whatever the
  method: `login_required` is the outer decorator everywhere, so a POST-only view never
  answers an anonymous GET with 405 (and tells nothing about which methods it takes).
- HEAD answers wherever GET does (`require_safe`), as HTTP asks: monitors and link checkers
  send HEAD.

The routes come from the URLconf walk shared with the isolation matrix.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from smartgallery.tests.test_isolation_matrix import METHODS, ROUTES, body_of, send, url_for
from smartgallery.tests.world import plain_routes

ALL_ROUTES = [*plain_routes(), *ROUTES]


def _url(route, objects) -> str:
    return url_for(route, objects) if route.kwargs else reverse(route.name)


def _goes_to_login(response) -> bool:
    """The redirect of login_required: to the sign-in page, coming back here afterwards (the
    code page's own redirect, when no sign-in is pending, has no `next`)."""
    return response.status_code == 302 and response["Location"].startswith(f"{settings.LOGIN_URL}?next=")


@pytest.mark.django_db
@pytest.mark.parametrize("route", ALL_ROUTES, ids=str)
def test_a_signed_out_visitor_is_sent_to_sign_in_by_every_method(route, alice_objects):
    url = _url(route, alice_objects)
    anonymous = Client()
    first = send(anonymous, "get", url)
    body_of(first)
    if not _goes_to_login(first) and first.status_code != 405:
        pytest.skip(f"{route} is a public page")  # home, sign-in, sign-up, ...
    for method in METHODS:
        for htmx in (False, True):
            response = send(anonymous, method, url, htmx=htmx)
            body_of(response)
            assert _goes_to_login(response), f"anonymous {method.upper()} {url}: {response.status_code}"


@pytest.mark.django_db
def test_the_sign_in_check_covers_both_apps(alice_objects):
    """Guards the skip above: the routes of both apps are among the checked ones."""
    anonymous = Client()
    protected = {
        route.name for route in ALL_ROUTES if _goes_to_login(send(anonymous, "get", _url(route, alice_objects)))
    }
    assert {"gallery:timeline", "gallery:delete", "gallery:retry", "faces:people", "faces:face_assign"} <= protected
    assert {"faces:undo", "faces:group_dismiss", "faces:person_delete"} <= protected


@pytest.mark.django_db
@pytest.mark.parametrize("route", ALL_ROUTES, ids=str)
def test_head_answers_wherever_get_does(route, alice_objects, alice_client):
    url = _url(route, alice_objects)
    get = send(alice_client, "get", url)
    body_of(get)
    if get.status_code == 405:
        return
    head = alice_client.head(url)
    body_of(head)
    assert head.status_code == get.status_code, f"HEAD {url}: {head.status_code}, GET: {get.status_code}"


@pytest.mark.django_db
def test_head_reaches_the_pages_of_both_apps(alice_objects, alice_client):
    for name, args in (
        ("gallery:timeline", []),
        ("gallery:upload", []),
        ("gallery:photo", [alice_objects["photo"]]),
        ("gallery:thumbnail", [alice_objects["photo"]]),
        ("faces:people", []),
        ("faces:person", [alice_objects["person"]]),
        ("faces:person_merge", [alice_objects["person"]]),
        ("faces:review", []),
    ):
        assert alice_client.head(reverse(name, args=args)).status_code == 200, name
