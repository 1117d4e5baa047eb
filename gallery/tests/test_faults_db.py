"""The database connection killed and the disk full under the pipeline and the web
(catalogue D10, D11, D12).

D10/D11 kill this process's own MariaDB connection from a second connection
(`KILL <CONNECTION_ID()>`), as a server restart or a proxy timeout would; they need MariaDB.
D12 fills the disk in the middle of a file: the file is created, part of it written, then
the write fails with ENOSPC, as a real full disk does.
"""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, connections
from django.test import Client, RequestFactory
from django.urls import reverse

from faces import engine_loader
from faces.models import Face
from gallery import services, tasks
from gallery.models import Photo
from gallery.tests import images
from smartgallery.tests.factories import upload_photo

mariadb_only = pytest.mark.skipif(
    settings.DATABASE_VENDOR != "mysql", reason="KILL <connection id> is MariaDB/MySQL; SQLite has no server"
)
GROUP_FACES = 2


def connection_id() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT CONNECTION_ID()")
        return cursor.fetchone()[0]


def kill(connection_id_: int) -> None:
    """KILL a connection from a second one, as the server does when it restarts."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute(f"KILL {int(connection_id_)}")
    finally:
        other.close()


def media_files(owner) -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    folder = root / str(owner.pk)
    return {str(p.relative_to(root)) for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


class EngineWith:
    """The real engine with a fault injected after detection."""

    def __init__(self, after_detect) -> None:
        self.real = engine_loader.get_engine()
        self.after_detect = after_detect

    def __getattr__(self, name):
        return getattr(self.real, name)

    def detect(self, rgb):
        found = self.real.detect(rgb)
        self.after_detect()
        return found


# D10 ----------------------------------------------------------------------------------------


@mariadb_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.catalogue("D10")
def test_a_connection_killed_between_detection_and_the_writes_is_replaced(alice, no_broker, monkeypatch):
    photo = upload_photo(alice, images.group_photo(), "couple.jpg")
    killed = []

    def kill_mine():
        killed.append(connection_id())
        kill(killed[-1])

    engine = EngineWith(kill_mine)
    monkeypatch.setattr(engine_loader, "get_engine", lambda: engine)

    assert services.photo_process(photo_id=photo.pk, task_id="t1") == "done"
    assert connection_id() != killed[0]  # a new connection did the writes
    photo.refresh_from_db()
    assert photo.status == Photo.Status.DONE and photo.attempts == 1
    assert Face.objects.filter(photo=photo).count() == GROUP_FACES


@mariadb_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.catalogue("D10")
def test_a_connection_killed_inside_the_write_transaction_writes_nothing_and_the_task_retries(
    alice, no_broker, monkeypatch
):
    photo = upload_photo(alice, images.group_photo(), "couple.jpg")
    original = media_files(alice)
    real_store = services.photo_faces_store
    seen: dict[str, object] = {}

    def store_then_lose_the_connection(**kwargs):
        faces = real_store(**kwargs)  # faces written, transaction still open
        if "faces" not in seen:
            seen["faces"] = [(f.pk, f.crop.name) for f in faces]
            kill(connection_id())
        return faces

    monkeypatch.setattr(services, "photo_faces_store", store_then_lose_the_connection)
    # The real task body: a transient error releases the photo and retries (run at once here).
    tasks.photo_process.apply(args=[photo.pk])

    assert len(seen["faces"]) == GROUP_FACES
    photo.refresh_from_db()
    assert photo.status == Photo.Status.DONE, photo.last_error
    assert photo.attempts == 2
    faces = list(Face.objects.filter(photo=photo))
    assert len(faces) == GROUP_FACES
    assert not {pk for pk, _ in seen["faces"]} & {f.pk for f in faces}  # the first set never landed
    # Exactly the finished photo's files: the first attempt's derivatives and crops are gone.
    assert media_files(alice) == original | {photo.preview.name, photo.thumbnail.name} | {f.crop.name for f in faces}


# D11 ----------------------------------------------------------------------------------------


@mariadb_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.catalogue("D11")
def test_a_connection_killed_between_two_requests_does_not_fail_the_next(alice):
    # Through the WSGI handler as a server runs it: the test client would switch off the
    # per-request connection checks (close_old_connections) that this is about.
    client = Client()
    client.force_login(alice)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    handler = WSGIHandler()

    def get(path: str) -> str:
        environ = RequestFactory().get(path, HTTP_COOKIE=cookie).environ
        statuses = []
        body = handler(environ, lambda status, headers, exc_info=None: statuses.append(status))
        b"".join(body)
        body.close()  # request_finished, as a server sends it
        return statuses[0]

    assert get(reverse("gallery:timeline")).startswith("200")
    first = connection_id()
    kill(first)
    assert get(reverse("gallery:timeline")).startswith("200")
    assert connection_id() != first


# D12 ----------------------------------------------------------------------------------------


class FillsTheDisk(File):
    """Content whose write fails with ENOSPC after the first chunk reached the file."""

    def __init__(self, content) -> None:
        super().__init__(content, getattr(content, "name", None))
        self.inner = content

    def chunks(self, chunk_size=None):
        # Through File.chunks: an in-memory upload's own chunks() ignores the size.
        for number, chunk in enumerate(File(self.inner).chunks(256)):
            if number:
                raise OSError(errno.ENOSPC, "No space left on device")
            yield chunk


def fill_the_disk(monkeypatch, *, when=lambda name: True) -> list[str]:
    """Storage writes whose name passes `when` fail midway; returns the names tried."""
    real_save = default_storage._save
    tried: list[str] = []

    def save(name, content):
        if not when(name):
            return real_save(name, content)
        tried.append(name)
        return real_save(name, FillsTheDisk(content))

    monkeypatch.setattr(default_storage, "_save", save)
    return tried


@pytest.mark.django_db
@pytest.mark.catalogue("D12")
def test_a_disk_full_during_an_upload_is_a_clean_507_and_leaves_no_file(alice_client, alice, monkeypatch):
    tried = fill_the_disk(monkeypatch)
    big = images.jpeg_bytes(400, 300)
    assert len(big) > 512  # several chunks: the first one reaches the disk
    response = alice_client.post(
        reverse("gallery:upload"), {"files": [SimpleUploadedFile("a.jpg", big)]}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 507
    assert b"could not be stored" in response.content
    assert tried  # the write was really attempted
    assert not Photo.objects.exists()
    assert media_files(alice) == set()  # no half-written original left behind


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempts_left", [True, False], ids=["retried", "failed"])
@pytest.mark.parametrize("folder", ["derivatives", "faces"], ids=["thumbnail", "face-crop"])
@pytest.mark.catalogue("D12")
def test_a_disk_full_while_the_worker_writes_leaves_no_half_state(
    alice, no_broker, monkeypatch, settings, attempts_left, folder
):
    """The second file of its kind fails midway (the thumbnail after the preview, the second
    face crop): the attempt leaves nothing, the task retries, or fails with the reason."""
    settings.SMARTGALLERY_MAX_ATTEMPTS = 2
    photo = upload_photo(alice, images.group_photo(), "couple.jpg")
    original = media_files(alice)
    failures = {"left": 1 if attempts_left else 99}
    written: list[str] = []
    real_save = default_storage._save

    def save(name, content):
        if f"/{folder}/" in name:
            written.append(name)
            if len(written) % 2 == 0 and failures["left"]:
                failures["left"] -= 1
                return real_save(name, FillsTheDisk(content))
        return real_save(name, content)

    monkeypatch.setattr(default_storage, "_save", save)
    tasks.photo_process.apply(args=[photo.pk])

    photo.refresh_from_db()
    faces = list(Face.objects.filter(photo=photo))
    if attempts_left:
        assert photo.status == Photo.Status.DONE and photo.attempts == 2, photo.last_error
        assert len(faces) == GROUP_FACES
        expected = original | {photo.preview.name, photo.thumbnail.name} | {f.crop.name for f in faces}
    else:
        assert photo.attempts == 2 and faces == []
        assert photo.last_error == f"Gave up after 2 attempts. Last problem: {services.TEMPORARY_PROBLEM}"
        assert "No space left on device" in photo.error_detail  # the operator's details
        if folder == "derivatives":
            assert photo.status == Photo.Status.FAILED
            assert not photo.preview.name and not photo.thumbnail.name
            expected = original
        else:
            # The preview and thumbnail are made before the faces: the photo is shown without them.
            assert (photo.status, photo.faces_status) == (Photo.Status.DONE, Photo.FacesStatus.FAILED)
            expected = original | {photo.preview.name, photo.thumbnail.name}
    assert media_files(alice) == expected  # no half-written file, no orphan from a failed attempt
