"""manage.py calibrate_faces <folder>: measure similarity thresholds for a face pack.

The folder holds one sub-folder of photos per person; in each photo the largest face is that
person. The output is the EER and the three recommended bands with their false-match (FMR) and
false-non-match (FNMR) rates twice: in-sample (fitted and measured on the same pairs, which
flatters them) and cross-validated (fitted on some people, measured on the others); then the
held-out FMR at auto_assign for each candidate safety margin, and the entry for
faces/packs/thresholds.json (--write puts it there).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser

from faces import calibration
from faces.calibration import (
    CV_FOLDS,
    SAFETY_MARGIN,
    CalibrationReport,
    cross_validate,
    labelled_photos,
    largest_face,
    recommend_thresholds,
    safety_margin_sweep,
    smallest_safe_margin,
    store_calibrated,
)
from faces.engine import FaceEngine, FaceEngineError, load_engine, load_upright_rgb
from faces.engine_loader import engine_options


class Command(BaseCommand):
    help = "Calibrate auto-assign / suggest thresholds of a face pack on labelled photos."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path, help="one sub-folder of photos per person")
        parser.add_argument("--pack", help="pack folder or name (default: SMARTGALLERY_FACE_PACK)")
        parser.add_argument("--json", dest="as_json", action="store_true", help="print one JSON object")
        parser.add_argument(
            "--folds", type=int, default=CV_FOLDS, help=f"cross-validation folds, by identity (default {CV_FOLDS})"
        )
        parser.add_argument(
            "--write", action="store_true", help="store the result under calibrated[model id] in thresholds.json"
        )

    def handle(self, *args, folder: Path, pack: str | None, as_json: bool, folds: int, write: bool, **options) -> None:
        photos = labelled_photos(folder) if folder.is_dir() else []
        if not photos:
            raise CommandError(f"No labelled photos in {folder} (expected <folder>/<person>/*.jpg)")
        settings_options = engine_options()
        if pack:
            settings_options["pack"] = pack
        try:
            engine = load_engine(**settings_options)
        except FaceEngineError as exc:
            raise CommandError(str(exc)) from exc

        embeddings, labels, skipped = _embed_labelled(engine, photos)
        vectors = np.array(embeddings)
        try:
            report = recommend_thresholds(vectors, labels, source=f"calibrate_faces on {folder.name}/")
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        # A small folder (a test tree, a first try) may be too few people to hold some out:
        # the in-sample numbers still stand, and the output says why the others are missing.
        try:
            cross_validated = cross_validate(vectors, labels, folds=folds)
            sweep = safety_margin_sweep(vectors, labels, folds=folds)
        except ValueError as exc:
            cross_validated, sweep, cv_skipped = None, None, str(exc)
        else:
            cv_skipped = None

        command_line = f"manage.py calibrate_faces {folder} --pack {settings_options['pack']}"
        entry = _stored_entry(engine, report, cross_validated, sweep, command_line)
        if as_json:
            result = {
                "model_id": engine.model_id,
                "dim": engine.dim,
                "skipped": skipped,
                **report.as_dict(),
                "cross_validated": cross_validated,
                "cross_validation_skipped": cv_skipped,
                "safety_margin_sweep": sweep,
            }
            self.stdout.write(_json_dumps(result))
        else:
            self._write_report(engine, report, skipped, cross_validated, sweep, cv_skipped)
        if write:
            store_calibrated(engine.model_id, entry)
            if not as_json:
                self.stdout.write(f'Written under "calibrated" in {calibration.THRESHOLDS_FILE}')
        elif not as_json:
            self.stdout.write(f'Add under "calibrated" in {calibration.THRESHOLDS_FILE} (or rerun with --write):')
            self.stdout.write(_json_dumps({engine.model_id: entry}))

    def _write_report(
        self,
        engine: FaceEngine,
        report: CalibrationReport,
        skipped: list[str],
        cross_validated: dict | None,
        sweep: dict[float, dict] | None,
        cv_skipped: str | None,
    ) -> None:
        write = self.stdout.write
        write(f"Pack {engine.model_id} ({engine.dim}-d embeddings)")
        write(
            f"{report.identities} people, {report.faces} faces, {report.genuine_pairs} "
            f"same-person and {report.impostor_pairs} different-person pairs"
        )
        for photo in skipped:
            write(f"  skipped (no recognisable face): {photo}")
        cv_eer = (
            f"; cross-validated {cross_validated['pooled']['eer']:.2%} pooled, "
            f"{cross_validated['mean']['eer']:.2%} fold mean"
            if cross_validated
            else ""
        )
        write(f"EER in-sample {report.eer:.2%} at similarity {report.eer_threshold:.3f}{cv_eer}")
        write(
            f"Different-person similarity: mean {report.impostor_mean:.3f}, "
            f"sd {report.impostor_std:.3f}, max {report.max_impostor:.3f}; "
            f"same-person median {report.genuine_median:.3f}"
        )
        write("In-sample (fitted and measured on all pairs):")
        write(f"{'band':<12} {'similarity':>10} {'FMR':>9} {'FNMR':>9}")
        for band, rates in report.rates.items():
            write(f"{band:<12} {rates['threshold']:>10.3f} {rates['fmr']:>9.4%} {rates['fnmr']:>9.2%}")
        write(f"margin over the second-best person: {report.thresholds.margin:.3f}")

        if cross_validated is None:
            write(f"Cross-validation skipped: {cv_skipped}")
            return
        write(
            f"Cross-validated, {cross_validated['folds']} folds leaving people out (fitted on the others, "
            "measured on the pairs with a held-out person):"
        )
        write(
            f"{'fold':<5} {'auto_assign':>11} {'FMR':>8} {'FNMR':>7} {'suggest':>8} {'FMR':>8} {'FNMR':>7} "
            f"{'EER':>7} {'max diff':>8}  held out"
        )
        for number, fold in enumerate(cross_validated["per_fold"], start=1):
            write(
                _fold_line(str(number), fold["rates"], fold["eer"], fold["max_impostor"], ", ".join(fold["held_out"]))
            )
        mean = cross_validated["mean"]
        write(_fold_line("mean", mean["rates"], mean["eer"], None, ""))
        pooled = cross_validated["pooled"]
        write(_fold_line("pool", pooled["rates"], pooled["eer"], None, ""))
        write(
            "(max diff: highest held-out different-person similarity; pool: the errors of all folds over all "
            "their pairs, comparable with the in-sample rates)"
        )

        write(f"Safety margin added to auto_assign, cross-validated (SAFETY_MARGIN is {SAFETY_MARGIN}):")
        write(f"{'margin':>6} {'auto_assign':>11} {'FNMR':>7}  FMR per fold (auto_assign: fold mean; FNMR: pooled)")
        for margin, result in sweep.items():
            per_fold = " ".join(f"{fmr:.4%}" for fmr in result["fmr_per_fold"])
            write(f"{margin:>6.3f} {result['auto_assign']:>11.3f} {result['fnmr']:>7.2%}  {per_fold}")
        safe = smallest_safe_margin(sweep)
        write(
            "smallest margin with held-out FMR 0 on every fold: "
            + (f"{safe:.3f}" if safe is not None else "none of them, so auto_assign needs a larger margin")
        )


def _fold_line(name: str, rates: dict, eer: float, max_impostor: float | None, held_out: str) -> str:
    auto, suggest = rates["auto_assign"], rates["suggest"]

    def number(value: float | None, width: int) -> str:
        return f"{value:>{width}.3f}" if value is not None else " " * width

    return (
        f"{name:<5} {number(auto.get('threshold'), 11)} {auto['fmr']:>8.4%} {auto['fnmr']:>7.2%} "
        f"{number(suggest.get('threshold'), 8)} {suggest['fmr']:>8.4%} {suggest['fnmr']:>7.2%} {eer:>7.2%} "
        f"{number(max_impostor, 8)}  {held_out}"
    ).rstrip()


def _embed_labelled(
    engine: FaceEngine, photos: list[tuple[str, Path]]
) -> tuple[list[np.ndarray], list[str], list[str]]:
    embeddings, labels, skipped = [], [], []
    for person, photo in photos:
        face = largest_face(engine.detect(load_upright_rgb(photo)))
        if face is None or face.embedding is None:
            skipped.append(f"{person}/{photo.name}")
            continue
        embeddings.append(face.embedding)
        labels.append(person)
    return embeddings, labels, skipped


def _stored_entry(
    engine: FaceEngine,
    report: CalibrationReport,
    cross_validated: dict | None,
    sweep: dict[float, dict] | None,
    command_line: str,
) -> dict:
    thresholds = report.thresholds
    entry = {
        "auto_assign": thresholds.auto_assign,
        "suggest": thresholds.suggest,
        "margin": thresholds.margin,
        "source": _source(engine, report, cross_validated, command_line),
        "eer": round(report.eer, 4),
        "faces": report.faces,
        "identities": report.identities,
        "in_sample": _rounded({"eer": report.eer, "max_impostor": report.max_impostor, "rates": report.rates}),
    }
    if cross_validated is not None:
        entry["cross_validated"] = _rounded(cross_validated)
        entry["safety_margin_sweep"] = _rounded({str(margin): result for margin, result in sweep.items()})
    return entry


def _source(engine: FaceEngine, report: CalibrationReport, cross_validated: dict | None, command_line: str) -> str:
    def at_bands(rates: dict) -> str:
        return "; ".join(
            f"FMR {rates[band]['fmr']:.2%} / FNMR {rates[band]['fnmr']:.1%} at {band}"
            for band in ("auto_assign", "suggest")
        )

    text = (
        f"{command_line} ({report.identities} people, {report.faces} faces, min face {engine.min_face_px} px): "
        f"in-sample EER {report.eer:.2%} at {report.eer_threshold:.3f}; {at_bands(report.rates)}"
    )
    if cross_validated is not None:
        pooled = cross_validated["pooled"]
        text += (
            f". Cross-validated ({cross_validated['folds']} folds leaving people out, errors pooled over the "
            f"folds): EER {pooled['eer']:.2%}; {at_bands(pooled['rates'])}"
        )
    return text


def _rounded(value):
    """Floats to 4 decimals, so the stored entry stays readable (rates are counts over ~10^4 pairs)."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(item) for item in value]
    return value


def _json_dumps(value: dict) -> str:
    return json.dumps(value, indent=2)
