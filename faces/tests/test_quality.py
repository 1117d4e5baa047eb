"""Quality signals from the landmarks and the aligned crop."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from faces.quality import frontalness, sharpness

# The ArcFace alignment template: a face looking straight at the camera.
FRONTAL = np.array([[38.3, 51.7], [73.5, 51.5], [56.0, 71.7], [41.5, 92.4], [70.7, 92.2]])


def _rotated(points: np.ndarray, degrees: float) -> np.ndarray:
    matrix = cv2.getRotationMatrix2D((56.0, 56.0), degrees, 1.0)
    return np.hstack([points, np.ones((5, 1))]) @ matrix.T


def test_a_frontal_face_scores_close_to_one():
    assert frontalness(FRONTAL) > 0.95


def test_head_tilt_does_not_count_as_turning_away():
    assert frontalness(_rotated(FRONTAL, 30)) == pytest.approx(frontalness(FRONTAL), abs=1e-6)


def test_a_nose_over_one_eye_scores_zero():
    profile = FRONTAL.copy()
    profile[2, 0] = profile[0, 0]
    assert frontalness(profile) == 0.0


def test_a_half_turned_face_scores_in_between():
    turned = FRONTAL.copy()
    turned[2, 0] += 9.0
    assert 0.3 < frontalness(turned) < 0.7


def test_blurring_a_crop_lowers_its_sharpness():
    rng = np.random.default_rng(0)
    crop = rng.integers(0, 255, size=(112, 112, 3), dtype=np.uint8)
    blurred = cv2.GaussianBlur(crop, (9, 9), 3)
    assert sharpness(blurred) < sharpness(crop) / 10
