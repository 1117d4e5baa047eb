"""The library-wide refresh: groups stay groups, groups are asked about, no face is lost."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest
from django.core.exceptions import ValidationError

from faces import recognition, services
from faces.models import Face, FaceGroup, FaceRejection, Person
from faces.tests.people import Library, name_person

pytestmark = pytest.mark.usefixtures("fresh_process_cache")

PEOPLE = ["Ariel_Sharon", "Colin_Powell", "Tony_Blair"]


@pytest.fixture
def library(alice, detections, model):
    return Library(alice, detections, model.model_id, PEOPLE, per_identity=8)


@pytest.fixture
def asking_model(model):
    """The pack's model with automatic naming out of reach (margin 1), so what a named person's
    other faces get is a question: a single suggestion or a group question."""
    return dataclasses.replace(model, policy=dataclasses.replace(model.policy, margin=1.0))


def _main_group(library, identity):
    library.refresh()
    return Counter(f.group_id for f in library.faces[identity]).most_common(1)[0]


def _members(group_id):
    return set(Face.objects.filter(group_id=group_id).values_list("id", flat=True))


def test_naming_one_group_leaves_the_other_groups_as_they_were(alice, library, model):
    recognition.people_refresh(alice.id, model)
    before = {identity: _members(_main_group(library, identity)[0]) for identity in ("Ariel_Sharon", "Colin_Powell")}
    tony_group = _main_group(library, "Tony_Blair")[0]

    services.group_name(user=alice, group_id=tony_group, name="Tony")
    recognition.people_refresh(alice.id, model)

    for identity, members in before.items():
        group_id, _ = _main_group(library, identity)
        assert _members(group_id) == members, identity
        assert FaceGroup.objects.get(pk=group_id).suggested_person_id is None  # not asked as Tony


def test_a_group_that_looks_like_a_named_person_is_asked_about_once(alice, library, asking_model):
    colin = name_person(library, alice, "Colin_Powell", 3)

    recognition.people_refresh(alice.id, asking_model)

    rest = [f.id for f in library.faces["Colin_Powell"][3:]]
    asked = FaceGroup.objects.filter(owner=alice, suggested_person_id=colin)
    assert asked.count() == 1
    group = asked.get()
    assert _members(group.id) <= set(rest) and len(_members(group.id)) >= 3
    # Its faces are not also asked about one by one.
    assert not Face.objects.filter(pk__in=_members(group.id)).exclude(state=Face.State.UNKNOWN).exists()

    members = _members(group.id)
    services.group_question_confirm(user=alice, group_id=group.id)

    assert Face.objects.filter(person_id=colin, state=Face.State.CONFIRMED).count() == 3 + len(members)
    assert not FaceGroup.objects.filter(pk=group.id, faces__isnull=False).exists()


def test_no_to_a_group_question_is_remembered_for_every_face_and_the_group_stays(alice, library, asking_model):
    colin = name_person(library, alice, "Colin_Powell", 3)
    recognition.people_refresh(alice.id, asking_model)
    group = FaceGroup.objects.get(owner=alice, suggested_person_id=colin)
    members = _members(group.id)

    services.group_question_reject(user=alice, group_id=group.id)
    recognition.people_refresh(alice.id, asking_model)

    assert set(FaceRejection.objects.filter(person_id=colin).values_list("face_id", flat=True)) == members
    assert _members(group.id) == members
    group.refresh_from_db()
    assert group.suggested_person_id is None


def test_a_face_taken_out_of_a_person_joins_the_group_of_its_look_alikes(alice, library, model):
    recognition.people_refresh(alice.id, model)
    stray = library.faces["Tony_Blair"][0]
    ariel = name_person(library, alice, "Ariel_Sharon", 3)
    services.face_assign(user=alice, face_id=stray.id, person_id=ariel)  # a wrong name
    recognition.people_refresh(alice.id, model)

    services.face_unassign(user=alice, face_id=stray.id)  # corrected: "not Ariel"
    recognition.people_refresh(alice.id, model)

    # (Meanwhile the wrong reference had named Tony's other faces Ariel automatically; the
    # correction gave them back too, and they are one group again, the stray with them.)
    stray.refresh_from_db()
    tony = {f.id for f in library.faces["Tony_Blair"]}
    assert stray.state == Face.State.UNKNOWN and stray.group_id is not None
    assert _members(stray.group_id) == tony


def test_yes_to_all_suggestions_of_a_person(alice, library, asking_model):
    colin = name_person(library, alice, "Colin_Powell", 3)
    recognition.people_refresh(alice.id, asking_model)
    suggested = set(Face.objects.filter(person_id=colin, state=Face.State.SUGGESTED).values_list("id", flat=True))
    if not suggested:  # every other face of Colin is in his asked group: make one a suggestion
        face = library.faces["Colin_Powell"][-1]
        Face.objects.filter(pk=face.pk).update(state=Face.State.SUGGESTED, person_id=colin, group=None)
        suggested = {face.pk}

    services.person_confirm_suggestions(user=alice, person_id=colin)

    assert (
        set(
            Face.objects.filter(pk__in=suggested, person_id=colin, state=Face.State.CONFIRMED).values_list(
                "id", flat=True
            )
        )
        == suggested
    )
    with pytest.raises(ValidationError):
        services.person_confirm_suggestions(user=alice, person_id=colin)


def test_an_emptied_group_is_not_named(alice, library, model):
    recognition.people_refresh(alice.id, model)
    group_id, _ = _main_group(library, "Tony_Blair")
    services.group_name(user=alice, group_id=group_id, name="Tony")
    # The card was drawn before: its group has no faces left now.

    with pytest.raises(ValidationError):
        services.group_name(user=alice, group_id=group_id, name="Somebody")


def test_a_new_photo_joins_its_group_at_once(alice, detections, library, model):
    recognition.people_refresh(alice.id, model)
    group_id, _ = _main_group(library, "Tony_Blair")
    more = Library(alice, detections, model.model_id, ["Tony_Blair"], per_identity=10)
    new = more.faces["Tony_Blair"][8:]

    for face in new:
        recognition.recognise_photo(photo=face.photo)

    more.refresh()
    assert [f.group_id for f in more.faces["Tony_Blair"][8:]] == [group_id] * len(new)
    assert FaceGroup.objects.get(pk=group_id).vector_count == len(_members(group_id))


def test_question_services_refuse_other_users_groups(alice, bob, library, asking_model):
    colin = name_person(library, alice, "Colin_Powell", 3)
    recognition.people_refresh(alice.id, asking_model)
    group = FaceGroup.objects.get(owner=alice, suggested_person_id=colin)
    for service in (services.group_question_confirm, services.group_question_reject):
        with pytest.raises(FaceGroup.DoesNotExist):
            service(user=bob, group_id=group.id)
    with pytest.raises(Person.DoesNotExist):
        services.person_confirm_suggestions(user=bob, person_id=colin)
    assert FaceGroup.objects.get(pk=group.id).suggested_person_id == colin
