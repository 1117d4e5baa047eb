"""Threshold calibration: the pure functions on synthetic data, the command on real photos."""

from __future__ import annotations

import io
import json
import logging

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from faces.calibration import (
    _stored_table,
    equal_error_rate,
    error_rates,
    identity_margin,
    pair_similarities,
    recommend_thresholds,
    threshold_at_fmr,
    thresholds_for_pack,
)


def _clustered_embeddings(people: int, faces_each: int, spread: float, seed: int = 7):
    """Unit vectors scattered around one random centre per person."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, 64))
    embeddings = np.repeat(centres, faces_each, axis=0) + rng.normal(scale=spread, size=(people * faces_each, 64))
    labels = [f"person{i}" for i in range(people) for _ in range(faces_each)]
    return embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True), labels


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


def test_calibrate_faces_prints_a_readable_report(faces_dir, face_pack_path, tmp_path):
    # A small tree of three people keeps this fast; "_groups" must be skipped.
    for person in ("Colin_Powell", "Tony_Blair", "George_W_Bush", "_groups"):
        (tmp_path / person).mkdir()
        for photo in sorted((faces_dir / person).glob("*.jpg"))[:3]:
            (tmp_path / person / photo.name).symlink_to(photo)
    out = io.StringIO()
    call_command("calibrate_faces", str(tmp_path), "--pack", str(face_pack_path), stdout=out)
    text = out.getvalue()
    assert "3 people, 9 faces, 9 same-person and 27 different-person pairs" in text
    assert "EER" in text and "auto_assign" in text and "suggest" in text
    assert '"face_default:6ced4e0c36ab"' in text


def test_calibrate_faces_refuses_a_folder_without_labelled_photos(tmp_path):
    with pytest.raises(CommandError, match="No labelled photos"):
        call_command("calibrate_faces", str(tmp_path))


def test_calibrate_faces_names_the_setting_for_a_bad_pack(faces_dir, tmp_path):
    with pytest.raises(CommandError, match="SMARTGALLERY_FACE_PACK"):
        call_command("calibrate_faces", str(faces_dir), "--pack", str(tmp_path / "missing"))
