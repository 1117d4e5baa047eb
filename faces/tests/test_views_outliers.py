"""The "Faces that may not be Anna" page: her faces least like her other confirmed faces first,
paged, and one action for a selection: move it to another person, or "not Anna"."""

from __future__ import annotations

import numpy as np
import pytest
from django.urls import reverse

from faces.models import Face, FaceRejection, Person
from faces.tests.viewdata import REQUEST_OVERHEAD_QUERIES, XSS, XSS_ESCAPED, count_queries, hx
from smartgallery.tests.factories import FaceFactory, PersonFactory

DIM = 8


def _near(seed: int, base: np.ndarray, noise: float) -> bytes:
    vector = base + noise * np.random.default_rng(seed).normal(size=DIM)
    return (vector / np.linalg.norm(vector)).astype(np.float32).tobytes()


ANNA, OTHER = np.eye(DIM)[0], np.eye(DIM)[1]


@pytest.fixture
def anna(alice):
    """Anna: six confirmed faces alike, one confirmed by mistake (someone else's), one automatic."""
    person = PersonFactory(owner=alice, name="Anna", faces=0)
    faces = [FaceFactory(owner=alice, person=person, embedding=_near(i, ANNA, 0.2), crop=True) for i in range(6)]
    person.wrong = FaceFactory(owner=alice, person=person, embedding=_near(99, OTHER, 0.2))
    person.auto = FaceFactory(owner=alice, person=person, state=Face.State.AUTO, embedding=_near(7, ANNA, 0.3))
    person.own = faces
    return person


def url(name, person):
    return reverse(f"faces:{name}", args=[person.id])


@pytest.mark.django_db
def test_the_person_page_links_to_it(alice_client, anna):
    html = alice_client.get(url("person", anna)).content.decode()
    assert f'href="{url("person_outliers", anna)}"' in html and "Faces that may not be Anna" in html


@pytest.mark.django_db
def test_no_link_for_a_person_with_one_face(alice_client, alice):
    solo = PersonFactory(owner=alice, name="Solo", faces=1)
    assert url("person_outliers", solo) not in alice_client.get(url("person", solo)).content.decode()


@pytest.mark.django_db
def test_the_wrong_face_comes_first_and_every_face_is_a_checkbox(alice_client, anna):
    html = alice_client.get(url("person_outliers", anna)).content.decode()
    assert "<h1>Faces that may not be Anna</h1>" in html
    boxes = [int(part.split('"')[0]) for part in html.split('name="face" value="')[1:]]
    assert boxes[0] == anna.wrong.id
    assert sorted(boxes) == sorted([anna.wrong.id, anna.auto.id, *(f.id for f in anna.own)])
    assert "recognised" in html and "confirmed" in html
    assert reverse("gallery:photo", args=[anna.wrong.photo_id]) in html
    assert url("person_faces_reject", anna) in html and "Not Anna" in html


@pytest.mark.django_db
def test_faces_are_paged_and_show_more_adds_the_next_page(alice_client, anna, monkeypatch):
    monkeypatch.setattr("faces.views.OUTLIERS_PAGE", 3)
    html = alice_client.get(url("person_outliers", anna)).content.decode()
    assert html.count('name="face"') == 3 and "?offset=3" in html
    more = alice_client.get(url("person_outliers", anna), {"offset": 3}, **hx()).content.decode()
    assert "<html" not in more and more.count('name="face"') == 3 and "?offset=6" in more
    last = alice_client.get(url("person_outliers", anna), {"offset": 6}, **hx()).content.decode()
    assert last.count('name="face"') == 2 and "Show more faces" not in last
    assert alice_client.get(url("person_outliers", anna), {"offset": "x"}).status_code == 200


@pytest.mark.django_db
def test_the_page_costs_the_same_queries_for_more_faces(alice_client, alice, anna):
    small = count_queries(alice_client, url("person_outliers", anna))
    for i in range(20):
        FaceFactory(owner=alice, person=anna, embedding=_near(100 + i, ANNA, 0.2), crop=True)
    assert count_queries(alice_client, url("person_outliers", anna)) == small
    # the page's own: person, her faces' prints, the page's faces, the names for the name box.
    assert small <= REQUEST_OVERHEAD_QUERIES + 5


@pytest.mark.django_db
def test_a_person_without_confirmed_faces_is_told_what_to_do(alice_client, alice):
    guessed = PersonFactory(owner=alice, name="Guessed", faces=0)
    FaceFactory.create_batch(2, owner=alice, person=guessed, state=Face.State.AUTO)
    html = alice_client.get(url("person_outliers", guessed)).content.decode()
    assert "None of Guessed's faces is confirmed" in html


@pytest.mark.django_db
def test_move_the_selection_to_another_person_without_javascript(alice_client, alice, anna):
    ben = PersonFactory(owner=alice, name="Ben", faces=1)
    response = alice_client.post(
        url("person_faces_move", anna),
        {"name": "ben", "face": [anna.wrong.id, anna.auto.id], "next": url("person_outliers", anna)},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == url("person_outliers", anna)
    html = response.content.decode()
    assert "Moved 2 faces to Ben." in html and "/people/undo/" in html
    for face in (anna.wrong, anna.auto):
        face.refresh_from_db()
        assert (face.state, face.person_id) == (Face.State.CONFIRMED, ben.id)
    assert f'value="{anna.wrong.id}"' not in html


@pytest.mark.django_db
def test_move_with_htmx_answers_with_a_toast_and_undo(alice_client, alice, anna):
    response = alice_client.post(url("person_faces_move", anna), {"name": "Carla", "face": [anna.wrong.id]}, **hx())
    html = response.content.decode()
    assert response.status_code == 200 and "Moved 1 face to Carla." in html and "/people/undo/" in html
    token = html.split('action="/people/undo/')[1].split("/")[0]
    alice_client.post(reverse("faces:undo", args=[token]), **hx())
    anna.wrong.refresh_from_db()
    assert (anna.wrong.state, anna.wrong.person_id) == (Face.State.CONFIRMED, anna.id)
    assert not Person.objects.filter(owner=alice, name="Carla").exists()


@pytest.mark.django_db
def test_not_her_for_the_selection(alice_client, anna):
    response = alice_client.post(url("person_faces_reject", anna), {"face": [anna.wrong.id]}, follow=True)
    assert "Not Anna: 1 face, remembered." in response.content.decode()
    anna.wrong.refresh_from_db()
    assert (anna.wrong.state, anna.wrong.person_id) == (Face.State.UNKNOWN, None)
    assert FaceRejection.objects.filter(face=anna.wrong, person=anna).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name,data,message",
    [
        ("person_faces_move", {"name": "Ben"}, "Pick the faces to move."),
        ("person_faces_move", {"face": ["FACE"]}, "Type a name or pick a person."),
        ("person_faces_move", {"name": "anna", "face": ["FACE"]}, "Pick someone else"),
        ("person_faces_reject", {}, "Pick the faces that are not this person."),
    ],
)
def test_a_bad_request_says_why_and_changes_nothing(alice_client, alice, anna, name, data, message):
    data = {
        k: [anna.wrong.id if v == "FACE" else v for v in vs] if isinstance(vs, list) else vs for k, vs in data.items()
    }
    before = list(Face.objects.filter(owner=alice).order_by("id").values("state", "person_id"))
    plain = alice_client.post(url(name, anna), data, follow=True).content.decode()
    htmx = alice_client.post(url(name, anna), data, **hx()).content.decode()
    assert message in plain and message in htmx and "message-error" in htmx
    assert list(Face.objects.filter(owner=alice).order_by("id").values("state", "person_id")) == before


@pytest.mark.django_db
def test_a_face_named_meanwhile_is_left_alone_and_reported(alice_client, alice, anna):
    ben = PersonFactory(owner=alice, name="Ben", faces=0)
    Face.objects.filter(pk=anna.auto.pk).update(person=ben)
    response = alice_client.post(url("person_faces_reject", anna), {"face": [anna.wrong.id, anna.auto.id]}, follow=True)
    assert "1 was no longer Anna&#x27;s and stayed as they are." in response.content.decode()
    anna.auto.refresh_from_db()
    assert anna.auto.person_id == ben.id


@pytest.mark.django_db
def test_names_are_escaped(alice_client, alice):
    evil = PersonFactory(owner=alice, name=XSS, faces=2)
    html = alice_client.get(url("person_outliers", evil)).content.decode()
    assert XSS not in html and XSS_ESCAPED in html


@pytest.mark.django_db
def test_bob_gets_404_on_alices_page_and_actions(bob_client, alice, anna):
    for headers in ({}, hx()):
        assert bob_client.get(url("person_outliers", anna), **headers).status_code == 404
        for name in ("person_faces_move", "person_faces_reject"):
            response = bob_client.post(url(name, anna), {"name": "Bob", "face": [anna.wrong.id]}, **headers)
            assert response.status_code == 404
    anna.wrong.refresh_from_db()
    assert (anna.wrong.state, anna.wrong.person_id) == (Face.State.CONFIRMED, anna.id)
