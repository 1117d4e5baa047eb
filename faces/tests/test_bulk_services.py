"""Answers to several faces at once (issue 14): "No" / "Yes" to picked suggestions, "these are
<name>" for picked faces, "Not Anna" for faces picked on her page. One transaction each, the
user's ids only (all or nothing), a user-confirmed face never undone by a bulk "No", one Undo
and one index rebuild per answer, and queries that do not grow with the selection."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from faces import services
from faces.models import Face, FaceRejection, Person
from smartgallery.tests.factories import FaceFactory, FaceGroupFactory, PersonFactory, PhotoFactory

pytestmark = pytest.mark.django_db


def suggested(owner, person, count: int, state=Face.State.SUGGESTED) -> list[Face]:
    return FaceFactory.create_batch(count, owner=owner, person=person, state=state, similarity=0.5)


def rows() -> list:
    return [list(model.objects.order_by("id").values()) for model in (Face, Person, FaceRejection)]


def states(faces) -> list[tuple[str, int | None]]:
    by_id = Face.objects.in_bulk([f.id for f in faces])
    return [(by_id[f.id].state, by_id[f.id].person_id) for f in faces]


@pytest.fixture
def people(alice):
    anna = PersonFactory(owner=alice, name="Anna", faces=2)
    ben = PersonFactory(owner=alice, name="Ben", faces=1)
    return anna, ben


# No to the picked suggestions ------------------------------------------------------------------


def test_no_to_suggestions_of_two_persons_rejects_each_for_its_own(alice, people):
    anna, ben = people
    for_anna, for_ben = suggested(alice, anna, 3), suggested(alice, ben, 2)
    asked = {f.id: anna.id for f in for_anna} | {f.id: ben.id for f in for_ben}
    change = services.faces_reject(user=alice, asked=asked)
    assert states(for_anna + for_ben) == [(Face.State.UNKNOWN, None)] * 5
    assert set(FaceRejection.objects.values_list("face_id", "person_id")) == {
        *((f.id, anna.id) for f in for_anna),
        *((f.id, ben.id) for f in for_ben),
    }
    assert change.skipped_face_ids == []
    services.labels_undo(user=alice, change=change.as_dict())
    assert states(for_anna) == [(Face.State.SUGGESTED, anna.id)] * 3
    assert states(for_ben) == [(Face.State.SUGGESTED, ben.id)] * 2
    assert not FaceRejection.objects.exists()


def test_no_to_all_never_undoes_a_face_the_user_confirmed_meanwhile(alice, people):
    anna, ben = people
    faces = suggested(alice, anna, 3)
    Face.objects.filter(pk=faces[0].pk).update(state=Face.State.CONFIRMED)  # "Yes" in another tab
    Face.objects.filter(pk=faces[1].pk).update(person=ben)  # re-matched to Ben since
    change = services.faces_reject(user=alice, asked={f.id: anna.id for f in faces})
    assert states(faces) == [
        (Face.State.CONFIRMED, anna.id),
        (Face.State.SUGGESTED, ben.id),
        (Face.State.UNKNOWN, None),
    ]
    assert sorted(change.skipped_face_ids) == sorted([faces[0].id, faces[1].id])
    assert list(FaceRejection.objects.values_list("face_id", "person_id")) == [(faces[2].id, anna.id)]


def test_no_when_every_suggestion_was_answered_says_so(alice, people):
    anna, _ = people
    faces = suggested(alice, anna, 2, state=Face.State.CONFIRMED)
    before = rows()
    with pytest.raises(ValidationError, match="answered in the meantime"):
        services.faces_reject(user=alice, asked={f.id: anna.id for f in faces})
    assert rows() == before


def test_an_empty_selection_is_refused(alice):
    for call in (
        lambda: services.faces_reject(user=alice, asked={}),
        lambda: services.faces_confirm(user=alice, asked={}),
        lambda: services.faces_assign(user=alice, face_ids=[], name="Anna"),
    ):
        with pytest.raises(ValidationError, match="Pick at least one face"):
            call()


# Yes to the picked suggestions -----------------------------------------------------------------


def test_yes_to_suggestions_confirms_each_for_its_person_and_skips_the_answered(alice, people):
    anna, ben = people
    for_anna, for_ben = suggested(alice, anna, 2), suggested(alice, ben, 1)
    auto = suggested(alice, anna, 1, state=Face.State.AUTO)
    Face.objects.filter(pk=for_anna[1].pk).update(person=None, state=Face.State.UNKNOWN)  # "No" elsewhere
    asked = {f.id: anna.id for f in [*for_anna, *auto]} | {for_ben[0].id: ben.id}
    change = services.faces_confirm(user=alice, asked=asked)
    assert states([for_anna[0], auto[0], for_ben[0], for_anna[1]]) == [
        (Face.State.CONFIRMED, anna.id),
        (Face.State.CONFIRMED, anna.id),
        (Face.State.CONFIRMED, ben.id),
        (Face.State.UNKNOWN, None),
    ]
    assert change.skipped_face_ids == [for_anna[1].id]
    services.labels_undo(user=alice, change=change.as_dict())
    assert states([for_anna[0], auto[0], for_ben[0]]) == [
        (Face.State.SUGGESTED, anna.id),
        (Face.State.AUTO, anna.id),
        (Face.State.SUGGESTED, ben.id),
    ]


def test_yes_to_faces_confirmed_already_changes_nothing_and_says_so(alice, people):
    anna, _ = people
    mine = list(Face.objects.filter(person=anna))
    with pytest.raises(ValidationError, match="confirmed already"):
        services.faces_confirm(user=alice, asked={f.id: anna.id for f in mine})
    # Mixed with a suggestion: the confirmed ones are no "skipped" news, just done.
    extra = suggested(alice, anna, 1)
    change = services.faces_confirm(user=alice, asked={f.id: anna.id for f in [*mine, *extra]})
    assert change.skipped_face_ids == [] and change.face_ids == [extra[0].id]


def test_yes_releases_a_photo_mate_a_job_had_given_the_same_person(alice, people):
    anna, _ = people
    photo = PhotoFactory(owner=alice)
    face, mate = (FaceFactory(owner=alice, photo=photo, person=anna, state=Face.State.SUGGESTED) for _ in range(2))
    services.faces_confirm(user=alice, asked={face.id: anna.id})
    assert states([face, mate]) == [(Face.State.CONFIRMED, anna.id), (Face.State.UNKNOWN, None)]


def photo_with_a_mate(owner, person) -> tuple[Face, Face]:
    """One photo where a job named a face `person` automatically and suggested her for another
    face (a state the jobs avoid, but a re-match racing a correction can leave), the suggested
    one carrying an old "not <person>" (a merge carries those over)."""
    photo = PhotoFactory(owner=owner)
    mate = FaceFactory(owner=owner, photo=photo, person=person, state=Face.State.AUTO, similarity=0.7)
    face = FaceFactory(owner=owner, photo=photo, person=person, state=Face.State.SUGGESTED, similarity=0.5)
    FaceRejection.objects.create(owner=owner, face=face, person=person)
    return face, mate


# Every "yes" to a suggestion, one face or all of a person's at once, does the same.
YES = {
    "face_confirm": lambda user, person, face: services.face_confirm(user=user, face_id=face.id),
    "faces_confirm": lambda user, person, face: services.faces_confirm(user=user, asked={face.id: person.id}),
    "person_confirm_suggestions": lambda user, person, face: services.person_confirm_suggestions(
        user=user, person_id=person.id
    ),
}


@pytest.mark.parametrize("name", YES, ids=list(YES))
def test_every_yes_leaves_one_anna_on_the_photo_lifts_her_old_no_and_undoes(alice, people, name):
    anna, _ = people
    face, mate = photo_with_a_mate(alice, anna)
    change = YES[name](alice, anna, face)
    assert states([face, mate]) == [(Face.State.CONFIRMED, anna.id), (Face.State.UNKNOWN, None)]
    assert Face.objects.filter(photo=face.photo, person=anna).count() == 1
    assert not FaceRejection.objects.filter(face=face, person=anna).exists()  # the user has the last word
    services.labels_undo(user=alice, change=change.as_dict())
    assert states([face, mate]) == [(Face.State.SUGGESTED, anna.id), (Face.State.AUTO, anna.id)]
    assert FaceRejection.objects.filter(face=face, person=anna).exists()


def test_yes_all_queries_do_not_grow_with_the_suggestions(alice):
    def queries(count: int) -> int:
        person = PersonFactory(owner=alice, faces=1)
        pairs = [photo_with_a_mate(alice, person) for _ in range(count)]
        with CaptureQueriesContext(connection) as ctx:
            services.person_confirm_suggestions(user=alice, person_id=person.id)
        assert (
            states([face for pair in pairs for face in pair])
            == [
                (Face.State.CONFIRMED, person.id),
                (Face.State.UNKNOWN, None),
            ]
            * count
        )
        return len(ctx.captured_queries)

    queries(1)  # the first label change of a user also creates her index row
    few, many = queries(2), queries(30)
    assert many == few, f"{few} queries for 2 suggestions, {many} for 30"


# A group named at once holds the same rule: one Anna per photo.
GROUP_YES = {
    "group_question_confirm": lambda user, person, group: services.group_question_confirm(user=user, group_id=group.id),
    "group_name": lambda user, person, group: services.group_name(user=user, group_id=group.id, person_id=person.id),
    "group_name_partial": lambda user, person, group: services.group_name_partial(
        user=user, group_id=group.id, face_ids=list(group.faces.values_list("id", flat=True)), person_id=person.id
    ),
}


@pytest.mark.parametrize("name", GROUP_YES, ids=list(GROUP_YES))
def test_naming_a_group_releases_a_photo_mate_a_job_had_given_the_same_person(alice, people, name):
    anna, _ = people
    group = FaceGroupFactory(owner=alice, faces=2, suggested_person=anna, suggested_score=0.6)
    face = group.faces.order_by("id").first()
    mate = FaceFactory(owner=alice, photo=face.photo, person=anna, state=Face.State.AUTO, similarity=0.7)
    change = GROUP_YES[name](alice, anna, group)
    assert states([face, mate]) == [(Face.State.CONFIRMED, anna.id), (Face.State.UNKNOWN, None)]
    services.labels_undo(user=alice, change=change.as_dict())
    assert states([face, mate]) == [(Face.State.UNKNOWN, None), (Face.State.AUTO, anna.id)]


# "These are <name>" --------------------------------------------------------------------------


def test_these_are_a_new_name_names_every_picked_face_and_undo_removes_the_person(alice, people):
    anna, ben = people
    faces = [*suggested(alice, anna, 2), *suggested(alice, ben, 1), FaceFactory(owner=alice)]
    FaceRejection.objects.create(owner=alice, face=faces[3], person=anna)
    change = services.faces_assign(user=alice, face_ids=[f.id for f in faces], name="Carla")
    carla = Person.objects.get(owner=alice, name="Carla")
    assert states(faces) == [(Face.State.CONFIRMED, carla.id)] * 4
    assert change.person_created == carla.id and change.named_person_name == "Carla"
    services.labels_undo(user=alice, change=change.as_dict())
    assert not Person.objects.filter(name="Carla").exists()
    assert states(faces) == [
        (Face.State.SUGGESTED, anna.id),
        (Face.State.SUGGESTED, anna.id),
        (Face.State.SUGGESTED, ben.id),
        (Face.State.UNKNOWN, None),
    ]


def test_these_are_someone_lifts_their_rejection_the_user_has_the_last_word(alice, people):
    anna, _ = people
    face = FaceFactory(owner=alice)
    FaceRejection.objects.create(owner=alice, face=face, person=anna)
    services.faces_assign(user=alice, face_ids=[face.id], person_id=anna.id)
    assert states([face]) == [(Face.State.CONFIRMED, anna.id)]
    assert not FaceRejection.objects.filter(face=face).exists()


def test_these_are_with_a_face_marked_not_a_face_changes_nothing(alice, people):
    anna, _ = people
    ok, not_a_face = FaceFactory(owner=alice), FaceFactory(owner=alice, state=Face.State.REJECTED_AS_FACE)
    before = rows()
    with pytest.raises(ValidationError, match="marked as not a face"):
        services.faces_assign(user=alice, face_ids=[ok.id, not_a_face.id], person_id=anna.id)
    assert rows() == before


# Another user's ids: nothing changes ------------------------------------------------------------


@pytest.fixture
def bobs(bob):
    bert = PersonFactory(owner=bob, name="Bert", faces=0)
    return bert, suggested(bob, bert, 1)[0]


FOREIGN = {
    "no: his face": lambda alice, anna, mine, bert, his: services.faces_reject(
        user=alice, asked={mine.id: anna.id, his.id: bert.id}
    ),
    "no: her face asked about his person": lambda alice, anna, mine, bert, his: services.faces_reject(
        user=alice, asked={mine.id: bert.id}
    ),
    "yes: his face": lambda alice, anna, mine, bert, his: services.faces_confirm(
        user=alice, asked={mine.id: anna.id, his.id: anna.id}
    ),
    "yes: his person": lambda alice, anna, mine, bert, his: services.faces_confirm(
        user=alice, asked={mine.id: anna.id, his.id: bert.id}
    ),
    "these are: his face": lambda alice, anna, mine, bert, his: services.faces_assign(
        user=alice, face_ids=[mine.id, his.id], name="Zoe"
    ),
    "these are: his person": lambda alice, anna, mine, bert, his: services.faces_assign(
        user=alice, face_ids=[mine.id], person_id=bert.id
    ),
    "not Anna: his face": lambda alice, anna, mine, bert, his: services.person_faces_reject(
        user=alice, person_id=anna.id, face_ids=[mine.id, his.id]
    ),
}


@pytest.mark.parametrize("call", FOREIGN, ids=list(FOREIGN))
def test_another_users_id_in_the_selection_changes_nothing(alice, people, bobs, call):
    anna, _ = people
    mine = suggested(alice, anna, 1)[0]
    before = rows()
    with pytest.raises((Face.DoesNotExist, Person.DoesNotExist)):
        FOREIGN[call](alice, anna, mine, *bobs)
    assert rows() == before


# One rebuild, bounded queries ----------------------------------------------------------------


BULK = {
    "faces_reject": lambda user, person, faces: services.faces_reject(
        user=user, asked={f.id: person.id for f in faces}
    ),
    "faces_confirm": lambda user, person, faces: services.faces_confirm(
        user=user, asked={f.id: person.id for f in faces}
    ),
    "faces_assign": lambda user, person, faces: services.faces_assign(
        user=user, face_ids=[f.id for f in faces], name=f"Carla {len(faces)}"
    ),
    "person_faces_reject": lambda user, person, faces: services.person_faces_reject(
        user=user, person_id=person.id, face_ids=[f.id for f in faces]
    ),
    # Not picked faces, but many at once all the same: every face of the deleted person.
    "person_delete": lambda user, person, faces: services.person_delete(user=user, person_id=person.id),
    "person_confirm_suggestions": lambda user, person, faces: services.person_confirm_suggestions(
        user=user, person_id=person.id
    ),
    "person_faces_move": lambda user, person, faces: services.person_faces_move(
        user=user, person_id=person.id, face_ids=[f.id for f in faces], name=f"Carla {len(faces)}"
    ),
}


@pytest.mark.parametrize("name", BULK, ids=list(BULK))
def test_one_index_rebuild_after_commit_however_many_faces(alice, people, name, django_capture_on_commit_callbacks):
    anna, _ = people
    faces = suggested(alice, anna, 12)
    with mock.patch("faces.tasks.schedule_index_rebuild") as schedule:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            BULK[name](alice, anna, faces)
        schedule.assert_not_called()  # not before the commit
        for callback in callbacks:
            callback()
    schedule.assert_called_once_with(alice.pk)


@pytest.mark.parametrize("name", BULK, ids=list(BULK))
def test_queries_do_not_grow_with_the_selection(alice, name):
    def queries(count: int) -> int:
        person = PersonFactory(owner=alice, faces=1)
        faces = suggested(alice, person, count)
        with CaptureQueriesContext(connection) as ctx:
            BULK[name](alice, person, faces)
        return len(ctx.captured_queries)

    queries(1)  # the first label change of a user also creates her index row
    few, many = queries(2), queries(40)
    assert many == few, f"{name}: {few} queries for 2 faces, {many} for 40"
