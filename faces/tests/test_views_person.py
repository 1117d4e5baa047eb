import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from faces.models import Face, FaceRejection, Person
from faces.tests.viewdata import REQUEST_OVERHEAD_QUERIES, XSS, XSS_ESCAPED, count_queries, hx
from smartgallery.tests.factories import FaceFactory, PersonFactory, PhotoFactory


def url(name, person):
    return reverse(f"faces:{name}", args=[person.id])


@pytest.mark.django_db
def test_it_shows_the_person_with_counts_and_photos(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna", faces=3)
    FaceFactory(owner=alice, person=anna, state=Face.State.SUGGESTED)
    html = alice_client.get(url("person", anna)).content.decode()
    assert "<h1" in html and "Anna" in html
    assert "3 faces · 3 photos" in html and "1 suggestion to review" in html
    for face in anna.faces.filter(state=Face.State.CONFIRMED):
        assert reverse("gallery:photo", args=[face.photo_id]) in html
        assert reverse("faces:face_reject", args=[face.id]) in html


@pytest.mark.django_db
def test_photos_are_paginated_with_a_keyset_cursor_and_load_more(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna", faces=0)
    start = timezone.now()
    faces = [
        FaceFactory(
            owner=alice, photo=PhotoFactory(owner=alice, taken_at=start - datetime.timedelta(hours=i)), person=anna
        )
        for i in range(65)
    ]
    html = alice_client.get(url("person", anna)).content.decode()
    assert html.count('class="tile"') == 60
    assert "Load more photos" in html
    cursor = html.split("?after=")[1].split('"')[0]
    more = alice_client.get(url("person", anna), {"after": cursor}, **hx()).content.decode()
    assert "<html" not in more and more.count('class="tile"') == 5
    assert "Load more photos" not in more
    shown = {f.photo_id for f in faces[60:]}
    assert all(reverse("gallery:photo", args=[p]) in more for p in shown)


@pytest.mark.django_db
def test_a_bad_cursor_starts_from_the_top(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna", faces=2)
    response = alice_client.get(url("person", anna), {"after": "garbage"})
    assert response.status_code == 200 and response.content.decode().count('class="tile"') == 2


@pytest.mark.django_db
def test_rename_inline_swaps_the_heading(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    response = alice_client.post(url("person_rename", anna), {"name": "  Anna   Maria "}, **hx())
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="person-heading"') and "Anna Maria" in html
    assert "Renamed." in html  # the toast, out of band
    anna.refresh_from_db()
    assert anna.name == "Anna Maria"


@pytest.mark.django_db
def test_rename_without_js_redirects_back_with_a_message(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    response = alice_client.post(url("person_rename", anna), {"name": "Annie"}, follow=True)
    assert response.redirect_chain[-1][0] == url("person", anna)
    assert "Renamed." in response.content.decode()


@pytest.mark.django_db
def test_an_empty_name_is_refused_and_nothing_changes(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    response = alice_client.post(url("person_rename", anna), {"name": "   "}, **hx())
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    anna.refresh_from_db()
    assert anna.name == "Anna"


@pytest.mark.django_db
def test_names_are_escaped_in_the_page_and_the_heading_partial(alice_client, alice):
    evil = PersonFactory(owner=alice, name=XSS)
    page = alice_client.get(url("person", evil)).content.decode()
    partial = alice_client.get(url("person", evil), **hx(HTTP_HX_TARGET="person-heading")).content.decode()
    renamed = alice_client.post(url("person_rename", evil), {"name": XSS + "!"}, **hx()).content.decode()
    for html in (page, partial, renamed):
        assert XSS not in html and XSS_ESCAPED in html


@pytest.mark.django_db
def test_names_are_escaped_in_the_answer_forms_of_every_tile(alice_client, alice):
    # The tiles' forms are written by a tag (faces/templatetags/face_actions.py), not a template.
    evil = PersonFactory(owner=alice, name=XSS, faces=1)
    suggested = FaceFactory(owner=alice, person=evil, state=Face.State.SUGGESTED)
    html = alice_client.get(url("person", evil)).content.decode()
    assert XSS not in html
    assert f'aria-label="No, not {XSS_ESCAPED}"' in html and f'aria-label="Yes, {XSS_ESCAPED}"' in html
    assert f'aria-label="Not {XSS_ESCAPED} (photo of ' in html and f">Not {XSS_ESCAPED}</button>" in html
    assert reverse("faces:face_reject", args=[suggested.id]) in html


@pytest.mark.django_db
def test_birth_date_is_saved_and_a_future_one_refused(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    alice_client.post(url("person_birth_date", anna), {"birth_date": "1990-05-17"}, **hx())
    anna.refresh_from_db()
    assert anna.birth_date == datetime.date(1990, 5, 17)
    future = (timezone.localdate() + datetime.timedelta(days=3)).isoformat()
    response = alice_client.post(url("person_birth_date", anna), {"birth_date": future}, **hx())
    assert "future" in response.content.decode()
    anna.refresh_from_db()
    assert anna.birth_date == datetime.date(1990, 5, 17)


@pytest.mark.django_db
def test_hide_and_unhide(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    alice_client.post(url("person_hide", anna), **hx())
    anna.refresh_from_db()
    assert anna.hidden
    alice_client.post(url("person_unhide", anna))
    anna.refresh_from_db()
    assert not anna.hidden


@pytest.mark.django_db
def test_set_the_cover_face(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna", faces=3)
    chosen = anna.faces.order_by("-id").first()
    response = alice_client.post(url("person_cover", anna), {"face": chosen.id}, **hx())
    assert response.status_code == 200 and "facesChanged" in response.headers["HX-Trigger"]
    anna.refresh_from_db()
    assert anna.cover_face_id == chosen.id and anna.cover_chosen


@pytest.mark.django_db
def test_the_cover_must_be_one_of_the_persons_faces(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    ben = PersonFactory(owner=alice, name="Ben")
    response = alice_client.post(url("person_cover", anna), {"face": ben.cover_face_id}, **hx())
    assert "cover must be one of this person" in response.content.decode()
    anna.refresh_from_db()
    assert anna.cover_face_id != ben.cover_face_id


@pytest.mark.django_db
def test_not_this_person_on_a_tile_removes_it_and_is_remembered(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna", faces=2)
    face = anna.faces.first()
    response = alice_client.post(
        reverse("faces:face_reject", args=[face.id]), {"person": anna.id}, **hx(HTTP_HX_TARGET=f"person-tile-{face.id}")
    )
    assert response.status_code == 200
    assert "Not Anna" in response.content.decode()
    face.refresh_from_db()
    assert face.person_id is None and face.state == Face.State.UNKNOWN
    assert FaceRejection.objects.filter(face=face, person=anna).exists()


@pytest.mark.django_db
def test_merge_moves_the_faces_and_can_be_undone(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna", faces=2)
    annie = PersonFactory(owner=alice, name="Annie", faces=1)
    response = alice_client.post(url("person_merge", annie), {"into": anna.id}, follow=True)
    assert response.redirect_chain[-1][0] == url("person", anna)
    html = response.content.decode()
    assert "Merged Annie into Anna." in html and "Undo" in html
    assert anna.faces.count() == 3
    assert not Person.objects.for_user(alice).filter(pk=annie.pk).exists()

    undo_url = html.split('action="/people/undo/')[1].split('"')[0]
    response = alice_client.post("/people/undo/" + undo_url, follow=True)
    assert "Undone." in response.content.decode()
    assert Person.objects.for_user(alice).filter(pk=annie.pk).exists()
    assert annie.faces.count() == 1 and anna.faces.count() == 2


@pytest.mark.django_db
def test_merge_on_htmx_redirects_the_client(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    annie = PersonFactory(owner=alice, name="Annie")
    response = alice_client.post(url("person_merge", annie), {"into": anna.id}, **hx())
    assert response.headers["HX-Redirect"] == url("person", anna)


@pytest.mark.django_db
def test_a_person_cannot_be_merged_into_itself(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    response = alice_client.post(url("person_merge", anna), {"into": anna.id}, follow=True)
    assert "cannot be merged into itself" in response.content.decode()
    assert Person.objects.for_user(alice).filter(pk=anna.pk).exists()


@pytest.mark.django_db
def test_delete_makes_faces_unknown_and_undo_brings_all_back(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna", faces=2)
    face_ids = list(anna.faces.values_list("id", flat=True))
    response = alice_client.post(url("person_delete", anna), follow=True)
    assert response.redirect_chain[-1][0] == reverse("faces:people")
    html = response.content.decode()
    assert "Deleted Anna" in html
    assert set(Face.objects.filter(pk__in=face_ids).values_list("state", flat=True)) == {Face.State.UNKNOWN}
    assert FaceRejection.objects.filter(person=anna, face_id__in=face_ids).count() == 2  # "not this person"

    token = html.split('action="/people/undo/')[1].split("/")[0]
    alice_client.post(reverse("faces:undo", args=[token]), **hx())
    assert Person.objects.for_user(alice).filter(pk=anna.pk).exists()
    assert set(Face.objects.filter(pk__in=face_ids).values_list("state", "person_id")) == {("confirmed", anna.id)}
    assert not FaceRejection.objects.filter(person=anna).exists()


@pytest.mark.django_db
def test_an_undo_token_works_once(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    html = alice_client.post(url("person_delete", anna), follow=True).content.decode()
    token = html.split('action="/people/undo/')[1].split("/")[0]
    assert alice_client.post(reverse("faces:undo", args=[token])).status_code == 302
    assert alice_client.post(reverse("faces:undo", args=[token])).status_code == 404


@pytest.mark.django_db
def test_the_undo_payload_never_leaves_the_server(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna", faces=1)
    face = anna.cover_face
    response = alice_client.post(reverse("faces:face_not_a_face", args=[face.id]), **hx())
    html = response.content.decode()
    assert "/people/undo/" in html
    assert "face_id" not in html and '"faces"' not in html


@pytest.mark.django_db
def test_the_page_query_count_does_not_grow_with_photos(
    alice_client, alice, bob_client, bob, django_assert_max_num_queries
):
    small = PersonFactory(owner=bob, name="Small", faces=2, faces__crop=True)
    big = PersonFactory(owner=alice, name="Big", faces=80, faces__crop=True)
    for _ in range(30):
        FaceFactory(owner=alice, person=big, state=Face.State.SUGGESTED)
    FaceFactory(owner=bob, person=small, state=Face.State.SUGGESTED)
    # Counted as the page computes it (cold): while the library is unchanged it reads none of it
    # (smartgallery.fragments).
    assert count_queries(alice_client, url("person", big), cold=True) == count_queries(
        bob_client, url("person", small), cold=True
    )
    # Without suggestions their faces are not read (the heading counted none).
    none = PersonFactory(owner=bob, name="None", faces=2, faces__crop=True)
    assert (
        count_queries(bob_client, url("person", none), cold=True)
        == count_queries(bob_client, url("person", small), cold=True) - 1
    )
    with django_assert_max_num_queries(REQUEST_OVERHEAD_QUERIES + 6):
        alice_client.get(url("person", big))
