"""Draw a face (docs/PEOPLE.md "Draw a face"): the engine on real photos and the real pack,
the service's checks, the measuring service and task, and re-detection keeping drawn faces."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage

from faces import drawing, services, tasks
from faces.calibration import largest_face
from faces.engine import load_upright_rgb
from faces.models import Face, Person
from gallery import services as gallery_services
from gallery.models import Photo
from gallery.tests import images
from smartgallery.tests.factories import upload_photo

pytestmark = pytest.mark.usefixtures("fresh_process_cache")


def _process(photo: Photo) -> str:
    Photo.objects.filter(pk=photo.pk).update(status=Photo.Status.QUEUED)
    return gallery_services.photo_process(photo_id=photo.pk, task_id=uuid.uuid4().hex)


def _grown(box, fraction: float):
    x1, y1, x2, y2 = box
    dx, dy = (x2 - x1) * fraction, (y2 - y1) * fraction
    return (x1 - dx, y1 - dy, x2 + dx, y2 + dy)


# The engine -------------------------------------------------------------------------------


def test_a_box_around_a_face_gets_the_detectors_landmarks_and_the_same_embedding(engine, faces_dir):
    image = load_upright_rgb(faces_dir / "Barack_Obama" / "fr_obama.jpg")
    detected = largest_face(engine.detect(image))
    drawn = engine.describe_drawn(image, _grown(detected.box, 0.15))
    assert drawn.landmarks_found
    assert drawn.face.landmarks.shape == (5, 2)
    np.testing.assert_allclose(drawn.face.box, detected.box, atol=8)
    assert float(drawn.face.embedding @ detected.embedding) > 0.95
    assert drawn.face.frontalness > 0.5


def test_a_face_filling_the_box_is_found_with_the_room_around_it(engine, faces_dir):
    image = load_upright_rgb(faces_dir / "Barack_Obama" / "fr_obama.jpg")
    detected = largest_face(engine.detect(image))
    tight = _grown(detected.box, -0.1)  # the user drew inside the face's outline
    drawn = engine.describe_drawn(image, tight)
    assert drawn.landmarks_found
    assert float(drawn.face.embedding @ detected.embedding) > 0.95


def test_a_box_where_the_detector_sees_no_face_is_a_centred_crop(engine, faces_dir):
    image = load_upright_rgb(faces_dir / "_noface" / "opencvcourse_park.jpg")
    height, width = image.shape[:2]
    box = (width * 0.4, height * 0.4, width * 0.6, height * 0.6)
    drawn = engine.describe_drawn(image, box)
    assert not drawn.landmarks_found
    assert drawn.face.box == pytest.approx(box)
    assert drawn.face.landmarks.shape == (0, 2) and drawn.face.det_score == 0.0
    assert drawn.face.embedding.shape == (engine.dim,)
    assert abs(float(np.linalg.norm(drawn.face.embedding)) - 1.0) < 1e-5


def test_a_centred_crop_of_a_face_still_looks_like_the_person(engine, faces_dir):
    """Weaker, but the same person: nearer another photo of Obama than photos of others."""
    image = load_upright_rgb(faces_dir / "Barack_Obama" / "fr_obama.jpg")
    box = largest_face(engine.detect(image)).box
    crop = engine._centred_crop(image, box)
    embedding = engine.embed_aligned([crop])[0]
    same = largest_face(engine.detect(load_upright_rgb(faces_dir / "Barack_Obama" / "fr_obama2.jpg"))).embedding
    others = [
        largest_face(engine.detect(load_upright_rgb(path))).embedding
        for path in sorted((faces_dir / "Colin_Powell").glob("*.jpg"))[:3]
        + sorted((faces_dir / "George_W_Bush").glob("*.jpg"))[:3]
    ]
    assert float(embedding @ same) > max(float(embedding @ other) for other in others)


def test_a_box_outside_the_image_is_refused(engine):
    image = np.zeros((100, 100, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="no pixels"):
        engine.describe_drawn(image, (150, 150, 200, 200))


# The service ------------------------------------------------------------------------------


@pytest.fixture
def shown_photo(alice):
    """A processed photo of alice's with no face (the detector found none)."""
    photo = upload_photo(alice, (images.SHARED_FACES / "_noface" / "opencvcourse_park.jpg").read_bytes(), "park.jpg")
    assert _process(photo) == "done"
    photo.refresh_from_db()
    return photo


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("box", "message"),
    [
        (("a", 1, 2, 3), "four numbers"),
        ((1, 2, 3), "four numbers"),
        ((float("nan"), 0, 50, 50), "four numbers"),
        ((100, 100, 50, 150), "empty"),
        ((100, 100, 150, 100), "empty"),
        ((-20, 10, 80, 90), "outside the photo (640×427"),
        ((600, 10, 700, 90), "outside the photo"),
        ((10, 10, 30, 90), "too small: draw it at least 24 pixels"),
    ],
)
def test_a_bad_box_is_refused_with_a_clear_message_and_nothing_stored(alice, shown_photo, box, message):
    with pytest.raises(ValidationError) as failure:
        services.face_draw(user=alice, photo_id=shown_photo.pk, box=box)
    assert message in " ".join(failure.value.messages)
    assert not Face.objects.filter(photo=shown_photo).exists()


@pytest.mark.django_db
def test_a_box_a_pixel_past_the_edge_is_the_pages_rounding(alice, shown_photo):
    face, change = services.face_draw(user=alice, photo_id=shown_photo.pk, box=(-0.6, 300, 100, 427.8))
    assert (face.x1, face.y2) == (0.0, 427.0) and change is None


@pytest.mark.django_db
def test_drawing_stores_an_unmeasured_drawn_face_and_measures_it_after_commit(
    alice, shown_photo, monkeypatch, django_capture_on_commit_callbacks
):
    scheduled = []
    monkeypatch.setattr(tasks, "schedule_drawn_face_measure", scheduled.append)
    with django_capture_on_commit_callbacks(execute=True):
        face, change = services.face_draw(user=alice, photo_id=shown_photo.pk, box=(200, 100, 300, 220))
    face.refresh_from_db()
    assert scheduled == [face.pk]
    assert face.source == "drawn" and face.measuring and face.state == "unknown" and change is None
    assert (face.x1, face.y1, face.x2, face.y2) == (200, 100, 300, 220) and face.size_px == 100
    assert face.changed_by_id == alice.pk and face.embedding is None and not face.recognisable


@pytest.mark.django_db
def test_a_name_given_while_drawing_confirms_the_face(alice, shown_photo):
    face, change = services.face_draw(user=alice, photo_id=shown_photo.pk, box=(200, 100, 300, 220), name="Anna")
    face.refresh_from_db()
    assert face.state == "confirmed" and face.person.name == "Anna"
    assert change.person_created == face.person_id
    anna = face.person
    other, _ = services.face_draw(user=alice, photo_id=shown_photo.pk, box=(400, 100, 500, 220), person_id=anna.id)
    assert Face.objects.get(pk=other.pk).person_id == anna.id


@pytest.mark.django_db
def test_a_box_over_a_face_already_there_is_refused(alice, shown_photo):
    services.face_draw(user=alice, photo_id=shown_photo.pk, box=(200, 100, 300, 220))
    with pytest.raises(ValidationError, match="a face there already"):
        services.face_draw(user=alice, photo_id=shown_photo.pk, box=(190, 90, 310, 230))
    with pytest.raises(ValidationError, match="a face there already"):
        services.face_draw(user=alice, photo_id=shown_photo.pk, box=(100, 20, 500, 400))  # around it
    assert Face.objects.filter(photo=shown_photo).count() == 1


@pytest.mark.django_db
def test_another_users_photo_or_person_is_not_found(alice, bob, shown_photo):
    with pytest.raises(Photo.DoesNotExist):
        services.face_draw(user=bob, photo_id=shown_photo.pk, box=(200, 100, 300, 220))
    bobs = Person.objects.create(owner=bob, name="Bob's")
    with pytest.raises(Person.DoesNotExist):
        services.face_draw(user=alice, photo_id=shown_photo.pk, box=(200, 100, 300, 220), person_id=bobs.id)
    assert not Face.objects.filter(photo=shown_photo).exists()


@pytest.mark.django_db
def test_a_photo_not_processed_yet_cannot_be_drawn_on(alice):
    photo = upload_photo(alice)
    with pytest.raises(ValidationError, match="not processed yet"):
        services.face_draw(user=alice, photo_id=photo.pk, box=(1, 1, 40, 40))


# Measuring ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_measuring_a_box_without_a_face_embeds_a_centred_crop(alice, shown_photo, engine):
    face, _ = services.face_draw(user=alice, photo_id=shown_photo.pk, box=(200, 100, 300, 220))
    assert drawing.drawn_face_measure(face_id=face.pk) == "measured"
    face.refresh_from_db()
    assert not face.measuring and face.model_id == engine.model_id
    assert face.centred_crop and face.recognisable and face.landmarks == []
    assert len(face.embedding) == engine.dim * 4
    assert (face.x1, face.y1, face.x2, face.y2) == (200, 100, 300, 220)
    assert default_storage.exists(face.crop.name) and face.crop.name.startswith(f"{alice.pk}/faces/")
    assert drawing.drawn_face_measure(face_id=face.pk) == "already measured"


@pytest.fixture
def missed_obama(alice):
    """Obama's photo, processed, with the detector's face taken away (as if it had missed it):
    (photo, the box the detector had)."""
    photo = upload_photo(alice, images.face_photo(), "obama.jpg")
    assert _process(photo) == "done"
    detected = photo.faces.get()
    box = detected.box
    detected.delete()
    photo.refresh_from_db()
    return photo, box


@pytest.mark.django_db
def test_a_drawn_face_is_recognised_like_any_other(alice, missed_obama, engine):
    photo, box = missed_obama
    # Alice has named Obama on another photo: he is a reference.
    other = upload_photo(alice, images.face_photo("Barack_Obama/fr_obama2.jpg"), "obama2.jpg")
    _process(other)
    obama = services.face_assign(user=alice, face_id=other.faces.get().id, name="Obama").person_created

    face, _ = services.face_draw(user=alice, photo_id=photo.pk, box=_grown(box, 0.2))
    assert drawing.drawn_face_measure(face_id=face.pk) == "measured"
    face.refresh_from_db()
    assert not face.centred_crop and len(face.landmarks) == 5
    np.testing.assert_allclose(face.box, box, atol=8)  # the detector's outline, not the rough one
    assert face.person_id == obama and face.state in ("auto", "suggested")
    assert face.source == "drawn"


@pytest.mark.django_db
def test_a_drawn_face_named_before_it_was_measured_becomes_a_reference(alice, missed_obama):
    photo, box = missed_obama
    face, _ = services.face_draw(user=alice, photo_id=photo.pk, box=box, name="Obama")
    assert drawing.drawn_face_measure(face_id=face.pk) == "reference"
    face.refresh_from_db()
    assert face.state == "confirmed" and face.recognisable

    other = upload_photo(alice, images.face_photo("Barack_Obama/fr_obama2.jpg"), "obama2.jpg")
    _process(other)
    assert other.faces.get().person_id == face.person_id


@pytest.mark.django_db
def test_the_task_measures_and_schedules_the_refresh(alice, shown_photo, missed_obama, monkeypatch):
    regroups, rebuilds = [], []
    monkeypatch.setattr(tasks, "schedule_faces_regroup", regroups.append)
    monkeypatch.setattr(tasks, "schedule_index_rebuild", rebuilds.append)
    unknown, _ = services.face_draw(user=alice, photo_id=shown_photo.pk, box=(200, 100, 300, 220))
    assert tasks.drawn_face_measure.apply(args=[unknown.pk]).get() == "measured"
    assert regroups == [alice.pk] and rebuilds == []
    named, _ = services.face_draw(user=alice, photo_id=missed_obama[0].pk, box=missed_obama[1], name="Obama")
    assert tasks.drawn_face_measure.apply(args=[named.pk]).get() == "reference"
    assert rebuilds == [alice.pk]
    assert tasks.drawn_face_measure.apply(args=[named.pk]).get() == "already measured"
    assert tasks.drawn_face_measure.apply(args=[10**9]).get() == "gone"


# Re-detection -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reprocessing_keeps_a_drawn_face_and_measures_it_with_a_new_model(alice, shown_photo, engine):
    face, _ = services.face_draw(user=alice, photo_id=shown_photo.pk, box=(200, 100, 300, 220))
    drawing.drawn_face_measure(face_id=face.pk)
    # Recognition cleared who changed it (it grouped or named it), and the model changed since.
    Face.objects.filter(pk=face.pk).update(changed_by=None, model_id="old-pack:000000000000", embedding=b"\0" * 8)

    assert _process(shown_photo) == "done"
    kept = Face.objects.get(photo=shown_photo)
    assert kept.pk == face.pk and kept.source == "drawn" and kept.centred_crop
    assert kept.model_id == engine.model_id and len(kept.embedding) == engine.dim * 4


@pytest.mark.django_db
def test_reprocessing_matches_a_drawn_face_to_the_new_detection_without_a_duplicate(alice, missed_obama, engine):
    photo, box = missed_obama
    face, _ = services.face_draw(user=alice, photo_id=photo.pk, box=box, name="Obama")
    Face.objects.filter(pk=face.pk).update(centred_crop=True)  # say it had been a centred crop

    assert _process(photo) == "done"
    kept = Face.objects.get(photo=photo)
    assert kept.pk == face.pk and kept.source == "drawn" and kept.state == "confirmed"
    assert not kept.centred_crop and len(kept.landmarks) == 5 and kept.model_id == engine.model_id


@pytest.mark.django_db
def test_the_sweeper_queues_drawn_faces_whose_task_was_lost(alice, shown_photo, monkeypatch, settings):
    from datetime import timedelta

    from django.utils import timezone

    scheduled = []
    monkeypatch.setattr(tasks, "schedule_drawn_face_measure", scheduled.append)
    boxes = [(20, 20, 120, 120), (150, 20, 250, 120), (300, 20, 400, 120), (450, 20, 550, 120)]
    lost, fresh, measured, too_old = (services.face_draw(user=alice, photo_id=shown_photo.pk, box=b)[0] for b in boxes)
    now = timezone.now()
    stuck_after = timedelta(seconds=settings.SMARTGALLERY_STUCK_AFTER_SECONDS)
    Face.objects.filter(pk__in=[lost.pk, measured.pk]).update(created_at=now - stuck_after - timedelta(minutes=1))
    Face.objects.filter(pk=measured.pk).update(model_id="face_default:x")
    Face.objects.filter(pk=too_old.pk).update(created_at=now - drawing.STUCK_GIVE_UP_AFTER - timedelta(minutes=1))

    assert tasks.drawn_faces_requeue_stuck.apply().get() == {"requeued": 1}
    assert scheduled == [lost.pk]
    assert fresh.pk not in scheduled and measured.pk not in scheduled and too_old.pk not in scheduled
    assert settings.CELERY_TASK_ROUTES["faces.tasks.drawn_faces_requeue_stuck"] == {"queue": "default"}
    assert any(e["task"] == "faces.tasks.drawn_faces_requeue_stuck" for e in settings.CELERY_BEAT_SCHEDULE.values())
