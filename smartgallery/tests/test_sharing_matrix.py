"""The isolation matrix with sharing: three roles on every route that takes an id, generated
from the URLconf like test_isolation_matrix (catalogue B1-B8 for a shared library).

alice shares her library with carol. For every route, every method, plain and htmx:
- carol (viewer, live share) gets 200 on the read routes of the shared library (/shared/<id>/...),
  and 404 on every write route and on every one of alice's own routes; 405 where the route does
  not take the method (the convention of test_isolation_matrix: "not accepted");
- carol after alice revoked gets 404 on all of them, at her very next request;
- alice (owner) following a /shared/ link into her own library lands on her own page of the
  same object;
- bob (a stranger) gets 404 everywhere: test_isolation_matrix runs every route, these included.
Nobody's rows or files change, and no image bytes leave except to the live viewer.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from sharing.models import Share
from sharing.services import share_revoke
from smartgallery.tests.test_isolation_matrix import (
    HTMX,
    METHODS,
    ROUTES,
    assert_unchanged,
    body_of,
    hostile_data,
    kinds_of,
    send,
    url_for,
)
from smartgallery.tests.world import JPEG_MAGIC, Route, World, make_world, plain_routes, snapshot

SAFE = ("get", "head")
UNSAFE = ("post", "put", "patch", "delete")
LIBRARY_ROUTES = [route for route in ROUTES if "share" in kinds_of(route).values()]
OWNER_ROUTES = [route for route in ROUTES if "share" not in kinds_of(route).values()]


@pytest.fixture
def carol_world(carol) -> World:
    return make_world(carol, label="Carol")


def every_method(client, url: str, data: dict, htmx: bool) -> dict[str, object]:
    """Each method once; `data` (ids of the caller's own objects) goes with the unsafe ones:
    sent with a GET it would ask a shared page about the viewer's own ids (a 404, tested below)."""
    responses = {}
    for method in (*METHODS, "head"):
        if method == "head":
            response = client.head(url, **(HTMX if htmx else {}))
        else:
            response = send(client, method, url, data=None if method == "get" else data, htmx=htmx)
        response.body = body_of(response)
        responses[method] = response
    return responses


def reads(route: Route, objects: dict, client) -> bool:
    """A read route takes GET (the view decides it, as test_csrf_and_methods asks it)."""
    response = send(client, "get", url_for(route, objects))
    body_of(response)
    return response.status_code != 405


def test_the_tables_cover_the_shared_library():
    names = {route.name for route in LIBRARY_ROUTES}
    assert {"sharing:library", "sharing:photo", "sharing:original", "sharing:thumbnail", "sharing:preview"} <= names
    assert {"sharing:face_crop", "sharing:people", "sharing:person", "sharing:photo_filter", "sharing:revoke"} <= names
    assert len(OWNER_ROUTES) >= 25


# The viewer with a live share -----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.catalogue("B1", "B2")
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("route", LIBRARY_ROUTES, ids=str)
def test_the_viewer_reads_the_shared_library_and_writes_nothing(
    route, htmx, alice, alice_objects, carol, carol_world, carol_client
):
    url = url_for(route, alice_objects)
    read = reads(route, alice_objects, carol_client)
    alice_before, carol_before = snapshot(alice), snapshot(carol)
    for method, response in every_method(carol_client, url, hostile_data(carol_world), htmx).items():
        status = response.status_code
        if read and method in SAFE:
            assert status == 200, f"{method.upper()} {url} as the viewer: {status}"
        elif read:
            assert status == 405, f"{method.upper()} {url} (a read route) as the viewer: {status}"
        else:
            # A write route of the shared library (revoke): only its owner may use it.
            assert status in (404, 405), f"{method.upper()} {url} as the viewer: {status}"
            assert JPEG_MAGIC not in response.body
    assert_unchanged(alice_before, snapshot(alice), "alice")
    assert_unchanged(carol_before, snapshot(carol), "carol")


@pytest.mark.django_db
def test_the_viewer_gets_the_bytes_and_the_pages(alice_objects, alice_world, carol_client):
    """Guards the matrix above: the 200s are real pages and real media."""
    pages = 0
    for route in LIBRARY_ROUTES:
        response = send(carol_client, "get", url_for(route, alice_objects))
        body = body_of(response)
        if response.status_code == 405:
            continue
        if response["Content-Type"].startswith("image/"):
            assert body.startswith(JPEG_MAGIC), route
            assert response["Cache-Control"] == "private, no-cache", route
            assert "sandbox" in response["Content-Security-Policy"], route
        else:
            pages += 1
            assert "Alice" in body.decode(), route
    assert pages >= 5


@pytest.mark.django_db
@pytest.mark.catalogue("B1", "B2")
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("route", OWNER_ROUTES, ids=str)
def test_the_viewer_gets_404_on_every_route_of_the_owner(
    route, htmx, alice, alice_objects, carol, carol_world, carol_client
):
    """The owner's own routes stay hers alone: a share opens /shared/<id>/ only."""
    url = url_for(route, alice_objects)
    alice_before, carol_before = snapshot(alice), snapshot(carol)
    accepted = []
    for method, response in every_method(carol_client, url, hostile_data(carol_world), htmx).items():
        assert JPEG_MAGIC not in response.body, f"{method.upper()} {url} sent image bytes to the viewer"
        if response.status_code == 405:
            continue
        accepted.append(method)
        assert response.status_code == 404, f"{method.upper()} {url} as the viewer: {response.status_code}"
    assert accepted, f"{route} accepts no method"
    assert_unchanged(alice_before, snapshot(alice), "alice")
    assert_unchanged(carol_before, snapshot(carol), "carol")


# The viewer after the owner revoked --------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.catalogue("B1", "B2")
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_after_a_revoke_the_viewer_gets_404_at_the_next_request(
    route, htmx, alice, alice_objects, alice_share, carol, carol_world, carol_client
):
    url = url_for(route, alice_objects)
    read = reads(route, alice_objects, carol_client)
    if route in LIBRARY_ROUTES and read:
        assert send(carol_client, "get", url, htmx=htmx).status_code == 200  # open until now
    share_revoke(owner=alice, share_id=alice_share.id)
    alice_before, carol_before = snapshot(alice), snapshot(carol)
    for method, response in every_method(carol_client, url, hostile_data(carol_world), htmx).items():
        assert JPEG_MAGIC not in response.body, f"{method.upper()} {url} after the revoke sent image bytes"
        if read and method in SAFE:
            assert response.status_code == 404, f"{method.upper()} {url} after the revoke: {response.status_code}"
        else:
            assert response.status_code in (404, 405), (
                f"{method.upper()} {url} after the revoke: {response.status_code}"
            )
    assert_unchanged(alice_before, snapshot(alice), "alice")
    assert_unchanged(carol_before, snapshot(carol), "carol")


# A share opens its own library only -------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("route", LIBRARY_ROUTES, ids=str)
def test_a_share_opens_only_the_library_it_names(route, alice_objects, bob, bob_world, carol, carol_client):
    """carol has a live share of bob's library too: neither share id opens the other library's
    objects (each id of the request is checked against the share it comes with)."""
    bobs = Share.objects.create(owner=bob, email=carol.email, viewer=carol)
    bob_objects = {
        "share": bobs.id,
        "photo": bob_world.photo.id,
        "confirmed_face": bob_world.confirmed_face.id,
        "person": bob_world.person.id,
    }
    if not reads(route, alice_objects, carol_client):
        return
    own_args = [kind for kind in kinds_of(route).values() if kind != "share"]
    if not own_args:
        # A page of the whole library: each share shows its own owner's.
        body = body_of(send(carol_client, "get", url_for(route, bob_objects))).decode()
        assert "BobOnly" in body or route.name != "sharing:people", "bob's library is not even shown"
        assert "AliceOnly" not in body and "Alice-only" not in body, route
        return
    for share, objects in ((bobs.id, alice_objects), (alice_objects["share"], bob_objects)):
        mixed = {**objects, "share": share}
        response = send(carol_client, "get", url_for(route, mixed))
        assert response.status_code == 404, f"{route} with share {share} and the other library's id"
        assert JPEG_MAGIC not in body_of(response)


@pytest.mark.django_db
@pytest.mark.catalogue("B3")
def test_the_viewer_cannot_filter_the_shared_library_by_her_own_people(alice_objects, carol_world, carol_client):
    url = reverse("sharing:photo_filter", args=[alice_objects["share"]])
    assert carol_client.get(url, {"person": [alice_objects["person"]]}).status_code == 200
    for people in ([carol_world.person.id], [alice_objects["person"], carol_world.person.id]):
        for mode in ("and", "or"):
            response = carol_client.get(url, {"person": people, "mode": mode})
            assert response.status_code == 404, (people, mode)
            assert "CarolOnly" not in response.content.decode()


# "Find a person" and "Show more people" on the shared pages: as a page and as the htmx region ---

# (route, parameters, the region asked for as you type, a name of alice's the viewer sees there).
# "only" is in every world's names ("AliceOnlyPersonName", "CarolOnlyPersonName", "BobOnly..."):
# a search that reached past the shared library would show another one's.
SEARCHES = [
    ("sharing:people", {"q": "only"}, None, "AliceOnlyPersonName"),
    ("sharing:people", {"q": "only"}, "people-list", "AliceOnlyPersonName"),
    # A later page of the people ("Show more people": the page without JavaScript, the rows with
    # htmx), searched or not. AliceOnlyPersonName has the most photos (2): offset 1 is the other.
    ("sharing:people", {"offset": "1"}, None, "AliceOnlyOtherName"),
    ("sharing:people", {"offset": "1"}, "people-more", "AliceOnlyOtherName"),
    ("sharing:people", {"q": "only", "offset": "1"}, "people-more", "AliceOnlyOtherName"),
    ("sharing:photo_filter", {"q": "only"}, None, "AliceOnlyPersonName"),
    ("sharing:photo_filter", {"q": "only"}, "person-picks", "AliceOnlyPersonName"),
    ("sharing:photo_filter", {"q": "only", "person": "alice-person"}, "person-picks", "AliceOnlyPersonName"),
]
SEARCH_IDS = [f"{name}-{target or 'page'}-{'-'.join(params)}" for name, params, target, _ in SEARCHES]


def resolved(params: dict, objects: dict) -> dict:
    return {k: objects["person"] if v == "alice-person" else v for k, v in params.items()}


def search(client, name: str, params: dict, target: str | None, objects: dict):
    params = resolved(params, objects)
    headers = {**HTMX, "HTTP_HX_TARGET": target} if target else {}
    response = client.get(reverse(name, args=[objects["share"]]), params, **headers)
    response.text = body_of(response).decode()
    return response


@pytest.mark.django_db
@pytest.mark.catalogue("B1", "B2")
@pytest.mark.parametrize(("name", "params", "target", "shown"), SEARCHES, ids=SEARCH_IDS)
def test_find_a_person_in_a_shared_library_by_role(
    name,
    params,
    target,
    shown,
    alice,
    alice_objects,
    alice_client,
    bob_world,
    bob_client,
    carol,
    carol_world,
    carol_client,
):
    before = {user: snapshot(user) for user in (alice, carol)}
    # The viewer: alice's people only.
    seen = search(carol_client, name, params, target, alice_objects)
    assert seen.status_code == 200 and shown in seen.text
    assert "CarolOnly" not in seen.text and "BobOnly" not in seen.text
    # A stranger: nothing of the library, the same 404 as for an id that does not exist.
    stranger = search(bob_client, name, params, target, alice_objects)
    assert stranger.status_code == 404 and "AliceOnly" not in stranger.text
    # The owner: her own page, the search kept.
    own = search(alice_client, name, params, target, alice_objects)
    assert own.status_code == 302 and not own["Location"].startswith("/shared/")
    kept = {k: v[0] for k, v in parse_qs(urlsplit(own["Location"]).query).items()}
    assert kept == {k: str(v) for k, v in resolved(params, alice_objects).items()}  # the search and the page
    assert "AliceOnlyPersonName" in body_of(alice_client.get(own["Location"])).decode()
    assert_unchanged(before[alice], snapshot(alice), "alice")
    assert_unchanged(before[carol], snapshot(carol), "carol")
    # The viewer after a revoke: 404 at the very next request.
    share_revoke(owner=alice, share_id=alice_objects["share"])
    closed = search(carol_client, name, params, target, alice_objects)
    assert closed.status_code == 404 and "AliceOnly" not in closed.text


# The owner ---------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("route", LIBRARY_ROUTES, ids=str)
def test_the_owner_following_a_shared_link_lands_on_her_own_page(route, alice, alice_objects, alice_client):
    url = url_for(route, alice_objects)
    before = snapshot(alice)
    response = send(alice_client, "get", url)
    body_of(response)
    if response.status_code == 405:
        return
    assert response.status_code == 302, f"{url} as its owner: {response.status_code}"
    landed = alice_client.get(response["Location"])
    body_of(landed)
    assert landed.status_code == 200, response["Location"]
    assert not response["Location"].startswith("/shared/")
    assert snapshot(alice) == before


# What the viewer sees ----------------------------------------------------------------------------


def owner_urls(world: World) -> list[str]:
    """The owner's own URLs of her objects: a shared page links only inside /shared/<id>/."""
    urls = []
    for photo in world.photos:
        urls += [reverse(n, args=[photo.id]) for n in ("gallery:photo", "gallery:thumbnail", "gallery:original")]
    for face in world.faces:
        urls += [reverse("gallery:face_crop", args=[face.id]), reverse("faces:face", args=[face.id])]
    urls += [reverse("faces:person", args=[p.id]) for p in (world.person, world.other_person)]
    return [*urls, reverse("faces:group", args=[world.group.id])]


@pytest.mark.django_db
@pytest.mark.catalogue("B8")
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_shared_pages_offer_nothing_that_writes(htmx, alice_objects, alice_world, carol_client):
    shown = 0
    for route in LIBRARY_ROUTES:
        response = send(carol_client, "get", url_for(route, alice_objects), htmx=htmx)
        body = body_of(response)
        if response.status_code == 405 or response["Content-Type"].startswith("image/"):
            continue
        text = body.decode()
        shown += 1
        assert 'method="post"' not in text.lower() and "hx-post" not in text, f"{route} has a form that writes"
        assert "hx-delete" not in text and "hx-put" not in text and "hx-patch" not in text
        leaked = [url for url in owner_urls(alice_world) if f'"{url}' in text]
        assert not leaked, f"{route} links to the owner's own pages: {leaked}"
        # Suggestions and unknown faces are the owner's work in progress, never shown.
        assert "Is this" not in text and "Unknown" not in text, route
    assert shown >= 5


@pytest.mark.django_db
@pytest.mark.catalogue("B8")
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_the_viewers_own_pages_show_nothing_of_the_shared_library(
    htmx, alice_objects, alice_world, carol_world, carol_client
):
    """Only the switcher names alice's library; carol's own pages, lists and counts are hers."""
    from smartgallery.tests.test_isolation_matrix import assert_no_trace_of

    shown = 0
    for route in plain_routes():
        response = send(carol_client, "get", reverse(route.name), htmx=htmx)
        body = body_of(response)
        if response.status_code == 405 or response["Content-Type"].startswith("image/"):
            continue
        assert response.status_code in (200, 286, 302), f"{route}: {response.status_code}"
        assert_no_trace_of(alice_world, body.decode(), str(route))
        shown += response.status_code == 200
    assert shown >= 8
