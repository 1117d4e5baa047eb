"""Measuring the faces users drew (docs/PEOPLE.md "Draw a face").

The user drags a box around a face the detector missed (faces.services.face_draw stores it,
unmeasured). Here the worker embeds what is inside the box with the engine
(`FaceEngine.describe_drawn`: the detector's landmarks found in the box when there are any,
else a centred crop) and stores the measurement on the face; from then on it is recognised,
grouped and (once confirmed) a reference like any detected face.

The photo pipeline calls `drawn_faces_measure` too, after a re-detection, so a drawn face that
no new detection matched is measured again by the current model.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from faces import engine_loader, index_cache
from faces.detection import PhotoGone, apply_measurement, write_crop
from faces.engine import FaceEngine
from faces.models import Face
from faces.recognition import recognise_photo
from gallery import imaging
from gallery.models import Photo
from gallery.storage import storage_delete

logger = logging.getLogger(__name__)


def drawn_face_measure(*, face_id: int) -> str:
    """The task's work: embed one drawn face with the current model, then recognise its photo.

    Idempotent: a face already measured by this model, or gone, is left alone. Returns
    "measured", "reference" (measured, and confirmed: the owner's index is marked stale, for
    the caller to schedule its rebuild), "already measured" or "gone"."""
    face = Face.objects.filter(pk=face_id, source=Face.Source.DRAWN).select_related("photo").first()
    if face is None:
        return "gone"
    engine = engine_loader.get_engine()
    if face.model_id == engine.model_id:
        return "already measured"
    photo = face.photo
    with photo.original.open("rb") as stream:
        image = imaging.load_upright_rgb(stream)
    try:
        measured = _measure(face, engine, image)
    except PhotoGone:
        return "gone"
    if not measured:
        return "gone"
    try:
        photo.refresh_from_db()
    except Photo.DoesNotExist:
        return "gone"
    recognise_photo(photo=photo)
    if Face.objects.filter(pk=face.pk, state=Face.State.CONFIRMED, recognisable=True).exists():
        # Named when it was drawn, before it had an embedding: the rebuild that naming
        # scheduled may have run without it.
        index_cache.labels_changed(photo.owner_id)
        return "reference"
    return "measured"


def drawn_faces_measure(*, photo: Photo, engine: FaceEngine, image: np.ndarray) -> int:
    """Measure the photo's drawn faces that the current model has not measured (a new model, or
    a reprocess whose detections matched none of them). How many were measured."""
    drawn = Face.objects.filter(photo_id=photo.pk, source=Face.Source.DRAWN)
    stale = list(drawn.exclude(model_id=engine.model_id).select_related("photo").order_by("pk"))
    return sum(_measure(face, engine, image) for face in stale)


# Drawn faces still unmeasured this long after they were drawn lost their task (the broker was
# down, or dropped it); the sweeper queues them again, a batch at a time, for up to a day (after
# that only a reprocess of the photo measures them: a missing face pack is not retried forever).
STUCK_GIVE_UP_AFTER = timedelta(days=1)
SWEEP_BATCH = 200


def drawn_faces_stuck(*, now=None) -> list[int]:
    """Ids of drawn faces whose measuring task was lost (see STUCK_GIVE_UP_AFTER)."""
    now = now or timezone.now()
    stuck_after = timedelta(seconds=settings.SMARTGALLERY_STUCK_AFTER_SECONDS)
    return list(
        Face.objects.filter(
            source=Face.Source.DRAWN,
            model_id="",
            created_at__lt=now - stuck_after,
            created_at__gte=now - STUCK_GIVE_UP_AFTER,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )


def _measure(face: Face, engine: FaceEngine, image: np.ndarray) -> bool:
    """Embed `face` from `image` and store it; False when the face went meanwhile."""
    drawn = engine.describe_drawn(image, face.box)
    # Written before the transaction (files cannot be rolled back), deleted if unused.
    crop = write_crop(face.photo, drawn.face, image)
    try:
        with transaction.atomic():
            # The photo row is the lock for its faces (faces.detection._store, the delete service).
            if not Photo.objects.select_for_update().filter(pk=face.photo_id).exists():
                raise PhotoGone(face.photo_id)
            current = Face.objects.select_for_update().filter(pk=face.pk, source=Face.Source.DRAWN).first()
            if current is None or current.model_id == engine.model_id:
                storage_delete([crop])
                return current is not None
            old_crop = current.crop.name
            apply_measurement(current, drawn.face, engine.model_id)
            current.centred_crop = not drawn.landmarks_found
            if drawn.landmarks_found:
                # The detector's box is the face's outline; the user's was a rough one.
                current.x1, current.y1, current.x2, current.y2 = drawn.face.box
            current.crop = crop
            current.save()
    except Exception:
        storage_delete([crop])
        raise
    if old_crop:
        transaction.on_commit(lambda: storage_delete([old_crop]))
    logger.info("Measured drawn face %s (%s)", face.pk, "landmarks found" if drawn.landmarks_found else "centred crop")
    return True
