"""Recognition jobs: match faces against the owner's named people, group the rest (see
docs/PEOPLE.md). What is decided is pure (faces/matching.py); this module reads the library,
asks the index and writes the decisions.

The database is the source of truth. Each user has a reference index of their confirmed
faces (faces/index_cache.py), rebuilt from the database whenever it is missing, stale or
corrupt. Two jobs write here:

- `recognise_photo`, right after a photo's faces are stored: its faces are matched, and a face
  left unnamed joins the unnamed group it looks like on average (from the group's vector sum,
  without loading the group), so a new photo costs the same in a big library;
- `people_refresh`, debounced after every label change and after photos: the whole library is
  re-matched and the unnamed faces regrouped in one pass (`matching.plan_library`), so no face
  is lost after a rejection, an unassign, a delete or a merge, and groups get their questions.

Jobs only ever change faces in JOB_STATES (unknown, suggested, auto), never a confirmed or
rejected-as-face one; "not this person" rows exclude that person for that face forever; two
faces of one photo never get the same person. `people_refresh` reads without locks (it can
take seconds in a big library) and then writes under row locks only the faces still as it
read them: a face the user changed meanwhile keeps the user's answer.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.utils import timezone

from faces import index as face_index
from faces import index_cache, matching
from faces.grouping import join_scores
from faces.models import Face, FaceGroup, FaceRejection, Person, RecognitionIndex
from faces.recognition_model import RecognitionModel, current_model, decode_vectors
from gallery.models import Photo
from smartgallery.db import run_with_retry

logger = logging.getLogger(__name__)

JOB_STATES = (Face.State.UNKNOWN, Face.State.SUGGESTED, Face.State.AUTO)
FACE_FIELDS = ("state", "person", "similarity", "margin", "group", "changed_at", "changed_by")


def _candidates(
    owner_id: int, faces: Sequence[Face], built: face_index.FaceIndex, model: RecognitionModel
) -> tuple[dict[int, list[matching.Candidate]], set[int]]:
    """Each face's candidates (rejected and deleted persons removed), and the faces that were
    rejected for a since deleted person (they may at most be suggested)."""
    if not faces:
        return {}, set()
    sims, neighbours, persons = built.search(
        decode_vectors([f.embedding for f in faces], model.dim), model.policy.neighbours
    )
    persons, secondary = _votes(owner_id, [f.id for f in faces], neighbours, persons)
    face_ids = [f.id for f in faces]
    rejections: dict[int, set[int]] = defaultdict(set)
    no_auto = set()
    for face_id, person_id, deleted in FaceRejection.objects.filter(
        owner_id=owner_id, face_id__in=face_ids
    ).values_list("face_id", "person_id", "person__deleted_at"):
        rejections[face_id].add(person_id)
        if deleted is not None:
            no_auto.add(face_id)
    live = set(
        Person.objects.filter(
            owner_id=owner_id, id__in={int(p) for p in np.unique(persons) if p >= 0}, deleted_at__isnull=True
        ).values_list("id", flat=True)
    )
    return {
        face.id: [
            c
            for c in matching.person_candidates(sims[row], persons[row], model.policy, secondary[row])
            if c.person_id in live and c.person_id not in rejections[face.id]
        ]
        for row, face in enumerate(faces)
    }, no_auto


def _votes(
    owner_id: int, face_ids: Sequence[int], neighbours: np.ndarray, persons: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Which neighbours may vote, and which of them are automatic names (secondary).

    The index holds confirmed and automatically named faces as they were when it was built;
    a neighbour votes only if it still has that person now (confirmed: a direct vote; auto: a
    secondary one), and never for itself (an automatic face is in the index: its own vote
    would keep it named forever)."""
    ids = {int(i) for i in np.unique(neighbours) if i >= 0}
    now = {
        face_id: (person_id, state)
        for face_id, person_id, state in Face.objects.filter(owner_id=owner_id, id__in=ids).values_list(
            "id", "person_id", "state"
        )
    }
    votes = np.full(persons.shape, -1, dtype=np.int64)
    secondary = np.zeros(persons.shape, dtype=bool)
    for row, face_id in enumerate(face_ids):
        for col, (neighbour, person) in enumerate(zip(neighbours[row].tolist(), persons[row].tolist(), strict=True)):
            current = now.get(neighbour)
            if neighbour == face_id or current is None or current[0] != person:
                continue
            if current[1] == Face.State.CONFIRMED:
                votes[row, col] = person
            elif current[1] == Face.State.AUTO:
                votes[row, col], secondary[row, col] = person, True
    return votes, secondary


def _index_is_current(owner_id: int, built: face_index.FaceIndex) -> bool:
    """False when a newer index was recorded since ours was built (another worker's rebuild):
    its job re-decides these faces with fresher labels, ours must not overwrite them. Read
    after the face locks, so a newer job still to come waits for ours and writes after it."""
    current = RecognitionIndex.objects.filter(owner_id=owner_id).values_list("built_version", flat=True).first()
    if current is not None and built.version < current:
        logger.info("Skipped matching with index v%s of user %s: v%s is current", built.version, owner_id, current)
        return False
    return True


def _apply(face: Face, decision: matching.Decision, group_id: int | None, now) -> bool:
    """Put a decision on a face; True if anything changed."""
    if (face.state, face.person_id, face.similarity, face.margin, face.group_id) == (
        decision.state,
        decision.person_id,
        decision.similarity,
        decision.margin,
        group_id,
    ):
        return False
    if (face.state, face.person_id) != (decision.state, decision.person_id):
        face.changed_at = now
        face.changed_by = None
    face.state, face.person_id = decision.state, decision.person_id
    face.similarity, face.margin, face.group_id = decision.similarity, decision.margin, group_id
    return True


def _matchable(faces: Sequence[Face], model: RecognitionModel) -> list[Face]:
    return [f for f in faces if f.state in JOB_STATES and f.recognisable and model.fits(f.model_id, f.embedding)]


# One photo ----------------------------------------------------------------------------------


def recognise_photo(*, photo: Photo) -> Counter:
    """Match the photo's faces against the owner's people; an unnamed face joins the unnamed
    group it looks like. Called by the photo pipeline right after it stored the faces;
    idempotent. The caller schedules the debounced `people_refresh`."""
    model = current_model()
    built = index_cache.get_index(photo.owner_id, model)
    counts: Counter = Counter()
    now = timezone.now()
    with transaction.atomic():
        faces = list(Face.objects.select_for_update().filter(owner_id=photo.owner_id, photo=photo).order_by("id"))
        if not _index_is_current(photo.owner_id, built):
            return counts
        matchable = _matchable(faces, model)
        if not matchable:
            return counts
        candidates, no_auto = _candidates(photo.owner_id, matchable, built, model)
        ids = {f.id for f in matchable}
        taken = {
            f.person_id for f in faces if f.id not in ids and f.person_id and f.state != Face.State.REJECTED_AS_FACE
        }
        decisions = matching.decide_photo(candidates, policy=model.policy, taken=taken, no_auto=no_auto)
        joins = _joins(photo.owner_id, [f for f in matchable if decisions[f.id].state != matching.AUTO], model)
        changed = []
        for face in matchable:
            decision, group_id = decisions[face.id], face.group_id
            if face.id in joins:
                decision, group_id = matching.UNDECIDED, joins[face.id]
            elif decision.state != matching.UNKNOWN:
                group_id = None  # unnamed groups hold unknown faces only
            counts[decision.state] += 1
            if _apply(face, decision, group_id, now):
                changed.append(face)
        Face.objects.bulk_update(changed, FACE_FIELDS, batch_size=500)
    counts["changed"] = len(changed)
    counts["joined"] = len(joins)
    return counts


def _joins(owner_id: int, faces: Sequence[Face], model: RecognitionModel) -> dict[int, int]:
    """Face id -> the unnamed group it joins: the group whose faces it looks like most on
    average, at least policy.group, that holds no face of the same photo. The groups' sums
    are updated under a lock on the group row."""
    faces = [f for f in faces if f.group_id is None]
    if not faces:
        return {}
    groups = list(
        FaceGroup.objects.filter(owner_id=owner_id, dismissed=False, model_id=model.model_id, vector_count__gt=0)
        .order_by("id")
        .values_list("id", "vector_sum", "vector_count")
    )
    if not groups:
        return {}
    group_ids = [g[0] for g in groups]
    sums = decode_vectors([g[1] for g in groups], model.dim)
    counts = np.array([g[2] for g in groups], dtype=np.float32)
    photo_groups = set(
        Face.objects.filter(photo_id=faces[0].photo_id, group__isnull=False).values_list("group_id", flat=True)
    )
    joins: dict[int, int] = {}
    for face in faces:
        vector = decode_vectors([face.embedding], model.dim)[0]
        scores = join_scores(vector, sums, counts)
        for row in np.argsort(-scores, kind="stable"):
            if scores[row] < model.policy.group:
                break
            if group_ids[row] in photo_groups:
                continue  # one person appears once per photo
            joins[face.id] = group_ids[row]
            photo_groups.add(group_ids[row])
            break
    for face_id, group_id in joins.items():
        group = FaceGroup.objects.select_for_update().get(pk=group_id)
        vector = decode_vectors([next(f.embedding for f in faces if f.id == face_id)], model.dim)[0]
        group_sum = decode_vectors([group.vector_sum], model.dim)[0] + vector
        FaceGroup.objects.filter(pk=group_id).update(
            vector_sum=group_sum.astype(np.float32).tobytes(), vector_count=group.vector_count + 1
        )
    return joins


# The whole library --------------------------------------------------------------------------


@dataclass
class _Library:
    faces: list[Face]
    read: dict[int, tuple]  # face id -> (state, person, group, changed_at) as read
    dismissed: set[int]
    plan: matching.Plan


def _read_library(owner_id: int, built: face_index.FaceIndex, model: RecognitionModel) -> _Library:
    dismissed = set(FaceGroup.objects.filter(owner_id=owner_id, dismissed=True).values_list("id", flat=True))
    faces = _matchable(
        list(
            Face.objects.filter(owner_id=owner_id, state__in=JOB_STATES, recognisable=True, model_id=model.model_id)
            .exclude(embedding__isnull=True)
            .order_by("id")
            .only(
                "id",
                "photo_id",
                "state",
                "person_id",
                "group_id",
                "changed_at",
                "embedding",
                "model_id",
                "recognisable",
            )
        ),
        model,
    )
    candidates, no_auto = _candidates(owner_id, faces, built, model)
    ids = {f.id for f in faces}
    taken_by_photo: dict[int, set[int]] = defaultdict(set)
    for face_id, photo_id, person_id in (
        Face.objects.filter(owner_id=owner_id, person__isnull=False)
        .exclude(state=Face.State.REJECTED_AS_FACE)
        .values_list("id", "photo_id", "person_id")
    ):
        if face_id not in ids:
            taken_by_photo[photo_id].add(person_id)
    inputs = [
        matching.FaceInput(
            face_id=f.id,
            photo_id=f.photo_id,
            candidates=candidates[f.id],
            group_id=f.group_id,
            fixed_group=f.group_id in dismissed,
            no_auto=f.id in no_auto,
        )
        for f in faces
    ]
    vectors = decode_vectors([f.embedding for f in faces], model.dim)
    plan = matching.plan_library(inputs, vectors, policy=model.policy, taken_by_photo=taken_by_photo)
    read = {f.id: (f.state, f.person_id, f.group_id, f.changed_at) for f in faces}
    return _Library(faces, read, dismissed, plan)


# Automatic names are references too (secondary votes): when a pass changes which faces are
# named automatically, the index is rebuilt and the library matched once more, so what one
# naming implies shows at once. Bounded: each pass adds one link to a chain that starts at a
# confirmed face, and a link needs two automatic faces to agree (matching.SECONDARY_VOTES).
REFRESH_PASSES = 2


def people_refresh(owner_id: int, model: RecognitionModel | None = None) -> Counter:
    """Bring the owner's index up to date, re-match every face a job may change, regroup the
    unnamed ones and ask about groups. What the debounced job runs; idempotent."""
    model = model or current_model()
    counts: Counter = Counter()
    for _ in range(REFRESH_PASSES):
        # Two workers' refreshes and the user's corrections lock the same faces and groups: a
        # deadlock victim's pass reads the library again and runs again (not a lost refresh).
        counts = run_with_retry(functools.partial(_refresh_pass, owner_id, model))
        if not counts["auto_changed"]:
            break
        index_cache.labels_changed(owner_id)  # the index holds automatic names too
    logger.info("Refreshed the people of user %s: %s", owner_id, dict(counts))
    return counts


def _refresh_pass(owner_id: int, model: RecognitionModel) -> Counter:
    built = index_cache.get_index(owner_id, model)
    library = _read_library(owner_id, built, model)
    counts: Counter = Counter()
    now = timezone.now()
    with transaction.atomic():
        locked = {
            f.id: f
            for f in Face.objects.select_for_update()
            .filter(owner_id=owner_id, id__in=[f.id for f in library.faces])
            .order_by("id")
        }
        if not _index_is_current(owner_id, built):
            return counts
        # Planned groups become rows: an existing group keeps its id, a new one is created.
        group_ids = []
        for planned in library.plan.groups:
            fields = {
                "suggested_person_id": planned.question.person_id if planned.question else None,
                "suggested_score": planned.question.score if planned.question else None,
                "vector_sum": planned.vector_sum.astype(np.float32).tobytes(),
                "vector_count": len(planned.face_ids),
                "model_id": model.model_id,
            }
            if planned.group_id and FaceGroup.objects.filter(pk=planned.group_id, owner_id=owner_id).update(**fields):
                group_ids.append(planned.group_id)
            else:
                group_ids.append(FaceGroup.objects.create(owner_id=owner_id, **fields).id)
        changed = []
        for face in library.faces:
            current = locked.get(face.id)
            if (
                current is None
                or (current.state, current.person_id, current.group_id, current.changed_at) != library.read[face.id]
            ):
                counts["skipped"] += 1  # changed since we read it (a user's answer wins)
                continue
            decision = library.plan.decisions[face.id]
            index = library.plan.group_of.get(face.id)
            if face.group_id in library.dismissed:
                group_id = face.group_id  # a dismissed group keeps its faces whatever they become
            else:
                group_id = group_ids[index] if index is not None else None
            counts[decision.state] += 1
            was_auto = current.state == Face.State.AUTO
            if _apply(current, decision, group_id, now):
                changed.append(current)
                counts["auto_changed"] += was_auto != (current.state == Face.State.AUTO) or (
                    was_auto and current.person_id != library.read[face.id][1]
                )
        Face.objects.bulk_update(changed, FACE_FIELDS, batch_size=500)
        # Groups left without faces (all named, or regrouped elsewhere) go.
        emptied = FaceGroup.objects.filter(owner_id=owner_id, dismissed=False, faces__isnull=True)
        FaceGroup.objects.filter(id__in=list(emptied.values_list("id", flat=True))).delete()
    counts["changed"] = len(changed)
    counts["groups"] = len(library.plan.groups)
    counts["asked"] = sum(1 for g in library.plan.groups if g.question)
    return counts
