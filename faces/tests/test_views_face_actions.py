import re

import pytest
from django.urls import reverse

from faces.models import Face, FaceGroup, FaceRejection, Person
from faces.tests.viewdata import XSS, XSS_ESCAPED, hx
from smartgallery.tests.factories import FaceFactory, FaceGroupFactory, PersonFactory


def url(name, obj):
    return reverse(f"faces:{name}", args=[obj.id])


def panel(face) -> dict:
    """Headers of an htmx action sent from the face's panel (its forms target the panel)."""
    return hx(HTTP_HX_TARGET=f"face-panel-{face.id}")


def undo_token(html: str) -> str:
    return html.split('action="/people/undo/')[1].split("/")[0]


@pytest.mark.django_db
def test_the_panel_renders_as_a_partial_and_as_a_page(alice_client, alice):
    face = FaceFactory(owner=alice)
    partial = alice_client.get(url("face", face), **hx()).content.decode()
    assert partial.lstrip().startswith('<div class="face-panel"') and "<html" not in partial
    assert "Who is this?" in partial and 'aria-label="Unknown face"' in partial  # no crop yet: the placeholder
    assert f'<label for="face-{face.id}-name">' in partial
    page = alice_client.get(url("face", face)).content.decode()
    assert "<html" in page and "Who is this?" in page and reverse("gallery:photo", args=[face.photo_id]) in page


@pytest.mark.django_db
def test_naming_a_face_creates_the_person_and_confirms_the_face(alice_client, alice):
    face = FaceFactory(owner=alice)
    response = alice_client.post(url("face_assign", face), {"name": "Clara"}, **panel(face))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Named Clara." in html and "/people/undo/" in html
    assert html.lstrip().startswith('<div class="face-panel"')
    face.refresh_from_db()
    clara = Person.objects.get(owner=alice, name="Clara")
    assert face.person_id == clara.id and face.state == Face.State.CONFIRMED


@pytest.mark.django_db
def test_a_typed_existing_name_picks_that_person_instead_of_a_duplicate(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    face = FaceFactory(owner=alice)
    alice_client.post(url("face_assign", face), {"name": "anna"}, **hx())
    face.refresh_from_db()
    assert face.person_id == anna.id
    assert Person.objects.filter(owner=alice, name__iexact="anna").count() == 1


@pytest.mark.django_db
def test_a_person_can_be_picked_by_id(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    face = FaceFactory(owner=alice)
    alice_client.post(url("face_assign", face), {"person": anna.id})
    face.refresh_from_db()
    assert face.person_id == anna.id and face.state == Face.State.CONFIRMED


@pytest.mark.django_db
def test_naming_without_a_name_shows_the_error_in_the_panel(alice_client, alice):
    face = FaceFactory(owner=alice)
    response = alice_client.post(url("face_assign", face), {"name": "  "}, **panel(face))
    assert "Type a name or pick a person." in response.content.decode()
    face.refresh_from_db()
    assert face.state == Face.State.UNKNOWN


@pytest.mark.django_db
def test_reassign_says_from_whom_to_whom_and_undo_puts_it_back(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna", faces=2)
    ben = PersonFactory(owner=alice, name="Ben")
    face = anna.faces.order_by("id").last()
    html = alice_client.post(url("face_assign", face), {"person": ben.id}, **hx()).content.decode()
    assert "Moved from Anna to Ben." in html
    face.refresh_from_db()
    assert face.person_id == ben.id
    response = alice_client.post(reverse("faces:undo", args=[undo_token(html)]), **hx())
    assert response.headers["HX-Refresh"] == "true"
    face.refresh_from_db()
    assert face.person_id == anna.id and face.state == Face.State.CONFIRMED


@pytest.mark.django_db
def test_confirm_a_recognised_face(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    face = FaceFactory(owner=alice, person=anna, state=Face.State.AUTO)
    html = alice_client.post(url("face_confirm", face), **panel(face)).content.decode()
    assert "Confirmed Anna." in html
    face.refresh_from_db()
    assert face.state == Face.State.CONFIRMED


@pytest.mark.django_db
def test_confirm_an_unknown_face_is_refused(alice_client, alice):
    face = FaceFactory(owner=alice)
    response = alice_client.post(url("face_confirm", face), **hx())
    assert response.headers["HX-Reswap"] == "none"
    assert "no person to confirm" in response.content.decode()


@pytest.mark.django_db
def test_unassign_remembers_not_this_person(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna", faces=2)
    face = anna.faces.order_by("id").last()
    html = alice_client.post(url("face_unassign", face), **hx()).content.decode()
    assert "Removed from Anna." in html
    face.refresh_from_db()
    assert face.person_id is None and FaceRejection.objects.filter(face=face, person=anna).exists()


@pytest.mark.django_db
def test_not_a_face_and_undo(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna", faces=2)
    face = anna.faces.order_by("id").last()
    html = alice_client.post(url("face_not_a_face", face), **panel(face)).content.decode()
    assert "Marked as not a face." in html and '<h2 id="face-panel-title">Not a face</h2>' in html
    face.refresh_from_db()
    assert face.state == Face.State.REJECTED_AS_FACE and face.person_id is None
    alice_client.post(reverse("faces:undo", args=[undo_token(html)]))
    face.refresh_from_db()
    assert face.state == Face.State.CONFIRMED and face.person_id == anna.id


@pytest.mark.django_db
def test_without_js_a_face_action_redirects_to_a_safe_next_with_a_message(alice_client, alice):
    face = FaceFactory(owner=alice)
    response = alice_client.post(url("face_assign", face), {"name": "Dora", "next": "/people/"}, follow=True)
    assert response.redirect_chain[0][0] == "/people/"
    html = response.content.decode()
    assert "Named Dora." in html and "/people/undo/" in html
    face2 = FaceFactory(owner=alice)
    response = alice_client.post(url("face_assign", face2), {"name": "Dora", "next": "https://evil.example/"})
    assert response.url == url("face", face2)


@pytest.mark.django_db
def test_names_are_escaped_in_the_panel_and_the_toast(alice_client, alice):
    face = FaceFactory(owner=alice)
    html = alice_client.post(url("face_assign", face), {"name": XSS}, **panel(face)).content.decode()
    assert XSS not in html and XSS_ESCAPED in html
    for response in (alice_client.get(url("face", face), **hx()), alice_client.get(url("face", face))):
        html = response.content.decode()
        assert XSS not in html and XSS_ESCAPED in html


@pytest.mark.django_db
def test_naming_a_whole_group_confirms_its_faces(alice_client, alice):
    group = FaceGroupFactory(owner=alice, faces=3)
    face_ids = list(group.faces.values_list("id", flat=True))
    response = alice_client.post(url("group_name", group), {"name": "Eve", "all": "1"}, **hx())
    assert "Named 3 faces Eve." in response.content.decode()
    eve = Person.objects.get(owner=alice, name="Eve")
    assert set(Face.objects.filter(pk__in=face_ids).values_list("state", "person_id")) == {("confirmed", eve.id)}


@pytest.mark.django_db
def test_naming_part_of_a_group_leaves_the_rest(alice_client, alice):
    group = FaceGroupFactory(owner=alice, faces=4)
    picked = list(group.faces.order_by("id").values_list("id", flat=True)[:2])
    response = alice_client.post(url("group_name", group), {"name": "Finn", "face": picked}, follow=True)
    assert response.redirect_chain[-1][0] == url("group", group)
    finn = Person.objects.get(owner=alice, name="Finn")
    assert set(Face.objects.filter(pk__in=picked).values_list("person_id", flat=True)) == {finn.id}
    assert group.faces.filter(state=Face.State.UNKNOWN).count() == 2


@pytest.mark.django_db
def test_naming_part_of_a_group_needs_picked_faces(alice_client, alice):
    group = FaceGroupFactory(owner=alice, faces=2)
    response = alice_client.post(url("group_name", group), {"name": "Finn"}, follow=True)
    assert "Pick at least one face." in response.content.decode()
    assert not Person.objects.filter(owner=alice, name="Finn").exists()


@pytest.mark.django_db
def test_a_face_of_another_group_cannot_be_named_through_this_one(alice_client, alice):
    group = FaceGroupFactory(owner=alice, faces=2)
    other = FaceGroupFactory(owner=alice, faces=1)
    response = alice_client.post(
        url("group_name", group), {"name": "Finn", "face": [other.faces.get().id]}, follow=True
    )
    assert "Only unknown faces of this group" in response.content.decode()


@pytest.mark.django_db
def test_the_group_page_lists_its_faces_to_pick(alice_client, alice):
    group = FaceGroupFactory(owner=alice, faces=3, faces__crop=True)
    html = alice_client.get(url("group", group)).content.decode()
    assert html.count('name="face"') == 3 and html.count('alt="Unknown face"') == 3


@pytest.mark.django_db
def test_a_group_of_one_face_is_not_called_similar_faces(alice_client, alice):
    group = FaceGroupFactory(owner=alice, faces=1)
    html = alice_client.get(url("group", group)).content.decode()
    assert "One face" in html and ">Name it</button>" in html
    assert "1 similar face" not in html and "Name all 1" not in html


@pytest.mark.django_db
def test_the_group_page_shows_every_face_a_page_at_a_time(alice_client, alice):
    group = FaceGroupFactory(owner=alice, faces=125)
    html = alice_client.get(url("group", group)).content.decode()
    assert html.count('name="face"') == 120 and "Name all 125" in html and "Show more faces" in html
    more = alice_client.get(url("group", group), {"offset": "120"}, **hx()).content.decode()
    assert "<html" not in more and more.count('name="face"') == 5 and "Show more faces" not in more
    shown = {int(v) for v in re.findall(r'name="face" value="(\d+)"', html + more)}
    assert shown == set(group.faces.values_list("id", flat=True))


@pytest.mark.django_db
def test_faces_taken_out_of_a_group_stay_out_until_undone(alice_client, alice):
    group = FaceGroupFactory(owner=alice, faces=4)
    odd = list(group.faces.order_by("id").values_list("id", flat=True)[:2])
    html = alice_client.post(url("group_remove", group), {"face": odd}, **hx()).content.decode()
    assert "Took 2 faces out of the group; they stay unknown." in html
    assert group.faces.count() == 2
    aside = Face.objects.get(pk=odd[0]).group
    assert aside != group and aside.dismissed and set(aside.faces.values_list("id", flat=True)) == set(odd)
    assert set(Face.objects.filter(pk__in=odd).values_list("state", "person")) == {("unknown", None)}
    alice_client.post(reverse("faces:undo", args=[undo_token(html)]))
    assert group.faces.count() == 4 and not FaceGroup.objects.filter(pk=aside.pk).exists()


@pytest.mark.django_db
def test_taking_faces_out_needs_faces_of_this_group(alice_client, alice):
    group = FaceGroupFactory(owner=alice, faces=2)
    other = FaceGroupFactory(owner=alice, faces=1)
    response = alice_client.post(url("group_remove", group), follow=True)
    assert "Pick the faces to take out of the group." in response.content.decode()
    response = alice_client.post(url("group_remove", group), {"face": [other.faces.get().id]}, follow=True)
    assert "Only unknown faces of this group can be taken out of it." in response.content.decode()
    assert group.faces.count() == 2 and other.faces.count() == 1


@pytest.mark.django_db
def test_dismissing_a_group_and_undo(alice_client, alice):
    group = FaceGroupFactory(owner=alice, faces=2)
    html = alice_client.post(url("group_dismiss", group), **hx()).content.decode()
    assert "Group dismissed." in html
    assert FaceGroup.objects.get(pk=group.pk).dismissed
    alice_client.post(reverse("faces:undo", args=[undo_token(html)]))
    assert not FaceGroup.objects.get(pk=group.pk).dismissed


@pytest.mark.django_db
def test_the_photo_page_can_open_the_face_panel(alice_client, alice):
    """The panel is reachable from the photo page's face boxes (the gallery's photo page)."""
    face = FaceFactory(owner=alice)
    face.photo.preview = f"{alice.pk}/derivatives/preview.jpg"
    face.photo.save(update_fields=["preview"])
    html = alice_client.get(reverse("gallery:photo", args=[face.photo_id])).content.decode()
    panel = reverse("faces:face", args=[face.id])
    assert f'href="{panel}?next=' in html and f'hx-get="{panel}?next=' in html and 'id="face-dialog"' in html
    assert "style=" not in html.split('id="photo-frame"')[1].split("</div>")[0]  # CSP: no inline styles
    back = alice_client.get(panel, {"next": reverse("gallery:photo", args=[face.photo_id])}).content.decode()
    assert f'name="next" value="{reverse("gallery:photo", args=[face.photo_id])}"' in back
