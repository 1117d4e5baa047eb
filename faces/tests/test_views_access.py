"""Access control of every people URL, generated from the URLconf so a new route is covered
the day it is added: bob gets 404 on each of alice's ids (GET and POST, with and without
htmx) and changes nothing; anonymous users go to the login page; every POST needs CSRF; no
GET changes anything."""

import hashlib

import pytest
from django.core import serializers
from django.test import Client
from django.urls import URLPattern, reverse

from faces import urls as faces_urls
from faces.models import Face, FaceGroup, FaceRejection, Person
from faces.tests.viewdata import hx, make_cast
from smartgallery.tests.factories import FaceFactory, PersonFactory
from smartgallery.tests.pages import without_csrf_tokens

ID_KWARGS = {"person_id": "person", "face_id": "face", "group_id": "group", "photo_id": "photo"}
# Pages answered by GET only (a POST is 405); person_merge and face_draw answer both.
GET_ONLY = {"person", "face", "group", "person_outliers"}
POST_ONLY = {
    p.name
    for p in faces_urls.urlpatterns
    if p.name not in {"people", "review", "photo_filter", "unnamed", "person_merge", "face_draw", *GET_ONLY}
}


def patterns_with_ids() -> list[URLPattern]:
    found = [p for p in faces_urls.urlpatterns if set(p.pattern.converters) & set(ID_KWARGS)]
    assert len(found) >= 21  # the list comes from the URLconf; this guards against it coming back empty
    return found


def url_for(pattern: URLPattern, ids: dict) -> str:
    kwargs = {name: ids[ID_KWARGS[name]] for name in pattern.pattern.converters}
    return reverse(f"faces:{pattern.name}", kwargs=kwargs)


def checksum(owner) -> str:
    rows = [
        *Person.objects.filter(owner=owner).order_by("id"),
        *Face.objects.filter(owner=owner).order_by("id"),
        *FaceGroup.objects.filter(owner=owner).order_by("id"),
        *FaceRejection.objects.filter(owner=owner).order_by("id"),
    ]
    return hashlib.sha256(serializers.serialize("json", rows).encode()).hexdigest()


@pytest.fixture
def alice_ids(alice):
    cast = make_cast(alice)
    # The group asks about her person, so a leaked "yes" or "no" to it would change her data.
    FaceGroup.objects.filter(pk=cast.group.pk).update(suggested_person=cast.person, suggested_score=0.42)
    return {
        "person": cast.person.id,
        "face": cast.suggested.id,
        "group": cast.group.id,
        "photo": cast.suggested.photo_id,
        "cast": cast,
    }


@pytest.fixture
def bob_ids(bob):
    cast = make_cast(bob, name="Bob-Anna", other_name="Bob-Ben")
    return {
        "person": cast.person.id,
        "face": cast.suggested.id,
        "group": cast.group.id,
        "photo": cast.suggested.photo_id,
        "cast": cast,
    }


def hostile_post_data(alice_ids, bob_ids) -> dict:
    """Form fields a real request might carry, pointing at bob's own objects, so the only
    reason for a 404 is the id in the URL."""
    return {
        "name": "Mallory",
        "person": bob_ids["person"],
        "into": bob_ids["person"],
        "all": "1",
        "birth_date": "2000-01-01",
        "face": [bob_ids["face"], bob_ids["cast"].unknown.id],
    }


@pytest.mark.django_db
@pytest.mark.parametrize("pattern", patterns_with_ids(), ids=lambda p: p.name)
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_bob_gets_404_on_alices_ids_and_changes_nothing(pattern, htmx, alice, alice_ids, bob_client, bob_ids):
    url = url_for(pattern, alice_ids)
    before = checksum(alice)
    headers = hx() if htmx else {}
    get = bob_client.get(url, **headers)
    post = bob_client.post(url, hostile_post_data(alice_ids, bob_ids), **headers)
    if pattern.name in POST_ONLY:
        assert get.status_code == 405
    else:
        assert get.status_code == 404
    assert post.status_code == 404 if pattern.name not in GET_ONLY else post.status_code == 405
    assert checksum(alice) == before


@pytest.mark.django_db
@pytest.mark.parametrize("pattern", patterns_with_ids(), ids=lambda p: p.name)
def test_a_foreign_id_looks_exactly_like_a_missing_one(pattern, alice_ids, bob_client):
    missing = {"person": 10**9, "face": 10**9, "group": 10**9, "photo": 10**9}
    method = bob_client.post if pattern.name in POST_ONLY else bob_client.get
    foreign, absent = method(url_for(pattern, alice_ids)), method(url_for(pattern, missing))
    assert foreign.status_code == absent.status_code == 404
    assert without_csrf_tokens(foreign.content) == without_csrf_tokens(absent.content)


@pytest.mark.django_db
@pytest.mark.parametrize("pattern", patterns_with_ids(), ids=lambda p: p.name)
def test_alice_reaches_every_one_of_her_own(pattern, alice_client, alice_ids):
    response = alice_client.get(url_for(pattern, alice_ids))
    assert response.status_code == (405 if pattern.name in POST_ONLY else 200)


@pytest.mark.django_db
@pytest.mark.parametrize("pattern", faces_urls.urlpatterns, ids=lambda p: p.name)
def test_anonymous_is_sent_to_login(pattern, client, alice_ids):
    kwargs = {name: alice_ids[ID_KWARGS[name]] if name in ID_KWARGS else "token" for name in pattern.pattern.converters}
    url = reverse(f"faces:{pattern.name}", kwargs=kwargs)
    response = client.post(url) if pattern.name in POST_ONLY else client.get(url)
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))


# Both ends of a relation -------------------------------------------------------------------


@pytest.mark.django_db
def test_bob_cannot_put_his_face_into_alices_person(alice, alice_ids, bob, bob_ids, bob_client):
    before = (checksum(alice), checksum(bob))
    bob_face = bob_ids["face"]
    attempts = [
        (reverse("faces:face_assign", args=[bob_face]), {"person": alice_ids["person"]}),
        (reverse("faces:face_reject", args=[bob_face]), {"person": alice_ids["person"]}),
        (reverse("faces:person_merge", args=[bob_ids["person"]]), {"into": alice_ids["person"]}),
        (reverse("faces:person_cover", args=[bob_ids["person"]]), {"face": alice_ids["face"]}),
        (reverse("faces:group_name", args=[bob_ids["group"]]), {"person": alice_ids["person"], "all": "1"}),
        (
            reverse("faces:group_name", args=[bob_ids["group"]]),
            {"name": "X", "face": [alice_ids["cast"].group.faces.first().id]},
        ),
        # Faces that may not belong: alice's person as the target, alice's faces in bob's selection.
        (
            reverse("faces:person_faces_move", args=[bob_ids["person"]]),
            {"person": alice_ids["person"], "face": [bob_face]},
        ),
        (reverse("faces:person_faces_move", args=[bob_ids["person"]]), {"name": "X", "face": [alice_ids["face"]]}),
        (
            reverse("faces:person_faces_move", args=[bob_ids["person"]]),
            {"name": "X", "face": [bob_face, alice_ids["face"]]},
        ),
        (reverse("faces:person_faces_reject", args=[bob_ids["person"]]), {"face": [bob_face, alice_ids["face"]]}),
    ]
    for url, data in attempts:
        for headers in ({}, hx()):
            assert bob_client.post(url, data, **headers).status_code == 404, url
    assert (checksum(alice), checksum(bob)) == before


@pytest.mark.django_db
def test_a_bulk_group_request_mixing_own_and_foreign_faces_changes_nothing(bob, bob_ids, bob_client, alice_ids):
    own = list(bob_ids["cast"].group.faces.values_list("id", flat=True))
    foreign = alice_ids["cast"].group.faces.first().id
    before = checksum(bob)
    response = bob_client.post(
        reverse("faces:group_name", args=[bob_ids["group"]]), {"name": "X", "face": [*own, foreign]}
    )
    assert response.status_code == 404 and checksum(bob) == before


@pytest.mark.django_db
def test_taking_faces_out_of_a_group_with_a_foreign_one_changes_nothing(bob, bob_ids, bob_client, alice_ids):
    own = list(bob_ids["cast"].group.faces.values_list("id", flat=True))
    foreign = alice_ids["cast"].group.faces.first().id
    before = (checksum(bob), checksum(alice_ids["cast"].person.owner))
    response = bob_client.post(reverse("faces:group_remove", args=[bob_ids["group"]]), {"face": [*own, foreign]})
    assert response.status_code == 404
    assert (checksum(bob), checksum(alice_ids["cast"].person.owner)) == before


@pytest.mark.django_db
def test_bob_cannot_filter_photos_by_alices_person(bob_client, alice_ids, bob_ids):
    url = reverse("faces:photo_filter")
    assert bob_client.get(url, {"person": [alice_ids["person"]]}).status_code == 404
    assert bob_client.get(url, {"person": [bob_ids["person"], alice_ids["person"]], "mode": "or"}).status_code == 404


@pytest.mark.django_db
def test_bob_cannot_use_alices_undo_token(alice, alice_client, bob_client):
    anna = PersonFactory(owner=alice, name="Anna", faces=2)
    html = alice_client.post(reverse("faces:person_delete", args=[anna.id]), follow=True).content.decode()
    token = html.split('action="/people/undo/')[1].split("/")[0]
    assert bob_client.post(reverse("faces:undo", args=[token])).status_code == 404
    assert not Person.objects.for_user(alice).filter(pk=anna.pk).exists()


@pytest.mark.django_db
def test_bobs_pages_show_nothing_of_alices(alice_ids, bob_client):
    cast = alice_ids["cast"]
    for url in (
        reverse("faces:people"),
        reverse("faces:review"),
        reverse("faces:review") + "?mode=grid",
        reverse("faces:photo_filter"),
        reverse("faces:unnamed"),
    ):
        html = bob_client.get(url).content.decode()
        assert ">Anna<" not in html and ">Ben<" not in html and 'value="Anna"' not in html
        assert reverse("faces:group_name", args=[cast.group.id]) not in html
        assert reverse("faces:group_question_confirm", args=[cast.group.id]) not in html
        assert reverse("faces:face_confirm", args=[cast.suggested.id]) not in html
        assert reverse("faces:face", args=[cast.unknown.id]) not in html


# CSRF and safe methods ---------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(POST_ONLY | {"person_merge"}))
def test_every_post_needs_the_csrf_token(name, alice, alice_ids):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    kwargs = {
        k: alice_ids[ID_KWARGS[k]] if k in ID_KWARGS else "token"
        for k in next(p for p in faces_urls.urlpatterns if p.name == name).pattern.converters
    }
    url = reverse(f"faces:{name}", kwargs=kwargs)
    before = checksum(alice)
    assert client.post(url, {"name": "X"}, **hx()).status_code == 403
    assert checksum(alice) == before
    client.get(reverse("faces:people"))  # sets the CSRF cookie, as the page does
    token = client.cookies["csrftoken"].value
    assert client.post(url, {"name": "X"}, HTTP_X_CSRFTOKEN=token, **hx()).status_code != 403


@pytest.mark.django_db
def test_no_get_changes_anything(alice, alice_client, alice_ids):
    before = checksum(alice)
    for pattern in faces_urls.urlpatterns:
        kwargs = {k: alice_ids[ID_KWARGS[k]] if k in ID_KWARGS else "token" for k in pattern.pattern.converters}
        url = reverse(f"faces:{pattern.name}", kwargs=kwargs)
        for headers in ({}, hx()):
            alice_client.get(url, {"name": "X", "person": alice_ids["person"], "into": alice_ids["person"]}, **headers)
    assert checksum(alice) == before


@pytest.mark.django_db
def test_people_pages_carry_the_security_headers(alice_client, alice_ids):
    response = alice_client.get(reverse("faces:people"))
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_face_crops_are_served_only_to_their_owner(alice, alice_client, bob_client):
    face = FaceFactory(owner=alice, crop=True)
    url = reverse("gallery:face_crop", args=[face.id])
    response = alice_client.get(url)
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert bob_client.get(url).status_code == 404
