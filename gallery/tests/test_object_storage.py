"""Media on S3-compatible object storage, end to end (issue 16, item 4).

An S3 server (moto's, in a thread of the test process) answers on a loopback port: a real
HTTP endpoint that the web side (this process) and a real Celery worker (another process)
reach with boto3, as they would reach AWS, MinIO or Ceph. Both are configured through
settings.py's S3_* variables; the worker's MEDIA_ROOT is an empty folder that must stay empty.
The bucket is read back with a plain boto3 client, never through the code under test.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import runpy
from io import StringIO
from pathlib import Path
from unittest import mock

import boto3
import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from PIL import Image

from conftest import REPO_ROOT, _worker_environment
from faces.models import Face
from gallery import services, tasks
from gallery.models import Photo
from gallery.tests import images
from smartgallery.tests.machines import machines, settled, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

BUCKET = "smartgallery-media"
HX = {"HTTP_HX_REQUEST": "true"}
PUBLIC_GROUPS = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)


class S3Server:
    """moto's S3 on 127.0.0.1; stop() and start() again keep the bucket (its state lives in
    this process), like a storage outage that ends."""

    def __init__(self) -> None:
        self.port = 0
        self.server = None

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        self.port = self.server.get_host_and_port()[1]

    def stop(self) -> None:
        self.server.stop()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {
            "S3_BUCKET": BUCKET,
            "S3_ENDPOINT_URL": self.endpoint,
            "S3_REGION": "us-east-1",
            "S3_ACCESS_KEY_ID": "smartgallery-test",
            "S3_SECRET_ACCESS_KEY": "smartgallery-test-secret",  # noqa: S105 (moto accepts any)
        }

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="smartgallery-test",
            aws_secret_access_key="smartgallery-test-secret",  # noqa: S106
        )

    def keys(self, prefix: str = "") -> set[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return {entry["Key"] for page in pages for entry in page.get("Contents", ())}

    def body(self, key: str) -> bytes:
        return self.client().get_object(Bucket=BUCKET, Key=key)["Body"].read()


@pytest.fixture(scope="module")
def s3():
    server = S3Server()
    server.start()
    server.client().create_bucket(Bucket=BUCKET)
    yield server
    server.stop()


def default_storage_for(env: dict[str, str]) -> dict:
    """STORAGES["default"] as settings.py builds it from these variables (read in a fresh
    namespace: settings are read once per process)."""
    with mock.patch.dict(os.environ, env):
        namespace = runpy.run_path(str(REPO_ROOT / "smartgallery" / "settings.py"))
    return namespace["STORAGES"]["default"]


@pytest.fixture(autouse=True)
def _media_in_the_bucket(s3, settings):
    """This process stores media in the (emptied) bucket, configured as the worker is."""
    client = s3.client()
    for key in s3.keys():
        client.delete_object(Bucket=BUCKET, Key=key)
    settings.STORAGES = {**settings.STORAGES, "default": default_storage_for(s3.env)}
    settings.MEDIA_ROOT = Path(settings.MEDIA_ROOT).parent / "web-media-unused"


@pytest.fixture(scope="module")
def worker(s3, celery_worker_process, django_db_blocker, _isolated_media, tmp_path_factory):
    """One real worker whose only media storage is the bucket."""
    with django_db_blocker.unblock():
        env = _worker_environment(_isolated_media)
    unused = tmp_path_factory.mktemp("s3-worker-media")
    env.update(s3.env)
    env["MEDIA_ROOT"] = str(unused)
    # The outage test wants the storage error itself, not botocore's own reconnect loop
    # (up to 15 s of backoff); production keeps botocore's defaults.
    env["AWS_MAX_ATTEMPTS"] = "1"
    env["SMARTGALLERY_RETRY_BACKOFF_SECONDS"] = "0.5"
    with machines(celery_worker_process, tmp_path_factory.mktemp("s3-logs")) as start:
        machine = start(env, name="s3")
        machine.unused_media = unused
        yield machine


def wait_settled(photos: list[Photo], worker) -> list[Photo]:
    ids = [photo.pk for photo in photos]
    wait_for(lambda: settled(ids), timeout=120, what=f"photos {ids} processed", logs=worker.log_text)
    return list(Photo.objects.filter(pk__in=ids).order_by("pk"))


def upload(client, owner, name: str, data: bytes) -> Photo:
    response = client.post(reverse("gallery:upload"), {"files": [SimpleUploadedFile(name, data)]}, **HX)
    assert response.status_code == 201, response.content[:2000]
    return Photo.objects.get(owner=owner, sha256=hashlib.sha256(data).hexdigest())


def stored_names(photo: Photo) -> set[str]:
    names = {photo.original.name, photo.preview.name, photo.thumbnail.name}
    return names | set(Face.objects.filter(photo=photo).values_list("crop", flat=True))


def streamed(response) -> bytes:
    return b"".join(response.streaming_content)


def test_uploads_and_the_workers_files_live_in_the_bucket_and_only_their_owner_gets_them(
    s3, worker, alice, alice_client, bob_client, settings
):
    data = images.group_photo()
    photo = upload(alice_client, alice, "couple.jpg", data)
    assert s3.keys() == {photo.original.name}  # stored before the worker ran
    assert s3.body(photo.original.name) == data

    [photo] = wait_settled([photo], worker)
    assert photo.status == Photo.Status.DONE, photo.last_error
    faces = list(Face.objects.filter(photo=photo))
    assert len(faces) == 2 and all(face.crop for face in faces)
    names = stored_names(photo)
    assert len(names) == 5  # original, preview, thumbnail, two crops
    assert s3.keys() == names
    assert all(name.startswith(f"{alice.pk}/") for name in names)
    assert not any(worker.unused_media.rglob("*")), "the worker wrote media to local disk"
    assert not any(Path(settings.MEDIA_ROOT).rglob("*")), "the web process wrote media to local disk"
    for key in names:
        grants = s3.client().get_object_acl(Bucket=BUCKET, Key=key)["Grants"]
        assert not [g for g in grants if g["Grantee"].get("URI") in PUBLIC_GROUPS], (key, grants)

    original = alice_client.get(reverse("gallery:original", args=[photo.pk]))
    assert original.status_code == 200 and streamed(original) == data
    assert "attachment" in original["Content-Disposition"]
    for route, key in (("gallery:preview", photo.preview.name), ("gallery:thumbnail", photo.thumbnail.name)):
        response = alice_client.get(reverse(route, args=[photo.pk]))
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        assert streamed(response) == s3.body(key)
    for face in faces:
        response = alice_client.get(reverse("gallery:face_crop", args=[face.pk]))
        assert response.status_code == 200 and streamed(response) == s3.body(face.crop.name)

    for route in ("gallery:original", "gallery:preview", "gallery:thumbnail", "gallery:photo"):
        assert bob_client.get(reverse(route, args=[photo.pk])).status_code == 404
    for face in faces:
        assert bob_client.get(reverse("gallery:face_crop", args=[face.pk])).status_code == 404


def test_deleting_a_photo_removes_its_objects_and_nothing_else(s3, worker, alice, alice_client, bob, bob_client):
    mine = upload(alice_client, alice, "couple.jpg", images.group_photo())
    kept = upload(alice_client, alice, "other.jpg", images.jpeg_bytes(color=(10, 200, 30)))
    bobs = upload(bob_client, bob, "couple.jpg", images.group_photo())
    mine, kept, bobs = wait_settled([mine, kept, bobs], worker)
    assert {p.status for p in (mine, kept, bobs)} == {Photo.Status.DONE}
    mine_names, others = stored_names(mine), stored_names(kept) | stored_names(bobs)
    assert s3.keys() == mine_names | others

    assert bob_client.post(reverse("gallery:delete", args=[mine.pk])).status_code == 404
    assert s3.keys() == mine_names | others

    response = alice_client.post(reverse("gallery:delete", args=[mine.pk]))
    assert response.status_code in (200, 302)
    assert s3.keys() == mine_names | others  # in the trash: restorable, its objects kept

    assert bob_client.post(reverse("gallery:purge", args=[mine.pk])).status_code == 404
    response = alice_client.post(reverse("gallery:purge", args=[mine.pk]))
    assert response.status_code in (200, 302)
    assert not Photo.objects.filter(pk=mine.pk).exists()
    assert s3.keys() == others


def test_deleting_an_account_removes_every_object_of_the_user(s3, worker, alice, alice_client, bob, bob_client):
    photos = [
        upload(alice_client, alice, "couple.jpg", images.group_photo()),
        upload(alice_client, alice, "plain.jpg", images.jpeg_bytes(color=(200, 10, 30))),
        upload(bob_client, bob, "bobs.jpg", images.jpeg_bytes(color=(20, 10, 230))),
    ]
    photos = wait_settled(photos, worker)
    assert {p.status for p in photos} == {Photo.Status.DONE}
    bobs = stored_names(photos[2])
    assert s3.keys(f"{alice.pk}/") == stored_names(photos[0]) | stored_names(photos[1])
    assert len(s3.keys(f"{alice.pk}/")) == 2 * 3 + 2  # three files per photo, two crops

    response = alice_client.post("/accounts/delete/", {"password": "alice-password-1234"})
    assert response.status_code == 302, response.content[:2000]
    assert s3.keys(f"{alice.pk}/") == set()
    assert s3.keys() == bobs


def test_check_integrity_finds_and_repairs_problems_in_the_bucket(s3, worker, alice, alice_client):
    [photo] = wait_settled([upload(alice_client, alice, "couple.jpg", images.group_photo())], worker)
    assert photo.status == Photo.Status.DONE, photo.last_error
    assert report()["problems"] == 0

    lost_thumbnail = photo.thumbnail.name
    s3.client().delete_object(Bucket=BUCKET, Key=lost_thumbnail)
    orphan = f"{alice.pk}/originals/left-behind.jpg"
    s3.client().put_object(Bucket=BUCKET, Key=orphan, Body=images.jpeg_bytes())

    found = report()
    assert found["problems"] == 2
    assert found["findings"]["orphan_files"] == [orphan]
    assert found["findings"]["photos_missing_derivatives"] == [photo.pk]

    repaired = report("--fix")["repairs"]
    assert list(repaired["quarantined"]) == [orphan]
    quarantined = repaired["quarantined"][orphan]
    assert quarantined.startswith("quarantine/") and quarantined.endswith(orphan)
    assert repaired["requeued"] == [photo.pk]
    assert orphan not in s3.keys() and quarantined in s3.keys()

    [photo] = wait_settled([photo], worker)  # processed again by the worker, from the bucket
    assert photo.status == Photo.Status.DONE and photo.thumbnail.name != lost_thumbnail
    assert s3.keys() == stored_names(photo) | {quarantined}
    assert report()["problems"] == 0


def test_a_large_original_is_sent_from_a_temporary_file_not_held_in_memory(s3, worker, alice, alice_client, settings):
    noise = np.random.default_rng(5).integers(0, 256, (1500, 2000, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "JPEG", quality=95)
    data = buffer.getvalue()
    assert len(data) > settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    photo = upload(alice_client, alice, "large.jpg", data)

    response = alice_client.get(reverse("gallery:original", args=[photo.pk]))
    assert response.status_code == 200 and streamed(response) == data
    # What the view streams from (media_response opens the file through the storage): the
    # download sits in a SpooledTemporaryFile, moved to disk once it passed the threshold.
    with default_storage.open(photo.original.name, "rb") as handle:
        assert handle.read() == data
        assert handle.file._rolled


def report(*args: str) -> dict:
    out = StringIO()
    # --no-engine: this test is about storage; the face-model check is covered elsewhere.
    call_command("check_integrity", "--json", "--no-engine", "--orphan-min-age", "0", *args, stdout=out)
    return json.loads(out.getvalue())


def test_a_storage_outage_is_retried_and_the_photo_processed_once_it_is_back(s3, worker, alice, monkeypatch):
    monkeypatch.setattr(services, "photo_enqueue", lambda *, photo_id: None)  # queued by hand below
    photo, _ = services.photo_create(
        owner=alice, file=SimpleUploadedFile("couple.jpg", images.group_photo()), filename="couple.jpg"
    )
    s3.stop()
    try:
        tasks.photo_process.delay(photo.pk)

        def released_for_retry():
            photo.refresh_from_db()
            return photo.status == Photo.Status.QUEUED and photo.attempts == 1

        wait_for(released_for_retry, timeout=60, what="the photo released for a retry", logs=worker.log_text)
        assert photo.last_error.startswith("Temporary problem"), photo.last_error
    finally:
        s3.start()
    [photo] = wait_settled([photo], worker)
    assert photo.status == Photo.Status.DONE, photo.last_error
    assert photo.attempts == 2
    assert s3.keys() == stored_names(photo)


def test_an_upload_while_the_storage_is_down_answers_507_and_keeps_nothing(
    s3, worker, alice, alice_client, monkeypatch
):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # this process's boto3 session is made after this line
    s3.stop()
    try:
        response = alice_client.post(
            reverse("gallery:upload"), {"files": [SimpleUploadedFile("couple.jpg", images.group_photo())]}, **HX
        )
    finally:
        s3.start()
    assert response.status_code == 507
    assert "could not be stored" in response.content.decode()
    assert not Photo.objects.filter(owner=alice).exists()
    assert s3.keys() == set()
