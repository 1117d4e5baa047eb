"""Test data for every app's tests: one factory per model, and the upload of a real photo.

Rows are made straight in the database, with random unit embeddings: the tests that use them
are about views, selectors, services and access control. Recognition itself is tested with the
real models on real photos (`upload_photo`, faces/tests/people.py).

    PhotoFactory(owner=alice)                      # a done photo whose file does not exist
    PhotoFactory(owner=alice, stored=True)         # real tiny JPEGs: original, preview, thumbnail
    FaceFactory(owner=alice, person=anna)          # on a new photo of alice, confirmed
    PersonFactory(owner=alice, name="Anna", faces=2, faces__crop=True)
    FaceGroupFactory(owner=alice, faces=3)
    upload_photo(alice, data, "couple.jpg")        # through the upload service, queued
"""

from __future__ import annotations

import datetime
import hashlib
import io
import itertools

import factory
import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from factory.django import DjangoModelFactory
from PIL import Image

from faces.engine import DetectedFace
from faces.models import Face, FaceGroup, Person, face_crop_upload_to
from gallery.models import Photo, derivative_upload_to, original_upload_to
from gallery.services import photo_create
from gallery.tests import images

_serial = itertools.count(1)
_rng = np.random.default_rng(7)


def jpeg(width: int = 32, height: int = 24) -> bytes:
    """A tiny JPEG that differs from every other one made in this run (its own sha256)."""
    n = next(_serial)
    image = Image.new("RGB", (width, height), (n * 37 % 256, n * 11 % 256, n % 256))
    image.putpixel((n % width, (n // width) % height), (255 - n % 256, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def unit_vector(dim: int = 512) -> bytes:
    """A random L2-normalised float32 embedding, as stored in Face.embedding."""
    vector = _rng.standard_normal(dim).astype(np.float32)
    return (vector / np.linalg.norm(vector)).astype(np.float32).tobytes()


def unit_vectors(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    """`n` L2-normalised float32 rows, the same for the same seed (for index tests)."""
    vectors = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


class PhotoFactory(DjangoModelFactory):
    class Meta:
        model = Photo
        skip_postgeneration_save = True

    owner = None  # always given: every photo belongs to someone
    original = factory.LazyAttributeSequence(lambda o, n: f"{o.owner.pk}/originals/{n}.jpg")
    original_filename = factory.Sequence(lambda n: f"photo-{n}.jpg")
    image_format = "JPEG"
    sha256 = factory.LazyAttributeSequence(
        lambda o, n: hashlib.sha256(f"{o.original_filename}-{n}".encode()).hexdigest()
    )
    file_size = 1000
    width = 640
    height = 480
    # Each photo a minute older than the one made before it: the timeline order is never a tie.
    taken_at = factory.Sequence(lambda n: timezone.now() - datetime.timedelta(minutes=n))
    status = Photo.Status.DONE
    faces_status = Photo.FacesStatus.DONE

    @factory.post_generation
    def stored(photo: Photo, create: bool, extracted: bool | None, derivatives: bool = True, **kwargs) -> None:
        """`stored=True`: the original (and, unless `stored__derivatives=False`, the preview and
        thumbnail) are real JPEGs written through default_storage, so a media route, a snapshot
        or the integrity check sees real bytes. The row then describes those bytes."""
        if not (create and extracted):
            return
        data = jpeg()
        photo.sha256, photo.file_size, photo.width, photo.height = hashlib.sha256(data).hexdigest(), len(data), 32, 24
        photo.original.name = default_storage.save(original_upload_to(photo, ""), ContentFile(data))
        if derivatives:
            photo.preview.name = default_storage.save(derivative_upload_to(photo, "preview.jpg"), ContentFile(jpeg()))
            photo.thumbnail.name = default_storage.save(
                derivative_upload_to(photo, "thumbnail.jpg"), ContentFile(jpeg())
            )
        photo.save()


class FaceFactory(DjangoModelFactory):
    """A face of `size` px on a photo of the same owner (a new one unless `photo=` is given);
    confirmed when it has a person, unknown otherwise, unless `state=` says."""

    class Meta:
        model = Face
        skip_postgeneration_save = True

    class Params:
        size = 100

    owner = None  # always given
    photo = factory.SubFactory(PhotoFactory, owner=factory.SelfAttribute("..owner"))
    x1 = 10
    y1 = 10
    x2 = factory.LazyAttribute(lambda o: o.x1 + o.size)
    y2 = factory.LazyAttribute(lambda o: o.y1 + o.size)
    landmarks = factory.LazyFunction(list)
    det_score = 0.9
    size_px = factory.SelfAttribute("size")
    sharpness = 100.0
    frontalness = 1.0
    embedding = factory.LazyFunction(unit_vector)
    model_id = "test"
    person = None
    state = factory.LazyAttribute(lambda o: Face.State.CONFIRMED if o.person else Face.State.UNKNOWN)
    group = None
    similarity = None

    @factory.post_generation
    def crop(face: Face, create: bool, extracted: bool | None, **kwargs) -> None:
        """`crop=True`: a real JPEG crop in storage (faces without one show a placeholder)."""
        if create and extracted:
            face.crop.name = default_storage.save(face_crop_upload_to(face, ""), ContentFile(jpeg(16, 16)))
            face.save(update_fields=["crop"])


def detection_fields(detected: DetectedFace) -> dict:
    """FaceFactory fields of a face the real engine found (its box, quality and embedding)."""
    return {
        "x1": detected.box[0],
        "y1": detected.box[1],
        "x2": detected.box[2],
        "y2": detected.box[3],
        "landmarks": detected.landmarks.tolist(),
        "det_score": detected.det_score,
        "size": int(detected.size_px),
        "sharpness": detected.sharpness,
        "frontalness": detected.frontalness,
        "recognisable": detected.recognisable,
        "embedding": np.asarray(detected.embedding, dtype=np.float32).tobytes() if detected.recognisable else None,
    }


class PersonFactory(DjangoModelFactory):
    class Meta:
        model = Person
        skip_postgeneration_save = True

    owner = None  # always given
    name = factory.Sequence(lambda n: f"Person {n}")

    @factory.post_generation
    def faces(person: Person, create: bool, extracted: int | None, **face_fields) -> None:
        """Like a person made by naming a face: `faces` confirmed faces (1 unless given), each on
        its own photo, the first one the cover. `faces__crop=True` gives them crops."""
        count = 1 if extracted is None else extracted
        if not create or count == 0:
            return
        made = FaceFactory.create_batch(count, owner=person.owner, person=person, **face_fields)
        person.cover_face = made[0]
        person.save(update_fields=["cover_face"])


class FaceGroupFactory(DjangoModelFactory):
    class Meta:
        model = FaceGroup
        skip_postgeneration_save = True

    owner = None  # always given

    @factory.post_generation
    def faces(group: FaceGroup, create: bool, extracted: int | None, **face_fields) -> None:
        """`faces` unknown faces (3 unless given) of slightly different sizes, each on its own photo."""
        count = 3 if extracted is None else extracted
        if create:
            for i in range(count):
                FaceFactory(owner=group.owner, group=group, size=80 + i, **face_fields)


_upload_serial = itertools.count()


def upload_photo(owner, data: bytes | None = None, name: str = "photo.jpg", **fields) -> Photo:
    """A photo stored through the upload service, exactly as a user's upload: queued, and sent to
    the worker when the transaction commits (never, in a test that runs inside one). `fields` are
    set afterwards. Without `data`, a small JPEG of its own colour (no two alike in 256 uploads)."""
    n = next(_upload_serial)
    content = data if data is not None else images.jpeg_bytes(color=(n * 37 % 256, n * 11 % 256, 30))
    photo, _ = photo_create(owner=owner, file=SimpleUploadedFile(name, content), filename=name)
    if fields:
        for key, value in fields.items():
            setattr(photo, key, value)
        photo.save()
    return photo
