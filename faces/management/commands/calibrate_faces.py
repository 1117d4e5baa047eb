"""manage.py calibrate_faces <folder>: measure similarity thresholds for a face pack.

The folder holds one sub-folder of photos per person; in each photo the largest face is that
person. The output is the EER, the three recommended bands with their measured false-match
(FMR) and false-non-match (FNMR) rates, and the entry to add to faces/packs/thresholds.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser

from faces.calibration import (
    THRESHOLDS_FILE,
    CalibrationReport,
    labelled_photos,
    largest_face,
    recommend_thresholds,
)
from faces.engine import FaceEngine, FaceEngineError, load_engine, load_upright_rgb
from faces.engine_loader import engine_options


class Command(BaseCommand):
    help = "Calibrate auto-assign / suggest thresholds of a face pack on labelled photos."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path, help="one sub-folder of photos per person")
        parser.add_argument("--pack", help="pack folder or name (default: SMARTGALLERY_FACE_PACK)")
        parser.add_argument("--json", dest="as_json", action="store_true", help="print one JSON object")

    def handle(self, *args, folder: Path, pack: str | None, as_json: bool, **options) -> None:
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
        try:
            report = recommend_thresholds(np.array(embeddings), labels, source=f"calibrate_faces on {folder.name}/")
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if as_json:
            self.stdout.write(_json_dumps(_json_result(engine, report, skipped)))
        else:
            self._write_report(engine, report, skipped)

    def _write_report(self, engine: FaceEngine, report: CalibrationReport, skipped: list[str]) -> None:
        write = self.stdout.write
        write(f"Pack {engine.model_id} ({engine.dim}-d embeddings)")
        write(
            f"{report.identities} people, {report.faces} faces, {report.genuine_pairs} "
            f"same-person and {report.impostor_pairs} different-person pairs"
        )
        for photo in skipped:
            write(f"  skipped (no recognisable face): {photo}")
        write(f"EER {report.eer:.2%} at similarity {report.eer_threshold:.3f}")
        write(
            f"Different-person similarity: mean {report.impostor_mean:.3f}, "
            f"sd {report.impostor_std:.3f}, max {report.max_impostor:.3f}; "
            f"same-person median {report.genuine_median:.3f}"
        )
        write(f"{'band':<12} {'similarity':>10} {'FMR':>9} {'FNMR':>9}")
        for band, rates in report.rates.items():
            write(f"{band:<12} {rates['threshold']:>10.3f} {rates['fmr']:>9.4%} {rates['fnmr']:>9.2%}")
        write(f"margin over the second-best person: {report.thresholds.margin:.3f}")
        write(f'Add under "calibrated" in {THRESHOLDS_FILE}:')
        write(_json_dumps(_stored_entry(engine, report)))


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


def _stored_entry(engine: FaceEngine, report: CalibrationReport) -> dict:
    thresholds = report.thresholds
    return {
        engine.model_id: {
            "auto_assign": thresholds.auto_assign,
            "suggest": thresholds.suggest,
            "margin": thresholds.margin,
            "source": thresholds.source,
            "eer": round(report.eer, 4),
            "faces": report.faces,
            "identities": report.identities,
        }
    }


def _json_result(engine: FaceEngine, report: CalibrationReport, skipped: list[str]) -> dict:
    return {"model_id": engine.model_id, "dim": engine.dim, "skipped": skipped, **report.as_dict()}


def _json_dumps(value: dict) -> str:
    return json.dumps(value, indent=2)
