"""Writes on photos: upload, processing, retry, delete, the stuck-photo sweeper.

Views, the import command, tasks and the admin call these functions and nothing else. Files
and rows never disagree: a file is written before its row and deleted again when the row
cannot be written; files of deleted rows are removed only after the delete committed.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import IO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from PIL import Image

from faces import engine_loader
from faces.detection import PhotoGone, photo_faces_store
from faces.drawing import drawn_faces_measure
from faces.engine import FaceEngineError
from faces.models import Face
from faces.recognition import recognise_photo
from faces.services import index_invalidate
from gallery import imaging
from gallery.models import Photo, derivative_upload_to, original_upload_to
from gallery.storage import storage_delete, storage_save
from gallery.validation import ImageRejected, clean_display_name, format_bytes, validate_image
from smartgallery.db import atomic_with_retry

logger = logging.getLogger(__name__)

PREVIEW_QUALITY = 85
THUMBNAIL_QUALITY = 80
SWEEP_BATCH = 500
# Photos locked and updated per transaction by photos_requeue (reprocess --all on a big library).
REQUEUE_BATCH = 500
# A photo stays `processing` at most this long past the hard time limit before the sweeper
# decides its worker is gone.
PROCESSING_GRACE = timedelta(seconds=60)
# What the owner reads about a problem (Photo.last_error): plain sentences, never a library's
# text. The details go to Photo.error_detail (the admin) and the log.
WORKER_STOPPED = "The worker stopped or ran out of time while processing this photo."
UNREADABLE = "This file cannot be read as a photo. Upload it again from the original, or delete it."
TEMPORARY_PROBLEM = "Temporary problem on the server; it is tried again automatically."
UNEXPECTED_FAILURE = (
    "Something went wrong on the server while processing this photo. It has been logged; "
    "Retry may work once it is fixed."
)
FACES_UNAVAILABLE = (
    "Face recognition is not set up on the server yet; your administrator can see why. Retry once it works."
)


class PhotoUnreadable(Exception):
    """The stored original cannot be decoded; retrying will not help."""


# Upload -------------------------------------------------------------------------------------


def photo_create(*, owner, file: IO[bytes], filename: str) -> tuple[Photo, bool]:
    """Validate, store and queue an uploaded photo. Returns (photo, created).

    The same content uploaded again by the same owner returns the existing photo with
    created=False, also when two uploads of it race. Raises ImageRejected (with the HTTP
    status to answer: 400, or 413 for size and quota) and OSError when storage fails.
    """
    info = validate_image(
        file,
        name=filename,
        max_bytes=settings.SMARTGALLERY_MAX_UPLOAD_BYTES,
        max_pixels=settings.SMARTGALLERY_MAX_PIXELS,
    )
    existing = Photo.objects.filter(owner=owner, sha256=info.sha256).first()
    if existing is not None:
        # The same photo again while it is in the trash: the user wants it back.
        if existing.deleted_at is not None:
            photo_restore(photo=existing)
            existing.deleted_at = None
        return existing, False
    _check_quota(owner, info.file_size)

    now = timezone.now()
    photo = Photo(
        owner=owner,
        original_filename=clean_display_name(filename),
        image_format=info.image_format,
        sha256=info.sha256,
        file_size=info.file_size,
        width=info.width,
        height=info.height,
        taken_at=info.taken_at or now,
        camera=info.camera,
        gps_latitude=info.gps_latitude,
        gps_longitude=info.gps_longitude,
        status=Photo.Status.QUEUED,
        queued_at=now,
    )
    file.seek(0)
    name = storage_save(original_upload_to(photo, ""), _as_file(file))
    try:
        with transaction.atomic():
            # Again, one upload of this owner at a time: every upload sent at once had passed
            # the check above before any of them was saved (N at once stored N photos over
            # the quota). The lock is held for the insert only, not the file write.
            get_user_model().objects.select_for_update().only("pk").get(pk=owner.pk)
            if over_quota := _quota_exceeded(owner, info.file_size):
                raise over_quota
            photo.original.name = name
            photo.full_clean(validate_constraints=False)  # the database enforces uniqueness
            photo.save()
            transaction.on_commit(lambda: photo_enqueue(photo_id=photo.pk))
    except IntegrityError:
        storage_delete([name])
        existing = Photo.objects.filter(owner=owner, sha256=info.sha256).first()
        if existing is None:
            raise
        return existing, False
    except Exception:
        storage_delete([name])
        raise
    return photo, True


def storage_used(*, owner) -> int:
    return Photo.objects.filter(owner=owner).aggregate(total=Sum("file_size"))["total"] or 0


def _check_quota(owner, size: int) -> None:
    """Before the file is stored, so an upload over the quota costs no write."""
    if over_quota := _quota_exceeded(owner, size):
        raise over_quota


def _quota_exceeded(owner, size: int) -> ImageRejected | None:
    quota = settings.SMARTGALLERY_USER_QUOTA_BYTES
    if quota and storage_used(owner=owner) + size > quota:
        return ImageRejected(
            f"Your storage quota of {format_bytes(quota)} is used up; delete some photos first.", status=413
        )
    return None


def _as_file(stream: IO[bytes]) -> File:
    # Uploaded files already are Files (and a temporary one is moved, not copied, into place).
    return stream if isinstance(stream, File) else File(stream)


def photo_enqueue(*, photo_id: int) -> None:
    """Publish the processing task now. A broker failure is logged, not raised: the photo is
    saved and `queued`, and the sweeper queues it again once the broker is back."""
    from gallery import tasks

    try:
        tasks.photo_process.delay(photo_id)
    except Exception:
        # kombu, redis and socket errors share no base class worth naming here.
        logger.exception("Could not queue photo %s; the sweeper will queue it again", photo_id)


# Processing ---------------------------------------------------------------------------------


def photo_process(*, photo_id: int, task_id: str) -> str:
    """Make the preview and thumbnail, then detect and store faces, then recognise.

    The derivatives are stored on their own first: the photo can be seen whatever happens to
    its faces afterwards. Without a usable face pack the photo ends `done` with its faces step
    `failed` (a plain sentence for the owner, the details for the operator). Safe to run any
    number of times for one photo, also at once: the first run to claim the photo does the
    work, the others return "skipped". Returns "done", "faces failed" or "skipped".
    """
    photo = photo_claim(photo_id=photo_id, task_id=task_id)
    if photo is None:
        return "skipped"
    with photo.original.open("rb") as stream:
        data = stream.read()
    rgb = _decode(data)
    if not _derivatives_store(photo=photo, task_id=task_id, rgb=rgb):
        return "skipped"
    try:
        engine = engine_loader.get_engine()
    except FaceEngineError as exc:
        # engine_loader logged the whole story once; one line per photo is enough here.
        logger.warning("Photo %s: faces not looked for, the face pack cannot be loaded", photo_id)
        photo_mark_failed(photo_id=photo_id, task_id=task_id, error=FACES_UNAVAILABLE, detail=str(exc))
        return "faces failed"
    detected = engine.detect(rgb)

    # The model may have run for a while: a connection the server dropped meanwhile is
    # replaced before the writes.
    connection_refresh()
    crops: list[str] = []
    try:
        with transaction.atomic():
            locked = _locked_if_ours(photo_id=photo_id, task_id=task_id)
            if locked is None:
                return "skipped"
            photo_faces_store(photo=locked, detected=detected, model_id=engine.model_id, image=rgb, written_files=crops)
            Photo.objects.filter(pk=photo_id).update(faces_model_id=engine.model_id)
    except PhotoGone:
        storage_delete(crops)
        return "skipped"
    except Exception:
        # Rolled back (the connection died mid-write, say): its faces never existed, nor their crops.
        storage_delete(crops)
        raise

    try:
        locked.refresh_from_db()
        # Drawn faces were kept; those no new detection matched are measured by this model.
        drawn_faces_measure(photo=locked, engine=engine, image=rgb)
    except (Photo.DoesNotExist, PhotoGone):
        return "skipped"  # deleted just now: its delete removed the faces and files we wrote
    recognise_photo(photo=locked)
    Photo.objects.filter(pk=photo_id, task_id=task_id, status=Photo.Status.PROCESSING).update(
        status=Photo.Status.DONE,
        faces_status=Photo.FacesStatus.DONE,
        finished_at=timezone.now(),
        last_error="",
        error_detail="",
        task_id="",
    )
    return "done"


def _locked_if_ours(*, photo_id: int, task_id: str) -> Photo | None:
    """The photo locked for this task's writes; None when someone else took it over (the
    sweeper, after we looked stuck). Raises PhotoGone when it was deleted."""
    locked = Photo.objects.select_for_update().filter(pk=photo_id).first()
    if locked is None:
        raise PhotoGone(photo_id)
    if locked.status != Photo.Status.PROCESSING or locked.task_id != task_id:
        return None
    return locked


def _derivatives_store(*, photo: Photo, task_id: str, rgb) -> bool:
    """Write the preview and thumbnail and put them on the photo at once, in a transaction of
    their own. False (nothing left behind) when the photo is gone or no longer this task's."""
    derivatives = _write_derivatives(photo, rgb)
    connection_refresh()
    try:
        with transaction.atomic():
            locked = _locked_if_ours(photo_id=photo.pk, task_id=task_id)
            if locked is None:
                storage_delete(list(derivatives.values()))
                return False
            old_files = [name for name in (locked.thumbnail.name, locked.preview.name) if name]
            Photo.objects.filter(pk=photo.pk).update(**derivatives)
            transaction.on_commit(lambda: storage_delete(old_files))
    except PhotoGone:
        storage_delete(list(derivatives.values()))
        return False
    except Exception:
        storage_delete(list(derivatives.values()))
        raise
    return True


def connection_refresh() -> None:
    """Drop a database connection that died or aged out, so the next query opens a new one.

    Never inside a transaction (a test's, or a caller's), where closing would lose it."""
    if not connection.in_atomic_block:
        close_old_connections()


def photo_claim(*, photo_id: int, task_id: str) -> Photo | None:
    """Take the photo for this task (attempts + 1), or None when it is not this task's to do.

    A redelivery of the same task (its worker died) takes the photo back. A photo out of
    attempts ends here (`failed`, or `done` with its faces failed when its preview was made),
    which is what stops a photo that crashes the worker every time from looping forever.
    """
    now = timezone.now()
    with transaction.atomic():
        photo = Photo.objects.select_for_update().filter(pk=photo_id).first()
        if photo is None or photo.status in (Photo.Status.DONE, Photo.Status.FAILED):
            return None
        redelivered = photo.status == Photo.Status.PROCESSING and photo.task_id == task_id
        if photo.status == Photo.Status.PROCESSING and not redelivered and not _processing_is_stale(photo, now):
            return None
        if photo.status == Photo.Status.PROCESSING:
            photo.last_error = WORKER_STOPPED
            photo.error_detail = f"Task {photo.task_id} never finished (worker killed, crashed or timed out)."
        if photo.attempts >= settings.SMARTGALLERY_MAX_ATTEMPTS:
            _fail(
                photo,
                error=f"{_gave_up(photo.attempts)} Last problem: {photo.last_error or 'unknown'}",
                detail=photo.error_detail,
            )
            return None
        photo.status = Photo.Status.PROCESSING
        photo.attempts += 1
        photo.started_at = now
        photo.finished_at = None
        photo.task_id = task_id
        photo.save(
            update_fields=["status", "attempts", "started_at", "finished_at", "task_id", "last_error", "error_detail"]
        )
    return photo


def photo_release_for_retry(*, photo_id: int, task_id: str, error: str, detail: str = "") -> bool:
    """After a transient error: back to `queued` when attempts remain (True), else it ends
    (see _fail). `error` is the owner's sentence, `detail` the operator's."""
    with transaction.atomic():
        photo = Photo.objects.select_for_update().filter(pk=photo_id, task_id=task_id).first()
        if photo is None:
            return False
        if photo.attempts >= settings.SMARTGALLERY_MAX_ATTEMPTS:
            _fail(photo, error=f"{_gave_up(photo.attempts)} Last problem: {error}", detail=detail)
            return False
        photo.status = Photo.Status.QUEUED
        photo.queued_at = timezone.now()
        photo.last_error = error[:2000]
        photo.error_detail = detail[:5000]
        photo.save(update_fields=["status", "queued_at", "last_error", "error_detail"])
    return True


def photo_mark_failed(*, photo_id: int, task_id: str, error: str, detail: str = "") -> None:
    """The task ends with a problem a retry will not fix by itself (see _fail)."""
    with transaction.atomic():
        photo = Photo.objects.select_for_update().filter(pk=photo_id, task_id=task_id).first()
        if photo is not None:
            _fail(photo, error=error, detail=detail)


def _gave_up(attempts: int) -> str:
    return f"Gave up after {attempts} attempt{'s' if attempts != 1 else ''}."


def _fail(photo: Photo, *, error: str, detail: str) -> None:
    """End the processing of a photo with a problem. A photo whose preview and thumbnail were
    made is `done` and can be seen: only its faces step failed. Without them it is `failed`."""
    viewable = bool(photo.preview.name and photo.thumbnail.name)
    photo.status = Photo.Status.DONE if viewable else Photo.Status.FAILED
    photo.faces_status = Photo.FacesStatus.FAILED
    photo.last_error = error[:2000]
    photo.error_detail = detail[:5000]
    photo.finished_at = timezone.now()
    photo.task_id = ""
    photo.save(update_fields=["status", "faces_status", "last_error", "error_detail", "finished_at", "task_id"])


def _processing_is_stale(photo: Photo, now) -> bool:
    limit = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT) + PROCESSING_GRACE
    return photo.started_at is None or photo.started_at < now - limit


def _decode(data: bytes):
    try:
        return imaging.load_upright_rgb(io.BytesIO(data))
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise PhotoUnreadable(f"The photo cannot be decoded: {type(exc).__name__}: {exc}") from exc


def _write_derivatives(photo: Photo, rgb) -> dict[str, str]:
    preview = imaging.fit(rgb, settings.SMARTGALLERY_PREVIEW_SIZE)
    thumbnail = imaging.fit(preview, settings.SMARTGALLERY_THUMBNAIL_SIZE)
    written: dict[str, str] = {}
    try:
        for field, pixels, quality in (
            ("preview", preview, PREVIEW_QUALITY),
            ("thumbnail", thumbnail, THUMBNAIL_QUALITY),
        ):
            content = ContentFile(imaging.encode_jpeg(pixels, quality=quality))
            written[field] = storage_save(derivative_upload_to(photo, f"{field}.jpg"), content)
    except Exception:
        storage_delete(list(written.values()))
        raise
    return written


# User actions -------------------------------------------------------------------------------


# What "Retry" takes: photos that could not be processed, and photos shown without their faces.
RETRYABLE = Q(status=Photo.Status.FAILED) | Q(status=Photo.Status.DONE, faces_status=Photo.FacesStatus.FAILED)


def photo_retry(*, photo: Photo) -> bool:
    """Queue a failed photo (or one whose faces failed) again with a fresh set of attempts.
    False if there was nothing to retry."""
    return bool(photos_requeue(photo_ids=[photo.pk], where=RETRYABLE))


def photos_retry_failed(*, user) -> int:
    """The "Retry all failed" button: every photo of the user that failed or lost its faces step, queued
    again (the trash is left alone). How many."""
    ids = list(Photo.objects.for_user(user).filter(RETRYABLE).order_by("pk").values_list("pk", flat=True))
    return len(photos_requeue(photo_ids=ids, where=RETRYABLE))


def photos_requeue(
    *,
    photo_ids: Sequence[int],
    from_statuses: Collection[str] = (Photo.Status.DONE, Photo.Status.FAILED),
    where: Q | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Queue photos for processing again with a fresh set of attempts; returns the ids queued,
    each sent to the worker after its batch commits. Only photos in `from_statuses` (or
    matching `where`, when given) are taken: by default one already queued or processing is
    left to the run that has it."""
    now = now or timezone.now()
    condition = where if where is not None else Q(status__in=from_statuses)
    requeued: list[int] = []
    for start in range(0, len(photo_ids), REQUEUE_BATCH):
        with transaction.atomic():
            ids = list(
                Photo.objects.select_for_update()
                .filter(condition, pk__in=photo_ids[start : start + REQUEUE_BATCH])
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            Photo.objects.filter(pk__in=ids).update(
                status=Photo.Status.QUEUED,
                faces_status=Photo.FacesStatus.PENDING,
                attempts=0,
                last_error="",
                error_detail="",
                queued_at=now,
                task_id="",
            )
            for photo_id in ids:
                transaction.on_commit(lambda photo_id=photo_id: photo_enqueue(photo_id=photo_id))
        requeued += ids
    return requeued


# The trash -----------------------------------------------------------------------------------


@atomic_with_retry
def photo_trash(*, photo: Photo) -> bool:
    """Move a photo to the trash: off every page at once (Photo.objects.for_user leaves it out),
    restorable for Photo.TRASH_KEEP, then deleted with its files and faces by the sweeper. Its faces
    keep their labels meanwhile, so a restore brings everything back as it was. False if it
    was in the trash already (or gone)."""
    return bool(Photo.objects.filter(pk=photo.pk, deleted_at__isnull=True).update(deleted_at=timezone.now()))


@atomic_with_retry
def photo_restore(*, photo: Photo) -> bool:
    """Take a photo out of the trash. False if it was not in it (restored already, or gone)."""
    return bool(Photo.objects.filter(pk=photo.pk, deleted_at__isnull=False).update(deleted_at=None))


def photos_trash_empty(*, user) -> int:
    """Delete every photo in the user's trash for good; how many."""
    photos = list(Photo.objects.in_trash_for_user(user).order_by("pk"))
    for photo in photos:
        photo_delete(photo=photo)
    return len(photos)


def photos_trash_purge(*, now: datetime | None = None) -> dict[str, int]:
    """The sweeper's part: delete for good the photos in the trash for longer than Photo.TRASH_KEEP
    (a batch per run), with their faces and files."""
    expired = (now or timezone.now()) - Photo.TRASH_KEEP
    photos = list(Photo.objects.filter(deleted_at__lt=expired).order_by("deleted_at", "pk")[:SWEEP_BATCH])
    for photo in photos:
        photo_delete(photo=photo)
    if photos:
        logger.info("Emptied %d photos from the trash", len(photos))
    return {"purged": len(photos)}


@atomic_with_retry
def photo_delete(*, photo: Photo) -> None:
    """Delete a photo, its faces and (after commit) every file made from it."""
    locked = Photo.objects.select_for_update().filter(pk=photo.pk).first()
    if locked is None:
        return
    # The faces are locked before Django works out what points at them (a person's cover):
    # a label change that makes one of them a cover either commits first, and is seen, or
    # waits for the delete. Unlocked, a cover set in between broke the delete (a 500).
    faces = list(Face.objects.select_for_update().filter(photo=locked).order_by("id"))
    names = [name for name in (locked.original.name, locked.preview.name, locked.thumbnail.name) if name]
    names += [face.crop.name for face in faces if face.crop.name]
    # Named faces may be references in the owner's recognition index: their ids must leave it.
    had_named_faces = any(face.person_id for face in faces)
    locked.delete()
    if had_named_faces:
        index_invalidate(owner_id=locked.owner_id)
    transaction.on_commit(lambda: storage_delete(names))


def photo_files_delete_for_user(*, user) -> None:
    """Remove every stored file of a user (originals, derivatives, face crops), after commit.

    For account deletion: rows go with the user (CASCADE), files go here.
    """
    prefix = f"{user.pk}"
    transaction.on_commit(lambda: _delete_tree(prefix))


def _delete_tree(prefix: str) -> None:
    delete_tree = getattr(default_storage, "delete_tree", None)  # object storage deletes in bulk
    if delete_tree is not None:
        try:
            delete_tree(prefix)
        except OSError:
            logger.warning("Could not delete the stored files under %s", prefix, exc_info=True)
        return
    try:
        folders, files = default_storage.listdir(prefix)
    except FileNotFoundError:
        return
    storage_delete([f"{prefix}/{name}" for name in files])
    for folder in folders:
        _delete_tree(f"{prefix}/{folder}")
    try:
        os.rmdir(default_storage.path(prefix))
    except NotImplementedError:
        pass  # object storage has no folders
    except OSError:
        pass  # not empty (a file written meanwhile) or already gone


# Sweeper ------------------------------------------------------------------------------------


def photos_requeue_stuck(*, now=None) -> dict[str, int]:
    """Queue again the photos whose task was lost: queued for too long (the broker was down
    at upload, or lost the message), or processing far past the time limit (the worker
    died). The attempt counter still applies, so a photo that kills its worker ends failed.
    """
    now = now or timezone.now()
    queued_before = now - timedelta(seconds=settings.SMARTGALLERY_STUCK_AFTER_SECONDS)
    started_before = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT) - PROCESSING_GRACE
    stuck_queued = Q(status=Photo.Status.QUEUED) & (Q(queued_at__lt=queued_before) | Q(queued_at__isnull=True))
    stuck_processing = Q(status=Photo.Status.PROCESSING) & (
        Q(started_at__lt=started_before) | Q(started_at__isnull=True)
    )
    requeued = 0
    candidates = list(
        Photo.objects.filter(stuck_queued | stuck_processing)
        .order_by("queued_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for photo_id in candidates:
        with transaction.atomic():
            # Conditional: a worker that picked the photo up meanwhile keeps it.
            updated = Photo.objects.filter(Q(pk=photo_id) & stuck_processing).update(
                status=Photo.Status.QUEUED, queued_at=now, task_id="", last_error=WORKER_STOPPED
            ) or Photo.objects.filter(Q(pk=photo_id) & stuck_queued).update(queued_at=now)
            if updated:
                requeued += 1
                transaction.on_commit(lambda photo_id=photo_id: photo_enqueue(photo_id=photo_id))
    if requeued:
        logger.info("Re-queued %d stuck photos", requeued)
    return {"requeued": requeued}
