"""Recognition on people the thresholds never saw: leave-identities-out cross-validation.

For each of 5 folds (identities split by sorted name), the pack's bands are fitted on the
other folds' identities only (`calibration.recommend_thresholds`, what `calibrate_faces`
runs) and the product's own decisions (`matching.plan_library`, what the refresh job runs)
are scored on the fold's identities:

- the fold's identities are named with their first K photos (as a user would) and every
  other photo's largest face is scored: auto precision, auto recall, "asked or auto" (the
  face is auto-named right, suggested right, or sits in a group asked about the right person);
- the other folds' identities are in the same library but never named (strangers): how many
  of their faces get a name automatically, and how pure their unnamed groups are (purity,
  pairwise precision/recall/F over same-identity pairs).

No database: the decisions are the pure functions the jobs call, on the engine's real
embeddings. Prints one JSON line per K (means over the folds, and the per-fold numbers).

    .venv/bin/python -m bench.recognition_cv [--faces ../shared/faces] [--k 3 --k 1]
        [--pack ../shared/models/face_default] [--folds 5]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from bench import _common as common


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--faces", default=str(common.SHARED / "faces"))
    parser.add_argument("--pack", default=str(common.SHARED / "models" / "face_default"))
    parser.add_argument("--k", type=int, action="append", help="named photos per identity (repeatable)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--synthetic-strangers",
        type=int,
        default=0,
        help="add this many synthetic never-named identities (2-15 faces each) to every fold's library",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from faces.calibration import labelled_photos, largest_face
    from faces.engine import load_engine, load_upright_rgb

    engine = load_engine(Path(args.pack))
    vectors, identities = [], []
    for identity, path in labelled_photos(Path(args.faces)):
        face = largest_face(engine.detect(load_upright_rgb(path)))
        if face is not None and face.recognisable:
            vectors.append(face.embedding)
            identities.append(identity)
    vectors = np.asarray(vectors, dtype=np.float32)
    extra = _synthetic(vectors, identities, args.synthetic_strangers, args.seed)
    for k in args.k or [3, 1]:
        folds = [_fold(vectors, identities, fold, args.folds, k, extra) for fold in range(args.folds)]
        print(json.dumps({"k": k, "faces": args.faces, **_mean(folds), "folds": folds}), flush=True)


def _synthetic(vectors: np.ndarray, identities: list[str], count: int, seed: int):
    """Synthetic strangers shaped like the real faces: each real face is modelled as
    c * (its identity's centre) + sqrt(1 - c^2) * (noise orthogonal to it), with c its
    leave-one-out similarity to its identity's other faces' mean; a synthetic face draws its c
    from those real values (so blurry, dark and profile faces come as often as in the folder)
    around a random centre. Sizes follow LFW's long tail: most people 2-4 faces, a few 15."""
    if not count:
        return None
    rng = np.random.default_rng(seed)
    cs = []
    for name in set(identities):
        rows = [i for i, n in enumerate(identities) if n == name]
        for i in rows:
            others = vectors[[r for r in rows if r != i]]
            if len(others):
                mean = others.mean(axis=0)
                cs.append(float(vectors[i] @ (mean / np.linalg.norm(mean))))
    cs = np.clip(np.array(cs), 0.05, 0.99)
    dim = vectors.shape[1]
    faces, names = [], []
    for person in range(count):
        size = int(min(15, 2 + rng.geometric(0.45) - 1))
        centre = rng.normal(size=dim)
        centre /= np.linalg.norm(centre)
        for c in rng.choice(cs, size=size):
            noise = rng.normal(size=dim)
            noise -= (noise @ centre) * centre
            noise /= np.linalg.norm(noise)
            faces.append(c * centre + np.sqrt(1 - c * c) * noise)
            names.append(f"synthetic-{person}")
    return np.asarray(faces, dtype=np.float32), names


def _fold(vectors: np.ndarray, identities: list[str], fold: int, folds: int, k: int, extra=None) -> dict:
    from faces.calibration import recommend_thresholds
    from faces.recognition_model import MatchPolicy

    names = sorted(set(identities))
    held = {name for i, name in enumerate(names) if i % folds == fold}
    train = [i for i, name in enumerate(identities) if name not in held]
    fitted = recommend_thresholds(vectors[train], [identities[i] for i in train], source="cv").thresholds
    policy = MatchPolicy(auto_assign=fitted.auto_assign, suggest=fitted.suggest, margin=fitted.margin)

    seen: Counter = Counter()
    references, scored = [], []
    for row, name in enumerate(identities):
        if name in held:
            seen[name] += 1
            (references if seen[name] <= k else scored).append(row)
    strangers = train  # in the library, never named
    if extra is not None:
        # Synthetic strangers are appended after the real faces (rows len(identities)...).
        strangers = strangers + list(range(len(identities), len(identities) + len(extra[1])))
        vectors = np.vstack([vectors, extra[0]])
        identities = identities + extra[1]
    decided = scored + strangers
    plan = _plan(vectors, identities, references, decided, policy)

    outcome: Counter = Counter()
    for row in scored:
        state, person = _answer(plan, row)
        right = person == identities[row]
        outcome[f"{state}_{'right' if right else 'wrong'}" if person else "unknown"] += 1
    stranger_auto = sum(1 for row in strangers if _answer(plan, row)[0] == "auto")
    stranger_asked = sum(1 for row in strangers if _answer(plan, row)[0] == "asked")
    auto = outcome["auto_right"] + outcome["auto_wrong"]
    return {
        "fold": fold,
        "auto_assign": policy.auto_assign,
        "suggest": policy.suggest,
        "scored": len(scored),
        "auto_precision": round(outcome["auto_right"] / auto, 4) if auto else 1.0,
        "auto_recall": round(outcome["auto_right"] / len(scored), 4) if scored else 0.0,
        "asked_or_auto_recall": round((outcome["auto_right"] + outcome["asked_right"]) / len(scored), 4)
        if scored
        else 0.0,
        "asked_wrong": outcome["asked_wrong"],
        "strangers": len(strangers),
        "stranger_auto_rate": round(stranger_auto / len(strangers), 5) if strangers else 0.0,
        "stranger_asked": stranger_asked,
        **_group_quality(plan, [r for r in decided if _answer(plan, r)[0] != "auto"], identities),
    }


class _Decided:
    def __init__(self, plan, person_names: dict[int, str], rows: list[int]) -> None:
        self.plan, self.person_names, self.rows = plan, person_names, rows


def _plan(vectors, identities, references, decided, policy) -> _Decided:
    from faces.matching import FaceInput, person_candidates, plan_library

    names = sorted({identities[r] for r in references})
    person_of = {name: number for number, name in enumerate(names, start=1)}
    ref_vectors = vectors[references]
    ref_persons = np.array([person_of[identities[r]] for r in references])
    sims = vectors[decided] @ ref_vectors.T
    order = np.argsort(-sims, axis=1, kind="stable")[:, : policy.neighbours]
    inputs = [
        FaceInput(
            face_id=row,
            photo_id=row,  # one scored face per photo
            candidates=person_candidates(sims[i, order[i]], ref_persons[order[i]], policy),
        )
        for i, row in enumerate(decided)
    ]
    plan = plan_library(inputs, vectors[decided], policy=policy, taken_by_photo={})
    return _Decided(plan, {number: name for name, number in person_of.items()}, decided)


def _answer(decided: _Decided, row: int) -> tuple[str, str | None]:
    """What the user sees for a face: ("auto"|"asked"|"unknown", the person named or asked)."""
    plan = decided.plan
    decision = plan.decisions[row]
    if decision.state == "auto":
        return "auto", decided.person_names[decision.person_id]
    if decision.state == "suggested":
        return "asked", decided.person_names[decision.person_id]
    index = plan.group_of.get(row)
    if index is not None and plan.groups[index].question:
        return "asked", decided.person_names[plan.groups[index].question.person_id]
    return "unknown", None


def _group_quality(decided: _Decided, rows: list[int], identities: list[str]) -> dict:
    """Purity and pairwise precision/recall/F of the unnamed groups (singletons count as
    their own group for recall)."""
    plan = decided.plan
    members: dict[object, list[str]] = defaultdict(list)
    for row in rows:
        index = plan.group_of.get(row)
        members[index if index is not None else ("alone", row)].append(identities[row])
    grouped = [names for key, names in members.items() if not isinstance(key, tuple)]
    in_groups = sum(len(names) for names in grouped)
    purity = sum(Counter(names).most_common(1)[0][1] for names in grouped) / in_groups if in_groups else 1.0
    same_pairs = sum(n * (n - 1) // 2 for names in grouped for n in Counter(names).values())
    group_pairs = sum(len(names) * (len(names) - 1) // 2 for names in grouped)
    true_pairs = sum(n * (n - 1) // 2 for n in Counter(identities[r] for r in rows).values())
    precision = same_pairs / group_pairs if group_pairs else 1.0
    recall = same_pairs / true_pairs if true_pairs else 1.0
    f = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "groups": len(grouped),
        "group_purity": round(purity, 4),
        "group_pairwise_precision": round(precision, 4),
        "group_pairwise_recall": round(recall, 4),
        "group_f_measure": round(f, 4),
    }


def _mean(folds: list[dict]) -> dict:
    keys = [k for k, v in folds[0].items() if isinstance(v, float) and k not in ("auto_assign", "suggest")]
    mean = {k: round(float(np.mean([f[k] for f in folds])), 4) for k in keys}
    mean["asked_wrong"] = sum(f["asked_wrong"] for f in folds)
    mean["stranger_asked"] = sum(f["stranger_asked"] for f in folds)
    return mean


if __name__ == "__main__":
    main()
