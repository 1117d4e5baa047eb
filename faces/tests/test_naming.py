"""Which person a name or a pick means, and what a name may be (issue 15 §3, §10)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from faces import services
from faces.models import Face, Person
from faces.tests.viewdata import hx
from smartgallery.tests.factories import FaceFactory, FaceGroupFactory, PersonFactory

INVISIBLE = [
    "\u200b",  # zero-width space
    "\u200b\u200c\u200d\u2060\ufeff",  # zero-width space, non-joiner, joiner, word joiner, BOM
    "\u202e\u202c",  # right-to-left override, pop
    "\u2066 \u2069",  # isolates around a space
    "\u3164",  # Hangul filler: a letter that draws nothing
    "\u2800\u00ad",  # Braille blank, soft hyphen
]


# §10: names of only invisible characters ------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("name", INVISIBLE)
def test_a_face_cannot_be_named_with_only_invisible_characters(alice_client, alice, name):
    face = FaceFactory(owner=alice)

    response = alice_client.post(reverse("faces:face_assign", args=[face.id]), {"name": name}, **hx())

    assert response.status_code == 200
    assert "visible" in response.content.decode() or "required" in response.content.decode()
    assert not Person.objects.filter(owner=alice).exists()
    assert Face.objects.get(pk=face.id).person_id is None


@pytest.mark.django_db
@pytest.mark.parametrize("name", INVISIBLE)
def test_a_person_cannot_be_renamed_to_only_invisible_characters(alice, name):
    anna = PersonFactory(owner=alice, name="Anna")

    with pytest.raises(ValidationError):
        services.person_rename(user=alice, person_id=anna.id, name=name)

    assert Person.objects.get(pk=anna.id).name == "Anna"


@pytest.mark.django_db
def test_invisible_characters_are_taken_out_of_names_like_out_of_file_names(alice):
    person = services.person_create(user=alice, name="\u202eAn\u200bna\u2060 ")
    assert person.name == "Anna"
    # Joiners that shape what is around them stay (a family emoji, a Persian word).
    family = services.person_create(user=alice, name="\U0001f469\u200d\U0001f467 Rahimi")
    assert family.name == "\U0001f469\u200d\U0001f467 Rahimi"
    persian = services.person_create(user=alice, name="\u0645\u06cc\u200c\u062e\u0648\u0627\u0645")
    assert "\u200c" in persian.name


@pytest.mark.django_db
def test_a_name_with_a_hidden_character_means_the_person_it_looks_like(alice_client, alice):
    anna = PersonFactory(owner=alice, name="Anna")
    face = FaceFactory(owner=alice)

    alice_client.post(reverse("faces:face_assign", args=[face.id]), {"name": "An\u200bna"}, **hx())

    assert Face.objects.get(pk=face.id).person_id == anna.id
    assert Person.objects.for_user(alice).count() == 1


# Names that mean someone: one person, or a clear message ------------------------------------


@pytest.mark.django_db
def test_a_name_two_persons_share_asks_to_pick_one(alice_client, alice):
    PersonFactory(owner=alice, name="Anna")
    PersonFactory(owner=alice, name="anna")
    face = FaceFactory(owner=alice)

    response = alice_client.post(reverse("faces:face_assign", args=[face.id]), {"name": "ANNA"}, **hx())

    assert "Several people are called ANNA" in response.content.decode()
    assert Face.objects.get(pk=face.id).person_id is None
    assert Person.objects.for_user(alice).count() == 2


@pytest.mark.django_db
def test_bobs_persons_of_the_same_name_are_not_alices(alice_client, alice, bob):
    bobs = PersonFactory(owner=bob, name="Clara")
    face = FaceFactory(owner=alice)

    alice_client.post(reverse("faces:face_assign", args=[face.id]), {"name": "Clara"}, **hx())

    mine = Person.objects.for_user(alice).get(name="Clara")
    assert mine.id != bobs.id and Face.objects.get(pk=face.id).person_id == mine.id


# §3: a person picked from a page drawn before they were deleted -----------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("what", ["face", "group"])
def test_picking_a_person_deleted_meanwhile_says_so(alice_client, alice, what):
    anna = PersonFactory(owner=alice, name="Anna")
    services.person_delete(user=alice, person_id=anna.id)
    if what == "face":
        target = FaceFactory(owner=alice)
        url, form = reverse("faces:face_assign", args=[target.id]), {"person": anna.id}
    else:
        target = FaceGroupFactory(owner=alice, faces=2)
        url, form = reverse("faces:group_name", args=[target.id]), {"person": anna.id, "all": "1"}

    htmx = alice_client.post(url, form, **hx())
    plain = alice_client.post(url, form, follow=True)

    assert htmx.status_code == 200 and services.PERSON_GONE in htmx.content.decode()
    assert plain.status_code == 200 and services.PERSON_GONE in plain.content.decode()
    assert not Face.objects.filter(owner=alice, person=anna, state=Face.State.CONFIRMED).exists()


@pytest.mark.django_db
def test_bob_picking_alices_deleted_person_gets_404(alice, bob, bob_client):
    anna = PersonFactory(owner=alice, name="Anna")
    services.person_delete(user=alice, person_id=anna.id)
    face = FaceFactory(owner=bob)

    response = bob_client.post(reverse("faces:face_assign", args=[face.id]), {"person": anna.id}, **hx())

    assert response.status_code == 404
    assert Face.objects.get(pk=face.id).person_id is None
