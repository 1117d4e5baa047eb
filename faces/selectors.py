"""Owner-scoped reads of the people work, shaped for the pages that show them.

Every function takes the user and reaches rows only through `for_user`; ids that are not the
user's raise DoesNotExist (views turn that into 404), exactly like the services.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Window
from django.db.models.functions import Cast, RowNumber
from django.db.models.query import prefetch_related_objects

from faces import outliers
from faces.calibration import suggest_line
from faces.models import Face, FaceGroup, Person, RecognitionIndex
from faces.recognition_model import decode_vectors
from gallery.models import Photo
from gallery.selectors import PAGE_SIZE, TILE_FIELDS, PhotoPage, cached_keyset_page
from smartgallery.library_cache import MISSING, cached, slot

SHOWN_STATES = (Face.State.CONFIRMED, Face.State.AUTO)
# Faces of photos in the trash keep their labels (a restore brings them back as they were) but
# are on no page meanwhile: the lists and counts below leave them out.
LIVE = Q(photo__deleted_at__isnull=True)


# The columns a face tile draws: its crop (faces_extras.face_thumb), its box and its photo's
# preview, size and date (photo_context), and what the page asks about it. Reading only these
# instead of the ~60 columns of a face and its photo roughly halves the time the person page
# and the review grid spend reading rows (a dozen datetimes a tile were decoded for nothing).
# Anything else read from such a face is a query per tile, which the page query tests catch.
TILE_FACE_FIELDS = ("id", "owner_id", "photo_id", "person_id", "state", "similarity", "crop", "x1", "y1", "x2", "y2")
TILE_PHOTO_FIELDS = tuple(f"photo__{name}" for name in ("id", "owner_id", "preview", "width", "height", "taken_at"))
# A person as the pages that ask about them draw them: the name and the cover (a tile).
PERSON_CARD_FIELDS = ("id", "owner_id", "name", "deleted_at", "cover_face", "cover_face__id", "cover_face__crop")


def _live(user) -> Q:
    """LIVE without the join to the photos, for counts and lists that need no photo column:
    the faces whose photo is not one of the user's (few) photos in the trash. MariaDB
    materialises that subquery once, so the face indexes alone answer the query instead of a
    photo row being read for each face (docs/BENCHMARKS.md, Web). A user's faces are all on
    the user's photos, so this is the same set as LIVE."""
    return ~Q(photo_id__in=Photo.objects.in_trash_for_user(user).values("id"))


def person_get(*, user, person_id: int) -> Person:
    return Person.objects.for_user(user).get(pk=person_id)


def _person(user, person_id: int, person: Person | None) -> Person:
    """`person` when the caller already has it from person_get (or the same owner-scoped
    query: the person page reads it once for its three parts), else read."""
    if person is not None and person.pk == int(person_id) and person.owner_id == user.pk and person.deleted_at is None:
        return person
    return person_get(user=user, person_id=person_id)


# Latin letters that Unicode does not decompose into a base letter and an accent, so that
# removing the accents alone would not find "Ørsted" for "orsted" (nor "Łukasz" for "lukasz").
_UNDECOMPOSED = str.maketrans({"ø": "o", "đ": "d", "ħ": "h", "ł": "l", "ı": "i", "æ": "ae", "œ": "oe"})


def folded(text: str) -> str:
    """`text` without case and accents, for the name search: "Zoë" and "ZOE" are both "zoe"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_UNDECOMPOSED))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def by_name(pk: int, name: str) -> tuple[str, int]:
    """The sort key of a list of persons by name: case and accents ignored ("Änn" beside "ann"),
    then the id. In Python, not ORDER BY: SQLite's LOWER() folds only ASCII and MariaDB's
    collation folds accents too, so the embedded default and MariaDB sorted apart."""
    return folded(name), pk


def name_matches(name: str, query: str) -> bool:
    return folded(query.strip()) in folded(name)


PEOPLE_PAGE_SIZE = 60


@dataclass(frozen=True)
class PersonPage:
    persons: list[Person]  # this page, with face_count, photo_count, suggested_count and cover_face
    total: int  # in the whole list (after the search)
    next_offset: int | None  # None: this is the last page


@dataclass(frozen=True)
class PeopleLists:
    shown: PersonPage
    hidden: PersonPage  # no persons unless hidden_offset was given (its total always)
    names: list[tuple[int, str]]  # (id, name) of every person, searched or not, by name then id


def people_lists(
    *,
    user,
    order: str = "count",
    query: str = "",
    offset: int = 0,
    hidden_offset: int | None = None,
    limit: int = PEOPLE_PAGE_SIZE,
) -> PeopleLists:
    """The People page's lists a page at a time: the persons not hidden (and the hidden ones when
    hidden_offset is given), with their counts (faces and photos: confirmed + auto; suggested
    faces), `limit` from `offset`. order "count": most faces first, then name and id; "name":
    by name (`by_name`). `query`: only those whose name contains it, case and accents ignored
    (`name_matches`: matched here, not in SQL, where LIKE's folding depends on the database).

    The order by count and the accent-blind search need every person's name and face count:
    narrow rows (tuples: only the page's persons become Person objects) and the index-only
    aggregate; then only the page's cover faces are read: at most 3 queries, none while the
    library is unchanged (library_cache). Offsets: a person named or
    merged between two pages may shift the next one by a card, as on any offset page; ties end
    on the id, so the same data always gives the same pages."""
    rows = _person_rows(user)
    names = [(row[0], row[1]) for row in rows]
    if query.strip():
        rows = [row for row in rows if name_matches(row[1], query)]
    shown = [row for row in rows if not row[2]]
    hidden = [row for row in rows if row[2]]
    offset = max(offset, 0)
    hidden_start = max(hidden_offset, 0) if hidden_offset is not None else 0
    counts = _face_counts(user)
    if order != "name":
        shown.sort(key=lambda row: -counts.get(row[0], _NO_FACES)[0])  # stable: name, id within a count
        hidden.sort(key=lambda row: -counts.get(row[0], _NO_FACES)[0])
    shown_page = _person_page(user, shown, offset, limit, counts)
    hidden_page = (
        _person_page(user, hidden, hidden_start, limit, counts)
        if hidden_offset is not None
        else PersonPage([], len(hidden), None)
    )
    _with_cover_faces(user, shown_page.persons + hidden_page.persons)
    return PeopleLists(shown_page, hidden_page, names)


def _person_rows(user) -> list[tuple[int, str, bool, int | None]]:
    """(id, name, hidden, cover face id) of every person, by name (`by_name`): cached, as the
    accent-blind sort of hundreds of names costs more than reading them."""
    rows = Person.objects.for_user(user).values_list("id", "name", "hidden", "cover_face_id")
    return cached(user.pk, "person-rows", lambda: sorted(rows, key=lambda row: by_name(row[0], row[1])))


def person_page(persons: list, offset: int, limit: int) -> PersonPage:
    """`limit` persons (or rows of them) of a whole ordered list from `offset` (the owner's
    lists, a shared library's)."""
    end = offset + limit
    return PersonPage(persons[offset:end], len(persons), end if end < len(persons) else None)


_NO_FACES = (0, 0, 0)


def _person_page(user, rows: list[tuple], offset: int, limit: int, counts: dict) -> PersonPage:
    """person_page of the rows (id, name, hidden, cover_face_id), its rows made persons with
    their counts: from the rows already read rather than read again, as a card shows nothing
    else."""
    page = person_page(rows, offset, limit)
    persons = []
    for pid, name, hidden, cover_face_id in page.persons:
        person = Person(id=pid, owner_id=user.pk, name=name, hidden=hidden, cover_face_id=cover_face_id)
        person.face_count, person.photo_count, person.suggested_count = counts.get(pid, _NO_FACES)
        persons.append(person)
    return dataclasses.replace(page, persons=persons)


def _face_counts(user) -> dict[int, tuple[int, int, int]]:
    """(faces, photos, suggested faces) of every person with faces (faces and photos: confirmed
    + auto), cached until the library changes (smartgallery.library_cache): the order by count
    needs every person's, and the aggregate over every named face is the People page's costliest
    query (~10 ms at 30,000 faces). It reads the index face_owner_person_state_photo alone:
    every person's range in order, not an IN list of hundreds of ids, for which MariaDB reads
    the other index and sorts (15 -> 10 ms for 300 persons; docs/BENCHMARKS.md, Web)."""

    def count() -> dict[int, tuple[int, int, int]]:
        shown = Q(state__in=SHOWN_STATES)
        rows = (
            Face.objects.for_user(user)
            .filter(_live(user), person__isnull=False)
            .values("person_id")
            .annotate(
                faces=Count("id", filter=shown),
                photos=Count("photo_id", filter=shown, distinct=True),
                suggested=Count("id", filter=Q(state=Face.State.SUGGESTED)),
            )
            .order_by()
            .values_list("person_id", "faces", "photos", "suggested")
        )
        return {pid: (faces, photos, suggested) for pid, faces, photos, suggested in rows}

    return cached(user.pk, "face-counts", count)


def _ids_key(ids: Iterable[int]) -> str:
    """Ids as part of a cache key (library_cache.cached): short whatever their number."""
    return hashlib.blake2b(",".join(map(str, ids)).encode(), digest_size=12).hexdigest()


def _chosen_faces(
    user, name: str, ranked: Callable[[], QuerySet[Face]], read: Callable[[Any], QuerySet[Face]]
) -> list[Face]:
    """read(ids) of the faces a window chose (`ranked()`): the chosen ids are cached as `name`
    while the library is unchanged; on a miss the window is read within the same query as the
    faces (read of its ids as a subquery), so a miss costs no query more than before the cache."""
    place = slot(user.pk, name)
    chosen = place.get()
    if chosen is not MISSING:
        return list(read(chosen))
    faces = list(read(ranked().values("id")))
    place.keep([face.id for face in faces])
    return faces


def _with_cover_faces(user, persons: list[Person]) -> None:
    """Each person's cover face (or None) as a card draws it (its crop): every person's cover
    crop read in one query and cached."""
    if not any(person.cover_face_id for person in persons):
        for person in persons:
            person.cover_face = None
        return
    crops = cached(
        user.pk,
        "cover-crops",
        lambda: dict(
            Face.objects.for_user(user)
            .filter(pk__in=Person.objects.for_user(user).values("cover_face_id"))
            .values_list("id", "crop")
        ),
    )
    for person in persons:
        crop = crops.get(person.cover_face_id)
        person.cover_face = (
            None
            if crop is None
            else Face.from_db(DEFAULT_DB_ALIAS, COVER_FIELDS, (person.cover_face_id, user.pk, crop))
        )


# A cover face's columns, in the model's order (as Model.from_db takes them).
COVER_FIELDS = [f.attname for f in Face._meta.concrete_fields if f.attname in ("id", "owner_id", "crop")]


def person_names(*, user, query: str = "", keep: Iterable[int] = ()) -> list[tuple[int, str]]:
    """(id, name) of every person, by name: the name boxes' <datalist> and the pick-a-person lists.

    query: only the names that contain it, ignoring case and accents (as the People page), and the
    persons in `keep` whatever their name (those already picked: a search never unpicks one)."""
    return names_matching([(pid, name) for pid, name, _hidden, _cover in _person_rows(user)], query=query, keep=keep)


def person_names_in(persons: QuerySet[Person], *, query: str = "", keep: Iterable[int] = ()) -> list[tuple[int, str]]:
    """`person_names` on persons the caller scoped (a shared library's): one query."""
    names = sorted(persons.values_list("id", "name"), key=lambda row: by_name(*row))
    return names_matching(names, query=query, keep=keep)


def names_matching(names: list[tuple[int, str]], *, query: str, keep: Iterable[int]) -> list[tuple[int, str]]:
    if not query.strip():
        return names
    keep = set(keep)
    return [(pid, name) for pid, name in names if pid in keep or name_matches(name, query)]


def person_stats(*, user, person_id: int, person: Person | None = None) -> dict[str, int]:
    """face_count and photo_count (confirmed + auto) and suggested_count of one person."""
    person = _person(user, person_id, person)
    shown = Q(state__in=SHOWN_STATES)
    return cached(
        user.pk,
        f"person-stats:{person.pk}",
        lambda: (
            Face.objects.for_user(user)
            .filter(_live(user), person=person)
            .aggregate(
                face_count=Count("id", filter=shown),
                photo_count=Count("photo", filter=shown, distinct=True),
                suggested_count=Count("id", filter=Q(state=Face.State.SUGGESTED)),
            )
        ),
    )


@dataclass(frozen=True)
class PersonPhotoPage:
    tiles: list[tuple[Photo, Face | None]]  # each photo with the person's face in it
    next_cursor: str | None


def person_photos(
    *, user, person_id: int, cursor: str | None = None, limit: int = PAGE_SIZE, person: Person | None = None
) -> PersonPhotoPage:
    """The person's photos, newest first, keyset-paginated on (taken_at, id), each with the
    person's face in it (a confirmed one before an automatic one): 2 queries."""
    person = _person(user, person_id, person)
    has_face = Face.objects.filter(photo=OuterRef("pk"), person=person, state__in=SHOWN_STATES)
    # A tile shows the photo's date and links to it; the cursor is (taken_at, id).
    photos = Photo.objects.for_user(user).filter(Exists(has_face))
    page = cached_keyset_page(
        user.pk, f"person-photos:{person.pk}", photos, cursor=cursor, limit=limit, fields=("id", "owner_id", "taken_at")
    )
    faces = (
        Face.objects.for_user(user)
        .filter(person=person, state__in=SHOWN_STATES, photo_id__in=[p.id for p in page.photos])
        .only(*TILE_FACE_FIELDS)
        .order_by("photo_id", "-state", "id")
    )
    face_of: dict[int, Face] = {}
    for face in faces:
        face_of.setdefault(face.photo_id, face)
    return PersonPhotoPage([(photo, face_of.get(photo.id)) for photo in page.photos], page.next_cursor)


@dataclass(frozen=True)
class OutlierPage:
    faces: list[Face]  # the least like her other confirmed faces first, each with `.likeness`
    total: int  # her named faces that were compared
    references: int  # her confirmed faces they were compared with
    not_compared: int  # named faces without a face print of the model the others have
    next_offset: int | None


OUTLIER_STATES = (Face.State.CONFIRMED, Face.State.AUTO)


def person_outlier_ranking(*, user, person_id: int) -> tuple[list[int], dict[int, float | None], int, int]:
    """The person's named faces (confirmed and automatic, photos not in the trash), ranked by
    how little they look like her *other* confirmed faces (faces/outliers.py), lowest first:
    (face ids, face id -> score (None: nothing to compare with), references, not compared).

    Reads only this person's faces: 2 queries. Her faces are compared with the face prints of
    the model most of her confirmed faces have (the rest are counted in `not compared`:
    faces of another model cannot be compared); a confirmed face that the recognition index
    would leave out (not recognisable) is scored but is nobody's reference.
    """
    person = person_get(user=user, person_id=person_id)
    rows = list(
        Face.objects.for_user(user)
        .filter(LIVE, person=person, state__in=OUTLIER_STATES)
        .order_by("id")
        .values_list("id", "state", "recognisable", "model_id", "embedding")
    )
    models = Counter(m for _, state, _, m, e in rows if e is not None and state == Face.State.CONFIRMED)
    models = models or Counter(m for *_, m, e in rows if e is not None)
    if not models:
        return [], {}, 0, len(rows)
    # Most confirmed faces; on a tie the model of the newest of them (ids only grow).
    newest = {m: i for i, _, _, m, e in rows if e is not None}
    model_id = max(models, key=lambda m: (models[m], newest[m]))
    dims = Counter(len(e) for *_, m, e in rows if e is not None and m == model_id)
    dim_bytes = dims.most_common(1)[0][0]
    usable = [r for r in rows if r[4] is not None and r[3] == model_id and len(r[4]) == dim_bytes]
    ids = np.array([r[0] for r in usable], dtype=np.int64)
    references = np.array([r[1] == Face.State.CONFIRMED and r[2] for r in usable], dtype=bool)
    scores = outliers.leave_one_out_scores(decode_vectors([r[4] for r in usable], dim_bytes // 4), references)
    order = outliers.ranking(scores, ids)
    score_of = {int(ids[i]): None if np.isnan(scores[i]) else round(float(scores[i]), 4) for i in order}
    return [int(ids[i]) for i in order], score_of, int(references.sum()), len(rows) - len(usable)


def person_outliers(*, user, person_id: int, offset: int = 0, limit: int = 60) -> OutlierPage:
    """One page of `person_outlier_ranking`, the faces with their photos: 3 queries. Offset
    pages: the order is computed, so there is no key to page on, and a person's faces are
    few next to a library."""
    ranked, score_of, references, not_compared = person_outlier_ranking(user=user, person_id=person_id)
    offset = max(0, offset)
    wanted = ranked[offset : offset + limit]
    faces = (
        Face.objects.for_user(user).filter(pk__in=wanted).select_related("photo").defer("embedding", "landmarks")
        if wanted
        else Face.objects.none()
    )
    by_id = {face.id: face for face in faces}
    page = []
    for face_id in wanted:
        face = by_id.get(face_id)
        if face is not None:  # gone between the two reads
            face.likeness = score_of[face_id]
            page.append(face)
    next_offset = offset + limit if len(ranked) > offset + limit else None
    return OutlierPage(page, len(ranked), references, not_compared, next_offset)


@dataclass(frozen=True)
class ReviewItem:
    person: Person
    count: int
    faces: list[Face]


def _suggested(user) -> QuerySet[Face]:
    """The user's suggested faces that the review asks about: of a live photo, for one of the
    user's persons (not deleted or merged away)."""
    return Face.objects.for_user(user).filter(
        _live(user), state=Face.State.SUGGESTED, person__in=Person.objects.for_user(user).values("id")
    )


def review_counts(*, user) -> list[tuple[int, int]]:
    """(person id, suggested faces) of every person with a suggestion, the most first (one
    click there settles the most faces), then by id: one aggregate, no face loaded."""
    return cached(
        user.pk,
        "review-counts",
        lambda: list(_suggested(user).values_list("person_id").annotate(n=Count("id")).order_by("-n", "person_id")),
    )


def review_items(*, user, counts: list[tuple[int, int]], faces_per_person: int = 24) -> list[ReviewItem]:
    """The ReviewItem of each person of `counts` (from review_counts: a page of it), in its
    order: the person with their cover, the count, and their first `faces_per_person`
    suggestions, the most similar first (then by id). 2 queries, whatever the queue's size."""
    if not counts:
        return []
    ids = [pid for pid, _ in counts]
    persons = Person.objects.for_user(user).select_related("cover_face").only(*PERSON_CARD_FIELDS).in_bulk(ids)
    faces = defaultdict(list)

    def ranked() -> QuerySet[Face]:
        # Only the first faces_per_person of each person, chosen in the database (a window),
        # and without the embedding and landmarks: a big queue never loads every suggested
        # face. Ranked on narrow rows, then only the chosen faces read with their photos (as
        # the group samples in _with_samples_and_question).
        rank = Window(RowNumber(), partition_by=[F("person_id")], order_by=[F("similarity").desc(), F("id").asc()])
        return _suggested(user).filter(person_id__in=ids).annotate(rank=rank).filter(rank__lte=faces_per_person)

    suggested = _chosen_faces(
        user,
        f"review-faces:{faces_per_person}:{_ids_key(ids)}",
        ranked,
        lambda chosen: (
            Face.objects.filter(pk__in=chosen)
            .select_related("photo")
            .only(*TILE_FACE_FIELDS, *TILE_PHOTO_FIELDS)
            .order_by("person_id", F("similarity").desc(), "id")
        ),
    )
    for face in suggested:
        faces[face.person_id].append(face)
    return [ReviewItem(persons[pid], n, faces[pid]) for pid, n in counts if pid in persons]


def review_queue(*, user, faces_per_person: int = 24) -> list[ReviewItem]:
    """Suggested faces grouped by person, the person with the most suggestions first (one
    click there settles the most faces); within a person, the most similar first."""
    return review_items(user=user, counts=review_counts(user=user), faces_per_person=faces_per_person)


def review_face_at(*, user, person_id: int, index: int) -> Face | None:
    """The person's `index`-th suggestion in the review's order (the most similar first, then
    by id), with its photo and the person (and their cover): the one face the review card
    shows, read alone instead of with the whole queue. None when there is no such face."""
    faces = (
        _suggested(user)
        .filter(person_id=person_id)
        .select_related("photo", "person__cover_face")
        .only(*TILE_FACE_FIELDS, *TILE_PHOTO_FIELDS, *(f"person__{name}" for name in PERSON_CARD_FIELDS))
        .order_by(F("similarity").desc(), "id")
    )
    return next(iter(faces[index : index + 1]), None) if index >= 0 else None


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


@dataclass(frozen=True)
class MergeTargets:
    candidates: list[Person]  # the most alike first, each with `.similarity`
    others: list[tuple[int, str]]  # (id, name) of everyone else, by name


def merge_targets(*, user, person_id: int, limit: int = 8) -> MergeTargets:
    """Whom to offer as the person to merge `person_id` into (the merge page). Only people whose
    faces look alike enough for recognition to ask "Is this X?" (the pack's suggest line) are
    offered as alike; everyone else is in `others`, by name."""
    ranked = merge_candidates(user=user, person_id=person_id, limit=limit)
    model_id = _embeddings_model_id(user)
    line = suggest_line(model_id) if model_id else None
    ranked = [c for c in ranked if line is not None and c.similarity >= line]
    candidates = [c.other for c in ranked]
    prefetch_related_objects(candidates, "cover_face")
    for candidate, scored in zip(candidates, ranked, strict=True):
        candidate.similarity = scored.similarity
    shown = {c.id for c in candidates} | {int(person_id)}
    others = [(pid, name) for pid, name in person_names(user=user) if pid not in shown]
    return MergeTargets(candidates, others)


def _embeddings_model_id(user) -> str:
    """The model of the user's embeddings: the index's, else that of a confirmed face."""
    record = RecognitionIndex.objects.for_user(user).first()
    if record and record.model_id:
        return record.model_id
    faces = Face.objects.for_user(user).filter(state=Face.State.CONFIRMED, embedding__isnull=False)
    return faces.order_by("id").values_list("model_id", flat=True).first() or ""


def persons_for_photo_filter(
    *,
    user,
    person_ids: list[int],
    mode: str = "and",
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> PhotoPage:
    """Photos showing all (mode "and") or any ("or") of these persons, within the dates: one
    page after `cursor`, newest first."""
    photos = photos_showing(
        photos=Photo.objects.for_user(user),
        persons=Person.objects.for_user(user),
        # The owner too, not only the state: each EXISTS is then read from the covering index
        # (owner, person, state, photo) alone (AND of 3 persons: 4.9 -> 2.8 ms on 30,000 faces).
        faces=Face.objects.for_user(user).filter(state__in=SHOWN_STATES),
        person_ids=person_ids,
        mode=mode,
        date_from=date_from,
        date_to=date_to,
    )
    ids = ",".join(map(str, sorted({int(pid) for pid in person_ids})))
    name = f"photos-by-people:{mode}:{ids}:{date_from}:{date_to}"
    return cached_keyset_page(user.pk, name, photos, cursor=cursor, limit=limit, fields=TILE_FIELDS)


def photos_showing(
    *,
    photos: QuerySet[Photo],
    persons: QuerySet[Person],
    faces: QuerySet[Face],
    person_ids: list[int],
    mode: str,
    date_from: datetime.date | None,
    date_to: datetime.date | None,
) -> QuerySet[Photo]:
    """The "photos by people" filter on querysets the caller scoped (the owner's library, or a
    shared one): `photos` with a face of `faces` of all ("and") or any ("or") of the persons.
    A person id outside `persons` raises Person.DoesNotExist (a 404, like a foreign id)."""
    if mode not in ("and", "or"):
        raise ValueError("mode is 'and' or 'or'")
    wanted = {int(p) for p in person_ids}
    if persons.filter(pk__in=wanted).count() != len(wanted):
        raise Person.DoesNotExist("Person matching query does not exist.")
    shown = faces.filter(photo=OuterRef("pk"))
    if mode == "and":
        for pid in sorted(wanted):
            photos = photos.filter(Exists(shown.filter(person_id=pid)))
    elif wanted:
        photos = photos.filter(Exists(shown.filter(person_id__in=wanted)))
    if date_from:
        photos = photos.filter(taken_at__date__gte=date_from)
    if date_to:
        photos = photos.filter(taken_at__date__lte=date_to)
    return photos


def group_list(*, user) -> QuerySet[FaceGroup]:
    """Unnamed groups to offer, largest first (one action there names the most faces); a group
    with no unknown face left has nothing to offer.

    The size is counted per group by a subquery that the index face_group_state_photo answers
    alone (`_live`), not by joining every face and its photo to the groups and grouping the
    wide rows: 6-7 -> 2.3 ms for 40 groups of 2,500 faces (docs/BENCHMARKS.md, Web). NULL for
    a group without unknown faces."""
    unknown = (
        Face.objects.filter(_live(user), group=OuterRef("pk"), state=Face.State.UNKNOWN)
        .order_by()
        .values("group")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        FaceGroup.objects.for_user(user)
        .filter(dismissed=False)
        .annotate(size=Subquery(unknown, output_field=IntegerField()))
        .filter(size__gte=1)
        .order_by("-size", "id")
    )


# A group asks about one of the owner's people (set by the refresh): never about a deleted or
# merged-away person, nor (defence in depth) about anyone else's.
ASKED = Q(suggested_person__isnull=False, suggested_person__deleted_at__isnull=True)


def _with_samples_and_question(user, groups: list[FaceGroup], samples: int) -> list[FaceGroup]:
    """Give each group `.samples` (its `samples` biggest unknown faces, chosen for all groups in
    one query, a window, not one per group; none and no query with `samples` 0) and
    `.question` (the person it asks about, or None; loaded with the groups through
    select_related)."""
    if not groups:
        return groups
    for group in groups:
        asked = group.suggested_person if group.suggested_person_id else None
        live = asked is not None and asked.deleted_at is None and asked.owner_id == group.owner_id
        group.question = asked if live else None
    return with_group_samples(user=user, groups=groups, samples=samples)


def with_group_samples(*, user, groups: list[FaceGroup], samples: int) -> list[FaceGroup]:
    """Give each group `.samples`: its `samples` biggest unknown faces (1 query for all)."""
    if not groups or not samples:
        for group in groups:
            group.samples = []
        return groups
    ids = [g.id for g in groups]

    def ranked() -> QuerySet[Face]:
        # The window ranks narrow rows (id, group, size) from the indexes; only the chosen
        # faces are then read with their photos (3-5x faster than ranking whole rows joined to
        # their photos; docs/BENCHMARKS.md, Web).
        rank = Window(RowNumber(), partition_by=[F("group_id")], order_by=[F("size_px").desc(), F("id").asc()])
        return (
            Face.objects.for_user(user)
            .filter(_live(user), group_id__in=ids, state=Face.State.UNKNOWN)
            .annotate(rank=rank)
            .filter(rank__lte=samples)
        )

    faces = _chosen_faces(
        user,
        f"group-samples:{samples}:{_ids_key(ids)}",
        ranked,
        lambda chosen: (
            Face.objects.filter(pk__in=chosen)
            .select_related("photo")  # for the whole photo of a sample (photo context): no query more
            .only(*TILE_FACE_FIELDS, *TILE_PHOTO_FIELDS, "group_id")
            .order_by("group_id", "-size_px", "id")
        ),
    )
    by_group: dict[int, list[Face]] = {}
    for face in faces:
        by_group.setdefault(face.group_id, []).append(face)
    for group in groups:
        group.samples = by_group.get(group.id, [])
    return groups


def _with_person(groups: QuerySet[FaceGroup]) -> QuerySet[FaceGroup]:
    return groups.select_related("suggested_person__cover_face").defer(
        "vector_sum", "suggested_person__cover_face__embedding", "suggested_person__cover_face__landmarks"
    )


def group_list_with_samples(*, user, limit: int, samples: int, offset: int = 0) -> list[FaceGroup]:
    """The first `limit` groups of group_list, each with `.samples` and `.question` (the person
    a group that looks like someone asks about: "Are these 6 faces Anna?")."""
    groups = _listed_groups(
        user, f"group-list:{offset}:{limit}", lambda: group_list(user=user)[offset : offset + limit]
    )
    return _with_samples_and_question(user, groups, samples)


def _listed_groups(user, name: str, listed: Callable[[], QuerySet[FaceGroup]]) -> list[FaceGroup]:
    """The groups of `listed()` (a slice of group_list), each with its .size and the person it asks
    about, in one query: the list itself on a miss, then its (id, size) rows are cached as
    `name`; by primary key from those rows while the library is unchanged."""
    place = slot(user.pk, name)
    rows = place.get()
    if rows is MISSING:
        groups = list(_with_person(listed()))
        place.keep([(group.id, group.size) for group in groups])
        return groups
    by_id = _with_person(FaceGroup.objects.for_user(user)).in_bulk([pk for pk, _ in rows])
    groups = []
    for pk, size in rows:
        if pk in by_id:
            by_id[pk].size = size
            groups.append(by_id[pk])
    return groups


@dataclass(frozen=True)
class GroupQuestions:
    groups: list[FaceGroup]  # the largest first, each with .size, .samples and .question
    total: int


def group_questions(*, user, samples: int = 8, limit: int = 50) -> GroupQuestions:
    """The groups that ask "Are these N faces Anna?", the largest first (one answer there
    settles the most faces): the review queue asks them before the single faces. At most
    `limit` of them with their samples (`samples` 0: none, for a page that shows few of them
    and gives those theirs with with_group_samples), and how many there are in all."""

    def asked() -> QuerySet[FaceGroup]:
        return group_list(user=user).filter(ASKED, suggested_person__owner=user)

    groups = _listed_groups(user, f"group-questions:{limit}", lambda: asked()[:limit])
    total = len(groups) if len(groups) < limit else cached(user.pk, "group-questions-total", asked().count)
    return GroupQuestions(_with_samples_and_question(user, groups, samples), total)


def group_question_person(*, user, group_id: int) -> Person | None:
    """Whom the group asks about now (None when it asks nothing, e.g. answered meanwhile)."""
    group = FaceGroup.objects.for_user(user).get(pk=group_id)
    if group.suggested_person_id is None:
        return None
    return Person.objects.for_user(user).filter(pk=group.suggested_person_id).first()


def group_is_listed(*, user, group_id: int) -> bool:
    """Still offered on the People page (not dismissed, unknown faces left)."""
    return group_list(user=user).filter(pk=group_id).exists()


def group_faces(*, user, group_id: int) -> QuerySet[Face]:
    group = FaceGroup.objects.for_user(user).get(pk=group_id)
    return Face.objects.for_user(user).filter(LIVE, group=group, state=Face.State.UNKNOWN).select_related("photo")


@dataclass(frozen=True)
class GroupFacesPage:
    faces: list[Face]  # the biggest first
    total: int
    next_offset: int | None


def group_faces_page(*, user, group_id: int, offset: int = 0, limit: int = 120) -> GroupFacesPage:
    """One page of the group's unknown faces. Offset pages: a group is small next to a library,
    and its order (size) has no unique key to page on."""
    faces = group_faces(user=user, group_id=group_id).only(*TILE_FACE_FIELDS, *TILE_PHOTO_FIELDS)
    faces = faces.order_by("-size_px", "id")
    offset = max(0, offset)
    rows = list(faces[offset : offset + limit + 1])
    return GroupFacesPage(rows[:limit], faces.count(), offset + limit if len(rows) > limit else None)


# Unnamed faces: recognisable unknown faces in no group the People page offers ---------------

# A face's quality for a person's cover and for this list: bigger and more frontal is easier to
# recognise (the same measure as faces.services._refresh_cover). Kept as an integer (thousandths
# of a pixel) so the page cursor compares exactly, with no float round trip through the URL.
QUALITY = Cast(F("size_px") * F("frontalness") * 1000, IntegerField())
UNNAMED_PAGE_SIZE = 60


def _unnamed_faces(user) -> QuerySet[Face]:
    """Unknown, recognisable faces that no offered group holds: in no group at all, or in a
    dismissed one (which nobody is asked about any more). A face of a listed group is named
    with its group on the People page. Answered from the index face_owner_state_cover alone."""
    return Face.objects.for_user(user).filter(
        _live(user),
        Q(group__isnull=True) | Q(group__in=FaceGroup.objects.for_user(user).filter(dismissed=True).values("id")),
        state=Face.State.UNKNOWN,
        recognisable=True,
    )


def unnamed_face_count(*, user) -> int:
    return cached(user.pk, "unnamed-count", lambda: _unnamed_faces(user).count())


@dataclass(frozen=True)
class UnnamedFacesPage:
    faces: list[Face]  # the best quality first
    next_cursor: str | None  # "<quality>_<id>" of the last face shown; None on the last page


def _decode_face_cursor(cursor: str | None) -> tuple[int, int] | None:
    quality, _, pk = (cursor or "").partition("_")
    try:
        return int(quality), int(pk)
    except ValueError:
        return None  # missing or malformed: from the top


def canonical_face_cursor(cursor: str | None) -> str:
    """The unnamed faces' cursor as the pages write it ("" for none or one that does not parse)."""
    after = _decode_face_cursor(cursor)
    return f"{after[0]}_{after[1]}" if after is not None else ""


def unnamed_faces_page(*, user, cursor: str | None = None, limit: int = UNNAMED_PAGE_SIZE) -> UnnamedFacesPage:
    """One page of the unnamed faces, best quality first (then by id), keyset-paginated on
    (quality, id): a face named on an earlier page leaves the list without shifting the next
    page (as an offset would)."""
    ranked = _unnamed_faces(user).annotate(quality=QUALITY).order_by("-quality", "id")
    after = _decode_face_cursor(cursor)
    if after is not None:
        quality, pk = after
        ranked = ranked.filter(Q(quality__lt=quality) | Q(quality=quality, id__gt=pk))
    # Two reads: the page's ids and qualities in order, from the index alone (sorting a few
    # thousand narrow rows), then only those faces with their photos.
    page = cached(
        user.pk, f"unnamed-page:{after}:{limit}", lambda: list(ranked.values_list("id", "quality")[: limit + 1])
    )
    rows = (
        Face.objects.for_user(user).filter(pk__in=[pk for pk, _ in page[:limit]]).select_related("photo")
        if page
        else Face.objects.none()
    )
    by_id = {face.id: face for face in rows.only(*TILE_FACE_FIELDS, *TILE_PHOTO_FIELDS)}
    faces = []
    for pk, quality in page[:limit]:
        face = by_id.get(pk)
        if face is not None:  # gone between the two reads
            face.quality = quality
            faces.append(face)
    last = page[limit - 1] if len(page) > limit else None
    return UnnamedFacesPage(faces, f"{last[1]}_{last[0]}" if last else None)


# A person's own suggestions (the person page) -----------------------------------------------


@dataclass(frozen=True)
class PersonSuggestions:
    faces: list[Face]  # the most alike first
    total: int


def person_suggestions(
    *, user, person_id: int, limit: int = 24, person: Person | None = None, total: int | None = None
) -> PersonSuggestions:
    """The faces suggested for the person ("Is this Anna?"), the most alike first.

    total: how many there are, when the caller has just counted them (person_stats'
    suggested_count, the same faces): no count again, and no query at all for none."""
    person = _person(user, person_id, person)
    if total == 0:
        return PersonSuggestions([], 0)
    suggested = Face.objects.for_user(user).filter(_live(user), person=person, state=Face.State.SUGGESTED)
    faces = list(
        suggested.select_related("photo")
        .only(*TILE_FACE_FIELDS, *TILE_PHOTO_FIELDS)
        .order_by(F("similarity").desc(nulls_last=True), "id")[:limit]
    )
    if total is None:
        total = len(faces) if len(faces) < limit else suggested.count()
    return PersonSuggestions(faces, total)
