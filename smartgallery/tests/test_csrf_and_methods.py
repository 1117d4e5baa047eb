"""CSRF on every state-changing request, and no state change on a GET (catalogue C9, rule 11).

The routes come from the URLconf walk shared with the isolation matrix, so a new route is
covered the day it is added. Which methods a route accepts is found by asking it (as bob, on
alice's ids, where every view answers 404 before doing anything, or on a plain route with
an empty body): 405 means "not accepted".
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from smartgallery.tests.test_isolation_matrix import HTMX, ROUTES, body_of, send, url_for
from smartgallery.tests.world import plain_routes, snapshot

UNSAFE = ("post", "put", "patch", "delete")
PAGE_TOKEN = re.compile(r"\"x-csrftoken\": \"([^\"]+)\"")
ALL_ROUTES = [*plain_routes(), *ROUTES]


def accepts(client: Client, url: str, method: str) -> bool:
    return send(client, method, url).status_code != 405


def csrf_client(user) -> tuple[Client, str]:
    """A browser that enforces CSRF like production, and the token its pages carry in
    hx-headers (what htmx sends back as X-CSRFToken)."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    page = client.get(reverse("gallery:timeline"))
    match = PAGE_TOKEN.search(page.content.decode())
    assert match, "the page has no hx-headers CSRF token"
    return client, match.group(1)


@pytest.mark.django_db
@pytest.mark.parametrize("route", ALL_ROUTES, ids=str)
def test_unsafe_requests_without_a_token_are_refused(route, alice, alice_objects, bob_world, bob_client):
    url = url_for(route, alice_objects) if route.kwargs else reverse(route.name)
    client, _ = csrf_client(alice)
    before = snapshot(alice)
    for method in UNSAFE:
        for htmx in (False, True):
            response = send(client, method, url, data={"name": "x"}, htmx=htmx)
            # The middleware answers before the view: even a GET-only view says 403, not 405.
            assert response.status_code == 403, f"{method.upper()} {url} without a token: {response.status_code}"
    assert snapshot(alice) == before


@pytest.mark.django_db
@pytest.mark.parametrize("route", ALL_ROUTES, ids=str)
def test_posts_with_the_htmx_header_token_get_through(route, alice, alice_objects, bob_world, bob_client):
    """The header as htmx sends it passes the check; what happens next is the view's business."""
    if route.kwargs:
        url = url_for(route, alice_objects)
        probe = url_for(route, alice_objects)  # bob on alice's ids: 404 or 405, nothing done
    else:
        url = probe = reverse(route.name)
    if not accepts(bob_client, probe, "post"):
        pytest.skip(f"{route} does not take POST")
    client, token = csrf_client(alice)
    for htmx in (True, False):
        headers = {"HTTP_X_CSRFTOKEN": token, **(HTMX if htmx else {})}
        response = client.post(url, {}, **headers)
        body_of(response)
        assert response.status_code != 403, f"POST {url} with the X-CSRFToken header: 403"


@pytest.mark.django_db
def test_the_post_routes_are_found(alice_objects, bob_client):
    """Guards the skip above: if probing broke, every POST test would skip silently."""
    found = {
        route.name
        for route in ALL_ROUTES
        if accepts(bob_client, url_for(route, alice_objects) if route.kwargs else reverse(route.name), "post")
    }
    assert {"gallery:upload", "gallery:delete", "faces:face_assign", "faces:undo", "account_settings"} <= found
    assert len(found) >= 20


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("route", ALL_ROUTES, ids=str)
def test_get_changes_nothing(route, htmx, alice, alice_objects, alice_client):
    """Rule 11: GET is safe. The owner GETs every route on her own objects."""
    url = url_for(route, alice_objects) if route.kwargs else reverse(route.name)
    before = snapshot(alice)
    response = send(alice_client, "get", url, htmx=htmx)
    body_of(response)
    if response.status_code == 405:
        return
    assert response.status_code in (200, 286, 302), f"GET {url}: {response.status_code}"
    assert snapshot(alice) == before, f"GET {url} changed alice's data"
