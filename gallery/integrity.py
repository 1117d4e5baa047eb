"""Storage, rows and face indexes checked against each other (`manage.py check_integrity`).

What can disagree, and what `--fix` does about it:

- an orphan file: in storage, but no Photo (original, thumbnail, preview) or Face (crop) row
  names it. Moved to a quarantine folder in the same storage, never deleted: a person decides.
  Files younger than ORPHAN_MIN_AGE are left alone, because an upload writes its file a moment
  before its row (gallery.services.photo_create).
- a photo whose original is missing: nothing can be redone without it; marked failed with a
  message the owner sees.
- a processed photo whose thumbnail or preview is missing, or with a face whose crop is
  missing: queued again; processing rewrites them and keeps the faces the user decided on.
- faces (or processed photos) of another face model than the current one: queued again, as
  `manage.py reprocess --missing` does.
- a stale reference index: the database moved on (built_version < labels_version), the file
  on this machine is missing or does not match the recorded sha256, or it was built with
  another model. Rebuilt from the database and its faces re-matched, as the index task does.

Everything is read in one pass over the rows and one listing of the storage, so it scales with
the library and never opens a photo.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import Storage, default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from faces import index as face_index
from faces.models import Face, RecognitionIndex
from gallery import services
from gallery.models import Photo

logger = logging.getLogger(__name__)

QUARANTINE_DIR = "quarantine"
ORPHAN_MIN_AGE = timedelta(hours=1)
MISSING_ORIGINAL = "The original file is missing from storage; upload the photo again."


@dataclass
class Findings:
    orphan_files: list[str] = field(default_factory=list)
    photos_missing_original: list[int] = field(default_factory=list)
    photos_missing_derivatives: list[int] = field(default_factory=list)
    faces_missing_crop: list[int] = field(default_factory=list)
    # None: the model was not checked (the face engine was not loaded).
    model_id: str | None = None
    stale_model_faces: list[int] = field(default_factory=list)
    stale_model_photos: list[int] = field(default_factory=list)
    stale_indexes: dict[int, str] = field(default_factory=dict)  # owner id -> reason

    @property
    def photos_to_requeue(self) -> list[int]:
        """Photos that processing again repairs (never one without its original)."""
        lost = set(self.photos_missing_original)
        crops = set(Face.objects.filter(pk__in=self.faces_missing_crop).values_list("photo_id", flat=True))
        wanted = set(self.photos_missing_derivatives) | crops | set(self.stale_model_photos)
        return sorted(wanted - lost)

    @property
    def problems(self) -> int:
        return (
            len(self.orphan_files)
            + len(self.photos_missing_original)
            + len(self.photos_missing_derivatives)
            + len(self.faces_missing_crop)
            + len(self.stale_model_faces)
            + len(self.stale_model_photos)
            + len(self.stale_indexes)
        )

    def as_dict(self) -> dict:
        data = asdict(self)
        data["stale_indexes"] = {str(owner): reason for owner, reason in self.stale_indexes.items()}
        return data


@dataclass
class Repairs:
    quarantined: dict[str, str] = field(default_factory=dict)  # old name -> new name
    marked_failed: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    indexes_rebuilt: list[int] = field(default_factory=list)
    not_repaired: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


# Finding ------------------------------------------------------------------------------------


def stored_files(storage: Storage | None = None, prefix: str = "") -> set[str]:
    """Every file name in the media storage, the quarantine folder left out."""
    storage = storage or default_storage
    try:
        folders, files = storage.listdir(prefix)
    except FileNotFoundError:
        return set()
    found = {f"{prefix}/{name}" if prefix else name for name in files}
    for folder in folders:
        if not prefix and folder == QUARANTINE_DIR:
            continue
        found |= stored_files(storage, f"{prefix}/{folder}" if prefix else folder)
    return found


def referenced_files() -> set[str]:
    names: set[str] = set()
    for row in Photo.objects.values_list("original", "thumbnail", "preview").iterator(chunk_size=2000):
        names.update(name for name in row if name)
    names.update(Face.objects.exclude(crop="").values_list("crop", flat=True).iterator(chunk_size=2000))
    return names


def find(*, model_id: str | None, now: datetime | None = None, orphan_min_age: timedelta = ORPHAN_MIN_AGE) -> Findings:
    now = now or timezone.now()
    stored = stored_files()
    findings = Findings(model_id=model_id)

    referenced = referenced_files()
    for name in sorted(stored - referenced):
        if _modified(name) <= now - orphan_min_age:
            findings.orphan_files.append(name)

    photos = Photo.objects.order_by("pk").values_list("pk", "original", "thumbnail", "preview", "status")
    for pk, original, thumbnail, preview, status in photos.iterator(chunk_size=2000):
        if not original or original not in stored:
            findings.photos_missing_original.append(pk)
        elif status == Photo.Status.DONE and not (thumbnail in stored and preview in stored):
            findings.photos_missing_derivatives.append(pk)
    crops = Face.objects.exclude(crop="").order_by("pk").values_list("pk", "crop")
    findings.faces_missing_crop = [pk for pk, crop in crops.iterator(chunk_size=2000) if crop not in stored]

    if model_id is not None:
        stale_faces = Face.objects.filter(embedding__isnull=False).exclude(model_id=model_id)
        findings.stale_model_faces = list(stale_faces.order_by("pk").values_list("pk", flat=True))
        findings.stale_model_photos = list(
            Photo.objects.filter(
                Q(status=Photo.Status.DONE) & (~Q(faces_model_id=model_id) | Q(pk__in=stale_faces.values("photo_id")))
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    findings.stale_indexes = stale_indexes(model_id=model_id)
    return findings


def stale_indexes(*, model_id: str | None) -> dict[int, str]:
    """Owner id -> why this machine's index of that owner cannot be used as it is."""
    stale = {}
    for record in RecognitionIndex.objects.order_by("owner_id"):
        reason = _index_problem(record, model_id)
        if reason:
            stale[record.owner_id] = reason
    return stale


def _index_problem(record: RecognitionIndex, model_id: str | None) -> str:
    if record.built_version < record.labels_version:
        return f"stale: built for version {record.built_version}, labels are at {record.labels_version}"
    if not record.checksum:
        return ""  # never built and nothing labelled since: nothing to serve yet
    if model_id is not None and record.model_id != model_id:
        return f"built with model {record.model_id or '?'}, the current one is {model_id}"
    path = face_index.index_path(settings.SMARTGALLERY_INDEX_DIR, record.owner_id)
    try:
        digest = _sha256(path)
    except FileNotFoundError:
        return "index file missing on this machine"
    if digest != record.checksum:
        return "index file does not match its recorded sha256"
    return ""


def _sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _modified(name: str) -> datetime:
    try:
        return default_storage.get_modified_time(name)
    except (NotImplementedError, OSError):
        # Unknown age: treat it as new, so a file in flight is never quarantined.
        return timezone.now()


# Repairing ----------------------------------------------------------------------------------


def repair(findings: Findings, *, model=None, now: datetime | None = None) -> Repairs:
    """Repair what can be repaired. `model` (faces.recognition_model.RecognitionModel) is needed to
    rebuild indexes; without it they are reported as not repaired."""
    now = now or timezone.now()
    repairs = Repairs()
    repairs.quarantined = orphans_quarantine(names=findings.orphan_files, now=now)
    repairs.marked_failed = photos_mark_missing(photo_ids=findings.photos_missing_original, now=now)
    repairs.requeued = services.photos_requeue(photo_ids=findings.photos_to_requeue, now=now)
    for owner_id, reason in findings.stale_indexes.items():
        if model is None:
            repairs.not_repaired.append(f"index of user {owner_id} ({reason}): the face engine is not loaded")
            continue
        index_rebuild(owner_id=owner_id, model=model)
        repairs.indexes_rebuilt.append(owner_id)
    skipped = set(findings.orphan_files) - set(repairs.quarantined)
    repairs.not_repaired += [f"orphan {name}: in use again or gone, left in place" for name in sorted(skipped)]
    return repairs


def orphans_quarantine(*, names: list[str], now: datetime) -> dict[str, str]:
    """Move orphan files under quarantine/<timestamp>/, keeping their path; never delete."""
    stamp = now.strftime("%Y%m%dT%H%M%S")
    moved = {}
    for name in names:
        # A row may have started to point at it since the scan (an upload finishing).
        if _is_referenced(name) or not default_storage.exists(name):
            continue
        with default_storage.open(name, "rb") as stream:
            target = default_storage.save(f"{QUARANTINE_DIR}/{stamp}/{name}", stream)
        default_storage.delete(name)
        moved[name] = target
        logger.warning("Quarantined orphan file %s as %s", name, target)
    return moved


def _is_referenced(name: str) -> bool:
    return (
        Photo.objects.filter(Q(original=name) | Q(thumbnail=name) | Q(preview=name)).exists()
        or Face.objects.filter(crop=name).exists()
    )


def photos_mark_missing(*, photo_ids: list[int], now: datetime) -> list[int]:
    with transaction.atomic():
        pending = Photo.objects.filter(pk__in=photo_ids).exclude(
            status=Photo.Status.FAILED, last_error=MISSING_ORIGINAL
        )
        marked = list(pending.values_list("pk", flat=True))
        pending.update(status=Photo.Status.FAILED, last_error=MISSING_ORIGINAL, finished_at=now, task_id="")
    return marked


def index_rebuild(*, owner_id: int, model) -> None:
    """Rebuild from the database even when the record looks current (the file may be the
    problem), then re-match the owner's faces: what the index task does after a change."""
    from faces import index_cache, recognition

    index_cache.forget_loaded_indexes()
    index_cache.build_index(owner_id, model)
    recognition.people_refresh(owner_id, model)
