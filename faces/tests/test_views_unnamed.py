"""The Unnamed faces page (/people/unnamed/): every recognisable unknown face in no group the
People page offers, the clearest first, a page at a time, each one nameable in the face dialog."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from faces.models import Face
from faces.tests.viewdata import REQUEST_OVERHEAD_QUERIES, count_queries, hx
from smartgallery.tests.factories import FaceFactory, FaceGroupFactory, PersonFactory, PhotoFactory

URL = reverse("faces:unnamed")


def shown(html):
    """Face ids of the tiles, in page order."""
    return [int(part.split('"')[0]) for part in html.split('id="unnamed-face-')[1:]]


@pytest.mark.django_db
def test_it_lists_unknown_faces_in_no_group_the_clearest_first(alice_client, alice):
    # Quality is size x frontalness (as for a person's cover): 120 > 100 > 90.
    sideways = FaceFactory(owner=alice, size=200, frontalness=0.5)
    frontal = FaceFactory(owner=alice, size=120, frontalness=1.0)
    small = FaceFactory(owner=alice, size=90, frontalness=1.0)
    set_aside = FaceFactory(owner=alice, size=50, group=FaceGroupFactory(owner=alice, dismissed=True, faces=0))
    html = alice_client.get(URL).content.decode()
    assert shown(html) == [frontal.id, sideways.id, small.id, set_aside.id]
    assert "4 faces in no group" in html


@pytest.mark.django_db
def test_it_leaves_out_named_grouped_unrecognisable_and_trashed_faces(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna", faces=1)
    kept = FaceFactory(owner=alice)
    suggested = FaceFactory(owner=alice, person=anna, state=Face.State.SUGGESTED)
    grouped = FaceGroupFactory(owner=alice, faces=2)
    blurry = FaceFactory(owner=alice, recognisable=False)
    not_a_face = FaceFactory(owner=alice, state=Face.State.REJECTED_AS_FACE)
    trashed = FaceFactory(owner=alice, photo=PhotoFactory(owner=alice, deleted_at=timezone.now()))
    html = alice_client.get(URL).content.decode()
    assert shown(html) == [kept.id]
    left_out = [anna.cover_face_id, suggested.id, blurry.id, not_a_face.id, trashed.id]
    left_out += list(grouped.faces.values_list("id", flat=True))
    assert not set(shown(html)) & set(left_out)


@pytest.mark.django_db
def test_each_face_opens_the_face_dialog_and_comes_back_here(alice_client, alice):
    face = FaceFactory(owner=alice, crop=True)
    html = alice_client.get(URL).content.decode()
    link = f"{reverse('faces:face', args=[face.id])}?next=/people/unnamed/"
    assert f'href="{link}"' in html and f'hx-get="{link}"' in html and 'hx-target="#face-panel"' in html
    assert reverse("gallery:face_crop", args=[face.id]) in html and 'id="face-dialog"' in html
    panel = alice_client.get(link, **hx()).content.decode()
    assert 'name="next" value="/people/unnamed/"' in panel


@pytest.mark.django_db
def test_naming_a_face_in_the_dialog_takes_its_tile_away(alice_client, alice):
    face = FaceFactory(owner=alice)
    target = hx(HTTP_HX_TARGET=f"face-panel-{face.id}")
    html = alice_client.post(
        reverse("faces:face_assign", args=[face.id]), {"name": "Anna", "next": URL}, **target
    ).content.decode()
    assert f'<div id="unnamed-face-{face.id}" hx-swap-oob="delete"></div>' in html
    assert "Named Anna." in html
    # From anywhere else the panel has no such tile to take away (htmx would report it missing),
    # nor when the face was not an unnamed one before the answer.
    other = FaceFactory(owner=alice)
    html = alice_client.post(
        reverse("faces:face_assign", args=[other.id]), {"name": "Anna"}, **hx(HTTP_HX_TARGET=f"face-panel-{other.id}")
    ).content.decode()
    assert 'hx-swap-oob="delete"' not in html
    html = alice_client.post(reverse("faces:face_unassign", args=[face.id]), {"next": URL}, **target).content.decode()
    assert 'hx-swap-oob="delete"' not in html


@pytest.mark.django_db
def test_without_js_naming_comes_back_to_the_list(alice_client, alice):
    named, other = FaceFactory(owner=alice), FaceFactory(owner=alice)
    response = alice_client.post(
        reverse("faces:face_assign", args=[named.id]), {"name": "Anna", "next": URL}, follow=True
    )
    assert response.redirect_chain[0][0] == URL
    html = response.content.decode()
    assert "Named Anna." in html and shown(html) == [other.id]


@pytest.mark.django_db
def test_pages_follow_a_keyset_cursor_so_naming_does_not_shift_them(alice_client, alice):
    faces = [FaceFactory(owner=alice, size=200 - i) for i in range(65)]
    html = alice_client.get(URL).content.decode()
    assert shown(html) == [f.id for f in faces[:60]] and "Load more faces" in html
    cursor = html.split("?after=")[1].split('"')[0]
    # Faces of the first page named meanwhile: the next page still starts after the last shown.
    for face in faces[:5]:
        Face.objects.filter(pk=face.pk).update(state=Face.State.CONFIRMED)
    more = alice_client.get(URL, {"after": cursor}, **hx()).content.decode()
    assert "<html" not in more and shown(more) == [f.id for f in faces[60:]]
    assert "Load more faces" not in more


@pytest.mark.django_db
def test_ties_in_quality_are_paged_by_id(alice_client, alice):
    faces = [FaceFactory(owner=alice, size=100) for _ in range(3)]
    from faces import selectors

    first = selectors.unnamed_faces_page(user=alice, limit=2)
    rest = selectors.unnamed_faces_page(user=alice, cursor=first.next_cursor, limit=2)
    assert [f.id for f in first.faces + rest.faces] == [f.id for f in faces] and rest.next_cursor is None


@pytest.mark.django_db
@pytest.mark.parametrize("cursor", ["garbage", "1_", "_2", "x_y"])
def test_a_bad_cursor_starts_from_the_top(alice_client, alice, cursor):
    face = FaceFactory(owner=alice)
    response = alice_client.get(URL, {"after": cursor})
    assert response.status_code == 200 and shown(response.content.decode()) == [face.id]


@pytest.mark.django_db
def test_the_people_page_links_to_the_unnamed_faces(alice_client, alice):
    PersonFactory(owner=alice, name="Anna")
    html = alice_client.get(reverse("faces:people")).content.decode()
    assert URL not in html
    FaceFactory(owner=alice)
    FaceFactory(owner=alice)
    FaceGroupFactory(owner=alice, faces=3)
    html = alice_client.get(reverse("faces:people")).content.decode()
    assert f'<a href="{URL}">2 unnamed faces in no group</a>' in html
    partial = alice_client.get(reverse("faces:people"), **hx(HTTP_HX_TARGET="groups")).content.decode()
    assert "2 unnamed faces in no group" in partial


@pytest.mark.django_db
def test_the_empty_page_says_where_the_faces_are(alice_client, alice):
    FaceGroupFactory(owner=alice, faces=2)
    html = alice_client.get(URL).content.decode()
    assert "No unnamed faces outside the groups" in html and reverse("faces:people") in html


@pytest.mark.django_db
def test_it_shows_only_the_users_own_faces(alice_client, alice, bob):
    mine = FaceFactory(owner=alice)
    FaceFactory(owner=bob)
    assert shown(alice_client.get(URL).content.decode()) == [mine.id]


@pytest.mark.django_db
def test_anonymous_is_sent_to_login_and_it_is_read_only(alice_client):
    response = Client().get(URL)
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
    assert alice_client.post(URL).status_code == 405


@pytest.mark.django_db
def test_the_page_query_count_does_not_grow_with_faces(
    alice_client, alice, bob_client, bob, django_assert_max_num_queries
):
    FaceFactory(owner=bob, crop=True)
    start = timezone.now()
    for i in range(70):
        FaceFactory(
            owner=alice, crop=True, photo=PhotoFactory(owner=alice, taken_at=start - datetime.timedelta(hours=i))
        )
    assert count_queries(alice_client, URL) == count_queries(bob_client, URL)
    with django_assert_max_num_queries(REQUEST_OVERHEAD_QUERIES + 2):
        alice_client.get(URL)
