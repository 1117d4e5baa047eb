"""Storing the faces the engine found in a photo.

Re-detection (a redelivered task, a reprocess, a new model) must never undo what the user did:
faces the user decided on are kept, matched to the new detections by box overlap, and only the
machine's own faces are replaced.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from faces.models import Face, FaceRejection, Person, face_crop_upload_to
from gallery import imaging
from gallery.models import Photo
from gallery.storage import storage_delete, storage_save

if TYPE_CHECKING:
    from faces.engine import DetectedFace

logger = logging.getLogger(__name__)

# A new detection is "the same face" as a kept one when their boxes overlap this much.
# Two detections of one face by the same or a similar detector overlap far more (> 0.7);
# neighbouring faces in a group photo overlap far less.
SAME_FACE_IOU = 0.5
CROP_SIZE = 192
CROP_MARGIN = 0.3
CROP_QUALITY = 88


class PhotoGone(Exception):
    """The photo was deleted while its faces were being computed."""


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def user_decided_faces_q() -> Q:
    """Faces that carry a decision of the user, which no job may replace. A face the user drew
    is one whatever its state: recognition later clears `changed_by` when it names it."""
    return (
        Q(source=Face.Source.DRAWN)
        | Q(state__in=[Face.State.CONFIRMED, Face.State.REJECTED_AS_FACE])
        | Q(changed_by__isnull=False)
        | Exists(FaceRejection.objects.filter(face=OuterRef("pk")))
        | Exists(Person.objects.filter(cover_face=OuterRef("pk"), cover_chosen=True))
    )


def photo_faces_store(
    *,
    photo: Photo,
    detected: Sequence[DetectedFace],
    model_id: str,
    image: np.ndarray | None = None,
    written_files: list[str] | None = None,
) -> list[Face]:
    """Replace the photo's machine-made faces with `detected`, keeping the user's faces.

    Idempotent: storing the same detections twice leaves the same faces. A kept face that
    matches a new detection gets the new measurement (embedding of `model_id`, quality), never
    new labels. `image` is the upright RGB photo the boxes refer to (decoded from the original
    when not given); face crops are cut from it. Returns the photo's faces after the change.
    Raises PhotoGone when the photo no longer exists. A caller whose own transaction encloses
    this one passes `written_files`: it gets the crop files written, to delete them if its
    transaction fails after this returned (a rollback would leave them nameless on disk).
    """
    if image is None and detected:
        with photo.original.open("rb") as stream:
            image = imaging.load_upright_rgb(stream)
    # File writes happen before the transaction (they cannot be rolled back); crops that end
    # up unused, or a transaction that fails, delete them again.
    crops: list[str] = []
    try:
        for face in detected:
            crops.append(write_crop(photo, face, image))
    except Exception:
        storage_delete(crops)
        raise
    if written_files is not None:
        written_files.extend(crops)
    try:
        with transaction.atomic():
            faces, unused_crops, old_crops = _store(photo, detected, model_id, crops)
    except Exception:
        storage_delete(crops)
        raise
    transaction.on_commit(lambda: storage_delete(unused_crops + old_crops))
    return faces


def _store(photo, detected, model_id, crops):
    # The photo row is the lock for its faces: two runs for one photo take turns here, and
    # the delete service takes the same lock.
    if not Photo.objects.select_for_update().filter(pk=photo.pk).exists():
        raise PhotoGone(photo.pk)
    existing = list(Face.objects.filter(photo_id=photo.pk).annotate(user_decided=user_decided_faces_q()).order_by("pk"))
    kept = [face for face in existing if face.user_decided]
    replaced = [face for face in existing if not face.user_decided]

    matches = _match(kept, detected)
    refreshed = []
    for face_index, detection_index in matches.items():
        face = kept[face_index]
        apply_measurement(face, detected[detection_index], model_id)
        refreshed.append(face)
    if refreshed:
        Face.objects.bulk_update(
            refreshed,
            MEASURED_FIELDS,
        )
    matched = set(matches.values())
    new_faces = []
    unused_crops = []
    for index, (detection, crop) in enumerate(zip(detected, crops, strict=True)):
        if index in matched:
            unused_crops.append(crop)
            continue
        x1, y1, x2, y2 = detection.box
        face = Face(owner_id=photo.owner_id, photo_id=photo.pk, x1=x1, y1=y1, x2=x2, y2=y2, crop=crop)
        apply_measurement(face, detection, model_id)
        new_faces.append(face)
    old_crops = [face.crop.name for face in replaced if face.crop]
    if replaced:
        Face.objects.filter(pk__in=[face.pk for face in replaced]).delete()
    Face.objects.bulk_create(new_faces)
    faces = list(Face.objects.filter(photo_id=photo.pk).order_by("pk"))
    return faces, unused_crops, old_crops


def _match(kept: list[Face], detected: Sequence[DetectedFace]) -> dict[int, int]:
    """Kept face index -> detection index, each used once, best overlaps first."""
    pairs = sorted(
        (
            (box_iou(face.box, detection.box), face_index, detection_index)
            for face_index, face in enumerate(kept)
            for detection_index, detection in enumerate(detected)
        ),
        reverse=True,
    )
    matches: dict[int, int] = {}
    used: set[int] = set()
    for iou, face_index, detection_index in pairs:
        if iou < SAME_FACE_IOU:
            break
        if face_index in matches or detection_index in used:
            continue
        matches[face_index] = detection_index
        used.add(detection_index)
    return matches


MEASURED_FIELDS = [
    "landmarks",
    "det_score",
    "size_px",
    "sharpness",
    "frontalness",
    "recognisable",
    "embedding",
    "model_id",
    "centred_crop",
]


def apply_measurement(face: Face, detection: DetectedFace, model_id: str) -> None:
    """What the engine measured, onto the face (a drawn face matched by a detection gets the
    detector's landmarks, so it is no longer a centred crop)."""
    face.landmarks = np.asarray(detection.landmarks, dtype=float).round(2).tolist()
    face.det_score = float(detection.det_score)
    face.size_px = max(0, round(float(detection.size_px)))
    face.sharpness = float(detection.sharpness)
    face.frontalness = float(detection.frontalness)
    face.recognisable = detection.embedding is not None
    face.embedding = np.asarray(detection.embedding, dtype="<f4").tobytes() if detection.embedding is not None else None
    face.model_id = model_id
    face.centred_crop = False


def write_crop(photo: Photo, detection: DetectedFace, image: np.ndarray) -> str:
    crop = imaging.square_crop(image, detection.box, margin=CROP_MARGIN, size=CROP_SIZE)
    name = face_crop_upload_to(Face(owner_id=photo.owner_id), "crop.jpg")
    return storage_save(name, ContentFile(imaging.encode_jpeg(crop, quality=CROP_QUALITY)))
