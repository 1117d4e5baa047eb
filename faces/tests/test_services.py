"""People services: owner checks on both sides, undo, merge/delete consistency, debounce."""

from __future__ import annotations

import datetime
from unittest import mock

import numpy as np
import pytest
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from faces import index_cache, recognition, services, tasks
from faces.models import Face, FaceGroup, FaceRejection, Person, RecognitionIndex
from faces.tests.people import Library, name_person
from smartgallery.tests.factories import FaceFactory, PersonFactory, PhotoFactory

pytestmark = pytest.mark.usefixtures("fresh_process_cache")

PEOPLE = ["Ariel_Sharon", "Colin_Powell", "Tony_Blair"]


@pytest.fixture
def library(alice, detections, model):
    return Library(alice, detections, model.model_id, PEOPLE, per_identity=6)


def _labels_version(user):
    return RecognitionIndex.objects.get(owner=user).labels_version


def _bare_face(user, **fields):
    return FaceFactory(owner=user, model_id="m", embedding=(np.ones(4, np.float32) / 2).tobytes(), **fields)


# Another user's ids --------------------------------------------------------------------------


@pytest.fixture
def cast(alice, bob):
    alices_person = services.person_create(user=alice, name="Anna")
    alices_face = _bare_face(alice)
    services.face_assign(user=alice, face_id=alices_face.id, person_id=alices_person.id)
    bobs_person = services.person_create(user=bob, name="Bert")
    bobs_face = _bare_face(bob)
    group = FaceGroup.objects.create(owner=alice)
    Face.objects.filter(pk=_bare_face(alice).pk).update(group=group)
    return {
        "face": alices_face,
        "person": alices_person,
        "group": group,
        "bobs_face": bobs_face,
        "bobs_person": bobs_person,
    }


FOREIGN_CALLS = {
    "face_confirm": lambda u, c: services.face_confirm(user=u, face_id=c["face"].id),
    "face_assign": lambda u, c: services.face_assign(user=u, face_id=c["face"].id, name="X"),
    "face_not_this_person": lambda u, c: services.face_not_this_person(user=u, face_id=c["face"].id),
    "face_unassign": lambda u, c: services.face_unassign(user=u, face_id=c["face"].id),
    "face_mark_not_a_face": lambda u, c: services.face_mark_not_a_face(user=u, face_id=c["face"].id),
    "person_rename": lambda u, c: services.person_rename(user=u, person_id=c["person"].id, name="X"),
    "person_set_cover": lambda u, c: services.person_set_cover(user=u, person_id=c["person"].id, face_id=None),
    "person_set_birth_date": lambda u, c: services.person_set_birth_date(
        user=u, person_id=c["person"].id, birth_date=None
    ),
    "person_hide": lambda u, c: services.person_hide(user=u, person_id=c["person"].id),
    "person_unhide": lambda u, c: services.person_unhide(user=u, person_id=c["person"].id),
    "person_merge": lambda u, c: services.person_merge(
        user=u, person_id=c["person"].id, into_person_id=c["bobs_person"].id
    ),
    "person_delete": lambda u, c: services.person_delete(user=u, person_id=c["person"].id),
    "group_name": lambda u, c: services.group_name(user=u, group_id=c["group"].id, name="X"),
    "group_dismiss": lambda u, c: services.group_dismiss(user=u, group_id=c["group"].id),
    "person_faces_move": lambda u, c: services.person_faces_move(
        user=u, person_id=c["person"].id, face_ids=[c["face"].id], name="X"
    ),
    "person_faces_reject": lambda u, c: services.person_faces_reject(
        user=u, person_id=c["person"].id, face_ids=[c["face"].id]
    ),
}


@pytest.mark.parametrize("call", FOREIGN_CALLS, ids=list(FOREIGN_CALLS))
def test_bob_cannot_touch_alices_objects(bob, cast, call):
    def rows():
        return [list(model.objects.order_by("id").values()) for model in (Face, Person, FaceGroup, FaceRejection)]

    before = rows()
    with pytest.raises((Face.DoesNotExist, Person.DoesNotExist, FaceGroup.DoesNotExist)):
        FOREIGN_CALLS[call](bob, cast)
    assert rows() == before


def test_both_sides_are_checked_bobs_face_into_alices_person(bob, cast):
    with pytest.raises(Person.DoesNotExist):
        services.face_assign(user=bob, face_id=cast["bobs_face"].id, person_id=cast["person"].id)
    with pytest.raises(Face.DoesNotExist):
        services.face_assign(user=bob, face_id=cast["face"].id, person_id=cast["bobs_person"].id)
    with pytest.raises(Person.DoesNotExist):
        services.person_merge(user=bob, person_id=cast["bobs_person"].id, into_person_id=cast["person"].id)
    assert not Face.objects.filter(owner=bob, person__owner=cast["person"].owner).exists()


def test_bulk_naming_with_a_foreign_face_changes_nothing(alice, bob, cast):
    mine = _bare_face(alice)
    Face.objects.filter(pk=mine.pk).update(group=cast["group"])
    with pytest.raises(Face.DoesNotExist):
        services.group_name_partial(
            user=alice, group_id=cast["group"].id, face_ids=[mine.id, cast["bobs_face"].id], name="Mixed"
        )
    assert Face.objects.get(pk=mine.pk).state == Face.State.UNKNOWN
    assert not Person.objects.filter(name="Mixed").exists()


def test_undo_with_foreign_ids_raises(alice, bob, cast):
    change = services.face_mark_not_a_face(user=alice, face_id=cast["face"].id).as_dict()
    with pytest.raises(ObjectDoesNotExist):
        services.labels_undo(user=bob, change=change)
    assert Face.objects.get(pk=cast["face"].pk).state == Face.State.REJECTED_AS_FACE


# Labels version and the debounced rebuild ----------------------------------------------------


def test_every_label_change_bumps_the_version(alice, library):
    person = name_person(library, alice, "Ariel_Sharon", 1)
    versions = [_labels_version(alice)]
    face = library.faces["Ariel_Sharon"][1]
    for call in (
        lambda: services.face_assign(user=alice, face_id=face.id, person_id=person),
        lambda: services.face_not_this_person(user=alice, face_id=face.id),
        lambda: services.face_mark_not_a_face(user=alice, face_id=face.id),
        lambda: services.person_rename(user=alice, person_id=person, name="Ariel"),
        lambda: services.person_merge(
            user=alice, person_id=services.person_create(user=alice, name="Y").id, into_person_id=person
        ),
        lambda: services.person_delete(user=alice, person_id=person),
    ):
        call()
        versions.append(_labels_version(alice))
    assert versions == sorted(set(versions)) and len(versions) == 7


def test_fifty_quick_corrections_enqueue_one_rebuild(alice, library, django_capture_on_commit_callbacks):
    cache.delete(tasks._flag("index-rebuild", alice.id))
    person = name_person(library, alice, "Ariel_Sharon", 1)
    faces = [f for faces in library.faces.values() for f in faces][1:]
    with mock.patch.object(tasks.index_rebuild, "apply_async") as enqueue:
        for i in range(50):
            face = faces[i % len(faces)]
            with django_capture_on_commit_callbacks(execute=True):
                if i % 2:
                    services.face_assign(user=alice, face_id=face.id, person_id=person)
                else:
                    services.face_not_this_person(user=alice, face_id=face.id, person_id=person)
    assert enqueue.call_count == 1
    assert enqueue.call_args.kwargs["args"] == [alice.id]
    cache.delete(tasks._flag("index-rebuild", alice.id))


def test_a_change_during_a_running_rebuild_schedules_exactly_one_more(
    alice, library, model, django_capture_on_commit_callbacks
):
    cache.delete(tasks._flag("index-rebuild", alice.id))
    with mock.patch.object(tasks.index_rebuild, "apply_async") as enqueue:
        with django_capture_on_commit_callbacks(execute=True):
            person = name_person(library, alice, "Ariel_Sharon", 1)
        with mock.patch.object(tasks, "close_old_connections"):  # it would close the test's transaction
            tasks.index_rebuild(alice.id)  # the task starts: the flag is cleared
        with django_capture_on_commit_callbacks(execute=True):
            services.face_assign(user=alice, face_id=library.faces["Ariel_Sharon"][1].id, person_id=person)
            services.face_assign(user=alice, face_id=library.faces["Ariel_Sharon"][2].id, person_id=person)
    assert enqueue.call_count == 2
    cache.delete(tasks._flag("index-rebuild", alice.id))


def test_a_long_regroup_delay_keeps_its_flag_until_the_run(alice):
    # A library whose last refresh took 30 s waits 300 s before the next: the flag that makes
    # the photos arriving meanwhile enqueue nothing must live longer than that wait.
    cache.delete(tasks._flag("regroup", alice.id))
    cache.set(tasks._flag("refresh-seconds", alice.id), 30.0)
    with (
        mock.patch.object(tasks.faces_regroup, "apply_async") as enqueue,
        mock.patch.object(tasks.cache, "add", wraps=cache.add) as add,
    ):
        assert tasks.schedule_faces_regroup(alice.id)
        assert not tasks.schedule_faces_regroup(alice.id)
    assert enqueue.call_count == 1
    assert enqueue.call_args.kwargs["countdown"] == 300.0
    assert add.call_args.kwargs["timeout"] > 300.0
    cache.delete(tasks._flag("regroup", alice.id))
    cache.delete(tasks._flag("refresh-seconds", alice.id))


def test_a_broker_outage_does_not_fail_the_correction(alice, library, django_capture_on_commit_callbacks):
    from kombu.exceptions import OperationalError

    cache.delete(tasks._flag("index-rebuild", alice.id))
    with mock.patch.object(tasks.index_rebuild, "apply_async", side_effect=OperationalError("down")):
        with django_capture_on_commit_callbacks(execute=True):
            person = name_person(library, alice, "Ariel_Sharon", 1)
    assert Face.objects.filter(person_id=person, state=Face.State.CONFIRMED).count() == 1
    # The flag was released, so the next correction tries again.
    assert cache.add(tasks._flag("index-rebuild", alice.id), 1, 5)
    cache.delete(tasks._flag("index-rebuild", alice.id))


# Faces --------------------------------------------------------------------------------------


def test_assign_to_a_new_name_confirms_and_records_who(alice, library):
    face = library.faces["Tony_Blair"][0]
    change = services.face_assign(user=alice, face_id=face.id, name="  Tony   Blair ")
    face.refresh_from_db()
    person = Person.objects.get(pk=change.person_created)
    assert person.name == "Tony Blair" and person.owner == alice
    assert (face.state, face.person_id, face.changed_by) == (Face.State.CONFIRMED, person.id, alice)
    assert person.cover_face_id == face.id


def test_assign_needs_a_name_or_a_person(alice, library):
    with pytest.raises(ValidationError):
        services.face_assign(user=alice, face_id=library.faces["Tony_Blair"][0].id, name="   ")
    with pytest.raises(ValidationError):
        services.face_assign(user=alice, face_id=library.faces["Tony_Blair"][0].id)


def test_not_this_person_then_undo(alice, library, model):
    ariel = name_person(library, alice, "Ariel_Sharon")
    recognition.people_refresh(alice.id, model)
    face = library.faces["Ariel_Sharon"][3]
    face.refresh_from_db()
    before = (face.state, face.person_id)

    change = services.face_not_this_person(user=alice, face_id=face.id)
    face.refresh_from_db()
    assert (face.state, face.person_id) == (Face.State.UNKNOWN, None)

    services.labels_undo(user=alice, change=change.as_dict())
    face.refresh_from_db()
    assert (face.state, face.person_id) == before
    assert not FaceRejection.objects.filter(face=face, person_id=ariel).exists()


def test_not_a_face_then_undo(alice, library):
    ariel = name_person(library, alice, "Ariel_Sharon")
    face = library.faces["Ariel_Sharon"][0]
    change = services.face_mark_not_a_face(user=alice, face_id=face.id)
    face.refresh_from_db()
    assert (face.state, face.person_id) == (Face.State.REJECTED_AS_FACE, None)
    services.labels_undo(user=alice, change=change)
    face.refresh_from_db()
    assert (face.state, face.person_id) == (Face.State.CONFIRMED, ariel)


def test_reassign_releases_a_job_named_photo_mate(alice, model):
    photo = PhotoFactory(owner=alice)
    anna = services.person_create(user=alice, name="Anna")
    guessed = FaceFactory(
        owner=alice,
        photo=photo,
        model_id="m",
        embedding=(np.ones(4, np.float32) / 2).tobytes(),
        state=Face.State.AUTO,
        person=anna,
    )
    other = FaceFactory(owner=alice, photo=photo, model_id="m", embedding=(np.ones(4, np.float32) / 2).tobytes())
    services.face_assign(user=alice, face_id=other.id, person_id=anna.id)
    guessed.refresh_from_db()
    assert (guessed.state, guessed.person_id) == (Face.State.UNKNOWN, None)


# Persons ------------------------------------------------------------------------------------


def test_person_fields(alice):
    person = services.person_create(user=alice, name="Anna")
    services.person_rename(user=alice, person_id=person.id, name="Anna K")
    services.person_set_birth_date(user=alice, person_id=person.id, birth_date=datetime.date(2015, 3, 1))
    services.person_hide(user=alice, person_id=person.id)
    person.refresh_from_db()
    assert (person.name, person.birth_date, person.hidden) == ("Anna K", datetime.date(2015, 3, 1), True)
    services.person_unhide(user=alice, person_id=person.id)
    with pytest.raises(ValidationError):
        services.person_set_birth_date(user=alice, person_id=person.id, birth_date=datetime.date(2999, 1, 1))


def test_cover_is_the_users_choice_else_the_best_confirmed_face(alice, library):
    ariel = name_person(library, alice, "Ariel_Sharon")
    faces = library.faces["Ariel_Sharon"][:3]
    best = max(faces, key=lambda f: (f.size_px * f.frontalness, -f.id))
    assert Person.objects.get(pk=ariel).cover_face_id == best.id
    chosen = next(f for f in faces if f.id != best.id)
    services.person_set_cover(user=alice, person_id=ariel, face_id=chosen.id)
    assert Person.objects.get(pk=ariel).cover_face_id == chosen.id
    with pytest.raises(ValidationError):
        services.person_set_cover(user=alice, person_id=ariel, face_id=library.faces["Tony_Blair"][0].id)
    services.face_unassign(user=alice, face_id=chosen.id)
    assert Person.objects.get(pk=ariel).cover_face_id == best.id


def test_merge_moves_faces_and_rejections_and_keeps_counts_and_index_consistent(alice, library, model):
    first = name_person(library, alice, "Ariel_Sharon", 2)
    second = services.face_assign(user=alice, face_id=library.faces["Ariel_Sharon"][2].id, name="Ariel 2")
    second = second.person_created
    services.face_assign(user=alice, face_id=library.faces["Ariel_Sharon"][3].id, person_id=second)
    rejected = library.faces["Tony_Blair"][0]
    services.face_not_this_person(user=alice, face_id=rejected.id, person_id=second)
    faces_before = Face.objects.filter(owner=alice, person__in=[first, second]).count()

    change = services.person_merge(user=alice, person_id=second, into_person_id=first)

    assert Face.objects.filter(owner=alice, person_id=first).count() == faces_before
    assert not Face.objects.filter(person_id=second).exists()
    assert FaceRejection.objects.filter(face=rejected, person_id=first).exists()
    assert not Person.objects.for_user(alice).filter(pk=second).exists()
    built = index_cache.get_index(alice.id, model)
    assert set(built.person_ids.tolist()) == {first} and built.ntotal == 4

    services.labels_undo(user=alice, change=change)
    assert Face.objects.filter(owner=alice, person_id=second).count() == 2
    assert Person.objects.for_user(alice).filter(pk=second).exists()
    assert FaceRejection.objects.filter(face=rejected, person_id=second).exists()
    assert not FaceRejection.objects.filter(face=rejected, person_id=first).exists()
    assert set(index_cache.get_index(alice.id, model).person_ids.tolist()) == {first, second}


def _merge_cast(user, n: int):
    """Anna and her twin (to be merged into her), with `n` faces of each kind a merge treats
    differently, each on a photo of its own."""
    anna = PersonFactory(owner=user, name="Anna", faces=1)
    twin = PersonFactory(owner=user, name="Anna twin", faces=0)

    def faces(**fields):
        return FaceFactory.create_batch(n, owner=user, **fields)

    auto = {"state": Face.State.AUTO, "similarity": 0.6}
    cast = {
        "twin's": faces(person=twin),
        "twin's automatic": faces(person=twin, **auto),
        "twin's, not Anna": faces(person=twin),
        "twin's automatic, not Anna": faces(person=twin, **auto),
        "not the twin": faces(),
        "Anna's, not the twin": faces(person=anna),
        "not either": faces(),
    }
    FaceRejection.objects.bulk_create(
        [
            FaceRejection(owner=user, face=face, person=person)
            for person, kinds in (
                (anna, ["twin's, not Anna", "twin's automatic, not Anna", "not either"]),
                (twin, ["not the twin", "Anna's, not the twin", "not either"]),
            )
            for kind in kinds
            for face in cast[kind]
        ]
    )
    return anna, twin, cast


def _states(faces):
    by_id = Face.objects.in_bulk([f.id for f in faces])
    return [(by_id[f.id].state, by_id[f.id].person_id) for f in faces]


def test_merge_carries_each_kind_of_face_and_rejection_over_and_undo_puts_them_back(alice):
    anna, twin, cast = _merge_cast(alice, 2)
    before = {kind: _states(faces) for kind, faces in cast.items()}
    rejections_before = set(FaceRejection.objects.values_list("face_id", "person_id"))

    change = services.person_merge(user=alice, person_id=twin.id, into_person_id=anna.id)

    confirmed, auto, unknown = Face.State.CONFIRMED, Face.State.AUTO, Face.State.UNKNOWN
    assert {kind: _states(faces) for kind, faces in cast.items()} == {
        "twin's": [(confirmed, anna.id)] * 2,
        "twin's automatic": [(auto, anna.id)] * 2,
        "twin's, not Anna": [(confirmed, anna.id)] * 2,  # the user's confirmation is newer
        "twin's automatic, not Anna": [(unknown, None)] * 2,  # the rejection stands
        "not the twin": [(unknown, None)] * 2,
        "Anna's, not the twin": [(confirmed, anna.id)] * 2,
        "not either": [(unknown, None)] * 2,
    }
    # "Not the twin" is "not Anna" now, except where the user confirmed Anna.
    assert set(FaceRejection.objects.values_list("face_id", "person_id")) == {
        (face.id, anna.id)
        for kind in ("twin's automatic, not Anna", "not the twin", "not either")
        for face in cast[kind]
    }

    services.labels_undo(user=alice, change=change.as_dict())
    assert {kind: _states(faces) for kind, faces in cast.items()} == before
    assert set(FaceRejection.objects.values_list("face_id", "person_id")) == rejections_before


def test_merge_queries_do_not_grow_with_the_person(alice):
    def queries(n: int) -> int:
        anna, twin, _ = _merge_cast(alice, n)
        with CaptureQueriesContext(connection) as ctx:
            services.person_merge(user=alice, person_id=twin.id, into_person_id=anna.id)
        return len(ctx.captured_queries)

    queries(1)  # the first label change of a user also creates her index row
    few, many = queries(2), queries(15)
    assert many == few, f"{few} queries to merge a person with 2 faces of each kind, {many} with 15"


def test_merge_into_itself_is_refused(alice):
    person = services.person_create(user=alice, name="Anna")
    with pytest.raises(ValidationError):
        services.person_merge(user=alice, person_id=person.id, into_person_id=person.id)


def test_delete_person_faces_become_unknown_and_are_never_auto_named_again(alice, library, model):
    ariel = name_person(library, alice, "Ariel_Sharon")
    recognition.people_refresh(alice.id, model)
    released = list(Face.objects.filter(person_id=ariel).values_list("id", flat=True))

    change = services.person_delete(user=alice, person_id=ariel)

    assert sorted(change.face_ids) == sorted(released)
    assert not Face.objects.filter(person_id=ariel).exists()
    assert Face.objects.filter(pk__in=released, state=Face.State.UNKNOWN).count() == len(released)
    assert index_cache.get_index(alice.id, model).ntotal == 0
    # The same human named again from two of the released faces: the rest is only suggested.
    again = services.face_assign(user=alice, face_id=released[0], name="Ariel again").person_created
    services.face_assign(user=alice, face_id=released[1], person_id=again)
    recognition.people_refresh(alice.id, model)
    rest = Face.objects.filter(pk__in=released[2:])
    assert not rest.filter(state=Face.State.AUTO).exists()
    assert rest.filter(state=Face.State.SUGGESTED, person_id=again).exists()


def test_delete_person_undo_restores_everything(alice, library, model):
    ariel = name_person(library, alice, "Ariel_Sharon")
    recognition.people_refresh(alice.id, model)
    before = sorted(Face.objects.filter(owner=alice).values_list("id", "state", "person_id", "group_id"))
    groups_before = sorted(FaceGroup.objects.filter(owner=alice).values_list("id", flat=True))

    change = services.person_delete(user=alice, person_id=ariel)
    services.labels_undo(user=alice, change=change.as_dict())

    assert sorted(Face.objects.filter(owner=alice).values_list("id", "state", "person_id", "group_id")) == before
    assert not FaceRejection.objects.filter(person_id=ariel).exists()
    assert sorted(FaceGroup.objects.filter(owner=alice).values_list("id", flat=True)) == groups_before
    assert Person.objects.for_user(alice).get(pk=ariel).cover_face_id is not None


def test_index_invalidate_after_a_photo_delete_drops_its_faces_from_the_index(alice, library, model):
    name_person(library, alice, "Ariel_Sharon")
    assert index_cache.get_index(alice.id, model).ntotal == 3
    library.faces["Ariel_Sharon"][0].photo.delete()

    services.index_invalidate(owner_id=alice.id)

    built = index_cache.get_index(alice.id, model)
    assert built.ntotal == 2
    assert set(built.face_ids.tolist()) <= set(Face.objects.filter(owner=alice).values_list("id", flat=True))
