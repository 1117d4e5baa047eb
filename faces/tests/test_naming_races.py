"""Naming faces while something else changes the same people (issue 15 §3, §4) [T].

Real threads with their own database connections, through the real views, as two requests
of one user would run; a Gate (or a barrier) holds one of them at the moment under test.
"""

from __future__ import annotations

import threading

import pytest
from django.test import Client
from django.urls import reverse

from faces import services
from faces.models import Face, Person
from faces.tests.viewdata import hx
from gallery.tests.threads import Gate, Runner
from smartgallery.tests.factories import FaceFactory, FaceGroupFactory, PersonFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
BARRIER_SECONDS = 3


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# §3: the person is deleted while a face or a group is named for them -----------------------


@pytest.mark.parametrize("what", ["face", "group"])
def test_a_person_deleted_right_after_faces_were_named_for_them_is_no_error(alice, monkeypatch, what):
    anna = PersonFactory(owner=alice, name="Anna")
    if what == "face":
        target = FaceFactory(owner=alice)
        url, form, service = reverse("faces:face_assign", args=[target.id]), {"person": anna.id}, "face_assign"
    else:
        target = FaceGroupFactory(owner=alice, faces=2)
        url, form, service = (
            reverse("faces:group_name", args=[target.id]),
            {"person": anna.id, "all": "1"},
            "group_name",
        )
    gate = Gate("naming")
    gate.install(monkeypatch, services, service, after=True)  # the naming committed; the view answers next
    browser = _browser(alice)
    naming = Runner("naming", lambda: browser.post(url, form, **hx()))

    naming.start()
    gate.wait_parked()
    services.person_delete(user=alice, person_id=anna.id)
    gate.release()
    response = naming.join_checked()

    assert response.status_code == 200
    assert "Named" in response.content.decode() and "Anna" in response.content.decode()
    assert Person.objects.for_user(alice).filter(pk=anna.id).count() == 0


# §4: the same new name typed twice at once ----------------------------------------------


def test_the_same_new_name_sent_twice_at_once_makes_one_person(alice, monkeypatch):
    faces = [FaceFactory(owner=alice), FaceFactory(owner=alice)]
    # Both requests found nobody called Clara; both now create her.
    barrier = threading.Barrier(2)
    arrived = []
    real_create = services.person_create

    def meeting_create(**kwargs):
        arrived.append(threading.current_thread().name)
        try:
            barrier.wait(BARRIER_SECONDS)
        except threading.BrokenBarrierError:
            pass  # the other request was held back earlier (by the fix): go on alone
        return real_create(**kwargs)

    monkeypatch.setattr(services, "person_create", meeting_create)
    browsers = [_browser(alice), _browser(alice)]
    namings = [
        Runner(
            f"naming-{n}",
            lambda n=n: browsers[n].post(reverse("faces:face_assign", args=[faces[n].id]), {"name": "Clara"}, **hx()),
        )
        for n in range(2)
    ]
    for naming in namings:
        naming.start()
    answers = [naming.join_checked() for naming in namings]

    assert [a.status_code for a in answers] == [200, 200]
    claras = Person.objects.for_user(alice).filter(name__iexact="clara")
    assert claras.count() == 1
    assert set(Face.objects.filter(person=claras.get()).values_list("id", flat=True)) == {f.id for f in faces}
    # And typing the name again is not "Several people are called Clara".
    third = FaceFactory(owner=alice)
    response = browsers[0].post(reverse("faces:face_assign", args=[third.id]), {"name": "clara"}, **hx())
    assert "Named Clara." in response.content.decode()
    assert Face.objects.get(pk=third.id).person_id == claras.get().id
