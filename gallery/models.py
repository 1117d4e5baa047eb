import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models

from smartgallery.library_cache import LibraryModel, LibraryQuerySet


def original_upload_to(photo: "Photo", filename: str) -> str:
    # Generated names under a per-user prefix: the client's filename never reaches the disk.
    return f"{photo.owner_id}/originals/{uuid.uuid4().hex}{photo.storage_extension}"


def derivative_upload_to(photo: "Photo", filename: str) -> str:
    return f"{photo.owner_id}/derivatives/{uuid.uuid4().hex}{filename[filename.rfind('.') :]}"


class PhotoQuerySet(LibraryQuerySet):
    def for_user(self, user) -> "PhotoQuerySet":
        """The one way to reach photos: only the owner's, for everyone including staff, and
        not those in the trash (they are on the trash page only: in_trash_for_user)."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(owner=user, deleted_at__isnull=True)

    def in_trash_for_user(self, user) -> "PhotoQuerySet":
        """The owner's photos in the trash (restorable until the sweeper empties it)."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(owner=user, deleted_at__isnull=False)


class Photo(LibraryModel):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PROCESSING = "processing", "Processing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class FacesStatus(models.TextChoices):
        """The face step on its own: a photo is shown (status done, with its preview) even when
        its faces could not be looked for (no usable face pack, a detector crash)."""

        PENDING = "pending", "Not looked for yet"
        DONE = "done", "Looked for"
        FAILED = "failed", "Could not be looked for"

    # How long a photo stays in the trash before the sweeper deletes it for good.
    TRASH_KEEP = timedelta(days=30)

    # Extensions by decoded format, so the stored name says what the bytes are.
    EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "HEIF": ".heic", "TIFF": ".tif"}

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="photos")
    original = models.FileField(upload_to=original_upload_to, max_length=255)
    original_filename = models.CharField(max_length=255)
    image_format = models.CharField(max_length=10)
    sha256 = models.CharField(max_length=64)
    file_size = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    taken_at = models.DateTimeField()
    camera = models.CharField(max_length=200, blank=True)
    gps_latitude = models.FloatField(null=True, blank=True)
    gps_longitude = models.FloatField(null=True, blank=True)

    thumbnail = models.FileField(upload_to=derivative_upload_to, max_length=255, blank=True)
    preview = models.FileField(upload_to=derivative_upload_to, max_length=255, blank=True)

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    # A plain sentence for the owner (shown on the pages); never a library's exception text.
    last_error = models.TextField(blank=True)
    # What went wrong, for the operator (the admin and the log): exception types and messages.
    error_detail = models.TextField(blank=True)
    faces_status = models.CharField(max_length=8, choices=FacesStatus.choices, default=FacesStatus.PENDING)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    faces_model_id = models.CharField(max_length=100, blank=True)
    # The Celery task holding the photo while it is processing. A redelivery of the same task
    # (the worker died under it) takes the photo back; a different task for it waits its turn.
    task_id = models.CharField(max_length=64, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    # When the owner moved it to the trash; the sweeper deletes it for good some days later.
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = PhotoQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "sha256"], name="photo_unique_content_per_owner"),
        ]
        indexes = [
            # Timeline keyset pagination: newest first, id breaks ties.
            models.Index(fields=["owner", "-taken_at", "-id"], name="photo_timeline"),
            # The processing counts: the photos not simply done, without reading the others.
            models.Index(fields=["owner", "status", "faces_status"], name="photo_owner_status_faces"),
            models.Index(fields=["status", "queued_at"], name="photo_status_queued"),
            # The sweeper's "trashed long enough ago".
            models.Index(fields=["deleted_at"], name="photo_deleted_at"),
        ]

    def __str__(self) -> str:
        return f"{self.original_filename} ({self.pk})"

    @property
    def storage_extension(self) -> str:
        return self.EXTENSIONS.get(self.image_format, ".bin")
