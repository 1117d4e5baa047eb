"""manage.py evaluate_recognition: the scoring rules (pure), real runs on a few shared photos,
clean-up of the throwaway user, and the messages for bad input."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from accounts.models import User
from faces import evaluation, simulation
from faces.evaluation import (
    AUTO_CORRECT,
    AUTO_WRONG,
    MISSED,
    SUGGEST_CORRECT,
    SUGGEST_WRONG,
    UNKNOWN,
    EvaluationError,
)
from faces.models import Face, Person
from gallery.models import Photo

JSON_KEYS = {
    "identities",
    "photos",
    "faces_detected",
    "labelled",
    "evaluated",
    "auto_correct",
    "auto_wrong",
    "suggest_correct",
    "suggest_wrong",
    "unknown",
    "missed",
    "auto_precision",
    "auto_recall",
    "suggest_or_auto_recall",
    "group_purity",
    "group_pairwise_precision",
    "group_pairwise_recall",
    "group_f_measure",
    "seconds",
    "photos_per_second",
    "model_id",
}
# Small LFW photos (250x250): quick to process, one clear face each.
SUBSET = ["Ariel_Sharon", "George_W_Bush", "Gerhard_Schroeder", "Hugo_Chavez"]


# Scoring (pure) ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "person", "expected"),
    [
        ("auto", "Anna", AUTO_CORRECT),
        ("auto", "Bert", AUTO_WRONG),
        ("suggested", "Anna", SUGGEST_CORRECT),
        ("suggested", "Bert", SUGGEST_WRONG),
        ("unknown", None, UNKNOWN),
        (None, None, MISSED),
    ],
)
def test_outcome_of_one_face(state, person, expected):
    assert evaluation.outcome(expected="Anna", state=state, person=person) == expected


def test_outcome_refuses_a_face_only_the_user_could_have_decided():
    with pytest.raises(ValueError, match="confirmed"):
        evaluation.outcome(expected="Anna", state="confirmed", person="Anna")


def test_summary_counts_and_rates():
    summary = evaluation.quality_summary(
        {AUTO_CORRECT: 6, AUTO_WRONG: 2, SUGGEST_CORRECT: 1, SUGGEST_WRONG: 0, UNKNOWN: 0, MISSED: 1}
    )
    assert summary["evaluated"] == 10
    assert summary["auto_precision"] == 0.75
    assert summary["auto_recall"] == 0.6
    assert summary["suggest_or_auto_recall"] == 0.7


def test_precision_is_perfect_when_nothing_was_named_automatically():
    summary = evaluation.quality_summary({SUGGEST_CORRECT: 3, UNKNOWN: 2})
    assert summary["auto_correct"] == summary["auto_wrong"] == 0
    assert summary["auto_precision"] == 1.0
    assert summary["auto_recall"] == 0.0
    assert summary["suggest_or_auto_recall"] == 0.6


def test_rates_of_an_empty_evaluation():
    summary = evaluation.quality_summary({})
    assert summary["evaluated"] == 0
    assert (summary["auto_precision"], summary["auto_recall"], summary["suggest_or_auto_recall"]) == (1.0, 0.0, 0.0)


def test_group_purity_counts_each_groups_majority():
    summary = evaluation.group_summary({1: ["Anna", "Anna", "Bert"], 2: ["Carl", "Carl"], 3: ["Dora"]})
    assert summary["groups"] == 3
    assert summary["grouped_faces"] == 6
    assert summary["group_purity"] == round(5 / 6, 4)


def test_group_purity_leaves_out_faces_nobody_can_name():
    summary = evaluation.group_summary({1: ["Anna", "Anna", None], 2: [None, None]})
    assert summary["group_purity"] == 1.0
    assert summary["grouped_faces"] == 5
    assert summary["grouped_unidentified_faces"] == 3


def test_group_purity_without_groups():
    assert evaluation.group_summary({}) == {
        "groups": 0,
        "grouped_faces": 0,
        "grouped_unidentified_faces": 0,
        "group_purity": 1.0,
        "group_pairwise_precision": 1.0,
        "group_pairwise_recall": 1.0,
        "group_f_measure": 1.0,
    }


def test_pairwise_precision_counts_pairs_of_one_group_that_are_one_person():
    summary = evaluation.group_summary({1: ["Anna", "Anna", "Bert"], 2: ["Carl", "Carl"], 3: ["Dora"]})
    # Pairs in one group: Anna-Anna, Anna-Bert twice, Carl-Carl; two of the four are one person.
    assert summary["group_pairwise_precision"] == 0.5
    # Both pairs of one person are in one group.
    assert summary["group_pairwise_recall"] == 1.0
    assert summary["group_f_measure"] == round(2 * 0.5 * 1.0 / 1.5, 4)


def test_pairwise_recall_counts_the_ungrouped_faces_as_groups_of_one():
    summary = evaluation.group_summary({1: ["Anna", "Anna"]}, ungrouped=["Anna", "Bert", "Bert"])
    # Anna: 3 faces, 3 pairs, 1 of them together; Bert: 1 pair, apart.
    assert summary["group_pairwise_precision"] == 1.0
    assert summary["group_pairwise_recall"] == 0.25
    assert summary["group_f_measure"] == 0.4
    assert summary["grouped_faces"] == 2


def test_one_person_split_over_two_groups_lowers_recall_only():
    summary = evaluation.group_summary({1: ["Anna", "Anna"], 2: ["Anna", "Anna"]})
    # 6 pairs of Anna, 2 of them in one group.
    assert summary["group_purity"] == 1.0
    assert summary["group_pairwise_precision"] == 1.0
    assert summary["group_pairwise_recall"] == round(2 / 6, 4)


def test_pairwise_rates_leave_out_faces_nobody_can_name():
    summary = evaluation.group_summary({1: ["Anna", "Anna", None, None], 2: [None, "Bert"]})
    assert summary["group_pairwise_precision"] == 1.0
    assert summary["group_pairwise_recall"] == 1.0
    assert summary["group_f_measure"] == 1.0


def test_nothing_grouped_recalls_no_pair():
    summary = evaluation.group_summary({}, ungrouped=["Anna", "Anna", "Bert"])
    assert summary["group_pairwise_precision"] == 1.0
    assert summary["group_pairwise_recall"] == 0.0
    assert summary["group_f_measure"] == 0.0


def test_unlabelled_identities_default_to_every_fifth_name():
    names = [f"p{i:02d}" for i in range(10)]
    assert evaluation.unlabelled_choice(list(reversed(names))) == ["p04", "p09"]
    assert evaluation.unlabelled_choice(names[:4]) == []


def test_unlabelled_identities_by_count_are_spread_and_deterministic():
    names = [f"p{i:02d}" for i in range(9)]
    assert evaluation.unlabelled_choice(names, 3) == ["p02", "p05", "p08"]
    assert evaluation.unlabelled_choice(names, 0) == []


def test_unlabelled_identities_must_leave_someone_to_name():
    with pytest.raises(EvaluationError, match="leaves no identity to name"):
        evaluation.unlabelled_choice(["a", "b"], 2)
    with pytest.raises(EvaluationError, match="negative"):
        evaluation.unlabelled_choice(["a", "b"], -1)


def test_references_are_the_first_photos_with_a_face():
    assert evaluation.references_choice([True, False, True, True, True], 3) == [0, 2, 3]
    assert evaluation.references_choice([False, False], 2) == []


def test_largest_face_by_box_area():
    small = SimpleNamespace(box=(0, 0, 10, 10))
    big = SimpleNamespace(box=(50, 50, 90, 80))
    assert evaluation.largest([small, big]) is big
    assert evaluation.largest([]) is None


def test_poisoned_faces_are_spread_evenly_and_at_least_one():
    assert evaluation.poison_choice(100, 0.05) == [10, 30, 50, 70, 90]
    assert evaluation.poison_choice(100, 0.05) == evaluation.poison_choice(100, 0.05)
    assert evaluation.poison_choice(7, 0.05) == [3]
    assert evaluation.poison_choice(0, 0.05) == [] and evaluation.poison_choice(50, 0.0) == []
    for bad in (-0.1, 1.0, 2.0):
        with pytest.raises(EvaluationError, match="--poison"):
            evaluation.poison_choice(10, bad)


def test_a_poisoned_face_goes_to_the_most_alike_other_person():
    best = {3: 0.41, 5: 0.62, 8: 0.30}
    assert evaluation.lookalike(best, exclude=5) == 3
    assert evaluation.lookalike(best, exclude=1) == 5
    assert evaluation.lookalike({4: 0.5, 2: 0.5, 9: 0.1}, exclude=9) == 2  # a tie: the lower id
    assert evaluation.lookalike({5: 0.9}, exclude=5) is None


def test_poison_summary_counts_the_first_ten_and_what_chance_would():
    summary = evaluation.poison_summary([(1, 30), (12, 30), (2, 5), (None, 4)])
    assert summary["poison_total"] == 4 and summary["poison_found_top10"] == 2
    assert summary["poison_recall_top10"] == 0.5
    assert summary["poison_recall_top3"] == 0.5 and summary["poison_recall_top1"] == 0.25
    assert summary["poison_chance_top10"] == round((10 / 30 + 10 / 30 + 1 + 1) / 4, 4)
    assert summary["poison_median_rank"] == (2 + 5) / 2  # the unlisted one counts as last (4 + 1)
    assert summary["poison_median_list"] == (5 + 30) / 2
    assert evaluation.poison_summary([])["poison_recall_top10"] == 1.0


def test_dataset_scan_keeps_extras_apart(tmp_path):
    for name in ("Bert/b2.jpg", "Bert/b1.jpg", "Anna/a1.png", "_groups/g.jpg", "_groups/expected.tsv", "Empty/x.txt"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    dataset = evaluation.dataset_scan(tmp_path)
    assert list(dataset.identities) == ["Anna", "Bert"]
    assert [p.name for p in dataset.identities["Bert"]] == ["b1.jpg", "b2.jpg"]
    assert [p.name for p in dataset.extras] == ["g.jpg"]
    assert dataset.photo_count == 4


# Real runs -----------------------------------------------------------------------------------


def _subset(faces_dir: Path, target: Path, identities: list[str], per_identity: int, *, group: bool = True) -> Path:
    for name in identities:
        (target / name).mkdir(parents=True)
        for photo in sorted((faces_dir / name).iterdir())[:per_identity]:
            (target / name / photo.name).symlink_to(photo)
    if group:
        (target / "_groups").mkdir()
        (target / "_groups" / "deepface_couple.jpg").symlink_to(faces_dir / "_groups" / "deepface_couple.jpg")
    return target


def _run(*args: str) -> tuple[dict, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("evaluate_recognition", *args, stdout=out, stderr=err)
    last_line = out.getvalue().strip().splitlines()[-1]
    return json.loads(last_line), err.getvalue()


def _throwaway_id(progress: str) -> int:
    return int(re.search(r"Throwaway user \S+ \(id (\d+)\)", progress).group(1))


def _assert_gone(user_id: int) -> None:
    assert not User.objects.filter(pk=user_id).exists()
    assert not Photo.objects.filter(owner_id=user_id).exists()
    assert not Face.objects.filter(owner_id=user_id).exists()
    assert not Person.objects.filter(owner_id=user_id).exists()
    assert not (Path(settings.MEDIA_ROOT) / str(user_id)).exists()
    assert not (Path(settings.SMARTGALLERY_INDEX_DIR) / str(user_id)).exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_inline_run_scores_every_photo_and_removes_the_throwaway_user(faces_dir, tmp_path):
    folder = _subset(faces_dir, tmp_path / "set", SUBSET, per_identity=5)

    result, progress = _run(
        str(folder), "--labels-per-person", "2", "--unlabelled-identities", "1", "--inline", "--json"
    )

    assert JSON_KEYS <= result.keys()
    assert result["identities"] == 4
    assert result["unlabelled_identities"] == ["Hugo_Chavez"]
    assert result["photos"] == 4 * 5 + 1
    assert result["labelled"] == 3 * 2
    # Every photo of a named identity that was not named by the user is scored, once.
    assert result["evaluated"] == 3 * 3
    assert result["evaluated"] == sum(
        result[k] for k in ("auto_correct", "auto_wrong", "suggest_correct", "suggest_wrong", "unknown", "missed")
    )
    assert result["faces_detected"] >= 4 * 5
    assert result["unlabelled_faces"] == 5
    assert result["unlabelled_faces"] == sum(
        result[k] for k in ("unlabelled_auto", "unlabelled_suggested", "unlabelled_unknown")
    )
    assert 0.0 <= result["group_purity"] <= 1.0
    assert result["model_id"].startswith("face_default:")
    assert result["mode"] == "inline"
    # Clear LFW faces: the run really recognised them (not a scoring of empty rows).
    assert result["auto_correct"] + result["suggest_correct"] >= 7
    assert result["auto_wrong"] == 0
    _assert_gone(_throwaway_id(progress))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_poisoned_run_reports_where_the_wrong_confirmations_rank(faces_dir, tmp_path):
    folder = _subset(faces_dir, tmp_path / "set", SUBSET, per_identity=5, group=False)

    result, progress = _run(str(folder), "--labels-per-person", "2", "--poison", "0.2", "--inline", "--json")

    # 4 identities x 3 scored faces; 0.2 of 12, spread evenly: 2 faces confirmed to a look-alike.
    assert result["evaluated"] == 12 and result["auto_wrong"] == 0  # scored before the poisoning
    assert "Confirmed 2 faces to the wrong person" in progress
    assert result["poison_total"] == 2 and result["poison_fraction"] == 0.2
    assert 1 <= result["poison_persons"] <= 2
    missed = [c for c in result["cases"] if c["kind"] == "poison_missed"]
    assert result["poison_found_top10"] == 2 - len(missed)
    # Clear faces of four different men: each wrong one is the first of its person's list.
    assert result["poison_recall_top1"] == 1.0 and result["poison_median_rank"] == 1.0
    _assert_gone(_throwaway_id(progress))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_throwaway_user_is_deleted_when_the_run_fails(faces_dir, tmp_path):
    folder = _subset(faces_dir, tmp_path / "set", SUBSET[:2], per_identity=2, group=False)
    err = io.StringIO()

    with mock.patch.object(evaluation.InlineRunner, "regroup", side_effect=RuntimeError("boom")):
        with pytest.raises(RuntimeError, match="boom"):
            call_command(
                "evaluate_recognition",
                str(folder),
                "--labels-per-person",
                "1",
                "--inline",
                "--json",
                stdout=io.StringIO(),
                stderr=err,
            )

    _assert_gone(_throwaway_id(err.getvalue()))
    from smartgallery.celery import app

    assert not app.conf.task_always_eager


@pytest.mark.slow
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_run_through_the_real_worker(celery_worker_process, faces_dir, tmp_path):
    folder = _subset(faces_dir, tmp_path / "set", SUBSET[:2], per_identity=4, group=False)

    result, progress = _run(str(folder), "--labels-per-person", "1", "--json", "--timeout", "120")

    assert result["mode"] == "worker"
    assert result["photos"] == 8
    assert result["evaluated"] == 2 * 3
    assert result["auto_wrong"] == 0
    assert result["auto_correct"] + result["suggest_correct"] >= 5
    _assert_gone(_throwaway_id(progress))


EFFORT_KEYS = {
    "scored_faces",
    "start_groups",
    "start_group_purity",
    "start_group_pairwise_precision",
    "start_group_pairwise_recall",
    "start_group_f_measure",
    "start_group_coverage",
    "effort_actions",
    "effort_actions_per_face",
    "effort_actions_by_kind",
    "effort_wrong_auto",
    "effort_wrong_left",
    "suggestion_precision",
}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_simulated_user_names_every_scored_face_from_an_empty_library(faces_dir, tmp_path):
    folder = _subset(faces_dir, tmp_path / "set", SUBSET[:3], per_identity=4)

    result, progress = _run(str(folder), "--simulate-user", "--inline", "--json")

    assert EFFORT_KEYS <= result.keys()
    assert result["effort_wrong_left"] == 0
    assert result["scored_faces"] == 3 * 4
    assert set(result["effort_actions_by_kind"]) == set(simulation.KINDS)
    assert sum(result["effort_actions_by_kind"].values()) == result["effort_actions"]
    assert result["effort_actions_per_face"] == round(result["effort_actions"] / 12, 4)
    # The run ends with every scored face right, and the progress says how it got there.
    assert result["effort_curve"][-1] == 12
    assert len(result["effort_curve"]) == result["effort_calls"] == progress.count(" right\n")
    # Nobody was named before the first action: the start is the groups of an empty library.
    assert "Start: 12 scored faces" in progress
    assert 0.0 <= result["start_group_pairwise_precision"] <= 1.0
    # Clear LFW faces of three people: their groups save work over naming twelve faces.
    assert result["effort_actions"] < 12
    assert result["effort_actions_by_kind"]["group_name"] >= 1
    _assert_gone(_throwaway_id(progress))


@pytest.mark.slow
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_simulated_user_through_the_real_worker(celery_worker_process, faces_dir, tmp_path):
    folder = _subset(faces_dir, tmp_path / "set", SUBSET[:2], per_identity=3, group=False)

    result, progress = _run(str(folder), "--simulate-user", "--json", "--timeout", "120")

    assert result["mode"] == "worker"
    assert result["effort_wrong_left"] == 0
    assert result["effort_curve"][-1] == result["scored_faces"] == 6
    _assert_gone(_throwaway_id(progress))


@pytest.mark.django_db
def test_simulated_user_names_everyone_so_nobody_can_be_held_out(tmp_path, faces_dir):
    folder = _subset(faces_dir, tmp_path / "set", SUBSET[:2], per_identity=1, group=False)
    with pytest.raises(CommandError, match="--unlabelled-identities does not apply to --simulate-user"):
        call_command("evaluate_recognition", str(folder), "--simulate-user", "--unlabelled-identities", "1", "--inline")


# Bad input -----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args,message",
    [
        (["--poison", "1.5"], "--poison is a fraction"),
        (["--poison", "-0.1"], "--poison is a fraction"),
        (["--poison", "0.05", "--simulate-user"], "--poison does not apply to --simulate-user"),
    ],
)
def test_bad_poison(tmp_path, faces_dir, args, message):
    folder = _subset(faces_dir, tmp_path / "set", SUBSET[:1], per_identity=1, group=False)
    with pytest.raises(CommandError, match=message):
        call_command("evaluate_recognition", str(folder), *args, "--inline")
    assert not User.objects.filter(email__startswith="evaluate-recognition-").exists()


@pytest.mark.django_db
def test_missing_folder(tmp_path):
    with pytest.raises(CommandError, match="Folder not found"):
        call_command("evaluate_recognition", str(tmp_path / "nope"), "--inline")


@pytest.mark.django_db
def test_folder_without_identity_folders(tmp_path, faces_dir):
    (tmp_path / "_groups").mkdir()
    shutil.copy(faces_dir / "_groups" / "deepface_couple.jpg", tmp_path / "_groups")
    with pytest.raises(CommandError, match="No identity folders"):
        call_command("evaluate_recognition", str(tmp_path), "--inline")


@pytest.mark.django_db
@pytest.mark.parametrize("k", ["0", "-2"])
def test_labels_per_person_below_one(tmp_path, faces_dir, k):
    folder = _subset(faces_dir, tmp_path / "set", SUBSET[:1], per_identity=1, group=False)
    with pytest.raises(CommandError, match="--labels-per-person must be at least 1"):
        call_command("evaluate_recognition", str(folder), "--labels-per-person", k, "--inline")


@pytest.mark.django_db
def test_too_many_unlabelled_identities(tmp_path, faces_dir):
    folder = _subset(faces_dir, tmp_path / "set", SUBSET[:2], per_identity=1, group=False)
    with pytest.raises(CommandError, match="leaves no identity to name"):
        call_command("evaluate_recognition", str(folder), "--unlabelled-identities", "2", "--inline")


@pytest.mark.django_db
def test_without_inline_a_worker_must_answer(tmp_path, faces_dir):
    folder = _subset(faces_dir, tmp_path / "set", SUBSET[:1], per_identity=1, group=False)
    with mock.patch.object(evaluation.WorkerRunner, "available", return_value=[]):
        with pytest.raises(CommandError, match="No Celery worker answered.*--inline"):
            call_command("evaluate_recognition", str(folder))
    assert not User.objects.filter(email__startswith="evaluate-recognition-").exists()
