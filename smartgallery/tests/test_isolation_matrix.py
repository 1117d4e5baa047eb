"""Access control of every route that takes an id, generated from the URLconf (catalogue B1-B8).

The list of routes is walked from the resolver, so a route added tomorrow is either covered by
the tables below the day it appears or breaks this file with a message saying what to add.
Bob has data of his own (the same shapes as alice's) so a 404 can never come from an empty
account, and every request body he sends points at his own objects: the only thing wrong in
each request is alice's id in the URL.
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from faces.models import Face, FaceGroup, Person
from gallery.models import Photo
from sharing.models import Share
from smartgallery.tests.world import JPEG_MAGIC, Route, World, id_routes, plain_routes, snapshot

# URL argument -> the kind of object it names (a key of the `alice_objects` fixture).
ARGUMENTS = {
    "photo_id": "photo",
    "face_id": "face",
    "person_id": "person",
    "group_id": "group",
    "token": "undo_token",
    "share_id": "share",
}
# `pk` names a different model on different routes, so each route using it is listed by name.
PK_ROUTES = {
    "gallery:photo": "photo",
    "gallery:tile": "photo",
    "gallery:original": "photo",
    "gallery:preview": "photo",
    "gallery:thumbnail": "photo",
    # Retry only does something to a failed photo: aim it at one, so a leak would show.
    "gallery:retry": "failed_photo",
    "gallery:delete": "photo",
    # Restoring and deleting for good act on a photo in the trash: aim them at one.
    "gallery:restore": "trashed_photo",
    "gallery:purge": "trashed_photo",
    "gallery:face_crop": "face",
    # A shared library's pages (sharing app): aimed at objects its viewer may see.
    "sharing:photo": "photo",
    "sharing:original": "photo",
    "sharing:preview": "photo",
    "sharing:thumbnail": "photo",
    "sharing:face_crop": "confirmed_face",
}
METHODS = ("get", "post", "put", "patch", "delete")
HTMX = {"HTTP_HX_REQUEST": "true"}
ROUTES = id_routes()


def kinds_of(route: Route) -> dict[str, str]:
    kinds = {}
    for argument in route.kwargs:
        kind = PK_ROUTES.get(route.name) if argument == "pk" else ARGUMENTS.get(argument)
        if kind is None:
            pytest.fail(
                f"route {route.name} ({route.route}) takes an id ({argument!r}) and is not covered by the "
                f"isolation matrix — add it to ARGUMENTS or PK_ROUTES in smartgallery/tests/test_isolation_matrix.py"
            )
        kinds[argument] = kind
    return kinds


def url_for(route: Route, objects: dict) -> str:
    return reverse(route.name, kwargs={arg: objects[kind] for arg, kind in kinds_of(route).items()})


def body_of(response) -> bytes:
    # Reading a streamed body to the end closes its file (the test client wraps it). Never call
    # response.close() here: outside the client it fires request_finished, which closes the
    # test's database connection in the middle of its transaction.
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def hostile_data(world: World) -> dict:
    """Fields any of the forms might read, all pointing at the caller's own objects."""
    return {
        "name": "Mallory",
        "person": world.person.id,
        "into": world.other_person.id,
        "face": [f.id for f in world.group_faces],
        "all": "1",
        "birth_date": "2000-01-01",
    }


def send(client: Client, method: str, url: str, *, data: dict | None = None, htmx: bool = False):
    headers = HTMX if htmx else {}
    if method in ("get", "post"):
        return getattr(client, method)(url, data or {}, **headers)
    return getattr(client, method)(url, **headers)


def assert_unchanged(before: dict, after: dict, who: str) -> None:
    changed = [table for table in before["rows"] if before["rows"][table] != after["rows"][table]]
    assert not changed, f"{who}'s rows changed in: {', '.join(changed)}"
    assert before["files"] == after["files"], f"{who}'s stored files changed"


def nonexistent_objects(objects: dict) -> dict:
    """Ids that exist for nobody (past the highest id of each table)."""
    top = {
        "photo": Photo.objects.order_by("-pk").values_list("pk", flat=True).first(),
        "face": Face.objects.order_by("-pk").values_list("pk", flat=True).first(),
        "person": Person.objects.order_by("-pk").values_list("pk", flat=True).first(),
        "group": FaceGroup.objects.order_by("-pk").values_list("pk", flat=True).first(),
        "share": Share.objects.order_by("-pk").values_list("pk", flat=True).first(),
    }
    return {
        "share": top["share"] + 1000,
        "confirmed_face": top["face"] + 1001,
        "photo": top["photo"] + 1000,
        "failed_photo": top["photo"] + 1001,
        "trashed_photo": top["photo"] + 1002,
        "face": top["face"] + 1000,
        "person": top["person"] + 1000,
        "group": top["group"] + 1000,
        "undo_token": "x" * len(objects["undo_token"]),
    }


# The tables themselves --------------------------------------------------------------------


def test_every_route_that_takes_an_id_is_in_the_tables():
    missing = []
    for route in ROUTES:
        for argument in route.kwargs:
            known = PK_ROUTES.get(route.name) if argument == "pk" else ARGUMENTS.get(argument)
            if known is None:
                missing.append(f"{route.name} ({route.route}): {argument}")
    assert not missing, (
        "routes take an id and are not covered by the isolation matrix — add them to the table: " + "; ".join(missing)
    )
    assert not set(PK_ROUTES) - {r.name for r in ROUTES}, "PK_ROUTES names a route that is gone"


def test_the_walk_finds_the_routes_we_know():
    names = {route.name for route in ROUTES}
    assert {
        "gallery:photo",
        "gallery:original",
        "gallery:face_crop",
        "faces:person",
        "faces:face_assign",
        "faces:face_draw",
        "faces:group_name",
        "faces:undo",
    } <= names
    assert not any(name.startswith("admin:") for name in names)


# B1, B2: bob gets 404 on alice's objects by every method, and nothing changes ----------------


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_bob_gets_404_on_alices_object_by_every_method(route, htmx, alice, alice_objects, bob, bob_world, bob_client):
    url = url_for(route, alice_objects)
    alice_before, bob_before = snapshot(alice), snapshot(bob)
    accepted = []
    for method in METHODS:
        response = send(bob_client, method, url, data=hostile_data(bob_world), htmx=htmx)
        body = body_of(response)
        if response.status_code == 405:
            continue
        accepted.append(method)
        assert response.status_code == 404, f"{method.upper()} {url} as bob: {response.status_code}"
        assert JPEG_MAGIC not in body, f"{method.upper()} {url} as bob sent image bytes"
    assert accepted, f"{route} accepts no method at all"
    assert_unchanged(alice_before, snapshot(alice), "alice")
    assert_unchanged(bob_before, snapshot(bob), "bob")


# B5: a foreign id looks exactly like one that does not exist ---------------------------------

CSRF_VALUE = re.compile(rb"(csrfmiddlewaretoken\" value=\"|x-csrftoken\": \")[^\"]+")


def normalised(body: bytes, ids: list) -> bytes:
    body = CSRF_VALUE.sub(rb"\1-", body)
    for value in ids:
        body = body.replace(str(value).encode(), b"ID")
    return body


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_foreign_and_nonexistent_ids_answer_the_same(route, alice_objects, bob_world, bob_client):
    missing = nonexistent_objects(alice_objects)
    foreign_url, missing_url = url_for(route, alice_objects), url_for(route, missing)
    ids = [*alice_objects.values(), *missing.values()]
    for method in ("get", "post"):
        for htmx in (False, True):
            foreign = send(bob_client, method, foreign_url, data=hostile_data(bob_world), htmx=htmx)
            nothing = send(bob_client, method, missing_url, data=hostile_data(bob_world), htmx=htmx)
            assert foreign.status_code == nothing.status_code, f"{method.upper()} {route}"
            assert normalised(body_of(foreign), ids) == normalised(body_of(nothing), ids), f"{method.upper()} {route}"


# B6: anonymous requests never get anything ---------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_anonymous_requests_go_to_login_or_get_nothing(route, alice, alice_objects):
    url = url_for(route, alice_objects)
    before = snapshot(alice)
    anonymous = Client()
    for method in METHODS:
        for htmx in (False, True):
            response = send(anonymous, method, url, htmx=htmx)
            body = body_of(response)
            assert response.status_code in (302, 401, 403, 404, 405), f"{method.upper()} {url}: {response.status_code}"
            if response.status_code == 302:
                assert response["Location"].startswith(settings.LOGIN_URL), response["Location"]
            assert JPEG_MAGIC not in body
    assert_unchanged(before, snapshot(alice), "alice")


# B7: storage paths are not URLs --------------------------------------------------------------


@pytest.mark.django_db
def test_stored_files_cannot_be_fetched_by_their_storage_path(alice, alice_world, alice_client, bob_client):
    names = [
        name
        for photo in alice_world.photos
        for name in (photo.original.name, photo.preview.name, photo.thumbnail.name)
        if name
    ]
    names += [face.crop.name for face in alice_world.faces]
    assert len(names) >= 10
    media_root = str(settings.MEDIA_ROOT).rstrip("/")
    for client in (Client(), bob_client, alice_client):  # not even the owner: only the views serve media
        for name in names:
            for url in (
                f"/media/{name}",
                f"{settings.MEDIA_URL}{name}",
                f"/{name}",
                f"{media_root}/{name}",
                f"/static/../media/{name}",
            ):
                response = client.get(url)
                body = body_of(response)
                assert response.status_code == 404, f"{url}: {response.status_code}"
                assert JPEG_MAGIC not in body
        for url in (f"/media/{alice.pk}/", f"{settings.MEDIA_URL}{alice.pk}/originals/"):
            assert client.get(url).status_code == 404


# B3: both ends of a relation are checked ----------------------------------------------------


def _b3_requests(mine: World, theirs: World) -> list[tuple[str, str, dict]]:
    """Bob acting on his own object while naming one of alice's in the form."""
    return [
        (
            "assign my face to her person",
            reverse("faces:face_assign", args=[mine.face.id]),
            {"person": theirs.person.id},
        ),
        (
            "not-this-person with her person",
            reverse("faces:face_reject", args=[mine.face.id]),
            {"person": theirs.person.id},
        ),
        ("merge my person into hers", reverse("faces:person_merge", args=[mine.person.id]), {"into": theirs.person.id}),
        (
            "her face as my person's cover",
            reverse("faces:person_cover", args=[mine.person.id]),
            {"face": theirs.confirmed_face.id},
        ),
        (
            "name my group as her person",
            reverse("faces:group_name", args=[mine.group.id]),
            {"person": theirs.person.id, "all": "1"},
        ),
        (
            "name my group's faces as her person",
            reverse("faces:group_name", args=[mine.group.id]),
            {"person": theirs.person.id, "face": [mine.group_faces[0].id]},
        ),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_bob_cannot_link_his_objects_to_alices(htmx, alice, alice_world, bob, bob_world, bob_client):
    for label, url, data in _b3_requests(bob_world, alice_world):
        alice_before, bob_before = snapshot(alice), snapshot(bob)
        response = send(bob_client, "post", url, data=data, htmx=htmx)
        assert response.status_code in (400, 404), f"{label}: {response.status_code}"
        assert_unchanged(alice_before, snapshot(alice), f"alice ({label})")
        assert_unchanged(bob_before, snapshot(bob), f"bob ({label})")


# B4: requests carrying several ids -----------------------------------------------------------
# Reading the views: the ones taking several ids are group_name and group_remove (`face`,
# repeated: the picked faces of a group), photo_filter (`person`, repeated: photos with these
# people), the person page's bar (person_faces_*: `face` and `suggestion`, repeated) and the
# review grid's bar (review_confirm / review_reject / review_name: `face`, repeated, and `asked`,
# "<face>:<person>" pairs). Every action of the two bars is in faces/tests/test_views_bulk.py
# too, for bob and for a sharing viewer.


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_naming_picked_faces_with_one_foreign_id_changes_nothing(htmx, alice, alice_world, bob, bob_world, bob_client):
    alice_before, bob_before = snapshot(alice), snapshot(bob)
    picked = [bob_world.group_faces[0].id, alice_world.group_faces[0].id, bob_world.group_faces[1].id]
    response = send(
        bob_client,
        "post",
        reverse("faces:group_name", args=[bob_world.group.id]),
        data={"name": "Mallory", "face": picked},
        htmx=htmx,
    )
    assert response.status_code == 404
    # All or nothing: not even bob's own two faces were named.
    assert_unchanged(alice_before, snapshot(alice), "alice")
    assert_unchanged(bob_before, snapshot(bob), "bob")


def _mixed_selections(mine: World, theirs: World) -> list[tuple[str, str, dict]]:
    """Bob answering several faces at once, his own with one of alice's among them."""
    own, hers = mine.face.id, theirs.face.id
    both = [f"{own}:{mine.other_person.id}", f"{hers}:{theirs.other_person.id}"]
    return [
        ("not-this-person", reverse("faces:person_faces_reject", args=[mine.other_person.id]), {"face": [own, hers]}),
        ("confirm", reverse("faces:person_faces_confirm", args=[mine.other_person.id]), {"suggestion": [own, hers]}),
        (
            "move",
            reverse("faces:person_faces_move", args=[mine.other_person.id]),
            {"suggestion": [own, hers], "name": "M"},
        ),
        ("grid no to all", reverse("faces:review_reject"), {"all": "1", "asked": both}),
        ("grid yes", reverse("faces:review_confirm"), {"face": [own, hers], "asked": both}),
        ("grid these are", reverse("faces:review_name"), {"face": [own, hers], "asked": both, "name": "M"}),
        (
            "grid no, asked about her person",
            reverse("faces:review_reject"),
            {"all": "1", "asked": [f"{own}:{theirs.other_person.id}"]},
        ),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_answering_a_selection_with_one_foreign_id_changes_nothing(
    htmx, alice, alice_world, bob, bob_world, bob_client
):
    for label, url, data in _mixed_selections(bob_world, alice_world):
        alice_before, bob_before = snapshot(alice), snapshot(bob)
        response = send(bob_client, "post", url, data=data, htmx=htmx)
        assert response.status_code == 404, f"{label}: {response.status_code}"
        # All or nothing: not even bob's own face was answered.
        assert_unchanged(alice_before, snapshot(alice), f"alice ({label})")
        assert_unchanged(bob_before, snapshot(bob), f"bob ({label})")


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["and", "or"])
def test_filtering_photos_by_a_foreign_person_is_404(mode, alice_world, bob_world, bob_client):
    url = reverse("faces:photo_filter")
    response = bob_client.get(url, {"person": [bob_world.person.id, alice_world.person.id], "mode": mode})
    assert response.status_code == 404
    assert_no_trace_of(alice_world, response.content.decode())


# B8: nothing of alice's on any of bob's pages ------------------------------------------------


def traces_of(world: World) -> list[str]:
    traces = [*world.names, "AliceOnly", "Alice-only"]
    for photo in world.photos:
        for name in ("gallery:photo", "gallery:tile", "gallery:thumbnail", "gallery:preview", "gallery:original"):
            traces.append(reverse(name, args=[photo.id]))
    for face in world.faces:
        traces += [reverse("gallery:face_crop", args=[face.id]), reverse("faces:face", args=[face.id])]
    for person in (world.person, world.other_person):
        traces.append(reverse("faces:person", args=[person.id]))
    traces.append(reverse("faces:group", args=[world.group.id]))
    return traces


def assert_no_trace_of(world: World, text: str, where: str = "") -> None:
    found = [trace for trace in traces_of(world) if trace in text]
    assert not found, f"{where} shows alice's {found}"


def bob_pages(bob_world: World) -> list[tuple[str, dict]]:
    """Every page and partial bob can GET: the plain routes and his own objects' routes."""
    own = {
        # bob's own library shared with alice: bob following its /shared/ links lands on his pages.
        "share": Share.objects.create(owner=bob_world.owner, email="alice@example.com").id,
        "confirmed_face": bob_world.confirmed_face.id,
        "photo": bob_world.photo.id,
        "failed_photo": bob_world.failed_photo.id,
        "trashed_photo": bob_world.trashed_photo.id,
        "face": bob_world.face.id,
        "person": bob_world.person.id,
        "group": bob_world.group.id,
    }
    pages = [(reverse(route.name), {}) for route in plain_routes()]
    pages += [(url_for(route, own), {}) for route in ROUTES if "undo_token" not in kinds_of(route).values()]
    pages += [
        (reverse("faces:people"), {"HTTP_HX_TARGET": "people-list"}),
        (reverse("faces:people"), {"HTTP_HX_TARGET": "groups"}),
        (reverse("faces:people") + "?offset=1", {"HTTP_HX_TARGET": "people-more"}),
        (reverse("faces:people") + "?hidden=1&hidden_offset=0&offset=1", {"HTTP_HX_TARGET": "hidden-people-more"}),
        (reverse("faces:people") + "?sort=name&offset=1", {}),
        (reverse("faces:people") + "?groups_offset=0", {"HTTP_HX_TARGET": "groups-more"}),
        (reverse("faces:person", args=[bob_world.person.id]), {"HTTP_HX_TARGET": "person-heading"}),
        (reverse("faces:review"), {"HTTP_HX_TARGET": "review-card"}),
        (reverse("faces:review") + "?mode=grid", {}),
        (
            reverse("faces:photo_filter") + f"?person={bob_world.person.id}&person={bob_world.other_person.id}&mode=or",
            {},
        ),
        (reverse("faces:people") + "?sort=name&hidden=1", {}),
    ]
    return pages


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_bobs_pages_show_nothing_of_alices(htmx, alice_world, bob_world, bob_client):
    shown, own_names = 0, 0
    for url, headers in bob_pages(bob_world):
        response = bob_client.get(url, **(HTMX if htmx else {}), **headers)
        body = body_of(response)
        if response.status_code == 405 or response["Content-Type"].startswith("image/"):
            continue
        assert response.status_code in (200, 286, 302), f"{url}: {response.status_code}"
        assert_no_trace_of(alice_world, body.decode(), url)
        shown += response.status_code == 200
        own_names += bob_world.person.name in body.decode()
    assert shown >= 15
    assert own_names >= 3, "bob's pages do not even show bob's data: the check above proves nothing"
