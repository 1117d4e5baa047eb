"""manage.py check_integrity [--fix] [--json] [--no-engine]: storage, rows and face indexes
checked against each other; see gallery/integrity.py for what is found and repaired."""

import json
from datetime import timedelta

from django.core.management.base import BaseCommand

from gallery import integrity


class Command(BaseCommand):
    help = (
        "Find orphan files, rows whose files are missing, faces of an old face model and stale face "
        "indexes; --fix repairs what can be repaired (orphans are quarantined, never deleted)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="repair what can be repaired")
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
        parser.add_argument(
            "--no-engine",
            action="store_true",
            help="do not load the face engine: skip the face-model check and index rebuilds",
        )
        parser.add_argument(
            "--orphan-min-age",
            type=int,
            default=int(integrity.ORPHAN_MIN_AGE.total_seconds()),
            metavar="SECONDS",
            help="files younger than this are never orphans (an upload writes its file before its row)",
        )

    def handle(self, *args, **options):
        model, engine_note = None, ""
        if not options["no_engine"]:
            model, engine_note = self._load_model()
        findings = integrity.find(
            model_id=model.model_id if model else None,
            orphan_min_age=timedelta(seconds=options["orphan_min_age"]),
        )
        repairs = integrity.repair(findings, model=model) if options["fix"] else None
        if options["json"]:
            report = {"problems": findings.problems, "findings": findings.as_dict(), "engine": engine_note or "loaded"}
            if repairs is not None:
                report["repairs"] = repairs.as_dict()
            self.stdout.write(json.dumps(report, indent=2, sort_keys=True))
            return
        self._write_text(findings, repairs, engine_note)

    def _load_model(self):
        # Knowing the current model id means loading the pack (its id hashes the recogniser
        # file); a command can afford that, and the index rebuild needs the engine anyway.
        from faces import recognition_model
        from faces.engine import FaceEngineError

        try:
            return recognition_model.current_model(), ""
        except FaceEngineError as exc:
            return None, f"face engine not loaded ({exc}); face-model check and index rebuilds skipped"

    def _write_text(self, findings, repairs, engine_note):
        out = self.stdout
        if engine_note:
            out.write(self.style.WARNING(engine_note))
        sections = [
            ("Orphan files (no row points at them)", findings.orphan_files),
            ("Photos whose original is missing", findings.photos_missing_original),
            ("Processed photos missing a thumbnail or preview", findings.photos_missing_derivatives),
            ("Faces whose crop is missing", findings.faces_missing_crop),
            (f"Faces of another model than {findings.model_id}", findings.stale_model_faces),
            (f"Processed photos not done with {findings.model_id}", findings.stale_model_photos),
            ("Face indexes to rebuild", [f"user {o}: {r}" for o, r in findings.stale_indexes.items()]),
        ]
        for title, items in sections:
            if items:
                out.write(f"{title}: {len(items)}")
                for item in items[:20]:
                    out.write(f"  {item}")
                if len(items) > 20:
                    out.write(f"  ... and {len(items) - 20} more")
        if repairs is not None:
            out.write(
                f"Fixed: {len(repairs.quarantined)} orphan(s) moved to {integrity.QUARANTINE_DIR}/, "
                f"{len(repairs.marked_failed)} photo(s) marked failed, {len(repairs.requeued)} photo(s) queued "
                f"again, {len(repairs.indexes_rebuilt)} index(es) rebuilt."
            )
            for note in repairs.not_repaired:
                out.write(self.style.WARNING(f"Not repaired: {note}"))
        if not findings.problems:
            out.write(self.style.SUCCESS("No problems found."))
        elif repairs is None:
            out.write(self.style.WARNING(f"{findings.problems} problem(s) found; run with --fix to repair them."))
        else:
            out.write(self.style.SUCCESS(f"{findings.problems} problem(s) found and handled."))
