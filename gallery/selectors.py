"""Owner-scoped reads for the gallery pages. Every query starts from Photo.objects.for_user."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import DEFAULT_DB_ALIAS
from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet
from django.utils import timezone

from faces.models import Face, FaceGroup
from gallery.models import Photo
from smartgallery.library_cache import cached

PAGE_SIZE = 60
FAILED_LIST_LIMIT = 20
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class MonthGroup:
    month: datetime  # first day of the month, local time
    photos: list[Photo] = field(default_factory=list)
    continued: bool = False  # the same month was already shown on the previous page


@dataclass
class TimelinePage:
    groups: list[MonthGroup]
    next_cursor: str | None

    @property
    def photos(self) -> list[Photo]:
        return [photo for group in self.groups for photo in group.photos]


# Keyset pagination on (taken_at, id), newest first: the timeline and the faces pages page
# through photos this way, all of them through keyset_page.


def encode_cursor(taken_at: datetime, photo_id: int) -> str:
    """The cursor after the photo (taken_at, id): "<microseconds since 1970>_<id>"."""
    delta = taken_at - EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return f"{micros}_{photo_id}"


def decode_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """(taken_at, id) of the last photo shown, or None for a missing or malformed cursor."""
    if not cursor:
        return None
    micros, _, pk = cursor.partition("_")
    try:
        return EPOCH + timedelta(microseconds=int(micros)), int(pk)
    except (ValueError, OverflowError):
        return None


@dataclass(frozen=True)
class PhotoPage:
    photos: list[Photo]
    next_cursor: str | None  # encoded; None on the last page


def keyset_page(photos: QuerySet[Photo], *, cursor: str | None, limit: int = PAGE_SIZE) -> PhotoPage:
    """One page of `photos` (already owner-scoped and filtered) after `cursor`, newest first.

    One query of limit + 1 rows: the extra row only tells whether there is a next page. A
    missing or malformed cursor starts from the top."""
    return _page_of(list(_after(photos, cursor)[: limit + 1]), limit)


def cached_keyset_page(
    owner_id: int, name: str, photos: QuerySet[Photo], *, cursor: str | None, limit: int, fields: Iterable[str]
) -> PhotoPage:
    """keyset_page of `photos` (the owner's) reading only `fields`, its rows kept in the library
    cache as `name` while the owner's library is unchanged (smartgallery.library_cache): a page
    of photos found through their faces then costs no query."""
    wanted = set(fields)
    columns = [f.attname for f in Photo._meta.concrete_fields if f.attname in wanted]  # from_db's order
    rows = cached(
        owner_id,
        # The decoded cursor, not the text a client sent: no key per malformed variant of one page.
        f"{name}:{canonical_cursor(cursor)}:{limit}",
        lambda: list(_after(photos, cursor).values_list(*columns)[: limit + 1]),
    )
    return _page_of([Photo.from_db(DEFAULT_DB_ALIAS, columns, row) for row in rows], limit)


def canonical_cursor(cursor: str | None) -> str:
    """The cursor as the pages write it ("" for none or one that does not parse): one key per page."""
    after = decode_cursor(cursor)
    return encode_cursor(*after) if after is not None else ""


def _after(photos: QuerySet[Photo], cursor: str | None) -> QuerySet[Photo]:
    photos = photos.order_by("-taken_at", "-id")
    after = decode_cursor(cursor)
    if after is not None:
        taken_at, pk = after
        photos = photos.filter(Q(taken_at__lt=taken_at) | Q(taken_at=taken_at, id__lt=pk))
    return photos


def _page_of(rows: list[Photo], limit: int) -> PhotoPage:
    """The first `limit` of limit + 1 rows: the extra one only tells whether there is a next page."""
    next_cursor = encode_cursor(rows[limit - 1].taken_at, rows[limit - 1].pk) if len(rows) > limit else None
    return PhotoPage(rows[:limit], next_cursor)


# What a timeline tile shows ({% timeline_tile %}): a page reads these columns only, not the
# photo's 27 (its five dates each cost a conversion; grid 8.4 -> 7.6 ms in process).
TILE_FIELDS = ("id", "owner_id", "original_filename", "thumbnail", "preview", "status", "taken_at")


def photo_timeline(*, user, cursor: str | None = None, limit: int = PAGE_SIZE) -> TimelinePage:
    """Newest first, grouped by month; keyset pagination on (taken_at, id), one query."""
    return timeline_page(Photo.objects.for_user(user).only(*TILE_FIELDS), cursor=cursor, limit=limit)


def timeline_page(photos: QuerySet[Photo], *, cursor: str | None = None, limit: int = PAGE_SIZE) -> TimelinePage:
    """One page of `photos` (already scoped: the owner's, or a shared library's), grouped by month."""
    page = keyset_page(photos, cursor=cursor, limit=limit)
    after = decode_cursor(cursor)
    previous_month = _month(after[0]) if after is not None else None
    groups: list[MonthGroup] = []
    for photo in page.photos:
        month = _month(photo.taken_at)
        if not groups or groups[-1].month != month:
            groups.append(MonthGroup(month=month, continued=not groups and month == previous_month))
        groups[-1].photos.append(photo)
    return TimelinePage(groups=groups, next_cursor=page.next_cursor)


def _month(moment: datetime) -> datetime:
    local = timezone.localtime(moment)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class TrashedPhoto:
    photo: Photo
    deleted_for_good_on: datetime


def photo_trash_list(*, user) -> list[TrashedPhoto]:
    """The user's trash, the most recently moved there first, with the day each goes for good."""
    photos = Photo.objects.in_trash_for_user(user).order_by("-deleted_at", "-id")
    return [TrashedPhoto(photo, photo.deleted_at + Photo.TRASH_KEEP) for photo in photos]


def photo_neighbours(*, user, photo: Photo) -> tuple[Photo | None, Photo | None]:
    """(newer, older) than `photo` in timeline order."""
    return neighbours_in(Photo.objects.for_user(user), photo)


def neighbours_in(photos: QuerySet[Photo], photo: Photo) -> tuple[Photo | None, Photo | None]:
    """(newer, older) than `photo` among `photos` (already scoped), in timeline order."""
    mine = photos
    newer = (
        mine.filter(Q(taken_at__gt=photo.taken_at) | Q(taken_at=photo.taken_at, id__gt=photo.pk))
        .order_by("taken_at", "id")
        .first()
    )
    older = (
        mine.filter(Q(taken_at__lt=photo.taken_at) | Q(taken_at=photo.taken_at, id__lt=photo.pk))
        .order_by("-taken_at", "-id")
        .first()
    )
    return newer, older


@dataclass(frozen=True)
class StatusCounts:
    queued: int = 0
    processing: int = 0
    failed: int = 0
    faces_failed: int = 0  # done (shown) but their faces could not be looked for
    trashed: int = 0  # in the trash, whatever their status

    @property
    def pending(self) -> int:
        return self.queued + self.processing

    @property
    def retryable(self) -> int:
        """What "Retry all failed" queues again."""
        return self.failed + self.faces_failed


def photo_status_counts(*, user) -> StatusCounts:
    """The user's photos that are not simply done, by status, and how many are in the trash: one
    query. Done photos (nearly all of a library) are left out of the WHERE rather than counted:
    with the index on (owner, status, faces_status) and the one on deleted_at, MariaDB reads only
    the rows counted (0.2 ms, against 6 ms to group 10,000 photos; docs/BENCHMARKS.md). Every full
    timeline, the processing panel and its polling pay for it."""
    Status, FacesStatus = Photo.Status, Photo.FacesStatus
    rows = (
        Photo.objects.filter(owner=user)
        .filter(
            Q(status__in=[Status.QUEUED, Status.PROCESSING, Status.FAILED])
            | Q(status=Status.DONE, faces_status=FacesStatus.FAILED)
            | Q(deleted_at__isnull=False)
        )
        .annotate(in_trash=ExpressionWrapper(Q(deleted_at__isnull=False), output_field=BooleanField()))
        .values_list("status", "in_trash")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[str, int] = {}
    for status, in_trash, n in rows:
        if in_trash:
            key = "trashed"
        elif status == Status.DONE:  # the WHERE lets in only those whose faces failed
            key = "faces_failed"
        else:
            key = status
        counts[key] = counts.get(key, 0) + n
    return StatusCounts(**counts)


@dataclass(frozen=True)
class FailedGroup:
    """Photos that need a Retry for the same reason: the sentence is said once for all of them."""

    shown: bool  # done and shown, only their faces are missing
    message: str
    photos: list[Photo]


@dataclass(frozen=True)
class FailedPhotos:
    groups: list[FailedGroup]
    more: int = 0  # retryable photos beyond the limit (the "Retry all failed" button has them)


def photo_failed_groups(*, user, limit: int = FAILED_LIST_LIMIT) -> FailedPhotos:
    """The photos "Retry" is for, latest first, by reason: those that could not be processed and
    those shown without their faces. 127 photos without a face pack make one sentence, not 127."""
    retryable = Photo.objects.for_user(user).filter(
        Q(status=Photo.Status.FAILED) | Q(status=Photo.Status.DONE, faces_status=Photo.FacesStatus.FAILED)
    )
    photos = list(
        retryable.order_by("-finished_at", "-id").only(
            "id", "original_filename", "status", "faces_status", "last_error", "finished_at"
        )[:limit]
    )
    by_reason: dict[tuple[bool, str], list[Photo]] = {}
    for photo in photos:
        by_reason.setdefault((photo.status == Photo.Status.DONE, photo.last_error), []).append(photo)
    more = retryable.count() - len(photos) if len(photos) == limit else 0
    return FailedPhotos(
        groups=[
            FailedGroup(shown=shown, message=message, photos=group) for (shown, message), group in by_reason.items()
        ],
        more=more,
    )


@dataclass(frozen=True)
class FaceBox:
    """A face drawn over the preview, in percent of the upright image."""

    face: Face
    left: float
    top: float
    width: float
    height: float
    kind: str  # unknown | suggested | named
    label: str
    label_right: bool = False  # the label hangs left from the box's right edge (near the photo's right side)


# Above this many faces a photo is crowded: the boxes' labels show on hover or focus only.
CROWDED_FACES = 6


def photo_face_boxes(*, user, photo: Photo) -> list[FaceBox]:
    """The faces of the photo, left to right. Unknown faces are numbered when there are several
    ("Unknown 3"), so a box and its chip under the photo can be told apart."""
    faces = Face.objects.for_user(user).filter(photo=photo).exclude(state=Face.State.REJECTED_AS_FACE)
    return face_boxes(faces, photo)


def face_boxes(faces: QuerySet[Face], photo: Photo) -> list[FaceBox]:
    """`faces` (already scoped, of `photo`) as boxes, left to right: one query."""
    faces = list(faces.select_related("person").order_by("x1", "pk"))
    unknown = sum(1 for face in faces if face.person is None or face.state == Face.State.UNKNOWN)
    boxes, number = [], 0
    for face in faces:
        named = face.person is not None and face.state in (Face.State.AUTO, Face.State.CONFIRMED)
        if named:
            kind, label = "named", face.person.name
        elif face.person is not None and face.state == Face.State.SUGGESTED:
            kind, label = "suggested", f"Is this {face.person.name}?"
        else:
            number += 1
            kind, label = "unknown", f"Unknown {number}" if unknown > 1 else "Unknown person"
        left, top, width, height = face_box_percent(face, photo)
        boxes.append(
            FaceBox(
                face=face,
                left=left,
                top=top,
                width=width,
                height=height,
                kind=kind,
                label=label,
                label_right=left + width / 2 > 55,
            )
        )
    return boxes


def face_box_percent(face: Face, photo: Photo) -> tuple[float, float, float, float]:
    """The face's box (left, top, width, height) in percent of its upright photo, as drawn over
    the preview (the preview keeps the photo's shape)."""
    return (
        _percent(face.x1, photo.width),
        _percent(face.y1, photo.height),
        _percent(face.x2 - face.x1, photo.width),
        _percent(face.y2 - face.y1, photo.height),
    )


def _percent(value: float, total: int) -> float:
    return round(max(0.0, min(100.0, 100.0 * value / total)), 3) if total else 0.0


# The upload page: how the photos uploaded since the page was opened are doing.


@dataclass(frozen=True)
class UploadProgress:
    total: int = 0
    queued: int = 0
    processing: int = 0
    done: int = 0
    failed: int = 0
    faces_failed: int = 0  # done, but their faces could not be looked for
    faces: int = 0
    recognised: int = 0  # named by recognition, or by the user meanwhile
    groups: int = 0  # unnamed groups their unknown faces are in: new people to name
    unknown: int = 0  # unknown faces in no group (yet)
    last_finished_at: datetime | None = None

    @property
    def pending(self) -> int:
        return self.queued + self.processing

    @property
    def finished(self) -> int:
        return self.done + self.failed


def upload_progress(*, user, since: datetime) -> UploadProgress:
    """The photos the user uploaded since `since`, their faces and what is left to name."""
    photos = Photo.objects.for_user(user).filter(created_at__gte=since)
    statuses = dict(photos.values_list("status").annotate(n=Count("id")).order_by())
    if not statuses:
        return UploadProgress()
    last_finished_at = photos.exclude(finished_at=None).order_by("-finished_at").values_list("finished_at", flat=True)
    faces = Face.objects.for_user(user).filter(photo__in=photos).exclude(state=Face.State.REJECTED_AS_FACE)
    counts = faces.aggregate(
        total=Count("id"),
        recognised=Count("id", filter=Q(state__in=[Face.State.AUTO, Face.State.CONFIRMED])),
        ungrouped=Count("id", filter=Q(state=Face.State.UNKNOWN, group=None)),
    )
    groups = (
        FaceGroup.objects.for_user(user)
        .filter(dismissed=False, faces__in=faces.filter(state=Face.State.UNKNOWN))
        .distinct()
        .count()
    )
    return UploadProgress(
        total=sum(statuses.values()),
        queued=statuses.get(Photo.Status.QUEUED, 0),
        processing=statuses.get(Photo.Status.PROCESSING, 0),
        done=statuses.get(Photo.Status.DONE, 0),
        failed=statuses.get(Photo.Status.FAILED, 0),
        faces_failed=photos.filter(status=Photo.Status.DONE, faces_status=Photo.FacesStatus.FAILED).count(),
        faces=counts["total"],
        recognised=counts["recognised"],
        groups=groups,
        unknown=counts["ungrouped"],
        last_finished_at=last_finished_at.first(),
    )


def upload_finished(*, user, since: datetime, after: datetime) -> list[Photo]:
    """Photos uploaded since `since` that finished (done or failed) after `after`, each with
    `face_count`: the upload page updates their rows."""
    return list(
        Photo.objects.for_user(user)
        .filter(created_at__gte=since, finished_at__gte=after, status__in=[Photo.Status.DONE, Photo.Status.FAILED])
        .annotate(face_count=Count("faces", filter=~Q(faces__state=Face.State.REJECTED_AS_FACE)))
        .order_by("id")
    )
