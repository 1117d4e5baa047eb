import uuid

from django.conf import settings
from django.db import models

from smartgallery.library_cache import LibraryModel, LibraryQuerySet


def face_crop_upload_to(face: "Face", filename: str) -> str:
    return f"{face.owner_id}/faces/{uuid.uuid4().hex}.jpg"


class OwnedQuerySet(models.QuerySet):
    def for_user(self, user):
        """The one way to reach faces, persons and groups: only the owner's."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(owner=user)


class LibraryOwnedQuerySet(OwnedQuerySet, LibraryQuerySet):
    """The rows the owner's pages count and list: writing them marks the library changed."""


class PersonQuerySet(LibraryOwnedQuerySet):
    def for_user(self, user):
        """The owner's persons that exist for them: deleted and merged-away ones are kept
        (their "not this person" memory and Undo need the row) but never shown or matched."""
        return super().for_user(user).filter(deleted_at__isnull=True)

    def for_user_including_deleted(self, user):
        """Only for Undo of a delete or merge."""
        return super().for_user(user)


class Person(LibraryModel):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="persons")
    name = models.CharField(max_length=200)
    hidden = models.BooleanField(default=False)
    cover_face = models.ForeignKey("Face", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # False while the cover is auto-picked (best-quality confirmed face); True once the user chose.
    cover_chosen = models.BooleanField(default=False)
    birth_date = models.DateField(null=True, blank=True)
    # Soft delete (see docs/PEOPLE.md): a deleted person keeps its row so the faces it had
    # keep their "not this person" rows against it, and so Undo can bring it back.
    deleted_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PersonQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["owner", "name"], name="person_owner_name")]

    def __str__(self) -> str:
        return self.name


class FaceGroup(LibraryModel):
    """An unnamed group of similar unknown faces, offered to be named in one action.

    When the group as a whole looks like one of the owner's people, the regrouping sets
    `suggested_person`: the group is asked about once ("Are these 6 faces Anna?") instead of
    its faces being asked about one by one. `vector_sum`/`vector_count` (the sum of its faces'
    embeddings, float32 bytes, of `model_id`) let a new face join the group without loading
    the group's faces (faces/recognition.py).
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="face_groups")
    dismissed = models.BooleanField(default=False)
    suggested_person = models.ForeignKey("Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    suggested_score = models.FloatField(null=True, blank=True)
    vector_sum = models.BinaryField(null=True, blank=True)
    vector_count = models.PositiveIntegerField(default=0)
    model_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = LibraryOwnedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Group {self.pk}"


class Face(LibraryModel):
    class State(models.TextChoices):
        UNKNOWN = "unknown", "Unknown"
        SUGGESTED = "suggested", "Suggested"
        AUTO = "auto", "Recognised"
        CONFIRMED = "confirmed", "Confirmed"
        REJECTED_AS_FACE = "rejected_as_face", "Not a face"

    class Source(models.TextChoices):
        DETECTOR = "detector", "Found by the detector"
        DRAWN = "drawn", "Drawn by the user"

    # The owner is stored on the face (not only through the photo) so every face query and
    # the per-user index are scoped with one indexed column.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="faces")
    photo = models.ForeignKey("gallery.Photo", on_delete=models.CASCADE, related_name="faces")

    # Box and landmarks in pixels of the upright (EXIF-oriented) original.
    x1 = models.FloatField()
    y1 = models.FloatField()
    x2 = models.FloatField()
    y2 = models.FloatField()
    landmarks = models.JSONField(default=list)
    det_score = models.FloatField()
    size_px = models.PositiveIntegerField()
    sharpness = models.FloatField(default=0.0)
    frontalness = models.FloatField(default=0.0)
    recognisable = models.BooleanField(default=True)
    # A face the user drew a box around (faces/drawing.py) is the user's decision: no re-detection
    # replaces it. Its embedding comes from the detector's landmarks found in the box, or, when
    # there were none, from a centred crop (`centred_crop`), which recognises less reliably.
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.DETECTOR)
    centred_crop = models.BooleanField(default=False)

    # float32 bytes, L2-normalised; dimension = len(embedding) / 4, from the model that made it.
    embedding = models.BinaryField(null=True, blank=True)
    model_id = models.CharField(max_length=100, blank=True)
    crop = models.FileField(upload_to=face_crop_upload_to, max_length=255, blank=True)

    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="faces")
    state = models.CharField(max_length=20, choices=State.choices, default=State.UNKNOWN)
    similarity = models.FloatField(null=True, blank=True)
    margin = models.FloatField(null=True, blank=True)
    group = models.ForeignKey(FaceGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="faces")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = LibraryOwnedQuerySet.as_manager()

    class Meta:
        # Both cover the people pages' counts and lists (docs/BENCHMARKS.md, Web): MariaDB
        # answers them from the index alone, without reading 30,000 face rows (10-20x faster).
        # Their leading columns are the two narrower indexes they replaced.
        indexes = [
            # Suggestions per person (review), unnamed faces by quality (unnamed, people).
            models.Index(
                fields=["owner", "state", "person", "recognisable", "group", "photo", "size_px", "frontalness"],
                name="face_owner_state_cover",
            ),
            # Faces, photos and suggestions per person (people, person).
            models.Index(fields=["owner", "person", "state", "photo"], name="face_owner_person_state_photo"),
            # A group's unknown faces not in the trash (the People page's group sizes).
            models.Index(fields=["group", "state", "photo"], name="face_group_state_photo"),
        ]

    def __str__(self) -> str:
        return f"Face {self.pk} in photo {self.photo_id}"

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)

    @property
    def drawn(self) -> bool:
        return self.source == self.Source.DRAWN

    @property
    def measuring(self) -> bool:
        """Drawn, and the worker has not embedded it yet (no model has looked at it)."""
        return self.drawn and not self.model_id


class FaceRejection(models.Model):
    """ "Not this person": remembered per (face, person) and respected by every job, forever."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    face = models.ForeignKey(Face, on_delete=models.CASCADE, related_name="rejections")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="rejections")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["face", "person"], name="face_rejection_unique")]

    def __str__(self) -> str:
        return f"Face {self.face_id} is not person {self.person_id}"


class RecognitionIndex(models.Model):
    """Per-user bookkeeping of the FAISS index cache; the database stays the source of truth.

    labels_version goes up on every label change; a built index whose built_version is lower is
    stale. checksum is the sha256 of the index file, so a corrupt file is never trusted.
    """

    owner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    labels_version = models.PositiveBigIntegerField(default=0)
    built_version = models.PositiveBigIntegerField(default=0)
    checksum = models.CharField(max_length=64, blank=True)
    model_id = models.CharField(max_length=100, blank=True)
    dimension = models.PositiveIntegerField(default=0)
    size = models.PositiveIntegerField(default=0)
    built_at = models.DateTimeField(null=True, blank=True)

    objects = OwnedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Recognition index of user {self.owner_id} (v{self.built_version}/{self.labels_version})"
