"""Recognition: match faces against the owner's named people (see docs/PEOPLE.md).

The database is the source of truth. Each user has a reference index of their confirmed
faces (faces/index_cache.py), rebuilt from the database whenever it is missing, stale or
corrupt. A face is matched by a k-nearest-neighbour vote per person, with the calibrated thresholds
of the face pack and a margin between the best and the second-best person:

    best person's score >= auto_assign, lead >= margin  -> auto (person assigned)
    best person's score >= suggest                      -> suggested ("Is this Anna?")
    otherwise                                           -> unknown

Jobs here only ever change faces in JOB_STATES (unknown, suggested, auto), under a row lock,
never a confirmed or rejected-as-face one; "not this person" rows exclude that person for that
face forever; two faces of one photo never get the same person.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.utils import timezone

from faces import index as face_index
from faces.index_cache import get_index
from faces.models import Face, FaceRejection, Person, RecognitionIndex
from faces.recognition_model import MatchPolicy, RecognitionModel, current_model, decode_vectors
from gallery.models import Photo

logger = logging.getLogger(__name__)

JOB_STATES = (Face.State.UNKNOWN, Face.State.SUGGESTED, Face.State.AUTO)
# Faces matched per transaction in a library-wide re-match: keeps row locks short.
REMATCH_CHUNK_PHOTOS = 200


# Matching ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    person_id: int
    score: float


@dataclass(frozen=True)
class Decision:
    state: str
    person_id: int | None
    similarity: float | None
    margin: float | None


def person_candidates(similarities: np.ndarray, persons: np.ndarray, policy: MatchPolicy) -> list[Candidate]:
    """One face's neighbours voted per person, best first."""
    by_person: dict[int, list[float]] = defaultdict(list)
    for similarity, person in zip(similarities.tolist(), persons.tolist(), strict=True):
        if person >= 0:
            by_person[person].append(similarity)
    scored = [
        Candidate(person, float(np.mean(sorted(sims, reverse=True)[: policy.top_per_person])))
        for person, sims in by_person.items()
    ]
    return sorted(scored, key=lambda c: (-c.score, c.person_id))


def decide_photo(
    candidates: dict[int, list[Candidate]],
    *,
    policy: MatchPolicy,
    taken: Iterable[int] = (),
    no_auto: Iterable[int] = (),
) -> dict[int, Decision]:
    """Decide the faces of ONE photo together, so no two get the same person.

    candidates: face id -> its candidates (rejected and deleted persons already removed).
    taken: persons already on faces of the photo that are not being decided (confirmed ones).
    no_auto: faces that may at most be suggested.
    Greedy by score over all (face, person) pairs: the strongest claim on a person wins it; a
    face whose best person went elsewhere takes its next candidate, but only as a suggestion
    (it looked more like someone else, so naming it automatically would not be precision first).
    """
    taken = set(taken)
    no_auto = set(no_auto)
    pairs = sorted(
        ((c.score, face_id, rank, c) for face_id, cs in candidates.items() for rank, c in enumerate(cs)),
        key=lambda p: (-p[0], p[1], p[2]),
    )
    chosen: dict[int, tuple[int, Candidate]] = {}
    for _, face_id, rank, candidate in pairs:
        if face_id in chosen or candidate.person_id in taken:
            continue
        if candidate.score < policy.suggest:
            break
        chosen[face_id] = (rank, candidate)
        taken.add(candidate.person_id)
    decisions = {}
    for face_id, cs in candidates.items():
        if face_id not in chosen:
            decisions[face_id] = Decision(Face.State.UNKNOWN, None, None, None)
            continue
        rank, candidate = chosen[face_id]
        others = [c.score for c in cs if c.person_id != candidate.person_id]
        margin = candidate.score - max(max(others, default=0.0), 0.0)
        automatic = (
            rank == 0 and candidate.score >= policy.auto_assign and margin >= policy.margin and face_id not in no_auto
        )
        decisions[face_id] = Decision(
            Face.State.AUTO if automatic else Face.State.SUGGESTED,
            candidate.person_id,
            round(candidate.score, 4),
            round(margin, 4),
        )
    return decisions


def _match_photos(
    owner_id: int, photo_ids: Sequence[int], built: face_index.FaceIndex, model: RecognitionModel
) -> Counter:
    """Re-decide the job-owned faces of these photos under row locks; returns state counts."""
    counts: Counter = Counter()
    now = timezone.now()
    with transaction.atomic():
        faces = list(
            Face.objects.select_for_update()
            .filter(owner_id=owner_id, photo_id__in=list(photo_ids))
            .order_by("id")
            .only(
                "id",
                "photo_id",
                "state",
                "person_id",
                "similarity",
                "margin",
                "group_id",
                "recognisable",
                "embedding",
                "model_id",
            )
        )
        # A newer index recorded since ours was built (another worker's rebuild) re-matches
        # these faces with fresher labels, or already did: our older decisions must not
        # overwrite its. Read after the face locks, so a newer rematch still to come waits
        # for this transaction and writes after it. Not a locking read: label services
        # update this row while holding face locks.
        current = RecognitionIndex.objects.filter(owner_id=owner_id).values_list("built_version", flat=True).first()
        if current is not None and built.version < current:
            logger.info("Skipped matching with index v%s of user %s: v%s is current", built.version, owner_id, current)
            return counts
        matchable = [
            f
            for f in faces
            if f.state in JOB_STATES
            and f.recognisable
            and f.embedding is not None
            and f.model_id == model.model_id
            and len(f.embedding) == model.dim * 4
        ]
        if not matchable:
            return counts
        sims, _, persons = built.search(
            decode_vectors([f.embedding for f in matchable], model.dim), model.policy.neighbours
        )
        rejections = defaultdict(set)
        for face_id, person_id in FaceRejection.objects.filter(
            owner_id=owner_id, face_id__in=[f.id for f in matchable]
        ).values_list("face_id", "person_id"):
            rejections[face_id].add(person_id)
        candidate_persons = {int(p) for p in np.unique(persons) if p >= 0}
        live = set(
            Person.objects.filter(owner_id=owner_id, id__in=candidate_persons, deleted_at__isnull=True).values_list(
                "id", flat=True
            )
        )
        rejected_deleted = set(
            FaceRejection.objects.filter(
                owner_id=owner_id, face_id__in=[f.id for f in matchable], person__deleted_at__isnull=False
            ).values_list("face_id", flat=True)
        )
        by_photo: dict[int, dict[int, list[Candidate]]] = defaultdict(dict)
        for row, face in enumerate(matchable):
            by_photo[face.photo_id][face.id] = [
                c
                for c in person_candidates(sims[row], persons[row], model.policy)
                if c.person_id in live and c.person_id not in rejections[face.id]
            ]
        matchable_ids = {f.id for f in matchable}
        taken_by_photo = defaultdict(set)
        for face in faces:
            if face.id not in matchable_ids and face.person_id and face.state != Face.State.REJECTED_AS_FACE:
                taken_by_photo[face.photo_id].add(face.person_id)
        decisions: dict[int, Decision] = {}
        for photo_id, candidates in by_photo.items():
            decisions.update(
                decide_photo(candidates, policy=model.policy, taken=taken_by_photo[photo_id], no_auto=rejected_deleted)
            )
        changed = []
        for face in matchable:
            decision = decisions[face.id]
            counts[decision.state] += 1
            if (face.state, face.person_id, face.similarity, face.margin) == (
                decision.state,
                decision.person_id,
                decision.similarity,
                decision.margin,
            ):
                continue
            if (face.state, face.person_id) != (decision.state, decision.person_id):
                face.changed_at = now
                face.changed_by = None
            face.state, face.person_id = decision.state, decision.person_id
            face.similarity, face.margin = decision.similarity, decision.margin
            if decision.state != Face.State.UNKNOWN:
                # Unnamed groups hold unknown faces only.
                face.group_id = None
            changed.append(face)
        Face.objects.bulk_update(
            changed, ["state", "person", "similarity", "margin", "group", "changed_at", "changed_by"], batch_size=500
        )
    counts["changed"] = len(changed)
    return counts


def recognise_photo(*, photo: Photo) -> Counter:
    """Match the photo's faces against the owner's people and update their state.

    Called by the photo pipeline right after it stored the faces; idempotent. The caller
    schedules the regrouping that lets new unknown faces join the unnamed groups.
    """
    model = current_model()
    built = get_index(photo.owner_id, model)
    return _match_photos(photo.owner_id, [photo.id], built, model)


def rematch_user(owner_id: int, model: RecognitionModel | None = None) -> Counter:
    """Re-match every unknown, suggested and auto face of the owner (never confirmed ones)."""
    model = model or current_model()
    built = get_index(owner_id, model)
    photo_ids = list(
        Face.objects.filter(owner_id=owner_id, state__in=JOB_STATES, recognisable=True, model_id=model.model_id)
        .order_by("photo_id")
        .values_list("photo_id", flat=True)
        .distinct()
    )
    counts: Counter = Counter()
    for start in range(0, len(photo_ids), REMATCH_CHUNK_PHOTOS):
        counts += _match_photos(owner_id, photo_ids[start : start + REMATCH_CHUNK_PHOTOS], built, model)
    return counts


def index_rebuild(owner_id: int, model: RecognitionModel | None = None) -> Counter:
    """What the debounced index_rebuild task does: bring the index up to date, re-match."""
    model = model or current_model()
    get_index(owner_id, model)
    return rematch_user(owner_id, model)
