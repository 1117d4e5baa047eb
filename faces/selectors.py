"""Owner-scoped reads of the people work, shaped for the pages that show them.

Every function takes the user and reaches rows only through `for_user`; ids that are not the
user's raise DoesNotExist (views turn that into 404), exactly like the services.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

import faiss
import numpy as np
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Window
from django.db.models.functions import Lower, RowNumber

from faces.models import Face, FaceGroup, Person, RecognitionIndex
from faces.recognition_model import decode_vectors
from gallery.models import Photo

SHOWN_STATES = (Face.State.CONFIRMED, Face.State.AUTO)
PAGE_SIZE = 60


def person_get(*, user, person_id: int) -> Person:
    return Person.objects.for_user(user).get(pk=person_id)


def person_list(*, user, include_hidden: bool = False, order: str = "count") -> list[Person]:
    """Persons with face_count, photo_count (confirmed + auto) and suggested_count, in 2 queries.

    order "count": most faces first, then name and id; "name": case-insensitive name, then id.
    The counts come from one aggregate over the user's faces (index face_owner_person_state)
    instead of a join of every person with every face grouped by person: 10x faster at 30,000
    faces (docs/BENCHMARKS.md, Web)."""
    persons = Person.objects.for_user(user)
    if not include_hidden:
        persons = persons.filter(hidden=False)
    persons = persons.select_related("cover_face").defer("cover_face__embedding", "cover_face__landmarks")
    persons = list(persons.order_by(Lower("name"), "id") if order == "name" else persons.order_by("name", "id"))
    shown = Q(state__in=SHOWN_STATES)
    counts = {
        row["person_id"]: row
        for row in Face.objects.for_user(user)
        .filter(person_id__in=[p.id for p in persons])
        .values("person_id")
        .annotate(
            face_count=Count("id", filter=shown),
            photo_count=Count("photo_id", filter=shown, distinct=True),
            suggested_count=Count("id", filter=Q(state=Face.State.SUGGESTED)),
        )
        .order_by()
    }
    for person in persons:
        row = counts.get(person.id, {})
        person.face_count = row.get("face_count", 0)
        person.photo_count = row.get("photo_count", 0)
        person.suggested_count = row.get("suggested_count", 0)
    if order != "name":
        persons.sort(key=lambda p: -p.face_count)  # stable: name, id within a count
    return persons


@dataclass(frozen=True)
class PhotoPage:
    photos: list[Photo]
    next_cursor: tuple[datetime.datetime, int] | None


def person_photos(
    *, user, person_id: int, after: tuple[datetime.datetime, int] | None = None, limit: int = PAGE_SIZE
) -> PhotoPage:
    """The person's photos, newest first, keyset-paginated on (taken_at, id)."""
    person = person_get(user=user, person_id=person_id)
    has_face = Face.objects.filter(photo=OuterRef("pk"), person=person, state__in=SHOWN_STATES)
    photos = Photo.objects.for_user(user).filter(Exists(has_face)).order_by("-taken_at", "-id")
    if after is not None:
        taken_at, photo_id = after
        photos = photos.filter(Q(taken_at__lt=taken_at) | Q(taken_at=taken_at, id__lt=photo_id))
    page = list(photos[: limit + 1])
    next_cursor = (page[limit - 1].taken_at, page[limit - 1].id) if len(page) > limit else None
    return PhotoPage(page[:limit], next_cursor)


@dataclass(frozen=True)
class ReviewItem:
    person: Person
    count: int
    faces: list[Face]


def review_queue(*, user, faces_per_person: int = 24) -> list[ReviewItem]:
    """Suggested faces grouped by person, the person with the most suggestions first (one
    click there settles the most faces); within a person, the most similar first."""
    counts = (
        Face.objects.for_user(user)
        .filter(state=Face.State.SUGGESTED, person__deleted_at__isnull=True)
        .values("person_id")
        .annotate(n=Count("id"))
        .order_by("-n", "person_id")
    )
    counts = {row["person_id"]: row["n"] for row in counts}
    persons = Person.objects.for_user(user).in_bulk(list(counts))
    faces = defaultdict(list)
    # Only the first faces_per_person of each person, chosen in the database (a window), and
    # without the embedding and landmarks: a big queue no longer loads every suggested face.
    suggested = (
        Face.objects.for_user(user)
        .filter(state=Face.State.SUGGESTED, person_id__in=list(counts))
        .annotate(
            rank=Window(RowNumber(), partition_by=[F("person_id")], order_by=[F("similarity").desc(), F("id").asc()])
        )
        .filter(rank__lte=faces_per_person)
        .select_related("photo")
        .defer("embedding", "landmarks")
        .order_by("person_id", "rank")
    )
    for face in suggested:
        faces[face.person_id].append(face)
    return [ReviewItem(persons[pid], n, faces[pid]) for pid, n in counts.items() if pid in persons]


@dataclass(frozen=True)
class MergeCandidate:
    person: Person
    other: Person
    similarity: float


def merge_candidates(*, user, person_id: int | None = None, limit: int = 10) -> list[MergeCandidate]:
    """Pairs of the user's persons whose confirmed faces look most alike (maybe one human
    named twice), most similar first. Scored by the best cross-person face pair."""
    record = RecognitionIndex.objects.for_user(user).first()
    persons = Person.objects.for_user(user).in_bulk()
    if person_id is not None and int(person_id) not in persons:
        raise Person.DoesNotExist("Person matching query does not exist.")
    faces = Face.objects.for_user(user).filter(
        state=Face.State.CONFIRMED, person_id__in=list(persons), embedding__isnull=False
    )
    if record and record.model_id:
        faces = faces.filter(model_id=record.model_id)
    rows = list(faces.order_by("id").values_list("person_id", "embedding"))
    if not rows:
        return []
    dim = len(rows[0][1]) // 4
    rows = [r for r in rows if len(r[1]) == dim * 4]
    labels = np.array([r[0] for r in rows], dtype=np.int64)
    vectors = decode_vectors([r[1] for r in rows], dim)
    index = faiss.IndexFlatIP(dim)
    index.add(vectors)
    queries = vectors if person_id is None else vectors[labels == int(person_id)]
    query_labels = labels if person_id is None else labels[labels == int(person_id)]
    sims, ids = index.search(np.ascontiguousarray(queries), min(len(rows), 64))
    best: dict[tuple[int, int], float] = {}
    for row, owner in enumerate(query_labels.tolist()):
        for sim, j in zip(sims[row].tolist(), ids[row].tolist(), strict=True):
            if j < 0 or labels[j] == owner:
                continue
            key = (owner, int(labels[j])) if person_id is not None else tuple(sorted((owner, int(labels[j]))))
            best[key] = max(best.get(key, -1.0), sim)
    ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [MergeCandidate(persons[a], persons[b], round(s, 4)) for (a, b), s in ranked]


def persons_for_photo_filter(
    *,
    user,
    person_ids: list[int],
    mode: str = "and",
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> QuerySet[Photo]:
    """Photos showing all (mode "and") or any ("or") of these persons, within the dates."""
    if mode not in ("and", "or"):
        raise ValueError("mode is 'and' or 'or'")
    wanted = {int(p) for p in person_ids}
    if Person.objects.for_user(user).filter(pk__in=wanted).count() != len(wanted):
        raise Person.DoesNotExist("Person matching query does not exist.")
    photos = Photo.objects.for_user(user)
    shown = Face.objects.filter(photo=OuterRef("pk"), state__in=SHOWN_STATES)
    if mode == "and":
        for pid in sorted(wanted):
            photos = photos.filter(Exists(shown.filter(person_id=pid)))
    elif wanted:
        photos = photos.filter(Exists(shown.filter(person_id__in=wanted)))
    if date_from:
        photos = photos.filter(taken_at__date__gte=date_from)
    if date_to:
        photos = photos.filter(taken_at__date__lte=date_to)
    return photos.order_by("-taken_at", "-id")


def group_list(*, user) -> QuerySet[FaceGroup]:
    """Unnamed groups to offer, largest first (one action there names the most faces); a group
    with no unknown face left has nothing to offer."""
    return (
        FaceGroup.objects.for_user(user)
        .filter(dismissed=False)
        .annotate(size=Count("faces", filter=Q(faces__state=Face.State.UNKNOWN)))
        .filter(size__gte=1)
        .order_by("-size", "id")
    )


def group_faces(*, user, group_id: int) -> QuerySet[Face]:
    group = FaceGroup.objects.for_user(user).get(pk=group_id)
    return Face.objects.for_user(user).filter(group=group, state=Face.State.UNKNOWN).select_related("photo")
