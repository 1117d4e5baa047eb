"""The whole pipeline with the real worker, broker and face pack: upload -> faces -> media."""

import logging
import time
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from faces.models import Face
from gallery import services, tasks
from gallery.models import Photo
from gallery.tests import images

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]
HX = {"HTTP_HX_REQUEST": "true"}


def wait_done(photo_id: int, timeout: float = 90) -> Photo:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        photo = Photo.objects.get(pk=photo_id)
        if photo.status in ("done", "failed"):
            return photo
        time.sleep(0.2)
    raise AssertionError(f"photo {photo_id} still {photo.status} after {timeout}s")


def test_an_uploaded_photo_gets_its_faces_and_media_from_the_worker(celery_worker_process, alice_client, alice):
    response = alice_client.post(
        reverse("gallery:upload"), {"files": [SimpleUploadedFile("couple.jpg", images.group_photo())]}, **HX
    )
    assert response.status_code == 201
    photo = wait_done(Photo.objects.get(owner=alice).pk)
    assert photo.status == "done", photo.last_error or celery_worker_process.log_text()[-3000:]
    faces = list(Face.objects.filter(photo=photo))
    assert len(faces) == 2
    for name in ("thumbnail", "preview"):
        media = alice_client.get(reverse(f"gallery:{name}", args=[photo.pk]))
        assert media.status_code == 200 and media["Content-Type"] == "image/jpeg"
        assert b"".join(media.streaming_content)[:2] == b"\xff\xd8"
    assert alice_client.get(reverse("gallery:face_crop", args=[faces[0].pk])).status_code == 200
    page = alice_client.get(reverse("gallery:photo", args=[photo.pk]))
    assert page.content.count(b'class="face-box') == 2


def test_a_repeated_task_does_not_duplicate_faces(celery_worker_process, alice):
    photo, _ = services.photo_create(
        owner=alice, file=SimpleUploadedFile("c.jpg", images.group_photo()), filename="c.jpg"
    )
    tasks.photo_process.delay(photo.pk)  # a second message for the same photo, as a redelivery would be
    photo = wait_done(photo.pk)
    tasks.photo_process.delay(photo.pk).get(timeout=60)  # and one more after it finished
    photo.refresh_from_db()
    assert photo.status == "done" and photo.attempts == 1
    assert Face.objects.filter(photo=photo).count() == 2


@pytest.mark.catalogue("D2")
def test_an_upload_while_the_broker_is_down_is_kept_and_the_sweeper_queues_it(
    celery_worker_process, alice_client, alice, monkeypatch, caplog
):
    from kombu.exceptions import OperationalError

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.photo_process, "delay", broker_down)
    with caplog.at_level(logging.ERROR, logger="gallery.services"):
        response = alice_client.post(
            reverse("gallery:upload"), {"files": [SimpleUploadedFile("a.jpg", images.jpeg_bytes())]}, **HX
        )
    assert response.status_code == 201
    assert "Could not queue photo" in caplog.text
    photo = Photo.objects.get(owner=alice)
    assert photo.status == "queued"
    monkeypatch.undo()  # the broker is back

    assert services.photos_requeue_stuck()["requeued"] == 0  # not stuck yet
    later = timezone.now() + timedelta(hours=1)
    assert services.photos_requeue_stuck(now=later)["requeued"] == 1
    photo = wait_done(photo.pk)
    assert photo.status == "done" and photo.attempts == 1  # processed once
