"""Races between the user and the pipeline on one photo (catalogue F4, F5) [T].

Real threads with their own database connections (gallery/tests/threads.py); a Gate parks
the pipeline at the point under test so the interleaving happens every time.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from faces import engine_loader, index_cache, recognition_model
from faces import services as face_services
from faces.models import Face, RecognitionIndex
from gallery import services, tasks
from gallery.models import Photo
from gallery.tests import images
from gallery.tests.threads import WAIT_SECONDS, Gate, Runner
from smartgallery.tests.factories import upload_photo

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def media_files(owner) -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    folder = root / str(owner.pk)
    return {str(p.relative_to(root)) for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


# F4 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("moment", ["during-detection", "after-the-faces-were-stored"])
@pytest.mark.catalogue("F4")
def test_deleting_a_photo_while_its_task_runs_leaves_nothing_and_the_task_ends_quietly(
    alice, alice_client, no_broker, monkeypatch, caplog, moment
):
    photo = upload_photo(alice, images.group_photo(), "couple.jpg")
    services.photo_process(photo_id=photo.pk, task_id="first")
    named = Face.objects.filter(photo=photo).first()
    face_services.face_assign(user=alice, face_id=named.pk, name="Sam")  # a reference face of the index
    model = recognition_model.current_model()
    index_cache.get_index(alice.id, model)
    Photo.objects.filter(pk=photo.pk).update(status=Photo.Status.QUEUED)  # reprocess (a new model, say)
    services.photo_trash(photo=photo)  # then "Delete for good" on the trash page races the task

    gate = Gate("pipeline")
    if moment == "during-detection":
        engine = engine_loader.get_engine()
        gate.install(monkeypatch, engine, "detect")
    else:
        gate.install(monkeypatch, Photo, "refresh_from_db")  # the writes committed; it reads the row again
    pipeline = Runner("pipeline", lambda: tasks.photo_process.apply(args=[photo.pk]).get())
    with caplog.at_level(logging.WARNING):
        pipeline.start()
        gate.wait_parked()
        response = alice_client.post(reverse("gallery:purge", args=[photo.pk]))
        assert response.status_code == 302
        gate.release()
        result = pipeline.join_checked()

    assert result == "skipped"  # no retry, no failure
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert not Photo.objects.filter(pk=photo.pk).exists()
    assert not Face.objects.filter(owner=alice).exists()
    assert media_files(alice) == set()
    record = RecognitionIndex.objects.get(owner=alice)
    assert record.labels_version > record.built_version  # the delete made the index stale
    rebuilt = index_cache.get_index(alice.id, model)
    assert named.pk not in rebuilt.face_ids.tolist() and rebuilt.ntotal == 0


# F5 -----------------------------------------------------------------------------------------


@pytest.mark.catalogue("F5")
def test_the_same_upload_sent_twice_at_once_is_one_photo(alice, no_broker, monkeypatch):
    data = images.jpeg_bytes(120, 90)
    both_checked = threading.Barrier(2, timeout=WAIT_SECONDS)
    real_check_quota = services._check_quota

    def check_quota_together(owner, size):
        # Both requests have looked for the photo and not found it: now they race to store it.
        both_checked.wait()
        return real_check_quota(owner, size)

    monkeypatch.setattr(services, "_check_quota", check_quota_together)

    def upload():
        client = Client()
        client.force_login(alice)
        return client.post(
            reverse("gallery:upload"), {"files": [SimpleUploadedFile("same.jpg", data)]}, HTTP_HX_REQUEST="true"
        )

    first, second = Runner("upload-1", upload), Runner("upload-2", upload)
    first.start()
    second.start()
    statuses = sorted([first.join_checked().status_code, second.join_checked().status_code])

    assert statuses == [200, 201]  # one stored it, the other was told it is already there
    photo = Photo.objects.get(owner=alice)
    assert media_files(alice) == {photo.original.name}  # the loser's file was removed
    assert no_broker == [photo.pk]  # processed once


@pytest.mark.catalogue("A18")
def test_uploads_sent_at_once_do_not_get_past_the_quota(alice, no_broker, monkeypatch, settings):
    # Found by probing (issue 15, "probe again"): every upload checked the quota before any of
    # them was saved, so N uploads at once stored N photos, whatever the quota said.
    photos = [images.jpeg_bytes(120, 90, color=(n * 20, 40, 90)) for n in range(6)]
    settings.SMARTGALLERY_USER_QUOTA_BYTES = sum(len(p) for p in photos[:2]) + max(len(p) for p in photos) // 2
    all_checked = threading.Barrier(len(photos), timeout=WAIT_SECONDS)
    real_storage_save = services.storage_save

    def save_together(*args, **kwargs):
        # All of them passed the first quota check; now they store and save at once.
        all_checked.wait()
        return real_storage_save(*args, **kwargs)

    monkeypatch.setattr(services, "storage_save", save_together)

    def upload(data):
        client = Client()
        client.force_login(alice)
        return client.post(
            reverse("gallery:upload"), {"files": [SimpleUploadedFile("p.jpg", data)]}, HTTP_HX_REQUEST="true"
        )

    runners = [Runner(f"upload-{n}", lambda data=data: upload(data)) for n, data in enumerate(photos)]
    for runner in runners:
        runner.start()
    statuses = sorted(r.join_checked().status_code for r in runners)

    assert statuses == [201, 201, 413, 413, 413, 413]
    stored = Photo.objects.filter(owner=alice)
    assert sum(p.file_size for p in stored) <= settings.SMARTGALLERY_USER_QUOTA_BYTES
    assert media_files(alice) == {p.original.name for p in stored}  # the refused ones left no file


def _park_photo_delete(monkeypatch, model) -> tuple[threading.Event, threading.Event]:
    """Park the thread called "deleting" when Django deletes the rows of `model` (Face: what
    points at the faces was worked out, the faces not yet deleted; Photo: the faces are
    deleted, not yet committed). Returns (parked, go)."""
    from django.db.models.sql.subqueries import DeleteQuery

    parked, go = threading.Event(), threading.Event()
    real_delete_batch = DeleteQuery.delete_batch

    def delete_batch(query, pk_list, using):
        if query.model is model and threading.current_thread().name == "deleting":
            parked.set()
            assert go.wait(WAIT_SECONDS)
        return real_delete_batch(query, pk_list, using)

    monkeypatch.setattr(DeleteQuery, "delete_batch", delete_batch)
    return parked, go


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_photo_deleted_while_one_of_its_faces_becomes_a_cover_is_no_error(alice, monkeypatch):
    # Found by our own probe (bench.parallel_probe): the delete had worked out which persons
    # use the photo's faces as covers, then a face of it was named for a new person (who got
    # it as the cover) and committed; deleting the faces then broke the foreign key: a 500.
    from faces.models import Person
    from smartgallery.tests.factories import FaceFactory, PhotoFactory

    photo = PhotoFactory(owner=alice, stored=True)
    face = FaceFactory(owner=alice, photo=photo)
    services.photo_trash(photo=photo)  # "Delete for good" from the trash is what deletes rows
    parked, go = _park_photo_delete(monkeypatch, Face)
    deleter, namer = _signed_in(alice), _signed_in(alice)
    deleting = Runner("deleting", lambda: deleter.post(reverse("gallery:purge", args=[photo.pk])))
    naming = Runner(
        "naming",
        lambda: namer.post(reverse("faces:face_assign", args=[face.pk]), {"name": "Cover"}, HTTP_HX_REQUEST="true"),
    )
    deleting.start()
    assert parked.wait(WAIT_SECONDS)
    naming.start()
    naming.join(2)  # it commits now, or waits for the delete's lock on the face
    go.set()

    assert deleting.join_checked().status_code == 302
    assert naming.join_checked().status_code in (200, 404)
    assert not Photo.objects.filter(pk=photo.pk).exists() and not Face.objects.filter(pk=face.pk).exists()
    assert media_files(alice) == set()
    assert not Person.objects.filter(owner=alice, cover_face__isnull=False).exists()


def test_a_cover_chosen_while_its_photo_is_deleted_is_a_404_not_an_error(alice, monkeypatch):
    # The same race from the other side (probe): the cover choice read the face, then waited
    # for the delete to check its foreign key, which then failed: a 500.
    from smartgallery.tests.factories import FaceFactory, PersonFactory, PhotoFactory

    anna = PersonFactory(owner=alice, name="Anna")
    photo = PhotoFactory(owner=alice, stored=True)
    face = FaceFactory(owner=alice, photo=photo, person=anna)
    services.photo_trash(photo=photo)  # "Delete for good" from the trash is what deletes rows
    parked, go = _park_photo_delete(monkeypatch, Photo)  # the faces are deleted, not committed
    deleter, chooser = _signed_in(alice), _signed_in(alice)
    deleting = Runner("deleting", lambda: deleter.post(reverse("gallery:purge", args=[photo.pk])))
    choosing = Runner(
        "choosing",
        lambda: chooser.post(reverse("faces:person_cover", args=[anna.pk]), {"face": face.pk}, HTTP_HX_REQUEST="true"),
    )
    deleting.start()
    assert parked.wait(WAIT_SECONDS)
    choosing.start()
    choosing.join(2)  # it waits for the delete
    go.set()

    assert deleting.join_checked().status_code == 302
    assert choosing.join_checked().status_code == 404
    anna.refresh_from_db()
    assert anna.cover_face_id != face.pk


def test_an_account_deleted_while_the_worker_stores_faces_of_its_photo_goes_whole(bob, monkeypatch):
    # Found by our own probe (bench.parallel_probe): the deletion had listed bob's rows, then
    # the worker stored the faces of his newest photo; deleting the photo broke their foreign
    # key: a 500, and the account stayed.
    from django.db import OperationalError

    from accounts.models import User
    from smartgallery.db import is_lock_conflict

    monkeypatch.setattr(services, "photo_enqueue", lambda *, photo_id: None)  # this test runs it
    photo = upload_photo(bob, images.face_photo(), "bob.jpg")
    parked, go = _park_photo_delete(monkeypatch, Photo)  # bob's rows listed, not yet deleted
    browser = _signed_in(bob)
    deleting = Runner("deleting", lambda: browser.post("/accounts/delete/", {"password": "bob-password-1234"}))

    def process():
        try:
            return services.photo_process(photo_id=photo.pk, task_id="worker")
        except OperationalError as error:  # a deadlock victim: the task is retried, then skipped
            assert is_lock_conflict(error), error
            return "retried"
        except services.PhotoGone:
            return "skipped"

    processing = Runner("processing", process)
    deleting.start()
    assert parked.wait(WAIT_SECONDS)
    processing.start()
    processing.join(5)  # it stores the faces now, or waits for the deletion
    go.set()

    assert deleting.join_checked().status_code == 302
    assert processing.join_checked() in ("done", "skipped", "retried")
    assert not User.objects.filter(pk=bob.pk).exists()
    assert not Photo.objects.filter(owner_id=bob.pk).exists() and not Face.objects.filter(owner_id=bob.pk).exists()
