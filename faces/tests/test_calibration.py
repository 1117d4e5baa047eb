"""Threshold calibration: the pure functions on synthetic data, the command on real photos."""

from __future__ import annotations

import io
import json
import logging

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from faces import calibration
from faces.calibration import (
    SAFETY_MARGIN,
    _stored_table,
    cross_validate,
    equal_error_rate,
    error_rates,
    identity_folds,
    identity_margin,
    pair_similarities,
    recommend_thresholds,
    safety_margin_sweep,
    smallest_safe_margin,
    threshold_at_fmr,
    thresholds_for_pack,
)


def _clustered_embeddings(people: int, faces_each: int, spread: float, seed: int = 7, twins: bool = False):
    """Unit vectors scattered around one random centre per person.

    twins: person00 and person01 share nearly the same centre (look-alikes), so their pairs are
    the highest different-person similarities of the set by far.
    """
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, 64))
    if twins:
        centres[1] = centres[0] + rng.normal(scale=0.3, size=64)
    embeddings = np.repeat(centres, faces_each, axis=0) + rng.normal(scale=spread, size=(people * faces_each, 64))
    labels = [f"person{i:02d}" for i in range(people) for _ in range(faces_each)]
    return embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True), labels


@pytest.fixture
def thresholds_file(tmp_path, monkeypatch):
    """A copy of thresholds.json that the test may rewrite; the real table is read again after."""
    copy = tmp_path / "thresholds.json"
    copy.write_text(calibration.THRESHOLDS_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(calibration, "THRESHOLDS_FILE", copy)
    _stored_table.cache_clear()
    yield copy
    _stored_table.cache_clear()


def test_pair_similarities_split_same_and_different_person_pairs():
    embeddings = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    genuine, impostor = pair_similarities(embeddings, ["a", "a", "b"])
    np.testing.assert_allclose(genuine, [1.0])
    np.testing.assert_allclose(impostor, [0.0, 0.0])


def test_error_rates_count_scores_at_the_threshold_as_matches():
    genuine, impostor = np.array([0.2, 0.5, 0.9]), np.array([0.1, 0.5])
    assert error_rates(genuine, impostor, 0.5) == (0.5, pytest.approx(1 / 3))


def test_equal_error_rate_is_zero_for_separated_scores():
    eer, threshold = equal_error_rate(np.array([0.7, 0.8, 0.9]), np.array([0.1, 0.2, 0.3]))
    assert eer == 0.0
    assert 0.3 < threshold <= 0.7


def test_equal_error_rate_of_two_overlapping_normals_matches_theory():
    rng = np.random.default_rng(1)
    genuine = rng.normal(2.0, 1.0, 200_000)
    impostor = rng.normal(0.0, 1.0, 200_000)
    eer, threshold = equal_error_rate(genuine, impostor)
    assert eer == pytest.approx(0.1587, abs=0.003)  # P(Z > 1) for unit normals 2 apart
    assert threshold == pytest.approx(1.0, abs=0.02)


def test_threshold_at_fmr_keeps_the_false_match_rate_at_or_below_target():
    impostor = np.linspace(0.0, 0.99, 100)
    threshold = threshold_at_fmr(impostor, 0.05)
    assert error_rates(np.array([1.0]), impostor, threshold)[0] <= 0.05
    assert error_rates(np.array([1.0]), impostor, threshold - 0.011)[0] > 0.05


def test_recommended_bands_are_ordered_and_keep_false_matches_out_of_auto_assign():
    embeddings, labels = _clustered_embeddings(people=12, faces_each=6, spread=0.12)
    report = recommend_thresholds(embeddings, labels, source="synthetic")
    bands = report.thresholds
    assert bands.calibrated and bands.source == "synthetic"
    assert bands.auto_assign > report.max_impostor
    assert report.rates["auto_assign"]["fmr"] == 0.0
    assert bands.suggest < bands.auto_assign
    assert report.rates["suggest"]["fmr"] <= 0.01
    assert bands.margin >= 0.05
    assert report.genuine_pairs == 12 * 15 and report.impostor_pairs == 72 * 71 // 2 - 180


def test_auto_assign_is_rounded_up_so_no_safety_margin_still_keeps_the_highest_impostor_out():
    # Every different-person pair scores 0.3334 (so the normal-tail estimate is 0.3334 too):
    # rounding to the nearest 0.001 would give 0.333 and let all of them through.
    angle = np.arccos(0.3334)
    embeddings = np.array([[1.0, 0.0], [1.0, 0.0], [np.cos(angle), np.sin(angle)], [np.cos(angle), np.sin(angle)]])
    report = recommend_thresholds(embeddings, ["a", "a", "b", "b"], source="x", safety_margin=0.0)
    assert report.thresholds.auto_assign == 0.334
    assert report.rates["auto_assign"]["fmr"] == 0.0


def test_the_safety_margin_is_added_to_auto_assign_only():
    embeddings, labels = _clustered_embeddings(people=12, faces_each=6, spread=0.12)
    bare = recommend_thresholds(embeddings, labels, source="x", safety_margin=0.0)
    padded = recommend_thresholds(embeddings, labels, source="x", safety_margin=0.05)
    assert padded.thresholds.auto_assign - bare.thresholds.auto_assign == pytest.approx(0.05, abs=0.0011)
    assert (padded.thresholds.suggest, padded.thresholds.margin) == (bare.thresholds.suggest, bare.thresholds.margin)


def test_identity_folds_deal_out_sorted_names_whatever_the_order_of_the_faces():
    labels = ["dan", "bob", "eve", "amy", "cat", "bob", "fay", "gus"]
    folds = identity_folds(labels, 3)
    assert folds == [["amy", "dan", "gus"], ["bob", "eve"], ["cat", "fay"]]
    assert identity_folds(list(reversed(labels)), 3) == folds
    with pytest.raises(ValueError, match="at least 5 identities"):
        identity_folds(["a", "b", "c", "d"], 5)


def test_each_fold_is_fitted_without_the_people_it_holds_out(monkeypatch):
    embeddings, labels = _clustered_embeddings(people=11, faces_each=4, spread=0.12)
    fitted_on = []
    real_fit = calibration.recommend_thresholds

    def spy(fold_embeddings, fold_labels, **kwargs):
        fitted_on.append(set(fold_labels))
        return real_fit(fold_embeddings, fold_labels, **kwargs)

    monkeypatch.setattr(calibration, "recommend_thresholds", spy)
    result = cross_validate(embeddings, labels, folds=5)

    held_out = [set(fold["held_out"]) for fold in result["per_fold"]]
    assert len(fitted_on) == 5
    for fitted, held in zip(fitted_on, held_out, strict=True):
        assert fitted == set(labels) - held
    assert sorted(name for held in held_out for name in held) == sorted(set(labels))


def test_cross_validation_catches_look_alikes_that_in_sample_numbers_hide():
    # person00 and person01 are look-alikes in different folds. Fitted on everyone, auto_assign
    # sits above their pairs; fitted without one of them, it cannot know about them. A fit that
    # peeked at the held-out people would report FMR 0 on every fold here.
    embeddings, labels = _clustered_embeddings(people=12, faces_each=5, spread=0.12, twins=True)
    in_sample = recommend_thresholds(embeddings, labels, source="x")
    assert in_sample.rates["auto_assign"]["fmr"] == 0.0

    result = cross_validate(embeddings, labels, folds=5)
    for fold in result["per_fold"]:
        holds_a_twin = bool({"person00", "person01"} & set(fold["held_out"]))
        assert (fold["rates"]["auto_assign"]["fmr"] > 0) == holds_a_twin, fold["held_out"]
        assert fold["rates"]["auto_assign"]["threshold"] < in_sample.thresholds.auto_assign or not holds_a_twin
    assert result["worst_fmr"]["auto_assign"] > 0
    assert result["pooled"]["rates"]["auto_assign"]["fmr"] > 0


def test_cross_validation_scores_every_pair_with_a_held_out_person():
    embeddings, labels = _clustered_embeddings(people=10, faces_each=3, spread=0.3)
    genuine, _ = pair_similarities(embeddings, labels)
    result = cross_validate(embeddings, labels, folds=5)
    # Each person is held out once, so each same-person pair is scored once; a fold holding out
    # 2 people (6 faces) of 10 scores their 9 different-person pairs and 6 * 24 with the others.
    assert sum(fold["genuine_pairs"] for fold in result["per_fold"]) == len(genuine)
    assert [fold["impostor_pairs"] for fold in result["per_fold"]] == [9 + 6 * 24] * 5
    assert result["mean"]["rates"]["suggest"]["threshold"] == pytest.approx(
        np.mean([fold["rates"]["suggest"]["threshold"] for fold in result["per_fold"]])
    )


def test_safety_margin_sweep_names_the_smallest_margin_with_no_held_out_false_match():
    embeddings, labels = _clustered_embeddings(people=12, faces_each=5, spread=0.12, twins=True)
    sweep = safety_margin_sweep(embeddings, labels, margins=(0.0, 0.05), folds=5)
    assert sweep[0.05]["auto_assign"] == pytest.approx(sweep[0.0]["auto_assign"] + 0.05, abs=0.0011)
    assert sweep[0.0]["fnmr"] <= sweep[0.05]["fnmr"]
    assert len(sweep[0.0]["fmr_per_fold"]) == 5
    assert smallest_safe_margin({0.0: {"fmr_per_fold": [0.0, 0.01]}, 0.05: {"fmr_per_fold": [0.0, 0.0]}}) == 0.05
    assert smallest_safe_margin({0.0: {"fmr_per_fold": [0.0, 0.0]}, 0.05: {"fmr_per_fold": [0.0, 0.0]}}) == 0.0
    assert smallest_safe_margin({0.0: {"fmr_per_fold": [0.02]}}) is None


def test_identity_margin_exceeds_the_lead_of_any_wrong_best_match():
    # Face 2 (labelled "b") is nearest to the "a" faces, by a lead of about 0.2 over "b".
    embeddings = np.array([[1.0, 0.0, 0.0], [0.98, 0.2, 0.0], [0.9, 0.0, 0.44], [0.0, 0.6, 0.8], [0.0, 0.0, 1.0]])
    margin = identity_margin(embeddings, ["a", "a", "b", "b", "b"], floor=0.05)
    vectors = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    lead = vectors[2] @ vectors[0] - max(vectors[2] @ vectors[3], vectors[2] @ vectors[4])
    assert margin == pytest.approx(lead + 0.01)


def test_calibration_needs_two_identities_with_pairs():
    with pytest.raises(ValueError, match="two identities"):
        recommend_thresholds(np.eye(3), ["a", "a", "a"], source="x")


def test_stored_thresholds_are_looked_up_by_model_id_then_pack_then_fallback(caplog):
    calibrated = thresholds_for_pack(
        model_id="face_default:6ced4e0c36ab", pack_name="face_default", recogniser_file="mbf_paddlex_ms1mv3.onnx"
    )
    assert calibrated.calibrated

    buffalo = thresholds_for_pack(
        model_id="buffalo_l:0123456789ab", pack_name="buffalo_l", recogniser_file="w600k_r50.onnx"
    )
    assert not buffalo.calibrated and buffalo.auto_assign == 0.5 and "Immich" in buffalo.source

    with caplog.at_level(logging.WARNING, logger="faces.calibration"):
        swapped = thresholds_for_pack(
            model_id="buffalo_l:ffffffffffff", pack_name="buffalo_l", recogniser_file="my_own_r100.onnx"
        )
    assert swapped == thresholds_for_pack(model_id="x:1", pack_name="x", recogniser_file="x.onnx")
    assert not swapped.calibrated
    assert "No calibrated thresholds for face pack buffalo_l:ffffffffffff" in caplog.text


def test_bands_classify_a_single_pair_similarity():
    bands = thresholds_for_pack(model_id="x:1", pack_name="x", recogniser_file="x.onnx")
    assert bands.band(bands.auto_assign) == "auto"
    assert bands.band(bands.suggest) == "suggest"
    assert bands.band(bands.suggest - 0.01) == "unknown"


def test_calibrate_faces_reproduces_the_stored_thresholds_of_the_shared_pack(faces_dir, face_pack_path):
    out = io.StringIO()
    call_command("calibrate_faces", str(faces_dir), "--pack", str(face_pack_path), "--json", stdout=out)
    result = json.loads(out.getvalue())

    assert result["model_id"] == "face_default:6ced4e0c36ab"
    assert result["identities"] == 19
    assert result["eer"] <= 0.02
    assert result["rates"]["auto_assign"]["fmr"] == 0.0
    stored = _stored_table()["calibrated"][result["model_id"]]
    for band in ("auto_assign", "suggest", "margin"):
        assert result["thresholds"][band] == pytest.approx(stored[band], abs=0.01)

    # Fitted on 4 of 5 groups of people, auto_assign never matched a held-out person to anyone
    # else; SAFETY_MARGIN rests on this (see its comment).
    cross_validated = result["cross_validated"]
    assert [fold["rates"]["auto_assign"]["fmr"] for fold in cross_validated["per_fold"]] == [0.0] * 5
    sweep = {float(margin): rates for margin, rates in result["safety_margin_sweep"].items()}
    assert smallest_safe_margin(sweep) == SAFETY_MARGIN
    assert stored["in_sample"]["rates"]["auto_assign"]["fnmr"] == pytest.approx(
        result["rates"]["auto_assign"]["fnmr"], abs=0.01
    )
    assert [fold["held_out"] for fold in stored["cross_validated"]["per_fold"]] == [
        fold["held_out"] for fold in cross_validated["per_fold"]
    ]
    for band in ("auto_assign", "suggest"):
        for rate in ("fmr", "fnmr"):
            assert stored["cross_validated"]["pooled"]["rates"][band][rate] == pytest.approx(
                cross_validated["pooled"]["rates"][band][rate], abs=0.01
            )


def test_calibrate_faces_prints_a_readable_report(faces_dir, face_pack_path, tmp_path):
    # A small tree of three people keeps this fast; "_groups" must be skipped.
    for person in ("Colin_Powell", "Tony_Blair", "George_W_Bush", "_groups"):
        (tmp_path / person).mkdir()
        for photo in sorted((faces_dir / person).glob("*.jpg"))[:3]:
            (tmp_path / person / photo.name).symlink_to(photo)
    out = io.StringIO()
    call_command("calibrate_faces", str(tmp_path), "--pack", str(face_pack_path), "--folds", "3", stdout=out)
    text = out.getvalue()
    assert "3 people, 9 faces, 9 same-person and 27 different-person pairs" in text
    assert "EER in-sample" in text and "auto_assign" in text and "suggest" in text
    assert "Cross-validated, 3 folds leaving people out" in text
    assert "George_W_Bush\n" in text and "smallest margin with held-out FMR 0 on every fold" in text
    assert '"face_default:6ced4e0c36ab"' in text and '"cross_validated"' in text

    out = io.StringIO()
    call_command("calibrate_faces", str(tmp_path), "--pack", str(face_pack_path), stdout=out)
    assert "Cross-validation skipped: 5-fold cross-validation needs at least 5 identities, got 3" in out.getvalue()


def test_calibrate_faces_writes_its_entry_into_the_thresholds_file(
    faces_dir, face_pack_path, tmp_path, thresholds_file
):
    for person in ("Colin_Powell", "Tony_Blair", "George_W_Bush"):
        (tmp_path / person).mkdir()
        for photo in sorted((faces_dir / person).glob("*.jpg"))[:3]:
            (tmp_path / person / photo.name).symlink_to(photo)
    before = json.loads(thresholds_file.read_text(encoding="utf-8"))
    call_command(
        "calibrate_faces", str(tmp_path), "--pack", str(face_pack_path), "--folds", "3", "--write", stdout=io.StringIO()
    )

    after = json.loads(thresholds_file.read_text(encoding="utf-8"))
    entry = after["calibrated"]["face_default:6ced4e0c36ab"]
    assert entry["faces"] == 9 and entry["identities"] == 3
    assert entry["source"].startswith(f"manage.py calibrate_faces {tmp_path} --pack {face_pack_path} (3 people")
    assert set(entry["in_sample"]["rates"]) == {"auto_assign", "suggest", "eer"}
    assert [fold["held_out"] for fold in entry["cross_validated"]["per_fold"]] == [
        ["Colin_Powell"],
        ["George_W_Bush"],
        ["Tony_Blair"],
    ]
    assert (after["documented"], after["fallback"]) == (before["documented"], before["fallback"])
    stored = thresholds_for_pack(
        model_id="face_default:6ced4e0c36ab", pack_name="face_default", recogniser_file="mbf_paddlex_ms1mv3.onnx"
    )
    assert (stored.auto_assign, stored.suggest) == (entry["auto_assign"], entry["suggest"])


def test_calibrate_faces_refuses_a_folder_without_labelled_photos(tmp_path):
    with pytest.raises(CommandError, match="No labelled photos"):
        call_command("calibrate_faces", str(tmp_path))


def test_calibrate_faces_names_the_setting_for_a_bad_pack(faces_dir, tmp_path):
    with pytest.raises(CommandError, match="SMARTGALLERY_FACE_PACK"):
        call_command("calibrate_faces", str(faces_dir), "--pack", str(tmp_path / "missing"))
