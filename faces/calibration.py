"""Similarity thresholds per model pack: how they are calibrated and where they are stored.

Every threshold here is a cosine similarity between the embeddings of ONE pair of faces
(two unit vectors, so similarity = dot product, 1.0 = identical). Recognition compares a new
face with each confirmed face of each person (k-NN, a vote per person); these thresholds are
what a single neighbour must reach:

- auto_assign: a neighbour at or above it may assign the face without asking, provided the
  best person also leads the second-best person by at least `margin`. Chosen so that
  different people essentially never reach it (see `recommend_thresholds`).
- suggest: at or above it (and below auto_assign) the UI asks "Is this X?".
- below suggest: the face stays unknown (it may still be grouped with other unknowns).

Pure functions (numpy only, no Django, no models) so they are easy to test on synthetic data;
`manage.py calibrate_faces` feeds them real embeddings.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np

logger = logging.getLogger(__name__)


class _HasArea(Protocol):
    @property
    def area(self) -> float: ...


FaceT = TypeVar("FaceT", bound=_HasArea)

THRESHOLDS_FILE = Path(__file__).resolve().parent / "packs" / "thresholds.json"
# Photos read from a labelled identity-folder tree (calibrate_faces, evaluate_recognition):
# the formats the engine's loader opens.
PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".heic"})

# Policy of `recommend_thresholds`; see its docstring for the reasoning.
AUTO_TARGET_FMR = 1e-5
SUGGEST_TARGET_FMR = 1e-2
# Added to auto_assign above the highest impostor pair / normal-tail 1e-5 point. It was 0.05,
# for people less distinct than those in the calibration set. Leave-identities-out
# cross-validation (`cross_validate`) on ../shared/faces with face_default found no held-out
# false match at auto_assign on any of its 5 folds with no margin at all: fitted without a
# person, auto_assign (0.416 to 0.429, set by the normal-tail estimate) stayed above every pair
# of that person with anyone else (0.365 at most). The 0.05 only cost false non-matches (pooled
# held-out FNMR at auto_assign 22.1% against 16.4% without), so it is 0, the smallest margin
# that kept every fold at FMR 0. That is per pair: recognition also needs the best person to
# lead the second-best by `margin`, so a false automatic assignment is rarer still. The set has
# no relatives or children; calibrating on a folder that does reruns this check (the sweep over
# SAFETY_MARGIN_CANDIDATES in calibrate_faces) and says whether they need a margin.
SAFETY_MARGIN = 0.0
# The safety margins `calibrate_faces` compares under cross-validation.
SAFETY_MARGIN_CANDIDATES = (0.0, 0.025, 0.05)
MIN_IDENTITY_MARGIN = 0.05
# Leave-identities-out folds of `cross_validate`.
CV_FOLDS = 5
# Normal-tail z-scores: P(Z >= z) = 1e-5 and 1e-2.
_Z_FOR_FMR = {1e-5: 4.2649, 1e-2: 2.3263}


@dataclass(frozen=True)
class PackThresholds:
    auto_assign: float
    suggest: float
    margin: float
    source: str  # where these numbers come from, for logs and the admin
    calibrated: bool  # False: documented defaults or a generic fallback, not measured here

    def band(self, similarity: float) -> str:
        """'auto', 'suggest' or 'unknown' for a single face-to-face similarity."""
        if similarity >= self.auto_assign:
            return "auto"
        if similarity >= self.suggest:
            return "suggest"
        return "unknown"


@dataclass(frozen=True)
class CalibrationReport:
    identities: int
    faces: int
    genuine_pairs: int
    impostor_pairs: int
    eer: float
    eer_threshold: float
    max_impostor: float
    impostor_mean: float
    impostor_std: float
    genuine_median: float
    thresholds: PackThresholds
    # band name -> {"threshold", "fmr", "fnmr"} measured on the calibration set
    rates: dict[str, dict[str, float]]

    def as_dict(self) -> dict:
        return asdict(self)


def pair_similarities(embeddings: np.ndarray, labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Cosine similarities of all same-identity (genuine) and different-identity (impostor) pairs."""
    vectors = _unit_rows(embeddings)
    labels_array = np.asarray(labels)
    if len(labels_array) != len(vectors):
        raise ValueError("one label per embedding is needed")
    similarity = vectors @ vectors.T
    upper = np.triu_indices(len(vectors), k=1)
    same = labels_array[upper[0]] == labels_array[upper[1]]
    scores = similarity[upper]
    return scores[same], scores[~same]


def error_rates(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> tuple[float, float]:
    """(FMR, FNMR) when pairs with similarity >= threshold are declared "same person"."""
    fmr = float(np.mean(np.asarray(impostor) >= threshold)) if len(impostor) else 0.0
    fnmr = float(np.mean(np.asarray(genuine) < threshold)) if len(genuine) else 0.0
    return fmr, fnmr


def equal_error_rate(genuine: np.ndarray, impostor: np.ndarray) -> tuple[float, float]:
    """(EER, threshold): the point where false matches and false non-matches are equally likely."""
    genuine, impostor = np.sort(genuine), np.sort(impostor)
    if not len(genuine) or not len(impostor):
        raise ValueError("EER needs both genuine and impostor pairs")
    candidates = np.unique(np.concatenate([genuine, impostor]))
    fmr = 1.0 - np.searchsorted(impostor, candidates, side="left") / len(impostor)
    fnmr = np.searchsorted(genuine, candidates, side="left") / len(genuine)
    best = int(np.argmin(np.abs(fmr - fnmr)))
    return float((fmr[best] + fnmr[best]) / 2.0), float(candidates[best])


def threshold_at_fmr(impostor: np.ndarray, target_fmr: float) -> float:
    """The lowest threshold whose measured FMR on these impostor pairs is <= target_fmr."""
    ordered = np.sort(np.asarray(impostor))[::-1]
    allowed = int(np.floor(target_fmr * len(ordered)))
    if allowed >= len(ordered):
        return float(ordered[-1])
    return float(np.nextafter(ordered[allowed], np.inf))


def gaussian_threshold(impostor: np.ndarray, target_fmr: float) -> float:
    """Threshold at target_fmr if the impostor scores were normal: mean + z * std.

    A few thousand impostor pairs cannot measure an FMR of 1e-5 directly; this extrapolates the
    tail instead. Impostor cosine similarities of ArcFace-style models are close to normal
    around a mean near zero.
    """
    return float(np.mean(impostor) + _Z_FOR_FMR[target_fmr] * np.std(impostor))


def identity_margin(embeddings: np.ndarray, labels: Sequence[str], floor: float) -> float:
    """Smallest lead of the best person over the second-best that never confirmed a wrong person.

    Leave-one-out over the set: each face is matched against all other faces, scored per
    person by its nearest face. Whenever the wrong person comes first, the lead it had would
    have auto-assigned the face under any margin up to that lead, so the margin must exceed it.
    """
    vectors = _unit_rows(embeddings)
    labels_array = np.asarray(labels)
    people = np.unique(labels_array)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    per_person = np.stack([similarity[:, labels_array == person].max(axis=1) for person in people], axis=1)
    order = np.argsort(-per_person, axis=1)
    best, second = order[:, 0], order[:, 1]
    rows = np.arange(len(vectors))
    lead = per_person[rows, best] - per_person[rows, second]
    wrong = people[best] != labels_array
    wrong &= np.isfinite(lead)
    worst_wrong_lead = float(lead[wrong].max()) if wrong.any() else 0.0
    return max(floor, worst_wrong_lead + 0.01)


def recommend_thresholds(
    embeddings: np.ndarray, labels: Sequence[str], *, source: str, safety_margin: float = SAFETY_MARGIN
) -> CalibrationReport:
    """Calibrate the three bands on labelled embeddings (at least two identities).

    auto_assign = max(highest impostor pair seen, normal-tail estimate at FMR 1e-5)
                  + safety_margin, rounded up to 0.001.
      A small labelled set cannot show an FMR of 1e-4 or below: with ~10^4 impostor pairs the
      empirical 1e-4 point is the second-highest impostor score, i.e. noise. Taking the worst
      impostor and the extrapolated tail keeps false automatic assignments near zero; whether
      a further margin is needed for people not in the set is measured by `cross_validate`
      (see SAFETY_MARGIN). A gallery compares each new face with thousands of confirmed faces,
      so the per-pair rate has to be far below 1/gallery size.
    suggest = max(empirical threshold at FMR 1e-2, normal-tail estimate at 1e-2).
      A wrong suggestion costs one click, a missed one hides a match.
    margin = see `identity_margin`, at least MIN_IDENTITY_MARGIN.
    """
    genuine, impostor = pair_similarities(embeddings, labels)
    if not len(genuine) or not len(impostor):
        raise ValueError("calibration needs at least two identities with two faces each")
    eer, eer_threshold = equal_error_rate(genuine, impostor)
    auto = max(float(impostor.max()), gaussian_threshold(impostor, AUTO_TARGET_FMR))
    # Rounded up: with no safety margin, rounding to nearest could put auto_assign just under
    # the highest impostor pair and let it through.
    auto = math.ceil(round((auto + safety_margin) * 1000, 6)) / 1000
    suggest = max(
        threshold_at_fmr(impostor, SUGGEST_TARGET_FMR),
        gaussian_threshold(impostor, SUGGEST_TARGET_FMR),
    )
    thresholds = PackThresholds(
        auto_assign=auto,
        suggest=round(min(suggest, auto), 3),
        margin=round(identity_margin(embeddings, labels, MIN_IDENTITY_MARGIN), 3),
        source=source,
        calibrated=True,
    )
    rates = {}
    for band, threshold in (
        ("auto_assign", thresholds.auto_assign),
        ("suggest", thresholds.suggest),
        ("eer", eer_threshold),
    ):
        fmr, fnmr = error_rates(genuine, impostor, threshold)
        rates[band] = {"threshold": threshold, "fmr": fmr, "fnmr": fnmr}
    return CalibrationReport(
        identities=len(set(labels)),
        faces=len(labels),
        genuine_pairs=len(genuine),
        impostor_pairs=len(impostor),
        eer=eer,
        eer_threshold=eer_threshold,
        max_impostor=float(impostor.max()),
        impostor_mean=float(impostor.mean()),
        impostor_std=float(impostor.std()),
        genuine_median=float(np.median(genuine)),
        thresholds=thresholds,
        rates=rates,
    )


def identity_folds(labels: Sequence[str], folds: int = CV_FOLDS) -> list[list[str]]:
    """The identities held out by each fold: sorted names dealt out in turn (name i to fold i % folds).

    Deterministic, so a rerun on the same folder reports the same numbers.
    """
    names = sorted({str(label) for label in labels})
    if folds < 2 or len(names) < folds:
        raise ValueError(f"{folds}-fold cross-validation needs at least {max(folds, 2)} identities, got {len(names)}")
    return [names[fold::folds] for fold in range(folds)]


def cross_validate(
    embeddings: np.ndarray, labels: Sequence[str], *, folds: int = CV_FOLDS, safety_margin: float = SAFETY_MARGIN
) -> dict:
    """Leave-identities-out estimate of the error rates at the thresholds `recommend_thresholds` fits.

    Each fold fits the thresholds on the faces of the other identities only, then measures them
    on the pairs the fit never saw: every same-person pair of a held-out identity and every
    different-person pair with at least one held-out face (a new person against the people
    already known, as in a gallery). In-sample rates flatter the thresholds, which were chosen
    on those very pairs; these say how they do on people the calibration has not met.

    The "eer" band is the training set's EER threshold measured on the held-out pairs; its
    "eer" value is (FMR + FNMR) / 2 there. "mean" averages the folds' rates and thresholds;
    "pooled" counts the errors of all folds (each at its own thresholds) over all their pairs,
    which weighs a fold by its pairs and so compares with the in-sample rates (a fold of people
    with many photos can hold most of the same-person pairs); "worst_fmr" is the highest fold
    FMR per band.
    """
    vectors = _unit_rows(embeddings)
    labels_array = np.asarray(labels)
    if len(labels_array) != len(vectors):
        raise ValueError("one label per embedding is needed")
    similarity = vectors @ vectors.T
    first, second = np.triu_indices(len(vectors), k=1)
    same = labels_array[first] == labels_array[second]
    scores = similarity[first, second]

    results = []
    # band -> [false matches, different-person pairs, false non-matches, same-person pairs]
    counts: dict[str, list[int]] = {}
    for held_out in identity_folds(labels, folds):
        held = np.isin(labels_array, held_out)
        fit = recommend_thresholds(
            vectors[~held], labels_array[~held].tolist(), source="cross-validation", safety_margin=safety_margin
        )
        unseen = held[first] | held[second]
        genuine, impostor = scores[unseen & same], scores[unseen & ~same]
        rates = {}
        for band, threshold in (
            ("auto_assign", fit.thresholds.auto_assign),
            ("suggest", fit.thresholds.suggest),
            ("eer", fit.eer_threshold),
        ):
            fmr, fnmr = error_rates(genuine, impostor, threshold)
            rates[band] = {"threshold": threshold, "fmr": fmr, "fnmr": fnmr}
            found = (int(np.sum(impostor >= threshold)), len(impostor), int(np.sum(genuine < threshold)), len(genuine))
            counts[band] = [total + new for total, new in zip(counts.get(band, [0, 0, 0, 0]), found, strict=True)]
        results.append(
            {
                "held_out": list(held_out),
                "genuine_pairs": len(genuine),
                "impostor_pairs": len(impostor),
                "max_impostor": float(impostor.max()) if len(impostor) else None,
                "margin": fit.thresholds.margin,
                "eer": (rates["eer"]["fmr"] + rates["eer"]["fnmr"]) / 2,
                "rates": rates,
            }
        )
    bands = results[0]["rates"].keys()
    pooled = {
        band: {"fmr": false_matches / max(impostors, 1), "fnmr": misses / max(genuines, 1)}
        for band, (false_matches, impostors, misses, genuines) in counts.items()
    }
    return {
        "folds": folds,
        "split": "leave identities out: sorted names dealt out in turn, name i held out by fold i % folds",
        "safety_margin": safety_margin,
        "per_fold": results,
        "mean": {
            "eer": float(np.mean([fold["eer"] for fold in results])),
            "rates": {
                band: {
                    key: float(np.mean([fold["rates"][band][key] for fold in results]))
                    for key in ("threshold", "fmr", "fnmr")
                }
                for band in bands
            },
        },
        "pooled": {"eer": (pooled["eer"]["fmr"] + pooled["eer"]["fnmr"]) / 2, "rates": pooled},
        "worst_fmr": {band: max(fold["rates"][band]["fmr"] for fold in results) for band in bands},
    }


def safety_margin_sweep(
    embeddings: np.ndarray,
    labels: Sequence[str],
    *,
    margins: Sequence[float] = SAFETY_MARGIN_CANDIDATES,
    folds: int = CV_FOLDS,
) -> dict[float, dict]:
    """Cross-validated auto_assign for each safety margin: mean threshold, FMR per fold, pooled FNMR."""
    sweep = {}
    for margin in margins:
        result = cross_validate(embeddings, labels, folds=folds, safety_margin=margin)
        sweep[margin] = {
            "auto_assign": result["mean"]["rates"]["auto_assign"]["threshold"],
            "fmr_per_fold": [fold["rates"]["auto_assign"]["fmr"] for fold in result["per_fold"]],
            "fnmr": result["pooled"]["rates"]["auto_assign"]["fnmr"],
        }
    return sweep


def smallest_safe_margin(sweep: dict[float, dict]) -> float | None:
    """The smallest swept safety margin with a held-out FMR of 0 at auto_assign on every fold."""
    safe = [margin for margin, result in sweep.items() if not any(result["fmr_per_fold"])]
    return min(safe, default=None)


def labelled_photos(folder: Path) -> list[tuple[str, Path]]:
    """(identity, photo) pairs of an identity-folder tree: one sub-folder per person.

    Sub-folders whose name starts with "_" hold unlabelled material (groups, no-face photos)
    and are skipped.
    """
    return [
        (person.name, photo)
        for person in sorted(p for p in Path(folder).iterdir() if p.is_dir())
        if not person.name.startswith("_")
        for photo in sorted(person.iterdir())
        if photo.suffix.lower() in PHOTO_SUFFIXES
    ]


def largest_face(faces: Sequence[FaceT]) -> FaceT | None:
    """The labelled person of an identity photo: its largest face (others are bystanders)."""
    return max(faces, key=lambda face: face.area, default=None)


def thresholds_for_pack(*, model_id: str, pack_name: str, recogniser_file: str) -> PackThresholds:
    """The stored thresholds for a pack, most specific first.

    1. "calibrated", keyed by model id (pack name + recogniser hash): measured with
       calibrate_faces, so a different recogniser never reuses them.
    2. "documented", keyed by pack name + recogniser file name: published defaults for packs we
       cannot calibrate here (buffalo_l); replace them by calibrating on your own photos.
    3. "fallback": a conservative guess for anything else, with a warning.
    """
    table = _stored_table()
    if model_id in table["calibrated"]:
        return _thresholds(table["calibrated"][model_id], calibrated=True)
    documented = table["documented"].get(pack_name)
    if documented and documented["recogniser_file"] == recogniser_file:
        logger.info("Face pack %s uses documented, uncalibrated thresholds", model_id)
        return _thresholds(documented, calibrated=False)
    logger.warning(
        "No calibrated thresholds for face pack %s: using the conservative fallback "
        "(fewer automatic assignments, more suggestions). Run `manage.py calibrate_faces "
        "<labelled folder> --pack <pack>` and add the result to %s.",
        model_id,
        THRESHOLDS_FILE,
    )
    return _thresholds(table["fallback"], calibrated=False)


def suggest_line(model_id: str) -> float:
    """The "suggest" similarity of the pack that made `model_id`'s embeddings, from the stored table
    alone: pages use it (the merge page's "Most alike") and web processes never load the engine,
    so there is no recogniser file name to check a documented entry against; the pack name
    before the colon of the model id finds it, as it does in thresholds_for_pack."""
    table = _stored_table()
    entry = table["calibrated"].get(model_id) or table["documented"].get(model_id.split(":", 1)[0])
    return float((entry or table["fallback"])["suggest"])


def store_calibrated(model_id: str, entry: dict) -> None:
    """Put (or replace) the calibrated entry of one model id in THRESHOLDS_FILE; the rest stays."""
    table = json.loads(THRESHOLDS_FILE.read_text(encoding="utf-8"))
    table["calibrated"][model_id] = entry
    THRESHOLDS_FILE.write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")
    # The table is read once per process; this one should see what it just wrote.
    _stored_table.cache_clear()


@lru_cache(maxsize=1)
def _stored_table() -> dict:
    with THRESHOLDS_FILE.open(encoding="utf-8") as stream:
        return json.load(stream)


def _thresholds(entry: dict, *, calibrated: bool) -> PackThresholds:
    return PackThresholds(
        auto_assign=float(entry["auto_assign"]),
        suggest=float(entry["suggest"]),
        margin=float(entry["margin"]),
        source=entry["source"],
        calibrated=calibrated,
    )


def _unit_rows(embeddings: np.ndarray) -> np.ndarray:
    vectors = np.asarray(embeddings, dtype=np.float64)
    if vectors.ndim != 2:
        raise ValueError("embeddings must be a 2-D array, one row per face")
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
