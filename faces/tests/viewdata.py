"""A small cast of photos, persons, faces and groups for the people pages' view tests.

Faces are created straight in the database (random unit embeddings, no crops unless asked):
these tests are about the views; recognition itself is tested with the real models.
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
from dataclasses import dataclass, field

import numpy as np
from django.core.files.base import ContentFile
from django.utils import timezone

from faces.models import Face, FaceGroup, Person
from gallery.models import Photo

XSS = "<img src=x onerror=alert(1)>"
XSS_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"

_counter = itertools.count(1)
_rng = np.random.default_rng(7)


def unit_vector(dim: int = 512) -> bytes:
    vector = _rng.standard_normal(dim).astype(np.float32)
    return (vector / np.linalg.norm(vector)).astype(np.float32).tobytes()


def make_photo(owner, *, taken_at: datetime.datetime | None = None, name: str | None = None) -> Photo:
    n = next(_counter)
    name = name or f"photo-{n}.jpg"
    return Photo.objects.create(
        owner=owner,
        original=f"{owner.pk}/originals/{n}.jpg",
        original_filename=name,
        image_format="JPEG",
        sha256=hashlib.sha256(f"{name}-{n}".encode()).hexdigest(),
        file_size=1000,
        width=640,
        height=480,
        taken_at=taken_at or timezone.now() - datetime.timedelta(minutes=n),
        status=Photo.Status.DONE,
    )


def make_face(
    owner,
    photo: Photo | None = None,
    *,
    person: Person | None = None,
    state: str | None = None,
    group: FaceGroup | None = None,
    size: int = 100,
    crop: bool = False,
    similarity: float | None = None,
    embedding: bytes | None = None,
) -> Face:
    photo = photo or make_photo(owner)
    if state is None:
        state = Face.State.CONFIRMED if person else Face.State.UNKNOWN
    face = Face.objects.create(
        owner=owner,
        photo=photo,
        x1=10,
        y1=10,
        x2=10 + size,
        y2=10 + size,
        landmarks=[],
        det_score=0.9,
        size_px=size,
        sharpness=100.0,
        frontalness=1.0,
        embedding=embedding or unit_vector(),
        model_id="test",
        person=person,
        state=state,
        group=group,
        similarity=similarity,
    )
    if crop:
        face.crop.save("crop.jpg", ContentFile(b"\xff\xd8\xff\xe0fakejpeg"), save=True)
    return face


def make_person(owner, name: str, *, faces: int = 1, hidden: bool = False, crop: bool = False) -> Person:
    person = Person.objects.create(owner=owner, name=name, hidden=hidden)
    made = [make_face(owner, person=person, crop=crop) for _ in range(faces)]
    if made:
        person.cover_face = made[0]
        person.save(update_fields=["cover_face"])
    return person


def make_group(owner, *, faces: int = 3, crop: bool = False) -> FaceGroup:
    group = FaceGroup.objects.create(owner=owner)
    for i in range(faces):
        make_face(owner, group=group, size=80 + i, crop=crop)
    return group


@dataclass
class Cast:
    """One user's people data: a named person with a suggested face, a group, an unknown face."""

    person: Person
    other: Person
    suggested: Face
    unknown: Face
    group: FaceGroup
    faces: list[Face] = field(default_factory=list)


def make_cast(owner, *, name: str = "Anna", other_name: str = "Ben") -> Cast:
    person = make_person(owner, name, faces=2)
    other = make_person(owner, other_name, faces=1)
    suggested = make_face(owner, person=person, state=Face.State.SUGGESTED, similarity=0.5)
    unknown = make_face(owner)
    group = make_group(owner)
    return Cast(person, other, suggested, unknown, group, list(Face.objects.filter(owner=owner)))


def hx(**extra) -> dict:
    """Headers of an htmx request."""
    return {"HTTP_HX_REQUEST": "true", **extra}


# Every signed-in request costs a few queries before any view runs (the session, the user, and
# allauth's user-session bookkeeping: 7 today). Page bounds below are that plus the page's own.
REQUEST_OVERHEAD_QUERIES = 7


def count_queries(client, url: str, **extra) -> int:
    """Queries of one GET, after a warm-up request (the first one of a session does more)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url, **extra)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **extra)
    assert response.status_code == 200
    return len(ctx.captured_queries)
