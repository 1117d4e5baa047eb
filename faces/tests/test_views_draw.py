"""Add a face (faces:face_draw): the form in the photo page's dialog (htmx) and as a page of
its own without JavaScript; bad input loses nothing and says why; only the owner's photo."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from faces import tasks
from faces.models import Face, Person
from smartgallery import library_cache
from smartgallery.tests.factories import FaceFactory, PhotoFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
BOX = {"x1": "200", "y1": "100", "x2": "300", "y2": "220"}


@pytest.fixture(autouse=True)
def no_worker(monkeypatch):
    measured = []
    monkeypatch.setattr(tasks, "schedule_drawn_face_measure", measured.append)
    return measured


@pytest.fixture
def photo(alice):
    return PhotoFactory(owner=alice, preview=f"{alice.pk}/previews/p.jpg", width=640, height=480)


def _url(photo):
    return reverse("faces:face_draw", args=[photo.pk])


def test_the_form_opens_in_the_dialog_with_the_drawn_box(alice_client, alice, photo):
    Person.objects.create(owner=alice, name="Anna")
    response = alice_client.get(_url(photo), {**BOX, "x2": "300.04", "y2": "nan", "junk": "1"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="face-panel-draw"' in html and "<html" not in html
    assert 'type="hidden" name="x1" value="200.0"' in html and 'name="x2" value="300.0"' in html
    assert 'name="y2" value=""' in html  # "nan" is not a number to keep
    assert '<option value="Anna">' in html and 'id="draw-name"' in html


def test_without_javascript_the_box_is_typed_on_a_page_of_its_own(alice_client, photo):
    response = alice_client.get(_url(photo))
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html
    assert 'type="number" name="x1"' in html and "640×480" in html
    response = alice_client.post(_url(photo), BOX)
    assert response.status_code == 302 and response["Location"] == reverse("gallery:photo", args=[photo.pk])
    page = alice_client.get(response["Location"]).content.decode()
    assert "Face added as unknown" in page


def test_adding_an_unknown_face_answers_with_a_toast_and_redraws_the_photo(alice_client, alice, photo, no_worker):
    response = alice_client.post(_url(photo), BOX, **HTMX)
    assert response.status_code == 200
    assert set(json.loads(response["HX-Trigger"])) == {"facesChanged", "faceDrawn"}
    assert "Face added as unknown" in response.content.decode()
    face = Face.objects.get(photo=photo)
    assert face.source == "drawn" and face.state == "unknown" and face.owner == alice
    assert (face.x1, face.y1, face.x2, face.y2) == (200, 100, 300, 220)


def test_a_typed_name_names_it(alice_client, alice, photo):
    anna = Person.objects.create(owner=alice, name="Anna")
    response = alice_client.post(_url(photo), {**BOX, "name": " anna "}, **HTMX)
    assert "Face added and named Anna." in response.content.decode()
    face = Face.objects.get(photo=photo)
    assert (face.person_id, face.state) == (anna.id, "confirmed")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "The box is missing: draw it on the photo again."),
        ({**BOX, "x1": "left"}, "The box needs four numbers"),
        ({**BOX, "x2": "100"}, "The box is empty"),
        ({**BOX, "x2": "900"}, "The box goes outside the photo (640×480 pixels)."),
        ({**BOX, "x2": "210"}, "The box is too small"),
        ({**BOX, "name": "\u200b"}, "That name has no visible letters. Leave it empty"),
    ],
)
def test_bad_input_keeps_the_form_and_says_why(alice_client, photo, data, message, no_worker):
    response = alice_client.post(_url(photo), {**data}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and 'role="alert"' in html
    assert message in html and html.count("<p>The box is missing") <= 1
    assert not Face.objects.filter(photo=photo).exists() and no_worker == []
    assert not Person.objects.exists()


def test_a_face_already_there_is_not_added_twice(alice_client, alice, photo):
    FaceFactory(owner=alice, photo=photo, x1=210, y1=110, size=100)
    response = alice_client.post(_url(photo), BOX, **HTMX)
    assert "There is a face there already" in response.content.decode()
    assert Face.objects.filter(photo=photo).count() == 1


def test_bob_gets_404_on_alices_photo(bob_client, alice, photo):
    for response in (
        bob_client.get(_url(photo)),
        bob_client.get(_url(photo), **HTMX),
        bob_client.post(_url(photo), BOX),
        bob_client.post(_url(photo), BOX, **HTMX),
    ):
        assert response.status_code == 404
    assert not Face.objects.exists()


def test_a_person_of_bobs_cannot_be_put_on_alices_face_nor_the_reverse(alice_client, bob, photo):
    bobs = Person.objects.create(owner=bob, name="Bob's friend")
    response = alice_client.post(_url(photo), {**BOX, "person": bobs.id}, **HTMX)
    assert response.status_code == 404
    assert not Face.objects.exists()


def test_the_photo_page_offers_it_and_the_panel_says_how_a_drawn_face_was_made(alice_client, alice, photo):
    page = alice_client.get(reverse("gallery:photo", args=[photo.pk])).content.decode()
    assert f'href="{_url(photo)}"' in page and "Add a face" in page and "js/draw.js" in page
    assert 'data-photo-size="640 480"' in page and 'id="draw-bar" hidden' in page

    measuring = FaceFactory(owner=alice, photo=photo, source="drawn", model_id="")
    crop = FaceFactory(owner=alice, photo=photo, x1=300, source="drawn", centred_crop=True, model_id="m")
    found = FaceFactory(owner=alice, photo=photo, x1=500, source="drawn", model_id="m")
    detected = FaceFactory(owner=alice, photo=photo, x1=400, model_id="m")
    texts = {
        face.pk: alice_client.get(reverse("faces:face", args=[face.pk]), **HTMX).content.decode()
        for face in (measuring, crop, found, detected)
    }
    assert "has not measured it yet" in texts[measuring.pk]
    assert "no facial landmarks found, recognition may be weaker" in texts[crop.pk]
    assert "Drawn by you." in texts[found.pk]
    assert "Drawn by you" not in texts[detected.pk]


def test_a_photo_not_shown_yet_has_no_add_a_face(alice_client, alice):
    queued = PhotoFactory(owner=alice, status="queued")
    page = alice_client.get(reverse("gallery:photo", args=[queued.pk])).content.decode()
    assert 'id="draw-start"' not in page and f'href="{_url(queued)}"' not in page
    response = alice_client.post(_url(queued), BOX, **HTMX)
    assert "not processed yet" in response.content.decode()


def test_the_photo_page_costs_no_query_more(alice_client, alice, photo):
    FaceFactory(owner=alice, photo=photo, person=Person.objects.create(owner=alice, name="Anna"))
    FaceFactory(owner=alice, photo=photo, x1=300, source="drawn", centred_crop=True, model_id="m")
    url = reverse("gallery:photo", args=[photo.pk])
    alice_client.get(url)
    # As the page computes it (the first request after a change; later ones read it from the
    # cache: smartgallery.fragments).
    library_cache.new_versions({alice.pk})
    with CaptureQueriesContext(connection) as queries:
        assert alice_client.get(url).status_code == 200
    # Session, user, photo, neighbours (2), boxes, the library switcher: as many as before.
    assert len(queries) == PHOTO_PAGE_QUERIES, "\n".join(q["sql"][:150] for q in queries)


PHOTO_PAGE_QUERIES = 7


def test_the_form_and_adding_cost_a_handful_of_queries(alice_client, alice, photo):
    Person.objects.create(owner=alice, name="Anna")
    alice_client.get(_url(photo), BOX, **HTMX)  # the session's first request records the session
    with CaptureQueriesContext(connection) as form:
        alice_client.get(_url(photo), BOX, **HTMX)
    with CaptureQueriesContext(connection) as unknown:
        alice_client.post(_url(photo), BOX, **HTMX)
    with CaptureQueriesContext(connection) as named:
        alice_client.post(_url(photo), {**BOX, "x1": "400", "x2": "500", "name": "Anna"}, **HTMX)
    counts = (len(form), len(unknown), len(named))
    assert counts == DRAW_QUERIES, "\n".join(q["sql"][:120] for q in [*form, {"sql": "--"}, *unknown])


# The form: session, user, photo (the names are cached: smartgallery.library_cache). Adding:
# session, user, photo, then the service (the photo locked, the faces for overlap, the insert;
# savepoints counted). Named: face_assign's work on top (the person by name under the owner's
# lock, the face, covers, the index's version, and the cover's owner, by primary key, for the
# library version: smartgallery.library_cache).
DRAW_QUERIES = (3, 8, 28)
