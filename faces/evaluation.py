"""Recognition quality measured as a user would live it (manage.py evaluate_recognition).

A throwaway user uploads a labelled identity-folder tree through the upload services, names
the largest face of the first K photos of each identity with the "name this face" service,
lets the resulting index rebuild, re-match and regrouping run (through the real worker, or
in-process with the same task code), and then every other photo's largest face is scored.
The user and every file it made are deleted afterwards, also when the run fails.

The folder: one sub-folder per person, the LARGEST face in each of its photos is that person
(others are bystanders); sub-folders starting with "_" (group photos, photos without faces)
are uploaded but not scored. Some identities are held out as "unlabelled": uploaded, never
named, to measure how the faces of people the user has not named yet are treated (wrongly
named, suggested, grouped).

With simulate_user (--simulate-user) nobody is named at first: a simulated user who knows the
truth names every scored face through the same services, choosing each action with
faces/simulation.py, and the report counts its actions (`_simulate`).

The top half of this module is pure (scoring, choosing, summarising) and has no Django
imports; `evaluate` below drives the services.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from faces.calibration import PHOTO_SUFFIXES

AUTO_CORRECT = "auto_correct"
AUTO_WRONG = "auto_wrong"
SUGGEST_CORRECT = "suggest_correct"
SUGGEST_WRONG = "suggest_wrong"
UNKNOWN = "unknown"
MISSED = "missed"
OUTCOMES = (AUTO_CORRECT, AUTO_WRONG, SUGGEST_CORRECT, SUGGEST_WRONG, UNKNOWN, MISSED)

# Every 5th identity (by sorted name) is held out as unlabelled unless told otherwise.
UNLABELLED_EVERY = 5


class EvaluationError(Exception):
    """Bad input or a run that cannot finish; the message is meant for the operator."""


# Pure part -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    identities: dict[str, list[Path]]  # name -> photos sorted by file name
    extras: list[Path]  # photos of "_" folders: uploaded, not scored

    @property
    def photo_count(self) -> int:
        return sum(len(photos) for photos in self.identities.values()) + len(self.extras)


def dataset_scan(folder: Path) -> Dataset:
    """Read an identity-folder tree; raises EvaluationError when it is not one."""
    folder = Path(folder)
    if not folder.is_dir():
        raise EvaluationError(f"Folder not found: {folder}")
    identities: dict[str, list[Path]] = {}
    extras: list[Path] = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        photos = sorted(p for p in sub.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
        if sub.name.startswith("_"):
            extras.extend(photos)
        elif photos:
            identities[sub.name] = photos
    if not identities:
        raise EvaluationError(
            f"No identity folders with photos in {folder} (expected {folder}/<person>/<photo>.jpg; "
            "folders starting with '_' are not identities)"
        )
    return Dataset(identities, extras)


def unlabelled_choice(names: Sequence[str], count: int | None = None) -> list[str]:
    """Identities held out as never named, spread evenly over the sorted names.

    Default: len // UNLABELLED_EVERY of them, which is every 5th name. Deterministic, so two
    runs (or two packs) hold out the same people.
    """
    names = sorted(names)
    if count is None:
        count = len(names) // UNLABELLED_EVERY
    if count < 0:
        raise EvaluationError("--unlabelled-identities cannot be negative")
    if count >= len(names):
        raise EvaluationError(
            f"--unlabelled-identities {count} leaves no identity to name (the folder has {len(names)})"
        )
    if count == 0:
        return []
    step = len(names) / count
    return [names[int((j + 1) * step) - 1] for j in range(count)]


def references_choice(has_face: Sequence[bool], k: int) -> list[int]:
    """Positions (in file-name order) of the photos whose largest face the user names: the
    first k photos in which a face was found. A user cannot name a face that is not there."""
    return [i for i, found in enumerate(has_face) if found][:k]


def outcome(*, expected: str, state: str | None, person: str | None) -> str:
    """Score one face. state None: no face was found in the photo."""
    if state is None:
        return MISSED
    if state == "auto":
        return AUTO_CORRECT if person == expected else AUTO_WRONG
    if state == "suggested":
        return SUGGEST_CORRECT if person == expected else SUGGEST_WRONG
    if state == "unknown":
        return UNKNOWN
    # Only the user confirms faces or marks them as not a face, and the run never does that
    # for a face it scores.
    raise ValueError(f"Unexpected state for a scored face: {state!r}")


def ratio(numerator: float, denominator: float, *, empty: float) -> float:
    return round(numerator / denominator, 4) if denominator else empty


def quality_summary(counts: Mapping[str, int]) -> dict[str, float | int]:
    """The outcome counts with `evaluated` and the three rates.

    auto_precision is 1.0 when nothing was named automatically (no wrong names); the recalls
    are 0.0 when nothing was evaluated.
    """
    c = {name: int(counts.get(name, 0)) for name in OUTCOMES}
    evaluated = sum(c.values())
    auto = c[AUTO_CORRECT] + c[AUTO_WRONG]
    return {
        "evaluated": evaluated,
        **c,
        "auto_precision": ratio(c[AUTO_CORRECT], auto, empty=1.0),
        "auto_recall": ratio(c[AUTO_CORRECT], evaluated, empty=0.0),
        "suggest_or_auto_recall": ratio(c[AUTO_CORRECT] + c[SUGGEST_CORRECT], evaluated, empty=0.0),
    }


def group_summary(groups: Mapping[int, Sequence[str | None]], ungrouped: Iterable[str] = ()) -> dict[str, float | int]:
    """How well the unnamed groups gather each person's faces.

    groups: group id -> the true identity of each face in it; ungrouped: the identities of the
    unnamed scored faces in no group (each its own group of one). Faces with no known identity
    (bystanders, faces of group photos) are left out of the rates, since nobody can say whether
    they belong; they are counted separately.
    - group_purity = sum of each group's majority-identity count / identified faces in groups;
    - group_pairwise_precision = pairs of faces in one group that are one person / all pairs of
      faces in one group;
    - group_pairwise_recall = pairs of one person in one group / all pairs of one person
      (grouped or not);
    - group_f_measure = their harmonic mean.
    Each is 1.0 when there is nothing to get wrong (no grouped faces, no pairs).
    """
    majority = identified = unidentified = 0
    grouped_pairs = together = 0
    per_identity: Counter = Counter(ungrouped)
    for members in groups.values():
        known = Counter(m for m in members if m is not None)
        unidentified += sum(1 for m in members if m is None)
        identified += sum(known.values())
        majority += max(known.values(), default=0)
        grouped_pairs += _pairs(sum(known.values()))
        together += sum(_pairs(n) for n in known.values())
        per_identity.update(known)
    same_identity_pairs = sum(_pairs(n) for n in per_identity.values())
    precision = together / grouped_pairs if grouped_pairs else 1.0
    recall = together / same_identity_pairs if same_identity_pairs else 1.0
    f_measure = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "groups": len(groups),
        "grouped_faces": identified + unidentified,
        "grouped_unidentified_faces": unidentified,
        "group_purity": ratio(majority, identified, empty=1.0),
        "group_pairwise_precision": round(precision, 4),
        "group_pairwise_recall": round(recall, 4),
        "group_f_measure": round(f_measure, 4),
    }


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def box_area(box: Sequence[float]) -> float:
    x1, y1, x2, y2 = box
    return max(0.0, x2 - x1) * max(0.0, y2 - y1)


def largest(faces: Iterable, *, box: Callable = lambda f: f.box):
    """The face an identity photo is labelled for: the largest by box area (ties: first)."""
    best, best_area = None, -1.0
    for face in faces:
        area = box_area(box(face))
        if area > best_area:
            best, best_area = face, area
    return best


def poison_choice(count: int, fraction: float) -> list[int]:
    """Positions (of `count` candidates in a fixed order) of the faces deliberately confirmed to
    the wrong person: round(fraction * count) of them, at least one, spread evenly.
    Deterministic, so two runs (or two packs) poison the same faces."""
    if not 0 <= fraction < 1:
        raise EvaluationError("--poison is a fraction: at least 0 and below 1")
    if fraction == 0 or count == 0:
        return []
    wanted = max(1, round(fraction * count))
    return [int((j + 0.5) * count / wanted) for j in range(wanted)]


def lookalike(best_by_person: Mapping[int, float], *, exclude: int | None) -> int | None:
    """The person a wrong confirmation most plausibly goes to: the one (not `exclude`, the truth)
    whose confirmed faces the face looks most like (ties: the lower id). None when nobody else."""
    others = [(score, -person) for person, score in best_by_person.items() if person != exclude]
    return -max(others)[1] if others else None


def poison_summary(ranks: Sequence[tuple[int | None, int]], *, top: int = 10) -> dict[str, float | int]:
    """How the poisoned faces rank in their (wrong) person's outlier list.

    ranks: (1-based rank or None when not listed, list length) per poisoned face.
    - poison_found_top10 / poison_recall_top10: how many are among the first `top`;
    - poison_recall_top1 / _top3: the same for the first one and three;
    - poison_chance_top10 / _top3: what a list in random order would find (mean of
      min(top, n) / n): with short lists, the first ten hold most of a person's faces anyway;
    - poison_median_rank, poison_median_list: for the spread.
    """
    listed = [r for r, _ in ranks if r is not None]
    found = sum(1 for r in listed if r <= top)
    total = len(ranks)

    def median(values: Sequence[int]) -> float:
        ordered = sorted(values)
        if not ordered:
            return 0.0
        mid = len(ordered) // 2
        return float(ordered[mid]) if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2

    return {
        "poison_total": total,
        "poison_found_top10": found,
        "poison_recall_top10": ratio(found, total, empty=1.0),
        "poison_recall_top3": ratio(sum(1 for r in listed if r <= 3), total, empty=1.0),
        "poison_recall_top1": ratio(sum(1 for r in listed if r == 1), total, empty=1.0),
        "poison_chance_top10": ratio(sum(min(top, n) / n for _, n in ranks if n), total, empty=1.0),
        "poison_chance_top3": ratio(sum(min(3, n) / n for _, n in ranks if n), total, empty=1.0),
        "poison_median_rank": median([r if r is not None else n + 1 for r, n in ranks]),
        "poison_median_list": median([n for _, n in ranks]),
    }


# The run ------------------------------------------------------------------------------------


@dataclass
class Sample:
    path: Path
    identity: str | None  # None for "_" folders
    photo_id: int | None = None
    face_id: int | None = None  # its largest face, once processed
    rejected: str = ""  # why the upload was refused


@dataclass
class Report:
    values: dict = field(default_factory=dict)
    cases: list[dict] = field(default_factory=list)  # every scored face not named right automatically


Progress = Callable[[str], None]


def evaluate(
    *,
    folder: Path,
    labels_per_person: int = 3,
    unlabelled_identities: int | None = 0,
    runner: Runner,
    progress: Progress = lambda message: None,
    simulate_user: bool = False,
    poison: float = 0.0,
) -> Report:
    """Run the whole simulation with a throwaway user; always deletes the user afterwards.

    simulate_user: instead of naming K faces per identity and scoring the rest, a user names
    every scored face with the fewest actions it can find (`_simulate`); K and the held-out
    identities do not apply.
    poison: after the scoring, this fraction of the scored faces is confirmed to the wrong
    person, and the report says where they rank in that person's "Faces that may not be X"
    list (`_poison`).
    """
    from accounts.models import User
    from accounts.services import user_delete

    if labels_per_person < 1:
        raise EvaluationError("--labels-per-person must be at least 1")
    if poison and simulate_user:
        raise EvaluationError("--poison does not apply to --simulate-user")
    poison_choice(0, poison)  # checks the fraction before anything is uploaded
    dataset = dataset_scan(folder)
    held_out = set() if simulate_user else set(unlabelled_choice(list(dataset.identities), unlabelled_identities))
    started = time.monotonic()
    # Loads the engine here first: a pack that cannot be loaded fails now, not as 180 failed photos.
    pack = runner.pack()
    user = User.objects.create_user(f"evaluate-recognition-{uuid.uuid4().hex[:12]}@example.invalid", None)
    progress(f"Throwaway user {user.email} (id {user.pk})")
    try:
        with runner:
            if simulate_user:
                report = _simulate(user, dataset, runner, progress, started)
            else:
                report = _evaluate(user, dataset, labels_per_person, held_out, runner, progress, started, poison)
    finally:
        # Also on errors and Ctrl-C: the account service removes rows now, files after commit.
        user_delete(user=user)
        progress(f"Deleted the throwaway user {user.email} and its files")
    report.values["thresholds"] = pack["thresholds"]
    if report.values["model_id"] and report.values["model_id"] != pack["model_id"]:
        progress(
            f"Warning: the photos were processed with {report.values['model_id']}, this process loads "
            f"{pack['model_id']}: start the worker with the same SMARTGALLERY_FACE_PACK."
        )
    return report


def _upload(user, dataset: Dataset, runner: Runner, progress: Progress):
    """Upload every photo as the upload view does, let the pipeline process it, and find the
    largest face of each. Returns (samples, photo id -> sample, status counts, seconds)."""
    from faces.models import Face
    from gallery.models import Photo

    samples = [Sample(path, name) for name, paths in dataset.identities.items() for path in paths]
    samples += [Sample(path, None) for path in dataset.extras]

    progress(f"Uploading {len(samples)} photos of {len(dataset.identities)} identities ({runner.label})")
    ingest_started = time.monotonic()
    photos_by_id: dict[int, Sample] = {}
    for number, sample in enumerate(samples, start=1):
        uploaded = runner.upload(user, sample)
        if uploaded is not None:
            sample.photo_id = uploaded
            photos_by_id.setdefault(uploaded, sample)
        if sample.rejected:
            progress(f"  refused {sample.path}: {sample.rejected}")
        if number % 50 == 0:
            progress(f"  uploaded {number}/{len(samples)}")
    runner.wait_processed(user.pk, list(photos_by_id), progress)
    ingest_seconds = time.monotonic() - ingest_started
    for name, error in Photo.objects.filter(owner=user, status=Photo.Status.FAILED).values_list(
        "original_filename", "last_error"
    ):
        progress(f"  failed {name}: {error}")

    faces_by_photo: dict[int, list] = {}
    for face in Face.objects.filter(owner=user).order_by("id").only("id", "photo_id", "x1", "y1", "x2", "y2"):
        faces_by_photo.setdefault(face.photo_id, []).append(face)
    for sample in samples:
        if sample.photo_id is not None:
            biggest = largest(faces_by_photo.get(sample.photo_id, []))
            sample.face_id = biggest.id if biggest else None
    status = Counter(Photo.objects.filter(owner=user).values_list("status", flat=True))
    return samples, photos_by_id, status, ingest_seconds


def _evaluate(
    user,
    dataset: Dataset,
    k: int,
    held_out: set[str],
    runner: Runner,
    progress: Progress,
    started: float,
    poison: float = 0.0,
):
    from faces import services
    from faces.models import Face, FaceGroup
    from gallery.models import Photo

    # 1. Upload everything, as the upload view does, then let the pipeline process it.
    samples, photos_by_id, status, ingest_seconds = _upload(user, dataset, runner, progress)

    # 2. The user names the largest face of the first K photos of each labelled identity.
    # A new name for the first face (the "name this face" action), the person for the rest.
    references: set[int] = set()
    person_ids: dict[str, int] = {}
    for name in dataset.identities:
        if name in held_out:
            continue
        mine = [s for s in samples if s.identity == name]
        for position in references_choice([s.face_id is not None for s in mine], k):
            face_id = mine[position].face_id
            if name in person_ids:
                services.face_assign(user=user, face_id=face_id, person_id=person_ids[name])
            else:
                person_ids[name] = services.face_assign(user=user, face_id=face_id, name=name).person_created
            references.add(face_id)
    person_names = {pid: name for name, pid in person_ids.items()}
    progress(f"Named {len(references)} faces of {len(person_names)} people; waiting for the re-match")
    runner.wait_rebuilt(user.pk, progress)
    runner.regroup(user.pk, progress)

    # 3. Score.
    faces = {
        f.id: f
        for f in Face.objects.filter(owner=user).only(
            "id", "photo_id", "state", "person_id", "similarity", "margin", "group_id"
        )
    }
    asked = dict(
        FaceGroup.objects.filter(owner=user, dismissed=False, suggested_person__isnull=False).values_list(
            "id", "suggested_person_id"
        )
    )
    counts: Counter = Counter()
    unlabelled: Counter = Counter()
    cases: list[dict] = []
    truth: dict[int, str] = {}
    for sample in samples:
        if sample.identity is None or sample.face_id in references:
            continue
        face = faces.get(sample.face_id) if sample.face_id else None
        if face is not None:
            truth[face.id] = sample.identity
        if sample.identity in held_out:
            unlabelled["faces"] += face is not None
            if face is not None:
                unlabelled[face.state] += 1
                unlabelled["grouped"] += face.state == Face.State.UNKNOWN and face.group_id is not None
                unlabelled["asked_in_group"] += face.state == Face.State.UNKNOWN and face.group_id in asked
                if face.state in (Face.State.AUTO, Face.State.SUGGESTED):
                    cases.append(_case(sample, face, f"unlabelled_{face.state}", person_names))
            continue
        state, person_id = (face.state, face.person_id) if face else (None, None)
        if face and face.state == Face.State.UNKNOWN and face.group_id in asked:
            # In a group asked about someone ("Are these 6 faces Anna?"): the user is asked
            # about this face as surely as by a single suggestion.
            state, person_id = Face.State.SUGGESTED, asked[face.group_id]
        result = outcome(expected=sample.identity, state=state, person=person_names.get(person_id))
        counts[result] += 1
        if result != AUTO_CORRECT:
            cases.append(_case(sample, face, result, person_names))

    groups: dict[int, list[str | None]] = {
        gid: [] for gid in FaceGroup.objects.filter(owner=user, dismissed=False).values_list("id", flat=True)
    }
    for face in faces.values():
        if face.group_id in groups:
            groups[face.group_id].append(truth.get(face.id))
    groups = {gid: members for gid, members in groups.items() if members}
    # Recall also counts the unnamed scored faces no group took (each a group of one).
    ungrouped = [
        truth[f.id]
        for f in faces.values()
        if f.id in truth and f.state == Face.State.UNKNOWN and f.group_id not in groups
    ]

    other_faces = [f for f in faces.values() if f.id not in truth and f.id not in references]
    model_ids = Counter(Face.objects.filter(owner=user).exclude(model_id="").values_list("model_id", flat=True))
    # Last, as it changes the labels: everything above is scored as without it.
    poisoned = _poison(user, samples, references, person_ids, held_out, poison, runner, progress) if poison else {}
    if poisoned:
        cases.extend(poisoned.pop("cases"))
    seconds = time.monotonic() - started
    photos = len(photos_by_id)
    values = {
        "identities": len(dataset.identities),
        "labelled_identities": len(person_names),
        "unlabelled_identities": sorted(held_out),
        "labels_per_person": k,
        "photos": photos,
        "photos_failed": status.get(Photo.Status.FAILED, 0),
        "photos_rejected": sum(1 for s in samples if s.rejected),
        "faces_detected": len(faces),
        "labelled": len(references),
        **quality_summary(counts),
        "unlabelled_faces": unlabelled["faces"],
        "unlabelled_auto": unlabelled[Face.State.AUTO],
        "unlabelled_suggested": unlabelled[Face.State.SUGGESTED],
        "unlabelled_unknown": unlabelled[Face.State.UNKNOWN],
        "unlabelled_grouped": unlabelled["grouped"],
        "unlabelled_asked_in_group": unlabelled["asked_in_group"],
        "group_coverage": ratio(unlabelled["grouped"], unlabelled[Face.State.UNKNOWN], empty=1.0),
        **group_summary(groups, ungrouped),
        "other_faces": len(other_faces),
        "other_faces_auto": sum(1 for f in other_faces if f.state == Face.State.AUTO),
        "seconds": round(seconds, 2),
        "ingest_seconds": round(ingest_seconds, 2),
        "photos_per_second": round(photos / ingest_seconds, 2) if ingest_seconds > 0 else 0.0,
        "model_id": model_ids.most_common(1)[0][0] if model_ids else "",
        "mode": runner.label,
        **poisoned,
    }
    return Report(values, cases)


def _poison(
    user,
    samples: Sequence[Sample],
    references: set[int],
    person_ids: Mapping[str, int],
    held_out: set[str],
    fraction: float,
    runner: Runner,
    progress: Progress,
) -> dict:
    """--poison: a wrong confirmation, as a user makes one by accepting a look-alike. A fixed
    `fraction` of the scored faces (named identities, in file order, spread evenly) is
    confirmed with `face_assign` to the named person they look most like other than their own;
    the re-match runs (a poisoned person attracts more faces of the wrong human, as it would),
    and each poisoned face's rank in its person's outlier list is read from the same selector
    the page uses. Returns poison_summary's values, and a case per face not in the first ten."""
    import numpy as np

    from faces import selectors, services
    from faces.models import Face
    from faces.recognition_model import decode_vectors

    names = {pid: name for name, pid in person_ids.items()}
    identity_of = {s.face_id: s.identity for s in samples if s.face_id is not None and s.identity is not None}
    candidates, seen = [], set()
    for sample in samples:  # identities in sorted order, files by name
        if sample.identity is None or sample.identity in held_out or sample.face_id is None:
            continue
        if sample.face_id in references or sample.face_id in seen:
            continue
        seen.add(sample.face_id)
        candidates.append(sample)
    prints = dict(
        Face.objects.filter(owner=user, pk__in=[s.face_id for s in candidates], embedding__isnull=False).values_list(
            "id", "embedding"
        )
    )
    candidates = [s for s in candidates if s.face_id in prints]
    chosen = [candidates[i] for i in poison_choice(len(candidates), fraction)]
    rows = list(
        Face.objects.filter(owner=user, state=Face.State.CONFIRMED, person_id__in=list(names), embedding__isnull=False)
        .order_by("id")
        .values_list("person_id", "embedding")
    )
    dim = len(rows[0][1]) // 4 if rows else 0
    rows = [r for r in rows if len(r[1]) == dim * 4]
    owners = np.array([r[0] for r in rows], dtype=np.int64)
    confirmed = decode_vectors([r[1] for r in rows], dim)
    poisoned: list[tuple[Sample, int]] = []
    for sample in chosen:
        vector = decode_vectors([prints[sample.face_id]], dim)[0] if len(prints[sample.face_id]) == dim * 4 else None
        if vector is None:
            continue
        sims = confirmed @ vector
        best: dict[int, float] = {}
        for person, sim in zip(owners.tolist(), sims.tolist(), strict=True):
            best[person] = max(best.get(person, -1.0), sim)
        wrong = lookalike(best, exclude=person_ids.get(sample.identity))
        if wrong is not None:
            services.face_assign(user=user, face_id=sample.face_id, person_id=wrong)
            poisoned.append((sample, wrong))
    progress(f"Confirmed {len(poisoned)} faces to the wrong person (--poison {fraction}); waiting for the re-match")
    runner.wait_rebuilt(user.pk, progress)

    ranked = {pid: selectors.person_outlier_ranking(user=user, person_id=pid) for pid in {w for _, w in poisoned}}
    ranks, cases = [], []
    for sample, wrong in poisoned:
        order, scores, _, _ = ranked[wrong]
        rank = order.index(sample.face_id) + 1 if sample.face_id in order else None
        ranks.append((rank, len(order)))
        if rank is None or rank > 10:
            cases.append(
                {
                    "kind": "poison_missed",
                    "photo": f"{sample.path.parent.name}/{sample.path.name}",
                    "expected": sample.identity,
                    "got": names[wrong],
                    "state": "confirmed",
                    "similarity": scores.get(sample.face_id),
                    "margin": None,
                    "rank": rank,
                    "listed": len(order),
                }
            )
    # Faces the re-match then named for a poisoned person that are someone else's: the harm the
    # list is for. How many are in its first ten, next to the poisoned faces themselves.
    poison_ids = {s.face_id for s, _ in poisoned}
    followers = [
        (order.index(face_id) + 1)
        for pid, (order, _, _, _) in ranked.items()
        for face_id in order
        if face_id not in poison_ids and identity_of.get(face_id) not in (None, names[pid])
    ]
    return {
        "poison_fraction": fraction,
        "poison_persons": len(ranked),
        **poison_summary(ranks),
        "poison_followers": len(followers),
        "poison_followers_top10": sum(1 for rank in followers if rank <= 10),
        "cases": cases,
    }


def _simulate(user, dataset: Dataset, runner: Runner, progress: Progress, started: float) -> Report:
    """--simulate-user: from an empty library (everything uploaded, nobody named), a user who
    knows every scored face names them all with the actions the pages offer, one at a time,
    as faces/simulation.py chooses them; the debounced jobs run between two actions. Counts
    the actions it took and what the product proposed on the way."""
    from faces import simulation
    from faces.models import Face
    from gallery.models import Photo

    samples, photos_by_id, status, ingest_seconds = _upload(user, dataset, runner, progress)
    # The pipeline scheduled a regrouping after the photos; this is the one after the last.
    runner.regroup(user.pk, progress)

    truth: dict[int, str] = {}
    for sample in samples:
        if sample.identity is not None and sample.face_id is not None:
            if truth.setdefault(sample.face_id, sample.identity) != sample.identity:
                progress(
                    f"  {sample.path} is also in {truth[sample.face_id]}'s folder; scored as {truth[sample.face_id]}"
                )
    by_face = {s.face_id: s for s in reversed(samples) if s.face_id in truth}
    missed = sum(1 for s in samples if s.identity is not None and s.face_id is None)

    snapshot = _library_snapshot(user)
    start = _start_groups(snapshot, truth)
    progress(
        f"Start: {len(truth)} scored faces, {start['start_groups']} groups, coverage {start['start_group_coverage']}, "
        f"purity {start['start_group_purity']}, pairwise precision {start['start_group_pairwise_precision']} "
        f"recall {start['start_group_pairwise_recall']}"
    )
    tracker = simulation.Tracker(truth)
    spent: Counter = Counter()
    futile: set[tuple] = set()
    curve: list[int] = []
    # Naming one face makes it right for good (jobs never touch a confirmed face), so this is
    # only reached if the product undoes the user's work; then the run reports what is left.
    limit = 2 * len(snapshot.faces) + 20
    while True:
        tracker.observe(snapshot)
        action = simulation.next_action(snapshot, truth, exclude=futile)
        if action is None:
            break
        if len(curve) >= limit:
            progress(f"Stopped after {len(curve)} actions: faces keep coming back wrong")
            break
        change = _perform(user, action)
        if not change.faces:
            futile.add(action.key)
        spent[action.kind] += action.cost
        runner.wait_rebuilt(user.pk, progress)
        runner.regroup(user.pk, progress)
        snapshot = _library_snapshot(user)
        curve.append(len(truth) - len(simulation.remaining(snapshot, truth)))
        progress(f"  {len(curve)}. {_describe(action)}: {curve[-1]}/{len(truth)} right")

    left = simulation.remaining(snapshot, truth)
    faces = {f.id: f for f in snapshot.faces}
    cases = [
        _simulated_case(by_face[face_id], "effort_wrong_auto", name, "auto")
        for face_id, name in sorted(tracker.wrong_auto.items())
    ]
    cases += [
        _simulated_case(by_face[face_id], "effort_suggest_wrong", snapshot.persons.get(person_id), "suggested")
        for (face_id, person_id), right in sorted(tracker.suggestions.items())
        if not right
    ]
    cases += [
        _simulated_case(by_face[i], "effort_wrong_left", snapshot.persons.get(faces[i].person_id), faces[i].state)
        for i in left
    ]
    effort = sum(spent.values())
    model_ids = Counter(Face.objects.filter(owner=user).exclude(model_id="").values_list("model_id", flat=True))
    photos = len(photos_by_id)
    values = {
        "identities": len(dataset.identities),
        "photos": photos,
        "photos_failed": status.get(Photo.Status.FAILED, 0),
        "photos_rejected": sum(1 for s in samples if s.rejected),
        "faces_detected": len(snapshot.faces),
        "scored_faces": len(truth),
        "missed": missed,
        **start,
        "effort_actions": effort,
        "effort_actions_per_face": ratio(effort, len(truth), empty=0.0),
        "effort_actions_by_kind": {kind: spent[kind] for kind in simulation.KINDS},
        "effort_calls": len(curve),
        "effort_people": len(snapshot.persons),
        "effort_right_auto": sum(1 for i in truth if faces[i].state == Face.State.AUTO and i not in left),
        "effort_wrong_auto": len(tracker.wrong_auto),
        "effort_wrong_left": len(left),
        "effort_curve": curve,
        "suggestions": len(tracker.suggestions),
        "suggestion_precision": tracker.suggestion_precision(),
        "seconds": round(time.monotonic() - started, 2),
        "ingest_seconds": round(ingest_seconds, 2),
        "photos_per_second": round(photos / ingest_seconds, 2) if ingest_seconds > 0 else 0.0,
        "model_id": model_ids.most_common(1)[0][0] if model_ids else "",
        "mode": runner.label,
    }
    return Report(values, cases)


def _library_snapshot(user):
    """What the user's pages show now, for faces/simulation.py."""
    from faces import simulation
    from faces.models import Face, FaceGroup, FaceRejection, Person

    groups = FaceGroup.objects.filter(owner=user, dismissed=False)
    on_offer = set(groups.values_list("id", flat=True))
    faces = tuple(
        simulation.FaceView(face_id, photo_id, state, person_id, group_id if group_id in on_offer else None, size)
        for face_id, photo_id, state, person_id, group_id, size in Face.objects.filter(owner=user)
        .order_by("id")
        .values_list("id", "photo_id", "state", "person_id", "group_id", "size_px")
    )
    questions = dict(groups.filter(suggested_person__isnull=False).values_list("id", "suggested_person_id"))
    return simulation.Snapshot(
        faces=faces,
        persons=dict(Person.objects.for_user(user).values_list("id", "name")),
        questions=questions,
        rejections=frozenset(FaceRejection.objects.filter(owner=user).values_list("face_id", "person_id")),
    )


def _start_groups(snapshot, truth: Mapping[int, str]) -> dict:
    """The unnamed groups before the user's first action, with the share of the scored faces
    they hold (start_group_coverage)."""
    groups: dict[int, list[str | None]] = {}
    ungrouped = []
    for face in snapshot.faces:
        if face.state != "unknown":
            continue
        if face.group_id is not None:
            groups.setdefault(face.group_id, []).append(truth.get(face.id))
        elif face.id in truth:
            ungrouped.append(truth[face.id])
    scored_unknown = sum(1 for f in snapshot.faces if f.id in truth and f.state == "unknown")
    grouped = scored_unknown - len(ungrouped)
    summary = group_summary(groups, ungrouped) | {"group_coverage": ratio(grouped, scored_unknown, empty=1.0)}
    return {f"start_{key}": value for key, value in summary.items()}


def _perform(user, action):
    """Call the service behind the action, as the page would."""
    from faces import services, simulation

    person = {"person_id": action.person_id} if action.person_id is not None else {"name": action.name}
    if action.kind == simulation.GROUP_QUESTION_CONFIRM:
        return services.group_question_confirm(user=user, group_id=action.group_id)
    if action.kind == simulation.PERSON_CONFIRM_SUGGESTIONS:
        return services.person_confirm_suggestions(user=user, person_id=action.person_id)
    if action.kind == simulation.GROUP_NAME:
        return services.group_name(user=user, group_id=action.group_id, **person)
    if action.kind == simulation.GROUP_NAME_PARTIAL:
        return services.group_name_partial(
            user=user, group_id=action.group_id, face_ids=list(action.face_ids), **person
        )
    (face_id,) = action.face_ids
    if action.kind == simulation.FACE_CONFIRM:
        return services.face_confirm(user=user, face_id=face_id)
    if action.kind == simulation.FACE_ASSIGN:
        return services.face_assign(user=user, face_id=face_id, **person)
    if action.kind == simulation.FACE_UNASSIGN:
        return services.face_unassign(user=user, face_id=face_id)
    raise ValueError(f"Unknown action {action.kind!r}")


def _describe(action) -> str:
    target = []
    if action.group_id is not None:
        target.append(f"group {action.group_id}")
    if action.face_ids and action.group_id is None:
        target.append(f"face {action.face_ids[0]}")
    if action.person_id is not None:
        target.append(f"person {action.person_id}")
    if action.name:
        target.append(repr(action.name))
    return f"{action.kind} {' '.join(target)} (cost {action.cost}, {action.gain} right, {action.wrong} wrong)"


def _simulated_case(sample: Sample, kind: str, got: str | None, state: str) -> dict:
    return {
        "kind": kind,
        "photo": f"{sample.path.parent.name}/{sample.path.name}",
        "expected": sample.identity,
        "got": got,
        "state": state,
        "similarity": None,
        "margin": None,
    }


def _case(sample: Sample, face, kind: str, person_names: Mapping[int, str]) -> dict:
    return {
        "kind": kind,
        "photo": f"{sample.path.parent.name}/{sample.path.name}",
        "expected": sample.identity,
        "got": person_names.get(face.person_id) if face is not None else None,
        "state": face.state if face is not None else None,
        "similarity": face.similarity if face is not None else None,
        "margin": face.margin if face is not None else None,
    }


# How the pipeline's work gets done ------------------------------------------------------------


class Runner:
    """Uploads through gallery.services.photo_create; subclasses decide who runs the tasks."""

    label = ""

    def upload(self, user, sample: Sample) -> int | None:
        from gallery.services import photo_create
        from gallery.validation import ImageRejected

        try:
            with sample.path.open("rb") as stream:
                photo, _ = photo_create(owner=user, file=stream, filename=sample.path.name)
        except ImageRejected as exc:
            sample.rejected = exc.message
            return None
        # created=False: the same content is already in the library (a copy in two folders);
        # the photo exists once, as it would for a real user.
        return photo.pk

    def wait_processed(self, user_id: int, photo_ids: list[int], progress: Progress) -> None:
        raise NotImplementedError

    def wait_rebuilt(self, user_id: int, progress: Progress) -> None:
        raise NotImplementedError

    def regroup(self, user_id: int, progress: Progress) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        pass

    def pack(self) -> dict:
        """The face pack this process loads (the worker must load the same one) and its bands."""
        from faces.recognition_model import current_model

        model = current_model()
        policy = model.policy
        return {
            "model_id": model.model_id,
            "thresholds": {"auto_assign": policy.auto_assign, "suggest": policy.suggest, "margin": policy.margin},
        }


class InlineRunner(Runner):
    """The same task code, run in this process as soon as it is enqueued.

    While it runs, the Celery app publishes nothing: `.delay()` / `.apply_async()` execute the
    task body here (Celery's eager mode). Otherwise the upload and label services would also
    put messages on the broker, for a worker that may be racing us, or for nobody.
    """

    label = "inline"

    def __enter__(self):
        from smartgallery.celery import app

        self._app = app
        self._eager = app.conf.task_always_eager
        app.conf.task_always_eager = True
        return self

    def __exit__(self, *exc_info) -> None:
        self._app.conf.task_always_eager = self._eager

    def wait_processed(self, user_id: int, photo_ids: list[int], progress: Progress) -> None:
        # photo_create's on-commit enqueue already ran gallery.tasks.photo_process here; a
        # photo it could not claim (none expected) gets the task once more.
        from gallery import tasks
        from gallery.models import Photo

        for photo_id in Photo.objects.filter(pk__in=photo_ids, status=Photo.Status.QUEUED).values_list("pk", flat=True):
            tasks.photo_process.apply(args=[photo_id])

    def wait_rebuilt(self, user_id: int, progress: Progress) -> None:
        # Each label change already ran the debounced task here; this is the one the last
        # change of a burst leads to, and makes the end state independent of the debounce.
        from faces import tasks

        tasks.index_rebuild.apply(args=[user_id])

    def regroup(self, user_id: int, progress: Progress) -> None:
        from faces import tasks

        tasks.faces_regroup.apply(args=[user_id])


class WorkerRunner(Runner):
    """The tasks run on a real Celery worker; this process waits for their results."""

    label = "worker"
    POLL_SECONDS = 0.5

    def __init__(self, *, timeout: float = 900.0) -> None:
        self.timeout = timeout

    @staticmethod
    def available(timeout: float = 2.0) -> list[str]:
        """Names of the workers that answer and consume the queue photos are processed on."""
        from django.conf import settings
        from kombu.exceptions import OperationalError as BrokerError

        from smartgallery.celery import app

        route = settings.CELERY_TASK_ROUTES.get("gallery.tasks.*", {}).get("queue", settings.CELERY_TASK_DEFAULT_QUEUE)
        try:
            queues = app.control.inspect(timeout=timeout).active_queues() or {}
        except (OSError, BrokerError):  # the broker itself does not answer
            return []
        return sorted(name for name, qs in queues.items() if any(q.get("name") == route for q in qs or []))

    def wait_processed(self, user_id: int, photo_ids: list[int], progress: Progress) -> None:
        from gallery.models import Photo

        deadline = time.monotonic() + self.timeout
        last = -1
        while True:
            pending = Photo.objects.filter(
                pk__in=photo_ids, status__in=[Photo.Status.QUEUED, Photo.Status.PROCESSING]
            ).count()
            if pending != last:
                progress(f"  processed {len(photo_ids) - pending}/{len(photo_ids)}")
                last = pending
            if not pending:
                return
            if time.monotonic() > deadline:
                raise EvaluationError(
                    f"{pending} photos were still not processed after {self.timeout:.0f} s. Is the worker "
                    "using the same database, media folder and broker as this command?"
                )
            time.sleep(self.POLL_SECONDS)

    def wait_rebuilt(self, user_id: int, progress: Progress) -> None:
        """Wait for the debounced rebuild the corrections scheduled to have run, then run one
        more on the worker and wait for its result, so every face was re-matched against the
        final labels."""
        from django.core.cache import cache

        from faces import tasks

        deadline = time.monotonic() + self.timeout
        # The flag is set by the first change of a burst and cleared when its task starts.
        while cache.get(tasks._flag("index-rebuild", user_id)) is not None:
            self._check(deadline, "the scheduled index rebuild did not start")
            time.sleep(self.POLL_SECONDS)
        self._wait_idle(user_id, deadline)
        tasks.index_rebuild.apply_async(args=[user_id]).get(timeout=self.timeout)

    def regroup(self, user_id: int, progress: Progress) -> None:
        from faces import tasks

        self._wait_idle(user_id, time.monotonic() + self.timeout)
        tasks.faces_regroup.apply_async(args=[user_id]).get(timeout=self.timeout)

    def _wait_idle(self, user_id: int, deadline: float) -> None:
        """Until no task of this user is running, reserved or scheduled on any worker."""
        from smartgallery.celery import app

        while True:
            inspect = app.control.inspect(timeout=1.0)
            busy = [
                task
                for listing in (inspect.active() or {}, inspect.reserved() or {}, inspect.scheduled() or {})
                for tasks_of_worker in listing.values()
                for task in tasks_of_worker
                if _task_user(task) == user_id
            ]
            if not busy:
                return
            self._check(deadline, "the worker did not finish this user's tasks")
            time.sleep(self.POLL_SECONDS)

    def _check(self, deadline: float, what: str) -> None:
        if time.monotonic() > deadline:
            raise EvaluationError(f"Timed out after {self.timeout:.0f} s: {what}.")


def _task_user(task: dict) -> int | None:
    """The user id of a faces task in an inspect() listing (scheduled ones nest it)."""
    task = task.get("request", task)
    if not str(task.get("name", "")).startswith("faces.tasks."):
        return None
    args = task.get("args") or []
    try:
        return int(args[0])
    except (IndexError, TypeError, ValueError):
        return None
