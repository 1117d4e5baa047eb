"""The admin edits persons and faces through the services (same checks, same rebuild)."""

from __future__ import annotations

import numpy as np
import pytest
from django.urls import reverse

from faces import services
from faces.models import Face, FaceRejection, Person, RecognitionIndex
from smartgallery.tests.factories import FaceFactory


@pytest.fixture
def operator_client(client, db):
    from django_otp.plugins.otp_static.models import StaticDevice

    from accounts.models import User

    operator = User.objects.create_superuser("operator@example.com", "operator-password-1234")
    device = StaticDevice.objects.create(user=operator, name="test", confirmed=True)
    client.force_login(operator)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    return client


def _face(user, **fields):
    return FaceFactory(owner=user, model_id="m", embedding=(np.ones(4, np.float32) / 2).tobytes(), **fields)


@pytest.fixture
def anna(alice):
    person = services.person_create(user=alice, name="Anna")
    for _ in range(2):
        services.face_assign(user=alice, face_id=_face(alice).id, person_id=person.id)
    return person


def _version(user):
    return RecognitionIndex.objects.get(owner=user).labels_version


def test_person_list_shows_face_counts_and_searches(operator_client, anna):
    response = operator_client.get(reverse("admin:faces_person_changelist"), {"q": "Ann"})
    assert response.status_code == 200
    assert b"Anna" in response.content
    assert response.context["cl"].result_list[0]._face_count == 2


def test_person_page_shows_its_faces(operator_client, anna):
    response = operator_client.get(reverse("admin:faces_person_change", args=[anna.pk]))
    assert response.status_code == 200
    face = Face.objects.filter(person=anna).first()
    assert reverse("gallery:face_crop", args=[face.pk]).encode() in response.content


def test_admin_rename_goes_through_the_service(operator_client, alice, anna):
    before = _version(alice)
    response = operator_client.post(
        reverse("admin:faces_person_change", args=[anna.pk]),
        {
            "name": "Anna K",
            "hidden": "",
            "birth_date": "",
            "faces-TOTAL_FORMS": "0",
            "faces-INITIAL_FORMS": "0",
            "faces-MIN_NUM_FORMS": "0",
            "faces-MAX_NUM_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    anna.refresh_from_db()
    assert anna.name == "Anna K" and _version(alice) == before + 1


def test_admin_delete_is_the_person_delete_service(operator_client, alice, anna):
    faces = list(Face.objects.filter(person=anna).values_list("id", flat=True))
    response = operator_client.post(reverse("admin:faces_person_delete", args=[anna.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Person.objects.for_user(alice).filter(pk=anna.pk).exists()
    assert FaceRejection.objects.filter(person=anna, face_id__in=faces).count() == 2


def test_admin_merge_action_only_within_one_owner(operator_client, alice, bob, anna):
    other = services.person_create(user=alice, name="Anna 2")
    services.face_assign(user=alice, face_id=_face(alice).id, person_id=other.id)
    bobs = services.person_create(user=bob, name="Bert")

    url = reverse("admin:faces_person_changelist")
    operator_client.post(url, {"action": "merge_selected", "_selected_action": [bobs.pk], "into_person": anna.pk})
    assert Person.objects.for_user(bob).filter(pk=bobs.pk).exists()

    operator_client.post(url, {"action": "merge_selected", "_selected_action": [other.pk], "into_person": anna.pk})
    assert Face.objects.filter(person=anna).count() == 3
    assert not Person.objects.for_user(alice).filter(pk=other.pk).exists()


def test_admin_face_reassign_refuses_another_users_person(operator_client, alice, bob, anna):
    face = _face(alice)
    bobs = services.person_create(user=bob, name="Bert")
    url = reverse("admin:faces_face_change", args=[face.pk])
    response = operator_client.post(url, {"person": bobs.pk, "state": "confirmed"})
    assert response.status_code == 200  # the form shows the error
    face.refresh_from_db()
    assert face.person_id is None

    response = operator_client.post(url, {"person": anna.pk, "state": "confirmed"})
    assert response.status_code == 302
    face.refresh_from_db()
    assert (face.person_id, face.state) == (anna.pk, Face.State.CONFIRMED)


def test_face_list_filters_drawn_faces(operator_client, alice, anna):
    drawn = _face(alice, source=Face.Source.DRAWN, centred_crop=True)
    url = reverse("admin:faces_face_changelist")
    response = operator_client.get(url, {"source__exact": "drawn"})
    assert response.status_code == 200
    assert [face.pk for face in response.context["cl"].result_list] == [drawn.pk]
    assert b"Drawn by the user" in response.content
    assert len(operator_client.get(url, {"source__exact": "detector"}).context["cl"].result_list) == 2
    page = operator_client.get(reverse("admin:faces_face_change", args=[drawn.pk]))
    assert b"Drawn by the user" in page.content
