"""manage.py evaluate_recognition <folder> [--labels-per-person K [--poison F] | --simulate-user] [--json] [--inline]

Measures recognition as a user lives it: a throwaway user uploads the labelled folder through
the upload services, names the largest face of the first K photos of each identity, and the
largest face of every other photo is scored after the re-match. With --simulate-user the user
instead names every scored face, from an empty library, with the fewest actions it finds, and
the actions are counted. With --poison F a fraction F of the scored faces is then confirmed to
the wrong person (a look-alike) and the report says how many of them the "Faces that may not be
X" list shows in its first ten. See faces/evaluation.py, faces/simulation.py and docs/EVALUATION.md.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from faces import evaluation
from faces.engine import FaceEngineError


class Command(BaseCommand):
    help = "Measure recognition quality on a labelled identity-folder tree, through the real services."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path, help="one sub-folder of photos per person ('_' folders: extras)")
        parser.add_argument(
            "--labels-per-person", type=int, default=3, metavar="K", help="faces the user names per identity (3)"
        )
        parser.add_argument(
            "--unlabelled-identities",
            type=int,
            # Default 0: every identity folder is named, as the scores are defined; the `_` folders
            # are the unlabelled extras. Hold identities out to measure how strangers are grouped.
            default=0,
            metavar="N",
            help="identities uploaded but never named, spread over the sorted names (default 0)",
        )
        parser.add_argument(
            "--simulate-user",
            action="store_true",
            help="name every scored face from an empty library and count the actions (K does not apply)",
        )
        parser.add_argument(
            "--poison",
            type=float,
            default=0.0,
            metavar="F",
            help="after scoring, confirm this fraction of the scored faces to a look-alike person and report "
            "where they rank in that person's outlier list (e.g. 0.05)",
        )
        parser.add_argument("--json", dest="as_json", action="store_true", help="end with one JSON object")
        parser.add_argument(
            "--inline", action="store_true", help="run the tasks in this process instead of on a running worker"
        )
        parser.add_argument(
            "--timeout", type=float, default=900.0, help="seconds to wait for the worker at each step (900)"
        )

    def handle(
        self,
        *args,
        folder: Path,
        labels_per_person: int,
        unlabelled_identities: int | None,
        simulate_user: bool,
        poison: float,
        as_json: bool,
        inline: bool,
        timeout: float,
        **options,
    ) -> None:
        if labels_per_person < 1:
            raise CommandError("--labels-per-person must be at least 1")
        if simulate_user and unlabelled_identities:
            # The simulated user names every identity; nobody is held out.
            raise CommandError("--unlabelled-identities does not apply to --simulate-user")
        if simulate_user and poison:
            raise CommandError("--poison does not apply to --simulate-user")
        # Check the input before anything is created.
        try:
            dataset = evaluation.dataset_scan(folder)
            evaluation.unlabelled_choice(list(dataset.identities), unlabelled_identities)
            evaluation.poison_choice(0, poison)
        except evaluation.EvaluationError as exc:
            raise CommandError(str(exc)) from exc
        # With --json the progress goes to stderr, so stdout is the JSON object alone.
        out = self.stderr if as_json else self.stdout

        if inline:
            runner: evaluation.Runner = evaluation.InlineRunner()
        else:
            workers = evaluation.WorkerRunner.available()
            if not workers:
                raise CommandError(
                    "No Celery worker answered on the photo queue. Start one with the same settings "
                    "(.venv/bin/celery -A smartgallery worker -Q default,faces) or use --inline."
                )
            out.write(f"Using worker(s): {', '.join(workers)}")
            runner = evaluation.WorkerRunner(timeout=timeout)

        try:
            report = evaluation.evaluate(
                folder=folder,
                labels_per_person=labels_per_person,
                unlabelled_identities=unlabelled_identities,
                runner=runner,
                progress=out.write,
                simulate_user=simulate_user,
                poison=poison,
            )
        except (evaluation.EvaluationError, FaceEngineError) as exc:
            raise CommandError(str(exc)) from exc
        except KeyboardInterrupt:
            # evaluate() deleted the throwaway user on the way out; say so instead of a traceback.
            raise CommandError("Interrupted; the throwaway user and its files were deleted.") from None

        self._write_cases(report, out)
        if as_json:
            self.stdout.write(json.dumps(report.values | {"cases": report.cases}))
        elif simulate_user:
            self._write_effort(report.values)
        else:
            self._write_summary(report.values)

    def _write_cases(self, report: evaluation.Report, out) -> None:
        """Every scored face that was not named right automatically, worst kinds first."""
        order = {
            kind: n
            for n, kind in enumerate(
                [
                    "effort_wrong_left",
                    "auto_wrong",
                    "effort_wrong_auto",
                    "unlabelled_auto",
                    "poison_missed",
                    "suggest_wrong",
                    "missed",
                ]
            )
        }
        for case in sorted(report.cases, key=lambda c: (order.get(c["kind"], 9), c["photo"])):
            got = f" -> {case['got']}" if case["got"] else ""
            score = f" (similarity {case['similarity']}, margin {case['margin']})" if case["similarity"] else ""
            if case["kind"] == "poison_missed":
                score = f" (score {case['similarity']}, rank {case['rank']} of {case['listed']})"
            out.write(f"  {case['kind']}: {case['photo']}{got}{score}")

    def _write_summary(self, v: dict) -> None:
        write = self.stdout.write
        write(
            f"{v['photos']} photos ({v['photos_failed']} failed), {v['faces_detected']} faces, "
            f"{v['identities']} identities ({v['labelled_identities']} named with K={v['labels_per_person']}, "
            f"held out unnamed: {', '.join(v['unlabelled_identities']) or 'none'}); "
            f"{v['seconds']} s, {v['photos_per_second']} photos/s ({v['mode']}), model {v['model_id']}"
        )
        write(
            f"Evaluated {v['evaluated']}: auto {v['auto_correct']} right / {v['auto_wrong']} wrong, "
            f"suggested {v['suggest_correct']} right / {v['suggest_wrong']} wrong, "
            f"{v['unknown']} unknown, {v['missed']} missed"
        )
        write(
            self.style.SUCCESS(
                f"auto_precision {v['auto_precision']}  auto_recall {v['auto_recall']}  "
                f"suggest_or_auto_recall {v['suggest_or_auto_recall']}"
            )
        )
        write(
            f"Unnamed people: {v['unlabelled_faces']} faces, {v['unlabelled_auto']} wrongly named, "
            f"{v['unlabelled_suggested']} suggested, {v['unlabelled_unknown']} unknown of which "
            f"{v['unlabelled_grouped']} grouped (coverage {v['group_coverage']}); {v['groups']} groups, "
            f"purity {v['group_purity']}"
        )
        if "poison_total" in v:
            write(
                f"Poisoned {v['poison_total']} faces ({v['poison_fraction']}) of {v['poison_persons']} people: "
                f"{v['poison_found_top10']} in the first 10 of their outlier list (a random order: "
                f"{v['poison_chance_top10']}), top 3 {v['poison_recall_top3']}, first {v['poison_recall_top1']}, "
                f"median rank {v['poison_median_rank']} of {v['poison_median_list']}; "
                f"{v['poison_followers']} faces named after them, {v['poison_followers_top10']} in the first 10"
            )
            summary = f"poison_recall_top10 {v['poison_recall_top10']}"
            write(self.style.SUCCESS(summary) if v["poison_recall_top10"] >= 0.9 else self.style.ERROR(summary))

    def _write_effort(self, v: dict) -> None:
        write = self.stdout.write
        write(
            f"{v['photos']} photos ({v['photos_failed']} failed), {v['faces_detected']} faces, "
            f"{v['identities']} identities, {v['scored_faces']} scored faces ({v['missed']} photos without one); "
            f"{v['seconds']} s ({v['mode']}), model {v['model_id']}"
        )
        write(
            f"At the start: {v['start_groups']} groups holding {v['start_group_coverage']} of the scored faces, "
            f"purity {v['start_group_purity']}, pairwise precision {v['start_group_pairwise_precision']} / "
            f"recall {v['start_group_pairwise_recall']} / F {v['start_group_f_measure']}"
        )
        kinds = ", ".join(f"{kind} {n}" for kind, n in v["effort_actions_by_kind"].items() if n)
        write(f"Actions: {kinds}; {v['effort_people']} people named")
        write(
            f"{v['suggestions']} suggestions, precision {v['suggestion_precision']}; "
            f"{v['effort_wrong_auto']} faces named wrongly by the product on the way, "
            f"{v['effort_right_auto']} right by the product at the end"
        )
        summary = (
            f"effort_actions {v['effort_actions']}  effort_actions_per_face {v['effort_actions_per_face']}  "
            f"effort_wrong_left {v['effort_wrong_left']}"
        )
        write(self.style.SUCCESS(summary) if not v["effort_wrong_left"] else self.style.ERROR(summary))
