"""Two worker machines on one MariaDB and one Redis (issue 16, item 5).

Two real Celery workers, each with a SMARTGALLERY_INDEX_DIR of its own (as two machines have),
process one user's photos while the user names, confirms and rejects faces. Afterwards both
machines, each asked to bring the index up to date and re-match the library, must hold
byte-identical index files whose sha256 is the database's, and must leave every face as the
concurrent run left it: the labels converged, whichever machine did what.
"""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.files import File

from conftest import _worker_environment
from faces import index as face_index
from faces import services as face_services
from faces import tasks as face_tasks
from faces.models import Face, FaceRejection, RecognitionIndex
from gallery import services
from gallery.models import Photo
from smartgallery.tests.machines import machines, settled, wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
        or not settings.CELERY_BROKER_URL.startswith("redis"),
        reason="several machines share a MariaDB/MySQL server and Redis (set DATABASE_URL and REDIS_URL)",
    ),
]

IDENTITIES = ("Jerry_Seinfeld", "Ben_Affleck", "Tony_Blair", "George_W_Bush")
PHOTOS_PER_IDENTITY = 6
NAMED_PER_IDENTITY = 2
LABEL_FIELDS = ("id", "state", "person_id", "similarity", "margin")


def label_snapshot(owner) -> list[tuple]:
    return list(Face.objects.filter(owner=owner).order_by("id").values_list(*LABEL_FIELDS))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def largest_face(photo: Photo) -> Face:
    return Face.objects.filter(photo=photo, recognisable=True).order_by("-size_px", "id").first()


@pytest.fixture
def two_machines(celery_worker_process, _isolated_media, tmp_path, settings):
    # Short debounce delays, in this process (it schedules rebuilds after corrections) and on
    # the machines, so the run settles in seconds.
    settings.SMARTGALLERY_INDEX_REBUILD_DELAY = 0.3
    settings.SMARTGALLERY_FACES_REGROUP_DELAY = 0.5
    settings.SMARTGALLERY_INDEX_DIR = tmp_path / "web-index"
    base = _worker_environment(_isolated_media)
    base.update(SMARTGALLERY_INDEX_REBUILD_DELAY="0.3", SMARTGALLERY_FACES_REGROUP_DELAY="0.5")
    with machines(celery_worker_process, tmp_path) as start:
        started = {}
        for name in ("machine-a", "machine-b"):
            index_dir = tmp_path / f"{name}-index"
            worker = start({**base, "SMARTGALLERY_INDEX_DIR": str(index_dir)}, name=name)
            worker.index_dir = index_dir
            started[name] = worker
        yield started


def test_two_machines_with_their_own_index_folders_converge_on_one_index_and_the_same_labels(
    two_machines, alice, faces_dir
):
    machine_a, machine_b = two_machines.values()

    def logs() -> str:
        return "\n".join(f"== {w.name}\n{w.log_text()[-3000:]}" for w in (machine_a, machine_b))

    paths = {identity: sorted((faces_dir / identity).iterdir())[:PHOTOS_PER_IDENTITY] for identity in IDENTITIES}
    # The photos to be named go first, so the corrections land while the others are processed.
    order = [(i, p) for i in IDENTITIES for p in paths[i][:NAMED_PER_IDENTITY]]
    order += [(i, p) for i in IDENTITIES for p in paths[i][NAMED_PER_IDENTITY:]]
    photos: dict[int, str] = {}
    for identity, path in order:
        with path.open("rb") as stream:
            photo, created = services.photo_create(owner=alice, file=File(stream, name=path.name), filename=path.name)
        assert created
        photos[photo.pk] = identity
    named_photos = list(photos)[: len(IDENTITIES) * NAMED_PER_IDENTITY]
    to_name = list(named_photos)

    # The user at work while both machines process: name each photo's face as soon as it is
    # done, take back the first automatic name seen, confirm the next one.
    persons: dict[str, int] = {}
    rejected: tuple[int, int] | None = None
    confirmed_auto: int | None = None
    deadline = time.monotonic() + 180
    while to_name or rejected is None or confirmed_auto is None:
        assert time.monotonic() < deadline, f"corrections not done: {to_name}, {rejected}, {confirmed_auto}\n{logs()}"
        for photo_id in list(to_name):
            photo = Photo.objects.get(pk=photo_id)
            if Photo.Status.FAILED in (photo.status, photo.faces_status):
                pytest.fail(f"photo {photo_id} failed: {photo.last_error} ({photo.error_detail})\n{logs()}")
            if photo.status != Photo.Status.DONE:
                continue
            identity, face = photos[photo_id], largest_face(photo)
            if identity in persons:
                face_services.face_assign(user=alice, face_id=face.pk, person_id=persons[identity])
            else:
                face_services.face_assign(user=alice, face_id=face.pk, name=identity.replace("_", " "))
                persons[identity] = Face.objects.get(pk=face.pk).person_id
            to_name.remove(photo_id)
        # Among the faces the loop above does not name (naming would take the rejection back).
        auto = Face.objects.filter(owner=alice, state=Face.State.AUTO).exclude(photo_id__in=named_photos)
        auto = auto.order_by("id")
        if rejected is None and (face := auto.first()) is not None:
            rejected = (face.pk, face.person_id)
            face_services.face_not_this_person(user=alice, face_id=face.pk)
        elif rejected is not None and confirmed_auto is None:
            face = auto.exclude(pk=rejected[0]).first()
            if face is not None:
                confirmed_auto = face.pk
                face_services.face_confirm(user=alice, face_id=face.pk)
        time.sleep(0.05)

    wait_for(lambda: settled(list(photos)), timeout=180, what="every photo processed", logs=logs)
    assert set(Photo.objects.filter(owner=alice).values_list("status", flat=True)) == {Photo.Status.DONE}

    def quiet() -> bool:
        record = RecognitionIndex.objects.get(owner=alice)
        pending = cache.get(face_tasks._flag("index-rebuild", alice.pk)) or cache.get(
            face_tasks._flag("regroup", alice.pk)
        )
        return record.built_version == record.labels_version and not pending

    # Settled: the index is current, nothing is scheduled, and the labels stop moving.
    stable_since, last = time.monotonic(), None
    while True:
        assert time.monotonic() < deadline, f"the labels never settled\n{logs()}"
        snapshot = label_snapshot(alice)
        if snapshot != last or not quiet():
            stable_since, last = time.monotonic(), snapshot
        elif time.monotonic() - stable_since > 3:
            break
        time.sleep(0.2)

    # Both machines did part of the work, and each built the index itself.
    for worker in (machine_a, machine_b):
        log = worker.log_text()
        processed = re.findall(r"gallery\.tasks\.photo_process\[[^\]]+\] succeeded in [\d.e-]+s: 'done'", log)
        assert processed, f"{worker.name} processed no photo\n{logs()}"
        assert f"Built face index of user {alice.pk}" in log, f"{worker.name} never built the index\n{logs()}"

    # Each machine, on its own files, brings the index up to date and re-matches the library.
    record = RecognitionIndex.objects.get(owner=alice)
    for worker in (machine_a, machine_b):
        result = face_tasks.index_rebuild.apply_async(args=[alice.pk], queue=worker.name).get(timeout=60)
        assert result.get("changed", 0) == 0, (worker.name, result)
    assert label_snapshot(alice) == last
    after = RecognitionIndex.objects.get(owner=alice)
    assert (after.built_version, after.labels_version, after.checksum) == (
        record.built_version,
        record.labels_version,
        record.checksum,
    )
    files = [face_index.index_path(w.index_dir, alice.pk) for w in (machine_a, machine_b)]
    assert sha256(files[0]) == sha256(files[1]) == record.checksum

    # The run did what it says: the user's statements hold, and recognition named faces.
    named = [largest_face(Photo.objects.get(pk=pk)) for pk in named_photos]
    assert all(
        face.state == Face.State.CONFIRMED and face.person_id == persons[photos[face.photo_id]] for face in named
    )
    assert Face.objects.get(pk=confirmed_auto).state == Face.State.CONFIRMED
    face_id, person_id = rejected
    assert FaceRejection.objects.filter(face_id=face_id, person_id=person_id).exists()
    assert Face.objects.get(pk=face_id).person_id != person_id
    assert Face.objects.filter(owner=alice, state=Face.State.AUTO).count() >= 4
