"""The debounced tasks through a real Celery worker (against the test database and broker)."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache

from faces import index_cache, recognition_model, services, tasks
from faces.models import Face, RecognitionIndex
from faces.tests.people import Library

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_for(condition, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return False


def test_a_correction_rebuilds_the_index_and_rematches_in_the_worker(celery_worker_process, alice, detections, engine):
    index_cache.forget_loaded_indexes()
    cache.delete(tasks._flag("index-rebuild", alice.id))
    model_id = recognition_model.current_model().model_id
    library = Library(alice, detections, model_id, ["Ariel_Sharon", "Tony_Blair"], per_identity=6)

    # Three clicks, each its own transaction: one debounced rebuild does the work.
    faces = library.faces["Ariel_Sharon"]
    ariel = services.face_assign(user=alice, face_id=faces[0].id, name="Ariel").person_created
    services.face_assign(user=alice, face_id=faces[1].id, person_id=ariel)
    services.face_assign(user=alice, face_id=faces[2].id, person_id=ariel)

    def done():
        record = RecognitionIndex.objects.get(owner=alice)
        named = Face.objects.filter(pk__in=[f.id for f in faces[3:]], person_id=ariel).count()
        return record.built_version == record.labels_version and named == 3

    assert _wait_for(done), celery_worker_process.log_text()[-3000:]
    assert not Face.objects.filter(pk__in=[f.id for f in library.faces["Tony_Blair"]], state=Face.State.AUTO).exists()
    log = celery_worker_process.log_text()
    assert log.count("faces.tasks.index_rebuild") >= 1

    # "Not Ariel" on one of them: the worker re-matches and never gives it back.
    runs = _finished_rebuilds(celery_worker_process)
    services.face_not_this_person(user=alice, face_id=faces[4].id)
    assert _wait_for(lambda: _finished_rebuilds(celery_worker_process) > runs)
    assert Face.objects.get(pk=faces[4].id).person_id != ariel
    assert Face.objects.filter(pk__in=[faces[3].id, faces[5].id], person_id=ariel).count() == 2


def _finished_rebuilds(worker) -> int:
    return sum("faces.tasks.index_rebuild[" in line and "succeeded" in line for line in worker.log_text().splitlines())
