"""Races between label corrections, index rebuilds and recognition (catalogue E6, F1-F3) [T].

Real threads, each with its own database connection, as two web requests or two workers
would have: row locks and isolation are the real ones (MariaDB in CI). A `Gate` parks one
thread at a chosen point so the interleaving under test happens every time, not by luck.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import OperationalError, transaction
from django.test import Client
from django.urls import reverse

from faces import index as face_index
from faces import index_cache, recognition, services
from faces.models import Face, Person, RecognitionIndex
from faces.tests.people import Library
from gallery.tasks import TRANSIENT_ERRORS
from gallery.tests.threads import WAIT_SECONDS, Gate, Runner

pytestmark = [pytest.mark.usefixtures("fresh_process_cache"), pytest.mark.django_db(transaction=True), pytest.mark.slow]
HOLD_SECONDS = 0.5


@pytest.fixture
def library(alice, detections, model):
    return Library(alice, detections, model.model_id, ["Ariel_Sharon", "Tony_Blair"], per_identity=6)


def _record(user) -> RecognitionIndex:
    return RecognitionIndex.objects.get(owner=user)


def _name(user, faces, name):
    person_id = services.face_assign(user=user, face_id=faces[0].id, name=name).person_created
    for face in faces[1:]:
        services.face_assign(user=user, face_id=face.id, person_id=person_id)
    return person_id


def _held(work):
    """Run `work` in a transaction kept open a moment longer, as a slow request would."""

    def run():
        with transaction.atomic():
            result = work()
            time.sleep(HOLD_SECONDS)
        return result

    return run


# F1 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("race", ["rename+reassign", "reassign+reassign"])
@pytest.mark.catalogue("F1")
def test_two_corrections_of_one_person_at_once_both_land(alice, library, model, race):
    ariel_faces, tony_faces = library.faces["Ariel_Sharon"], library.faces["Tony_Blair"]
    ariel = _name(alice, ariel_faces[:2], "Ariel")
    recognition.people_refresh(alice.id, model)
    before = _record(alice).labels_version
    moved = ariel_faces[2]

    if race == "rename+reassign":
        first = _held(lambda: services.person_rename(user=alice, person_id=ariel, name="Ariel Sharon"))
    else:
        first = _held(lambda: services.face_assign(user=alice, face_id=ariel_faces[3].id, person_id=ariel))
    second = lambda: services.face_assign(user=alice, face_id=moved.id, person_id=ariel)  # noqa: E731

    def worker(correction):
        # Each correction is followed by the rebuild its worker would run.
        def run():
            started = time.monotonic()
            correction()
            waited = time.monotonic() - started
            recognition.people_refresh(alice.id, model)
            return waited

        return run

    a, b = Runner("first", worker(first)), Runner("second", worker(second))
    a.start()
    time.sleep(0.1)  # the first holds the person's row lock now
    b.start()
    a.join_checked()
    waited = b.join_checked()

    assert waited >= HOLD_SECONDS * 0.6  # the second really waited for the first's lock
    person = Person.objects.get(pk=ariel)
    confirmed = set(Face.objects.filter(person=person, state=Face.State.CONFIRMED).values_list("id", flat=True))
    assert moved.id in confirmed and {f.id for f in ariel_faces[:2]} <= confirmed
    if race == "rename+reassign":
        assert person.name == "Ariel Sharon"
    else:
        assert ariel_faces[3].id in confirmed
    record = _record(alice)
    assert record.labels_version == before + 2
    assert record.built_version == record.labels_version
    built = index_cache.get_index(alice.id, model)
    assert set(built.face_ids.tolist()) == set(
        index_cache.reference_faces(alice.id, model.model_id).values_list("id", flat=True)
    )
    assert not Face.objects.filter(pk__in=[f.id for f in tony_faces], person=person).exists()


# F2 -----------------------------------------------------------------------------------------


@pytest.mark.catalogue("F2")
def test_an_older_build_finishing_last_never_replaces_the_newer_index(alice, library, model, monkeypatch):
    ariel_faces = library.faces["Ariel_Sharon"]
    gate = Gate("older")
    gate.install(monkeypatch, face_index, "save")  # built from the old labels, not yet written
    older = Runner("older", lambda: index_cache.build_index(alice.id, model))
    older.start()
    gate.wait_parked()

    _name(alice, ariel_faces[:3], "Ariel")
    newer = index_cache.build_index(alice.id, model)
    newest_record = _record(alice)
    gate.release()
    stale = older.join_checked()

    assert stale.version < newer.version
    record = _record(alice)
    assert (record.built_version, record.checksum) == (newest_record.built_version, newest_record.checksum)
    # The older build wrote its file last; it does not verify, so it is never used.
    current = index_cache.get_index(alice.id, model)
    assert current.version == record.built_version == record.labels_version
    assert sorted(current.face_ids.tolist()) == sorted(f.id for f in ariel_faces[:3])


@pytest.mark.catalogue("F2")
def test_an_older_rematch_finishing_last_keeps_the_newer_decisions(alice, library, model, monkeypatch):
    """Two index_rebuild tasks: the first built its index before Ariel was named and is slow
    to match; the second, started after the naming, finishes first. The first must not put
    its older decisions (nobody is Ariel) over the newer ones."""
    ariel_faces = library.faces["Ariel_Sharon"]
    gate = Gate("older")
    gate.install(monkeypatch, recognition, "_read_library", after=True)
    older = Runner("older", lambda: recognition.people_refresh(alice.id, model))
    older.start()
    gate.wait_parked()

    ariel = _name(alice, ariel_faces[:3], "Ariel")
    recognition.people_refresh(alice.id, model)
    newer = [(f.state, f.person_id) for f in Face.objects.filter(pk__in=[f.id for f in ariel_faces[3:]])]
    assert newer and all(person_id == ariel for _, person_id in newer)
    gate.release()
    older.join_checked()

    after = [(f.state, f.person_id) for f in Face.objects.filter(pk__in=[f.id for f in ariel_faces[3:]])]
    assert after == newer


# F3 -----------------------------------------------------------------------------------------


@pytest.mark.catalogue("F3")
def test_a_merge_while_recognition_names_a_new_face_ends_in_the_target(alice, library, model, monkeypatch):
    ariel_faces, tony_faces = library.faces["Ariel_Sharon"], library.faces["Tony_Blair"]
    x = _name(alice, ariel_faces[:3], "Ariel")
    y = _name(alice, tony_faces[:3], "Tony")
    index_cache.get_index(alice.id, model)
    new_face = ariel_faces[3]  # a new photo's face, just stored by detection
    client = Client()
    client.force_login(alice)

    # Recognition has searched the index (which says "Ariel") and holds the face's row lock.
    gate = Gate("pipeline")
    gate.install(monkeypatch, face_index.FaceIndex, "search", after=True)
    pipeline = Runner("pipeline", lambda: recognition.recognise_photo(photo=new_face.photo))
    pipeline.start()
    gate.wait_parked()

    merge = Runner("merge", lambda: client.post(reverse("faces:person_merge", args=[x]), {"into": y}))
    merge.start()
    merge.join(2)  # it may wait for the pipeline's row locks
    gate.release()
    pipeline.join(WAIT_SECONDS)
    response = merge.join_checked()
    assert response.status_code == 302  # the user's merge never fails

    if pipeline.error is not None:
        # MariaDB may pick recognition as a deadlock victim (it writes person_id = Ariel,
        # whose row the merge locked, while the merge waits for the face). The photo task
        # counts that as a transient error and runs again.
        assert isinstance(pipeline.error, TRANSIENT_ERRORS), repr(pipeline.error)
        recognition.recognise_photo(photo=new_face.photo)
    # The merge scheduled the debounced rebuild; run it as the worker would.
    recognition.people_refresh(alice.id, model)
    source = Person.objects.get(pk=x)
    assert source.deleted_at is not None and source.merged_into_id == y
    assert not Face.objects.filter(person_id=x).exists()
    face = Face.objects.get(pk=new_face.id)
    assert (face.person_id, face.state) == (y, Face.State.AUTO)


# E6 -----------------------------------------------------------------------------------------


@pytest.mark.catalogue("E6")
def test_built_version_only_goes_up_under_concurrent_corrections_and_rebuilds(alice, library, model):
    ariel_faces, tony_faces = library.faces["Ariel_Sharon"], library.faces["Tony_Blair"]
    ariel = _name(alice, ariel_faces[:1], "Ariel")
    tony = _name(alice, tony_faces[:1], "Tony")
    seen: list[int] = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            seen.append(RecognitionIndex.objects.filter(owner=alice).values_list("built_version", flat=True).get())
            time.sleep(0.005)

    def corrections(faces, person_id):
        def run():
            for face in faces:
                services.face_assign(user=alice, face_id=face.id, person_id=person_id)
                recognition.people_refresh(alice.id, model)

        return run

    sampler = Runner("sampler", sample)
    workers = [
        Runner("ariel", corrections(ariel_faces[1:4], ariel)),
        Runner("tony", corrections(tony_faces[1:4], tony)),
    ]
    sampler.start()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join_checked(60)
    stop.set()
    sampler.join_checked()

    assert seen == sorted(seen) and len(set(seen)) > 1
    record = _record(alice)
    assert record.built_version == record.labels_version
    built = index_cache.get_index(alice.id, model)
    # The 8 confirmed faces, and the automatic names the last refresh made (references too).
    confirmed = index_cache.reference_faces(alice.id, model.model_id).filter(state=Face.State.CONFIRMED).count()
    assert built.ntotal == index_cache.reference_faces(alice.id, model.model_id).count()
    assert confirmed == 8


@pytest.mark.catalogue("E6")
def test_a_refresh_picked_as_a_deadlock_victim_runs_again(alice, library, model, monkeypatch):
    """MariaDB rolls the victim's transaction back; the refresh reads the library again and
    writes what it decided, instead of failing the task and losing the refresh."""
    ariel_faces = library.faces["Ariel_Sharon"]
    _name(alice, ariel_faces[:2], "Ariel")
    writes = []
    real_bulk_update = Face.objects.bulk_update

    def deadlocked_once(objs, fields, **kwargs):
        writes.append(len(objs))
        if len(writes) == 1:
            real_bulk_update(objs, fields, **kwargs)  # its locks are taken, then lost
            raise OperationalError(1213, "Deadlock found when trying to get lock; try restarting transaction")
        return real_bulk_update(objs, fields, **kwargs)

    monkeypatch.setattr(Face.objects, "bulk_update", deadlocked_once)

    counts = recognition.people_refresh(alice.id, model)

    assert len(writes) >= 2 and writes[0] > 0
    assert counts["changed"] == writes[-1]
    matched = Face.objects.filter(owner=alice, id__in=[f.id for f in ariel_faces[2:]])
    assert matched.exclude(state=Face.State.UNKNOWN).exists()
