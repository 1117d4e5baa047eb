"""The processing service run in this process with the real face pack (no worker): faces,
derivatives, idempotence, user decisions kept, races with delete and with a second run."""

import io
import uuid

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image

from faces.models import Face, FaceRejection, Person
from gallery import services
from gallery.models import Photo
from gallery.tests import images
from smartgallery.tests.factories import upload_photo


def process(photo, task_id=None):
    return services.photo_process(photo_id=photo.pk, task_id=task_id or uuid.uuid4().hex)


def test_it_finds_faces_and_makes_derivatives(alice, alice_client):
    photo = upload_photo(alice, images.group_photo(), "couple.jpg")
    assert process(photo) == "done"
    photo.refresh_from_db()
    assert photo.status == "done" and photo.attempts == 1 and photo.finished_at and not photo.task_id
    assert photo.faces_status == "done"
    assert photo.faces_model_id.startswith("face_default:")
    faces = list(photo.faces.all())
    assert len(faces) == 2
    for face in faces:
        assert face.owner_id == alice.pk and face.model_id == photo.faces_model_id
        assert len(face.embedding) % 4 == 0 and face.recognisable
        assert 0 <= face.x1 < face.x2 <= photo.width and 0 <= face.y1 < face.y2 <= photo.height
        assert default_storage.exists(face.crop.name) and face.crop.name.startswith(f"{alice.pk}/faces/")
    preview = Image.open(default_storage.open(photo.preview.name))
    thumbnail = Image.open(default_storage.open(photo.thumbnail.name))
    assert max(preview.size) <= 1600 and max(thumbnail.size) <= 320
    assert alice_client.get(reverse("gallery:thumbnail", args=[photo.pk])).status_code == 200


def test_a_photo_without_faces_is_done_with_no_faces(alice, shared_dir):
    photo = upload_photo(alice, (shared_dir / "faces/_noface/opencvcourse_cat.jpg").read_bytes(), "cat.jpg")
    assert process(photo) == "done"
    assert not Face.objects.filter(photo=photo).exists()


@pytest.mark.catalogue("A15")
def test_derivatives_and_face_crops_carry_no_exif_while_the_original_keeps_its_gps(alice):
    face = Image.open(io.BytesIO(images.face_photo()))
    photo = upload_photo(alice, images.encode(face, "JPEG", exif=images.gps_exif()), "gps.jpg")
    assert photo.gps_latitude is not None
    process(photo)
    photo.refresh_from_db()
    crops = [f.crop.name for f in photo.faces.all()]
    assert crops
    for name in [photo.preview.name, photo.thumbnail.name, *crops]:
        data = default_storage.open(name).read()
        derivative = Image.open(io.BytesIO(data))
        exif = derivative.getexif()
        assert 0x8825 not in exif and len(exif) == 0, name
        assert b"Exif" not in data[:2000] and b"Canon" not in data
    assert 0x8825 in Image.open(default_storage.open(photo.original.name)).getexif()


@pytest.mark.catalogue("A16")
def test_a_rotated_photo_is_processed_upright(alice):
    upright = Image.open(io.BytesIO(images.face_photo())).convert("RGB")
    reference = upload_photo(alice, images.encode(upright, "JPEG", quality=95), "upright.jpg")
    # Stored sideways (as a phone held sideways does) with orientation 6 = "rotate 90° to view".
    exif = Image.Exif()
    exif[0x0112] = 6
    sideways = upright.transpose(Image.Transpose.ROTATE_90)
    rotated = upload_photo(alice, images.encode(sideways, "JPEG", quality=95, exif=exif), "rotated.jpg")
    assert (rotated.width, rotated.height) == upright.size
    process(reference)
    process(rotated)
    rotated.refresh_from_db()
    thumbnail = Image.open(default_storage.open(rotated.thumbnail.name))
    assert (thumbnail.width > thumbnail.height) == (upright.width > upright.height)
    expected = reference.faces.get()
    found = rotated.faces.get()
    assert np.allclose(found.box, expected.box, atol=6)


def test_running_twice_does_not_duplicate_faces(alice):
    photo = upload_photo(alice, images.group_photo(), "couple.jpg")
    process(photo)
    first = sorted(Face.objects.filter(photo=photo).values_list("x1", flat=True))
    Photo.objects.filter(pk=photo.pk).update(status="queued")
    process(photo)
    assert sorted(Face.objects.filter(photo=photo).values_list("x1", flat=True)) == pytest.approx(first)


@pytest.mark.catalogue("D8")
def test_a_second_delivery_while_the_first_runs_is_skipped(alice):
    photo = upload_photo(alice, images.jpeg_bytes())
    assert services.photo_claim(photo_id=photo.pk, task_id="first") is not None
    assert process(photo, task_id="second") == "skipped"
    photo.refresh_from_db()
    assert photo.status == "processing" and photo.task_id == "first" and photo.attempts == 1


def test_a_finished_photo_is_not_processed_again(alice):
    photo = upload_photo(alice, images.jpeg_bytes())
    process(photo)
    assert process(photo) == "skipped"
    photo.refresh_from_db()
    assert photo.attempts == 1


def test_the_same_task_redelivered_after_a_crash_takes_the_photo_back(alice):
    photo = upload_photo(alice, images.jpeg_bytes())
    services.photo_claim(photo_id=photo.pk, task_id="t1")  # ...and the worker died here
    assert process(photo, task_id="t1") == "done"
    photo.refresh_from_db()
    assert photo.attempts == 2 and photo.status == "done"


def test_a_photo_out_of_attempts_ends_failed_with_its_error(alice, settings):
    settings.SMARTGALLERY_MAX_ATTEMPTS = 2
    photo = upload_photo(alice, images.jpeg_bytes())
    for _ in range(2):
        services.photo_claim(photo_id=photo.pk, task_id="t1")  # the worker dies every time
    assert process(photo, task_id="t1") == "skipped"
    photo.refresh_from_db()
    assert photo.status == "failed" and photo.attempts == 2
    assert "Gave up after 2 attempts" in photo.last_error and "worker stopped" in photo.last_error


@pytest.mark.catalogue("D9")
def test_reprocessing_keeps_the_faces_the_user_decided_on(alice):
    photo = upload_photo(alice, images.group_photo(), "couple.jpg")
    process(photo)
    confirmed, rejected_person = photo.faces.order_by("x1")
    person = Person.objects.create(owner=alice, name="Sam")
    other = Person.objects.create(owner=alice, name="Not Sam")
    Face.objects.filter(pk=confirmed.pk).update(person=person, state="confirmed", changed_by=alice)
    FaceRejection.objects.create(owner=alice, face=rejected_person, person=other)
    Face.objects.filter(pk=confirmed.pk).update(embedding=None, model_id="old-model")

    Photo.objects.filter(pk=photo.pk).update(status="queued")
    process(photo)
    photo.refresh_from_db()
    faces = {face.pk: face for face in photo.faces.all()}
    assert set(faces) == {confirmed.pk, rejected_person.pk}
    kept = faces[confirmed.pk]
    assert (kept.person_id, kept.state, kept.changed_by_id) == (person.pk, "confirmed", alice.pk)
    assert kept.embedding is not None and kept.model_id == photo.faces_model_id  # re-measured, labels kept
    assert FaceRejection.objects.filter(face=rejected_person, person=other).exists()


@pytest.mark.catalogue("F4")
def test_a_photo_deleted_during_processing_leaves_nothing_behind(
    alice, monkeypatch, django_capture_on_commit_callbacks
):
    photo = upload_photo(alice, images.group_photo(), "couple.jpg")
    from faces import engine_loader

    real = engine_loader.get_engine()

    class DeletingEngine:
        model_id = real.model_id

        def detect(self, rgb):
            found = real.detect(rgb)
            services.photo_delete(photo=Photo.objects.get(pk=photo.pk))  # the user deletes it now
            return found

    monkeypatch.setattr(engine_loader, "get_engine", lambda: DeletingEngine())
    # The preview and thumbnail were the photo's by then: its delete removes them after commit.
    with django_capture_on_commit_callbacks(execute=True):
        assert process(photo) == "skipped"
    assert not Photo.objects.filter(pk=photo.pk).exists()
    assert not Face.objects.filter(owner=alice).exists()
    _, files = (
        default_storage.listdir(f"{alice.pk}/derivatives")
        if default_storage.exists(f"{alice.pk}/derivatives")
        else ([], [])
    )
    assert files == []


def test_an_undecodable_original_fails_without_retrying(alice):
    photo = upload_photo(alice, images.jpeg_bytes(200, 200))
    with default_storage.open(photo.original.name, "wb") as stream:
        stream.write(b"garbage")
    with pytest.raises(services.PhotoUnreadable):
        process(photo)


@pytest.mark.parametrize("size", [(3200, 4), (4, 3200), (1300, 2)])
def test_a_very_thin_image_is_processed_and_has_no_faces(alice, no_broker, size):
    from gallery import tasks

    strip = images.encode(Image.new("RGB", size, (120, 90, 60)), "PNG")
    photo = upload_photo(alice, strip, "strip.png")

    assert tasks.photo_process.apply(args=[photo.pk]).get() == "done"
    photo.refresh_from_db()
    assert photo.status == "done" and photo.last_error == ""
    assert not Face.objects.filter(photo=photo).exists()
    assert default_storage.exists(photo.thumbnail.name)
