"""What recognition decides, as pure functions (no database): see docs/PEOPLE.md.

Per face, the k nearest reference faces vote per person (`person_candidates`). Per photo, the
faces are decided together so two faces never get one person (`decide_photo`): automatic when
the best person is close enough and leads the next one, else a suggestion, else unknown.

Over the whole library (`plan_library`), the faces left unnamed are grouped by average
linkage (faces/grouping.py), and grouping wins over weak single suggestions: a face in a
group is not asked about on its own, its group is asked about once when the group as a whole
looks like one person (`group_question`). So a re-match after a naming never pulls a clean
group apart into single weak questions, and a group is never asked about a person one of its
faces was rejected for (that face is simply left out when the answer is yes).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from faces.grouping import MIN_GROUP_SIZE, average_linkage
from faces.recognition_model import MatchPolicy

UNKNOWN = "unknown"
SUGGESTED = "suggested"
AUTO = "auto"


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


UNDECIDED = Decision(UNKNOWN, None, None, None)


# Automatically named faces are references too, under two guards (docs/PEOPLE.md, "Automatic
# names as references"): SECONDARY_VOTES of them must agree (a person's secondary score is
# the 2nd best of their similarities), so one wrong automatic name cannot pull its
# look-alikes after it; and they only lift a person the face already resembles through a
# confirmed face (direct score at least the suggest line), so chains stay anchored to what
# the user confirmed. Measured: faces/tests/test_matching.py (look-alike drift) and
# bench.recognition_cv.
SECONDARY_VOTES = 2


def person_candidates(
    similarities: np.ndarray, persons: np.ndarray, policy: MatchPolicy, secondary: np.ndarray | None = None
) -> list[Candidate]:
    """One face's neighbours voted per person, best first.

    persons: the person of each neighbour (-1: no vote); secondary: True where the neighbour
    is an automatically named face, not a confirmed one. A person's score is the mean of its
    best confirmed neighbours, or the SECONDARY_VOTES-th best automatic one, whichever is
    higher: automatic names add evidence but never outvote what the user confirmed alone.
    """
    if secondary is None:
        secondary = np.zeros(len(persons), dtype=bool)
    direct: dict[int, list[float]] = defaultdict(list)
    indirect: dict[int, list[float]] = defaultdict(list)
    for similarity, person, is_secondary in zip(
        similarities.tolist(), persons.tolist(), secondary.tolist(), strict=True
    ):
        if person >= 0:
            (indirect if is_secondary else direct)[person].append(similarity)
    scored = []
    for person in direct.keys() | indirect.keys():
        sims = sorted(direct.get(person, ()), reverse=True)
        score = float(np.mean(sims[: policy.top_per_person])) if sims else -1.0
        votes = sorted(indirect.get(person, ()), reverse=True)
        if len(votes) >= SECONDARY_VOTES and score >= policy.suggest:
            score = max(score, votes[SECONDARY_VOTES - 1])
        if score > -1.0:
            scored.append(Candidate(person, score))
    return sorted(scored, key=lambda c: (-c.score, c.person_id))


def decide_photo(
    candidates: Mapping[int, list[Candidate]],
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
        if candidate.score < policy.single_question:
            break
        chosen[face_id] = (rank, candidate)
        taken.add(candidate.person_id)
    decisions = {}
    for face_id, cs in candidates.items():
        if face_id not in chosen:
            decisions[face_id] = UNDECIDED
            continue
        rank, candidate = chosen[face_id]
        others = [c.score for c in cs if c.person_id != candidate.person_id]
        margin = candidate.score - max(max(others, default=0.0), 0.0)
        automatic = (
            rank == 0 and candidate.score >= policy.auto_assign and margin >= policy.margin and face_id not in no_auto
        )
        decisions[face_id] = Decision(
            AUTO if automatic else SUGGESTED, candidate.person_id, round(candidate.score, 4), round(margin, 4)
        )
    return decisions


def group_question(
    members: Sequence[int], candidates: Mapping[int, list[Candidate]], *, policy: MatchPolicy
) -> Candidate | None:
    """The person to ask a whole group about, or None.

    A person's group score is the MEDIAN over the group's faces of each face's score for that
    person (0 for a face without that person among its candidates, or that was rejected for
    them): so more than half of the faces must look like the person, and one or two strong
    look-alikes cannot make the group a question. Asked when it reaches policy.group_question.
    """
    persons = {c.person_id for face_id in members for c in candidates.get(face_id, ())}
    best: Candidate | None = None
    for person_id in sorted(persons):
        scores = [
            next((c.score for c in candidates.get(face_id, ()) if c.person_id == person_id), 0.0) for face_id in members
        ]
        median = float(np.median(scores))
        if median >= policy.group_question and (best is None or median > best.score):
            best = Candidate(person_id, round(median, 4))
    return best


@dataclass(frozen=True)
class FaceInput:
    """One face a job may decide: its candidates have rejected and deleted persons removed."""

    face_id: int
    photo_id: int
    candidates: list[Candidate]
    group_id: int | None = None  # the group it is in now (ids are kept where groups overlap)
    fixed_group: bool = False  # in a dismissed group (or set aside): never regrouped
    no_auto: bool = False


@dataclass
class PlannedGroup:
    group_id: int | None  # an existing group's id, or None for a new group
    face_ids: list[int]
    question: Candidate | None
    vector_sum: np.ndarray


@dataclass
class Plan:
    decisions: dict[int, Decision] = field(default_factory=dict)
    groups: list[PlannedGroup] = field(default_factory=list)
    group_of: dict[int, int | None] = field(default_factory=dict)  # face -> index into groups, or None

    def group_id_of(self, face_id: int) -> int | None:
        index = self.group_of.get(face_id)
        return None if index is None else self.groups[index].group_id


def plan_library(
    faces: Sequence[FaceInput],
    vectors: np.ndarray,
    *,
    policy: MatchPolicy,
    taken_by_photo: Mapping[int, set[int]],
) -> Plan:
    """Decide every face a job may change, group the ones left unnamed, ask about groups.

    vectors: one unit vector per face, same order. Faces in fixed (dismissed) groups are
    matched but not regrouped; their group_of stays None (the caller keeps their group).
    """
    plan = Plan()
    by_photo: dict[int, dict[int, list[Candidate]]] = defaultdict(dict)
    for face in faces:
        by_photo[face.photo_id][face.face_id] = face.candidates
    no_auto = {f.face_id for f in faces if f.no_auto}
    for photo_id, candidates in by_photo.items():
        plan.decisions.update(
            decide_photo(candidates, policy=policy, taken=taken_by_photo.get(photo_id, ()), no_auto=no_auto)
        )

    pool = [i for i, f in enumerate(faces) if not f.fixed_group and plan.decisions[f.face_id].state != AUTO]
    labels = average_linkage(vectors[pool], [faces[i].photo_id for i in pool], threshold=policy.group)
    clusters: dict[int, list[int]] = defaultdict(list)
    for row, label in zip(pool, labels.tolist(), strict=True):
        clusters[label].append(row)
    candidates_of = {f.face_id: f.candidates for f in faces}
    used_ids: set[int] = set()
    for rows in sorted(clusters.values(), key=lambda rs: (-len(rs), rs[0])):
        if len(rows) < MIN_GROUP_SIZE:
            continue
        face_ids = [faces[r].face_id for r in rows]
        plan.groups.append(
            PlannedGroup(
                group_id=_kept_group_id([faces[r].group_id for r in rows], used_ids),
                face_ids=face_ids,
                question=group_question(face_ids, candidates_of, policy=policy),
                vector_sum=vectors[rows].astype(np.float64).sum(axis=0),
            )
        )
        for face_id in face_ids:
            # In a group: no single question; the group is asked (or named) as a whole.
            plan.decisions[face_id] = UNDECIDED
            plan.group_of[face_id] = len(plan.groups) - 1
    return plan


def _kept_group_id(current: Sequence[int | None], used: set[int]) -> int | None:
    """The existing group most of these faces are in (not given to a bigger cluster already),
    so a group the user is looking at keeps its id and link while faces join or leave it."""
    counts: dict[int, int] = defaultdict(int)
    for group_id in current:
        if group_id is not None and group_id not in used:
            counts[group_id] += 1
    if not counts:
        return None
    chosen = min(counts, key=lambda g: (-counts[g], g))
    used.add(chosen)
    return chosen
