"""manage.py check_integrity (catalogue D13): orphans, missing files, old-model faces, stale
indexes; reported, and with --fix quarantined / marked failed / queued again / rebuilt."""

from __future__ import annotations

import json
import os
import time
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command

from faces import index as face_index
from faces.models import Face, RecognitionIndex
from faces.recognition_model import MatchPolicy, RecognitionModel
from gallery import integrity
from gallery.models import Photo
from smartgallery.tests.world import MODEL_ID, make_world, storage_files

MODEL = RecognitionModel(model_id=MODEL_ID, dim=512, policy=MatchPolicy(auto_assign=0.6, suggest=0.4, margin=0.05))
DAY = 86_400


@pytest.fixture(autouse=True)
def _model(monkeypatch, settings, tmp_path):
    """The current model without loading onnxruntime: the worlds' faces are of MODEL_ID."""
    settings.SMARTGALLERY_INDEX_DIR = tmp_path / "index"
    monkeypatch.setattr("faces.recognition_model.current_model", lambda: MODEL)


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr("gallery.services.photo_enqueue", lambda *, photo_id: calls.append(photo_id))
    return calls


@pytest.fixture
def world(alice):
    world = make_world(alice, label="Alice")
    _age_all_files()
    return world


def _age_all_files(seconds: int = DAY) -> None:
    for name in storage_files():
        path = default_storage.path(name)
        old = time.time() - seconds
        os.utime(path, (old, old))


def run(*args) -> str:
    out = StringIO()
    call_command("check_integrity", *args, stdout=out)
    return out.getvalue()


def run_json(*args) -> dict:
    return json.loads(run("--json", *args))


def _index_current(world) -> None:
    """Give the world's index record a real, current file (as the index task leaves it)."""
    from faces import index_cache

    index_cache.build_index(world.owner.pk, MODEL)


@pytest.mark.django_db
def test_a_consistent_library_has_no_problems(world):
    _index_current(world)
    report = run_json()
    assert report["problems"] == 0, report
    assert "No problems found." in run()


@pytest.mark.django_db
def test_it_reports_an_orphan_and_a_row_whose_file_is_missing(world):
    _index_current(world)
    orphan = default_storage.save(f"{world.owner.pk}/originals/left-behind.jpg", ContentFile(b"\xff\xd8\xffx"))
    _age_all_files()
    default_storage.delete(world.photo2.original.name)
    findings = run_json()["findings"]
    assert findings["orphan_files"] == [orphan]
    assert findings["photos_missing_original"] == [world.photo2.pk]
    text = run()
    assert "Orphan files (no row points at them): 1" in text and orphan in text
    assert "Photos whose original is missing: 1" in text
    assert "run with --fix" in text


@pytest.mark.django_db
def test_fix_quarantines_orphans_and_marks_rows_failed(world, enqueued, django_capture_on_commit_callbacks):
    _index_current(world)
    orphan = default_storage.save(f"{world.owner.pk}/faces/stray.jpg", ContentFile(b"stray bytes"))
    _age_all_files()
    default_storage.delete(world.photo2.original.name)
    with django_capture_on_commit_callbacks(execute=True):
        report = run_json("--fix")
    moved = report["repairs"]["quarantined"]
    assert list(moved) == [orphan]
    assert not default_storage.exists(orphan)
    assert moved[orphan].startswith(f"{integrity.QUARANTINE_DIR}/") and moved[orphan].endswith(orphan)
    with default_storage.open(moved[orphan]) as kept:
        assert kept.read() == b"stray bytes"  # moved, never deleted
    world.photo2.refresh_from_db()
    assert world.photo2.status == Photo.Status.FAILED
    assert world.photo2.last_error == integrity.MISSING_ORIGINAL
    assert world.photo2.pk not in enqueued  # nothing to process without the original
    # The quarantine is not an orphan, and the failed photo is not reported again as new work.
    again = run_json("--fix")
    assert again["findings"]["orphan_files"] == []
    assert again["repairs"]["marked_failed"] == []


@pytest.mark.django_db
def test_young_files_are_never_orphans(world):
    _index_current(world)
    default_storage.save(f"{world.owner.pk}/originals/uploading.jpg", ContentFile(b"in flight"))
    assert run_json()["findings"]["orphan_files"] == []
    assert run_json("--orphan-min-age", "0")["findings"]["orphan_files"] == [
        f"{world.owner.pk}/originals/uploading.jpg"
    ]


@pytest.mark.django_db
def test_missing_derivatives_and_crops_queue_the_photo_again(world, enqueued, django_capture_on_commit_callbacks):
    _index_current(world)
    default_storage.delete(world.photo.thumbnail.name)
    default_storage.delete(world.spare_face.crop.name)  # spare face is on photo2
    faces_before = Face.objects.filter(owner=world.owner).count()
    findings = run_json()["findings"]
    assert findings["photos_missing_derivatives"] == [world.photo.pk]
    assert findings["faces_missing_crop"] == [world.spare_face.pk]
    with django_capture_on_commit_callbacks(execute=True):
        repairs = run_json("--fix")["repairs"]
    assert sorted(repairs["requeued"]) == sorted([world.photo.pk, world.photo2.pk])
    assert sorted(enqueued) == sorted([world.photo.pk, world.photo2.pk])
    for photo in (world.photo, world.photo2):
        photo.refresh_from_db()
        assert (photo.status, photo.attempts) == (Photo.Status.QUEUED, 0)
    # Faces stay until processing runs again (it keeps the confirmed ones).
    assert Face.objects.filter(owner=world.owner).count() == faces_before
    world.failed_photo.refresh_from_db()
    assert world.failed_photo.status == Photo.Status.FAILED


@pytest.mark.django_db
def test_faces_of_another_model_queue_their_photo_again(world, enqueued, django_capture_on_commit_callbacks):
    _index_current(world)
    Face.objects.filter(pk=world.spare_face.pk).update(model_id="old-pack:123456789abc")
    findings = run_json()["findings"]
    assert findings["model_id"] == MODEL_ID
    assert findings["stale_model_faces"] == [world.spare_face.pk]
    assert findings["stale_model_photos"] == [world.photo2.pk]
    with django_capture_on_commit_callbacks(execute=True):
        run("--fix")
    assert enqueued == [world.photo2.pk]


@pytest.mark.django_db
def test_no_engine_skips_the_model_check(world, monkeypatch):
    _index_current(world)
    Face.objects.filter(pk=world.spare_face.pk).update(model_id="old-pack:123456789abc")

    def fail():
        raise AssertionError("the engine must not be loaded")

    monkeypatch.setattr("faces.recognition_model.current_model", fail)
    report = run_json("--no-engine")
    assert report["findings"]["model_id"] is None
    assert report["findings"]["stale_model_faces"] == []


@pytest.mark.django_db
def test_an_engine_that_cannot_load_is_reported_not_fatal(world, monkeypatch):
    from faces.engine import FaceEngineError

    def broken():
        raise FaceEngineError("no pack here")

    monkeypatch.setattr("faces.recognition_model.current_model", broken)
    RecognitionIndex.objects.filter(owner=world.owner).update(labels_version=5)
    text = run("--fix")
    assert "face engine not loaded (no pack here)" in text
    assert "Not repaired: index of user" in text


@pytest.mark.django_db
@pytest.mark.parametrize("damage", ["labels moved on", "file missing", "byte flipped", "other model"])
def test_stale_indexes_are_reported_and_rebuilt(damage, world):
    _index_current(world)
    record = RecognitionIndex.objects.get(owner=world.owner)
    path = face_index.index_path(integrity.settings.SMARTGALLERY_INDEX_DIR, world.owner.pk)
    if damage == "labels moved on":
        RecognitionIndex.objects.filter(pk=record.pk).update(labels_version=record.labels_version + 1)
    elif damage == "file missing":
        path.unlink()
    elif damage == "byte flipped":
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
    else:
        RecognitionIndex.objects.filter(pk=record.pk).update(model_id="old-pack:123456789abc")
    stale = run_json()["findings"]["stale_indexes"]
    assert list(stale) == [str(world.owner.pk)], stale
    report = run_json("--fix")
    assert report["repairs"]["indexes_rebuilt"] == [world.owner.pk]
    record.refresh_from_db()
    assert record.built_version == record.labels_version
    assert record.model_id == MODEL_ID
    assert face_index.sha256_hex(path.read_bytes()) == record.checksum
    assert run_json()["findings"]["stale_indexes"] == {}


@pytest.mark.django_db
def test_other_users_are_checked_too_and_left_alone_when_fine(world, bob, enqueued, django_capture_on_commit_callbacks):
    _index_current(world)
    bobs = make_world(bob, label="Bob")
    _age_all_files()
    from faces import index_cache

    index_cache.build_index(bob.pk, MODEL)
    default_storage.delete(bobs.photo.preview.name)
    before = {p.pk: (p.status, p.attempts) for p in Photo.objects.filter(owner=world.owner)}
    with django_capture_on_commit_callbacks(execute=True):
        report = run_json("--fix")
    assert report["findings"]["photos_missing_derivatives"] == [bobs.photo.pk]
    assert enqueued == [bobs.photo.pk]
    assert {p.pk: (p.status, p.attempts) for p in Photo.objects.filter(owner=world.owner)} == before
