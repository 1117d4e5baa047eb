"""A whole user's data, made straight in the database, and what the cross-cutting security
tests need around it: a snapshot of everything a user owns, and the routes of the URLconf.

Unlike the per-app view fixtures, every file here really exists in storage (tiny JPEGs written
through default_storage), so a media URL that leaked would leak real bytes, and a snapshot
notices a file that was touched, moved or removed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from django.core.files.storage import default_storage
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts.models import User
from faces.models import Face, FaceGroup, FaceRejection, Person, RecognitionIndex
from gallery.models import Photo
from sharing.models import Share
from smartgallery.tests.factories import FaceFactory, FaceGroupFactory, PersonFactory, PhotoFactory

XSS = "<img src=x onerror=alert(1)>"
XSS_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"
JPEG_MAGIC = b"\xff\xd8\xff"
MODEL_ID = "test-pack:000000000000"


@dataclass
class World:
    """One user's data: two processed photos and a failed one, a named person with a confirmed
    face, a second person with a suggested face and a rejection, an unnamed group of two faces,
    a spare unknown face, and the bookkeeping row of their recognition index."""

    owner: User
    photo: Photo
    photo2: Photo
    failed_photo: Photo
    person: Person
    other_person: Person
    confirmed_face: Face
    face: Face  # the suggested one: every face action applies to it
    spare_face: Face
    group: FaceGroup
    group_faces: list[Face]
    rejection: FaceRejection
    index: RecognitionIndex
    names: list[str] = field(default_factory=list)
    trashed_photo: Photo | None = None  # in the trash: restorable, on the trash page only

    @property
    def photos(self) -> list[Photo]:
        return [self.photo, self.photo2, self.failed_photo, self.trashed_photo]

    @property
    def faces(self) -> list[Face]:
        return [self.confirmed_face, self.face, self.spare_face, *self.group_faces]


def _photo(owner, name: str, **fields) -> Photo:
    """A processed photo with real files (original, preview, thumbnail) in storage."""
    return PhotoFactory(owner=owner, original_filename=name, faces_model_id=MODEL_ID, stored=True, **fields)


def _face(owner, photo: Photo, *, x: int, **fields) -> Face:
    """A 16 px face at `x` with a real crop in storage."""
    return FaceFactory(owner=owner, photo=photo, x1=x, y1=0, size=16, model_id=MODEL_ID, crop=True, **fields)


def make_world(
    owner,
    *,
    label: str,
    person_name: str | None = None,
    other_name: str | None = None,
    filename: str | None = None,
    camera: str | None = None,
) -> World:
    """`label` makes every name distinctive ("AliceOnlyPersonName"), so a page of another user
    that shows any of them is a leak."""
    person_name = person_name or f"{label}OnlyPersonName"
    other_name = other_name or f"{label}OnlyOtherName"
    filename = filename or f"{label}-only-photo.jpg"
    photo = _photo(owner, filename, camera=camera if camera is not None else f"{label}OnlyCamera")
    photo2 = _photo(owner, f"{label}-only-second.jpg")
    failed = PhotoFactory(
        owner=owner,
        original_filename=f"{label}-only-failed.jpg",
        status=Photo.Status.FAILED,
        last_error=f"{label}OnlyError: could not decode",
        stored=True,
        stored__derivatives=False,
    )
    trashed = _photo(owner, f"{label}-only-trashed.jpg", deleted_at=timezone.now())
    person = PersonFactory(owner=owner, name=person_name, faces=0)
    other = PersonFactory(owner=owner, name=other_name, faces=0)
    confirmed = _face(owner, photo, person=person, state=Face.State.CONFIRMED, x=0)
    suggested = _face(owner, photo, person=other, state=Face.State.SUGGESTED, similarity=0.5, x=16)
    other_confirmed = _face(owner, photo2, person=other, state=Face.State.CONFIRMED, x=0)
    spare = _face(owner, photo2, x=16)
    group = FaceGroupFactory(owner=owner, faces=0)
    group_faces = [_face(owner, photo2, group=group, x=32 + 16 * i) for i in range(2)]
    person.cover_face = confirmed
    person.save(update_fields=["cover_face"])
    other.cover_face = other_confirmed
    other.save(update_fields=["cover_face"])
    rejection = FaceRejection.objects.create(owner=owner, face=suggested, person=person)
    index = RecognitionIndex.objects.create(
        owner=owner, labels_version=2, built_version=2, model_id=MODEL_ID, dimension=512, size=2
    )
    return World(
        owner,
        photo,
        photo2,
        failed,
        person,
        other,
        confirmed,
        suggested,
        spare,
        group,
        group_faces,
        rejection,
        index,
        names=[person_name, other_name, filename],
        trashed_photo=trashed,
    )


# Snapshots -----------------------------------------------------------------------------------

OWNED_MODELS = (Photo, Face, Person, FaceGroup, FaceRejection, RecognitionIndex, Share)


def _plain(value):
    return bytes(value) if isinstance(value, memoryview) else value


def snapshot(user) -> dict:
    """Every row the user owns (all fields), their account row, and every file under their
    storage prefix with its sha256."""
    rows = {
        model.__name__: [
            {key: _plain(value) for key, value in row.items()}
            for row in model.objects.filter(owner=user).order_by("pk").values()
        ]
        for model in OWNED_MODELS
    }
    rows["User"] = list(User.objects.filter(pk=user.pk).values())
    return {"rows": rows, "files": storage_files(str(user.pk))}


def storage_files(prefix: str = "") -> dict[str, str]:
    found: dict[str, str] = {}
    try:
        folders, files = default_storage.listdir(prefix)
    except FileNotFoundError:
        return found
    for name in files:
        path = f"{prefix}/{name}" if prefix else name
        with default_storage.open(path, "rb") as stream:
            found[path] = hashlib.sha256(stream.read()).hexdigest()
    for folder in folders:
        found.update(storage_files(f"{prefix}/{folder}" if prefix else folder))
    return found


# Routes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name", reversible
    route: str  # the pattern text, for messages
    kwargs: tuple[str, ...]
    module: str

    def __str__(self) -> str:
        return self.name


# Not our objects: Django's admin (staff-only, has its own tests in accounts/tests) and
# allauth's own views (their only id-like argument is the signed password-reset key, not an
# object of ours; the account tests cover those pages).
FOREIGN_MODULE_PREFIXES = ("django.contrib.admin", "allauth.")


def _kwargs_of(pattern) -> tuple[str, ...]:
    converters = getattr(pattern, "converters", None)
    if converters:
        return tuple(converters)
    regex = getattr(pattern, "regex", None)
    return tuple(regex.groupindex) if regex is not None else ()


def _walk(patterns, prefix: str = "", namespace: str | None = None, kwargs: tuple[str, ...] = ()):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin" or entry.namespace == "admin":
                continue
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), ns, kwargs + _kwargs_of(entry.pattern))
        elif isinstance(entry, URLPattern):
            module = getattr(entry.callback, "__module__", "") or ""
            if module.startswith(FOREIGN_MODULE_PREFIXES) or "static" in module.rsplit(".", 1)[-1]:
                continue
            if not entry.name:
                raise AssertionError(f"route {prefix}{entry.pattern} has no name; the security tests need one")
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            yield Route(name, prefix + str(entry.pattern), kwargs + _kwargs_of(entry.pattern), module)


def our_routes() -> list[Route]:
    """Every route of ours in the URLconf (not admin, not allauth), in URLconf order; a route
    name listed twice (ours shadowing allauth's) is kept once."""
    seen: dict[str, Route] = {}
    for route in _walk(get_resolver().url_patterns):
        seen.setdefault(route.name, route)
    routes = list(seen.values())
    assert len(routes) >= 20, "the URLconf walk found almost nothing: the walker is broken"
    return routes


def id_routes() -> list[Route]:
    """Routes that take any argument: every such argument names an object (or a token) of a user."""
    return [route for route in our_routes() if route.kwargs]


def plain_routes() -> list[Route]:
    return [route for route in our_routes() if not route.kwargs]
