"""faces.detection.photo_faces_store: re-detection never undoes what the user did."""

from types import SimpleNamespace

import numpy as np
import pytest
from django.core.files.storage import default_storage
from PIL import Image

from faces.detection import PhotoGone, box_iou, photo_faces_store
from faces.models import Face, FaceRejection, Person
from gallery.tests import images
from gallery.tests.conftest import _media_per_test  # noqa: F401 (fixtures shared with gallery)
from smartgallery.tests.factories import upload_photo


def detection(box, *, embedding=True, score=0.9):
    x1, y1, x2, y2 = box
    vector = np.ones(8, dtype=np.float32) / np.sqrt(8) if embedding else None
    return SimpleNamespace(
        box=box,
        landmarks=np.zeros((5, 2), dtype=np.float32) + [x1, y1],
        det_score=score,
        embedding=vector,
        size_px=min(x2 - x1, y2 - y1),
        sharpness=10.0,
        frontalness=0.8,
    )


@pytest.fixture
def photo(alice):
    return upload_photo(alice, images.jpeg_bytes(400, 300))


@pytest.fixture
def rgb():
    return np.full((300, 400, 3), 128, dtype=np.uint8)


def test_box_iou():
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1
    assert box_iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0
    assert box_iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(1 / 3)


def test_it_stores_faces_with_embeddings_and_crops(photo, rgb):
    faces = photo_faces_store(
        photo=photo,
        detected=[detection((10, 10, 60, 70)), detection((200, 50, 215, 65), embedding=False)],
        model_id="m:1",
        image=rgb,
    )
    assert len(faces) == 2
    big, small = sorted(faces, key=lambda f: f.x1)
    assert big.recognisable and np.frombuffer(big.embedding, "<f4").shape == (8,) and big.model_id == "m:1"
    assert not small.recognisable and small.embedding is None
    crop = Image.open(default_storage.open(big.crop.name))
    assert crop.format == "JPEG" and crop.width == crop.height and len(crop.getexif()) == 0


def test_storing_the_same_detections_twice_is_idempotent(photo, rgb):
    found = [detection((10, 10, 60, 70)), detection((100, 10, 150, 70))]
    photo_faces_store(photo=photo, detected=found, model_id="m:1", image=rgb)
    photo_faces_store(photo=photo, detected=found, model_id="m:1", image=rgb)
    assert Face.objects.filter(photo=photo).count() == 2


def test_replaced_faces_lose_their_crop_files_after_commit(photo, rgb, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        photo_faces_store(photo=photo, detected=[detection((10, 10, 60, 70))], model_id="m:1", image=rgb)
    old = Face.objects.get().crop.name
    with django_capture_on_commit_callbacks(execute=True):
        photo_faces_store(photo=photo, detected=[detection((100, 10, 150, 70))], model_id="m:1", image=rgb)
    assert not default_storage.exists(old)
    assert default_storage.exists(Face.objects.get().crop.name)


@pytest.mark.parametrize(
    "decision",
    [
        {"state": "confirmed"},
        {"state": "rejected_as_face"},
        {"state": "auto", "changed_by": True},
    ],
)
def test_user_decided_faces_survive_redetection(photo, rgb, alice, decision):
    photo_faces_store(
        photo=photo, detected=[detection((10, 10, 60, 70)), detection((100, 10, 150, 70))], model_id="m:1", image=rgb
    )
    person = Person.objects.create(owner=alice, name="Ann")
    decided = Face.objects.order_by("x1").first()
    Face.objects.filter(pk=decided.pk).update(
        person=person, state=decision["state"], changed_by=alice if decision.get("changed_by") else None
    )
    # The new run finds the decided face slightly moved, and not the other one.
    faces = photo_faces_store(photo=photo, detected=[detection((12, 11, 61, 72))], model_id="m:2", image=rgb)
    assert [f.pk for f in faces] == [decided.pk]
    kept = faces[0]
    assert kept.person_id == person.pk and kept.state == decision["state"]
    assert kept.box == decided.box  # the user's face keeps its box...
    assert kept.model_id == "m:2"  # ...and gets the new model's measurement


def test_a_not_this_person_answer_keeps_its_face(photo, rgb, alice):
    photo_faces_store(photo=photo, detected=[detection((10, 10, 60, 70))], model_id="m:1", image=rgb)
    face = Face.objects.get()
    FaceRejection.objects.create(owner=alice, face=face, person=Person.objects.create(owner=alice, name="Bo"))
    photo_faces_store(photo=photo, detected=[detection((10, 10, 60, 70))], model_id="m:1", image=rgb)
    assert list(Face.objects.values_list("pk", flat=True)) == [face.pk]


def test_a_user_face_the_detector_no_longer_finds_is_kept(photo, rgb, alice):
    photo_faces_store(photo=photo, detected=[detection((10, 10, 60, 70))], model_id="m:1", image=rgb)
    Face.objects.update(state="confirmed")
    faces = photo_faces_store(photo=photo, detected=[], model_id="m:1", image=rgb)
    assert len(faces) == 1


def test_each_kept_face_matches_one_detection_at_most(photo, rgb):
    photo_faces_store(photo=photo, detected=[detection((10, 10, 60, 70))], model_id="m:1", image=rgb)
    Face.objects.update(state="confirmed")
    faces = photo_faces_store(
        photo=photo, detected=[detection((10, 10, 60, 70)), detection((11, 11, 61, 71))], model_id="m:1", image=rgb
    )
    assert len(faces) == 2


def test_it_crops_from_the_original_when_no_image_is_given(photo):
    faces = photo_faces_store(photo=photo, detected=[detection((10, 10, 60, 70))], model_id="m:1")
    assert default_storage.exists(faces[0].crop.name)


def test_a_deleted_photo_raises_and_leaves_no_crop(photo, rgb):
    from gallery.models import Photo

    Photo.objects.filter(pk=photo.pk).delete()
    with pytest.raises(PhotoGone):
        photo_faces_store(photo=photo, detected=[detection((10, 10, 60, 70))], model_id="m:1", image=rgb)
    folder = f"{photo.owner_id}/faces"
    assert not default_storage.exists(folder) or default_storage.listdir(folder)[1] == []
