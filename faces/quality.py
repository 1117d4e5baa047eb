"""Cheap per-face quality signals, computed from what detection already gives us.

No Django and no ONNX here: these are plain numpy/OpenCV functions so that the engine, the
review UI and any later quality policy share one definition of "sharp" and "frontal".
"""

from __future__ import annotations

import cv2
import numpy as np

# SCRFD / ArcFace order of the five landmarks.
LEFT_EYE, RIGHT_EYE, NOSE, LEFT_MOUTH, RIGHT_MOUTH = range(5)


def sharpness(aligned_rgb: np.ndarray) -> float:
    """Variance of the Laplacian of the aligned face crop in grey.

    Measured on the aligned crop (fixed size, fixed framing) rather than on the photo, so the
    value is comparable between a thumbnail-sized face and one from a 12 MP photo.
    """
    grey = cv2.cvtColor(aligned_rgb, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def frontalness(landmarks: np.ndarray) -> float:
    """A 0..1 estimate of how frontal a face is (1 = looking at the camera), from 5 landmarks.

    On a frontal face the nose tip sits on the midline between the eyes and the mouth corners;
    as the head turns (yaw) the nose moves towards one eye and past it in profile. We measure
    that sideways offset in a frame rotated so that the eyes are level (so head tilt/roll does
    not count) and scale it by half the eye distance: offset 0 -> 1.0, nose over an eye -> 0.0.
    Pitch is not estimated; five points do not constrain it well.
    """
    points = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    eye_vector = points[RIGHT_EYE] - points[LEFT_EYE]
    half_eye_distance = float(np.hypot(*eye_vector)) / 2.0
    if half_eye_distance < 1e-6:
        return 0.0
    cos_a, sin_a = eye_vector / (2.0 * half_eye_distance)
    # Rotate by -angle(eye_vector): only the x coordinate along the eye line matters.
    along_eyes = points @ np.array([cos_a, sin_a])
    eyes_mid = (along_eyes[LEFT_EYE] + along_eyes[RIGHT_EYE]) / 2.0
    mouth_mid = (along_eyes[LEFT_MOUTH] + along_eyes[RIGHT_MOUTH]) / 2.0
    midline = (eyes_mid + mouth_mid) / 2.0
    offset = abs(along_eyes[NOSE] - midline) / half_eye_distance
    return float(np.clip(1.0 - offset, 0.0, 1.0))
