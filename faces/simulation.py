"""The simulated user of `manage.py evaluate_recognition --simulate-user` (pure: no Django).

A user who knows who every scored face is names them all, starting from a library where
nobody is named, with the actions the pages offer. Each action costs what it costs a user:

| kind | service | cost |
|---|---|---|
| group_question_confirm | "Are these faces X?" yes, for a whole group | 1 |
| person_confirm_suggestions | confirm all of X's suggestions at once | 1 |
| group_name | name a whole unnamed group | 1 |
| group_name_partial | name a group with some faces left out | 1 + 1 per face left out |
| face_confirm | "Is this X?" yes, for one face | 1 |
| face_assign | name one face | 1 |
| face_unassign | take back a name the user gave by mistake | 1 |

This module chooses the next action from a `Snapshot` of the library (faces, groups, the
open questions) and the truth (face id -> identity, for the scored faces), and keeps the
counts a run reports (`Tracker`). faces/evaluation.py builds the snapshots from the database,
calls the services and lets the debounced jobs run between two actions.

How the user chooses (greedy, one action at a time):
- a face is *right* when it is named (confirmed, or named automatically) for its identity;
- an action's *gain* is the scored faces it makes right, its *wrong* the faces it names as
  someone they are not; a face without a known identity (a bystander, a face of a group photo)
  counts as wrong when named, since the user takes them for strangers;
- the best action makes the most faces right per action spent, counting each face it names
  wrongly as one more action (taking the name back, or naming the face right, costs one);
  ties: more faces right, then fewer wrong names, then fewer actions, then the order of
  KINDS, then the smallest ids. The per-action rate (not the raw gain) is what a user looking
  for the quickest way through does: a partial naming with ten faces left out is not worth
  eleven actions when a yes to a question makes four faces right for one;
- a name the user gave to a face that is not that person (only a batch action can do that)
  is taken back first, with face_unassign;
- the run is over when every scored face is right and no wrong name of the user's is left.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

UNKNOWN = "unknown"
SUGGESTED = "suggested"
AUTO = "auto"
CONFIRMED = "confirmed"
NAMED = (AUTO, CONFIRMED)

GROUP_QUESTION_CONFIRM = "group_question_confirm"
PERSON_CONFIRM_SUGGESTIONS = "person_confirm_suggestions"
GROUP_NAME = "group_name"
GROUP_NAME_PARTIAL = "group_name_partial"
FACE_CONFIRM = "face_confirm"
FACE_ASSIGN = "face_assign"
FACE_UNASSIGN = "face_unassign"
# Also the order among equally good actions: answering a question before typing a name.
KINDS = (
    GROUP_QUESTION_CONFIRM,
    PERSON_CONFIRM_SUGGESTIONS,
    GROUP_NAME,
    GROUP_NAME_PARTIAL,
    FACE_CONFIRM,
    FACE_ASSIGN,
    FACE_UNASSIGN,
)


@dataclass(frozen=True)
class FaceView:
    id: int
    photo_id: int
    state: str
    person_id: int | None = None
    group_id: int | None = None  # an unnamed group on offer (dismissed groups: None)
    size: int = 0  # px; group naming keeps the largest face of a photo


@dataclass(frozen=True)
class Snapshot:
    faces: tuple[FaceView, ...]
    persons: Mapping[int, str]  # the user's live persons: id -> name
    # Open group questions, "Are these faces X?": group id -> suggested person id.
    questions: Mapping[int, int] = field(default_factory=dict)
    rejections: frozenset[tuple[int, int]] = frozenset()  # "not this person": (face, person)


@dataclass(frozen=True)
class Action:
    kind: str
    cost: int
    gain: int
    wrong: int
    group_id: int | None = None
    face_ids: tuple[int, ...] = ()
    person_id: int | None = None
    name: str | None = None  # a new person's name, when person_id is None

    @property
    def key(self) -> tuple:
        """What the action does, without its predicted outcome (to remember a futile one)."""
        return (self.kind, self.group_id, self.face_ids, self.person_id, self.name)

    @property
    def rate(self) -> Fraction:
        return Fraction(self.gain, self.cost + self.wrong)


def is_right(face: FaceView, truth: Mapping[int, str], persons: Mapping[int, str]) -> bool:
    return face.state in NAMED and face.id in truth and persons.get(face.person_id) == truth[face.id]


def remaining(snapshot: Snapshot, truth: Mapping[int, str]) -> list[int]:
    """Scored faces that are not right yet, in id order."""
    return [f.id for f in snapshot.faces if f.id in truth and not is_right(f, truth, snapshot.persons)]


def _person_by_name(persons: Mapping[int, str]) -> dict[str, int]:
    by_name: dict[str, int] = {}
    for person_id in sorted(persons):
        by_name.setdefault(persons[person_id], person_id)
    return by_name


def _named_by_group(
    faces: Iterable[FaceView], person_id: int | None, snapshot: Snapshot, confirmed_photos: Mapping[int, set[int]]
) -> list[FaceView]:
    """The faces group naming really names (services.group_name_partial): it skips faces
    rejected for the person and a second face of a photo that has the person confirmed,
    largest faces first."""
    photos = set(confirmed_photos.get(person_id, set())) if person_id is not None else set()
    named = []
    for face in sorted(faces, key=lambda f: (-f.size, f.id)):
        if (face.id, person_id) in snapshot.rejections or face.photo_id in photos:
            continue
        photos.add(face.photo_id)
        named.append(face)
    return named


def _score(named: Iterable[FaceView], identity: str, truth: Mapping[int, str]) -> tuple[int, int]:
    named = list(named)
    gain = sum(1 for f in named if truth.get(f.id) == identity)
    return gain, len(named) - gain


def candidates(snapshot: Snapshot, truth: Mapping[int, str]) -> list[Action]:
    """Every action worth considering now (gain > 0), and the take-backs (gain 0)."""
    persons = snapshot.persons
    by_name = _person_by_name(persons)
    confirmed_photos: dict[int, set[int]] = {}
    groups: dict[int, list[FaceView]] = {}
    suggested: dict[int, list[FaceView]] = {}
    for face in snapshot.faces:
        if face.state == CONFIRMED and face.person_id is not None:
            confirmed_photos.setdefault(face.person_id, set()).add(face.photo_id)
        if face.state == UNKNOWN and face.group_id is not None:
            groups.setdefault(face.group_id, []).append(face)
        if face.state == SUGGESTED and face.person_id in persons:
            suggested.setdefault(face.person_id, []).append(face)

    def target(identity: str) -> dict:
        person_id = by_name.get(identity)
        return {"person_id": person_id} if person_id is not None else {"name": identity}

    actions: list[Action] = []
    for group_id in sorted(groups):
        members = groups[group_id]
        question = snapshot.questions.get(group_id)
        if question in persons:
            gain, wrong = _score(
                _named_by_group(members, question, snapshot, confirmed_photos), persons[question], truth
            )
            if gain:
                actions.append(Action(GROUP_QUESTION_CONFIRM, 1, gain, wrong, group_id=group_id))
        for identity in sorted({truth[f.id] for f in members if f.id in truth}):
            to = target(identity)
            person_id = to.get("person_id")
            gain, wrong = _score(_named_by_group(members, person_id, snapshot, confirmed_photos), identity, truth)
            if gain:
                actions.append(Action(GROUP_NAME, 1, gain, wrong, group_id=group_id, **to))
            picked = [f for f in members if truth.get(f.id) == identity]
            left_out = len(members) - len(picked)
            if left_out:
                gain, wrong = _score(_named_by_group(picked, person_id, snapshot, confirmed_photos), identity, truth)
                if gain:
                    actions.append(
                        Action(
                            GROUP_NAME_PARTIAL,
                            1 + left_out,
                            gain,
                            wrong,
                            group_id=group_id,
                            face_ids=tuple(sorted(f.id for f in picked)),
                            **to,
                        )
                    )
    for person_id in sorted(suggested):
        if len(suggested[person_id]) < 2:
            continue  # one suggestion is answered on the face itself (face_confirm)
        gain, wrong = _score(suggested[person_id], persons[person_id], truth)
        if gain:
            actions.append(Action(PERSON_CONFIRM_SUGGESTIONS, 1, gain, wrong, person_id=person_id))
    for face in snapshot.faces:
        identity = truth.get(face.id)
        if face.state == CONFIRMED and identity is None:
            # Only the user confirms, and only a batch action names a stranger: take it
            # back. (A scored face named wrongly is named right instead, below.)
            actions.append(Action(FACE_UNASSIGN, 1, 0, 0, face_ids=(face.id,), person_id=face.person_id))
        if identity is None or is_right(face, truth, persons) or face.state not in (UNKNOWN, SUGGESTED, *NAMED):
            continue
        if face.state == SUGGESTED and persons.get(face.person_id) == identity:
            actions.append(Action(FACE_CONFIRM, 1, 1, 0, face_ids=(face.id,), person_id=face.person_id))
        actions.append(Action(FACE_ASSIGN, 1, 1, 0, face_ids=(face.id,), **target(identity)))
    return actions


def _order(action: Action) -> tuple:
    return (
        -action.rate,
        -action.gain,
        action.wrong,
        action.cost,
        KINDS.index(action.kind),
        action.group_id or 0,
        action.face_ids,
        action.person_id or 0,
        action.name or "",
    )


def next_action(snapshot: Snapshot, truth: Mapping[int, str], *, exclude: Iterable[tuple] = ()) -> Action | None:
    """The user's next action, None when every scored face is right and nothing is to be
    taken back. `exclude`: keys of actions that were tried and changed nothing."""
    exclude = set(exclude)
    options = [a for a in candidates(snapshot, truth) if a.key not in exclude]
    take_backs = sorted((a for a in options if a.kind == FACE_UNASSIGN), key=_order)
    if take_backs:
        return take_backs[0]
    useful = [a for a in options if a.gain > 0]
    return min(useful, key=_order) if useful else None


@dataclass
class Tracker:
    """What the user saw during the run, over every snapshot it was shown.

    suggestions: every distinct (scored face, person) the product proposed: a face suggested
    for a person ("Is this X?"), and each scored unknown face of a group asked about ("Are
    these faces X?"), with whether it was right. wrong_auto: scored faces the product named
    for someone they are not, at any point, with the first wrong name.
    """

    truth: Mapping[int, str]
    suggestions: dict[tuple[int, int], bool] = field(default_factory=dict)
    wrong_auto: dict[int, str] = field(default_factory=dict)

    def observe(self, snapshot: Snapshot) -> None:
        persons = snapshot.persons
        for face in snapshot.faces:
            identity = self.truth.get(face.id)
            if identity is None or face.person_id not in persons:
                continue
            name = persons[face.person_id]
            if face.state == SUGGESTED:
                self.suggestions.setdefault((face.id, face.person_id), name == identity)
            elif face.state == AUTO and name != identity:
                self.wrong_auto.setdefault(face.id, name)
        for face in snapshot.faces:
            question = snapshot.questions.get(face.group_id) if face.group_id is not None else None
            if face.state == UNKNOWN and face.id in self.truth and question in persons:
                self.suggestions.setdefault((face.id, question), persons[question] == self.truth[face.id])

    def suggestion_precision(self) -> float:
        """Right suggestions / all suggestions; 1.0 when nothing was suggested."""
        if not self.suggestions:
            return 1.0
        return round(sum(self.suggestions.values()) / len(self.suggestions), 4)
