"""Detection and recognition on the real shared pack and photos."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from faces.calibration import equal_error_rate, labelled_photos, largest_face, pair_similarities
from faces.engine import DetectedFace, FaceEngine, load_upright_rgb

# Measured 1.42% on the shared set (19 people); the bound leaves room for numeric noise only.
EER_BOUND = 0.02


def _photo(faces_dir: Path, name: str) -> np.ndarray:
    return load_upright_rgb(faces_dir / name)


def _boxes(faces: list[DetectedFace]) -> np.ndarray:
    return np.array(sorted(face.box for face in faces))


def test_every_identity_photo_yields_a_face(detections, faces_dir):
    missed = [
        f"{person}/{photo.name}"
        for person, photo in labelled_photos(faces_dir)
        if not detections[f"{person}/{photo.name}"]
    ]
    assert missed == []


def test_no_face_photos_yield_none(detections):
    found = {name: len(faces) for name, faces in detections.items() if name.startswith("_noface/")}
    assert found and all(count == 0 for count in found.values()), found


def test_group_photos_yield_the_hand_counted_faces(detections, faces_dir):
    with (faces_dir / "_groups" / "expected.tsv").open() as stream:
        rows = [row for row in csv.reader(stream, delimiter="\t") if row and not row[0].startswith("#")]
    expected = {f"_groups/{name}": int(count) for name, count in rows}
    found = {name: len(detections[name]) for name in expected}
    assert found == expected


def test_same_person_pairs_score_above_different_person_pairs(labelled_embeddings):
    embeddings, labels = labelled_embeddings
    labels = np.array(labels)
    similarity = embeddings @ embeddings.T
    for person in np.unique(labels):
        mine = labels == person
        same = similarity[np.ix_(mine, mine)][np.triu_indices(int(mine.sum()), k=1)]
        different = similarity[np.ix_(mine, ~mine)].ravel()
        assert np.median(same) > np.percentile(different, 99), person


def test_equal_error_rate_on_the_shared_set_is_low(labelled_embeddings):
    genuine, impostor = pair_similarities(*labelled_embeddings)
    eer, _ = equal_error_rate(genuine, impostor)
    assert eer <= EER_BOUND


def test_embeddings_are_unit_float32_vectors_of_the_model_dimension(engine, detections):
    assert engine.dim == 128  # MobileFaceNet of the shared pack; read from the model
    embeddings = [f.embedding for faces in detections.values() for f in faces if f.recognisable]
    assert embeddings
    for embedding in embeddings:
        assert embedding.dtype == np.float32
        assert embedding.shape == (engine.dim,)
        assert abs(float(np.linalg.norm(embedding)) - 1.0) < 1e-5


def test_faces_carry_quality_measures(detections):
    face = largest_face(detections["_groups/opencvcourse_lady.jpg"])
    assert face.landmarks.shape == (5, 2) and face.landmarks.dtype == np.float32
    assert 0.5 <= face.det_score <= 1.0
    assert face.sharpness > 0
    assert 0.8 <= face.frontalness <= 1.0  # she faces the camera
    x1, y1, x2, y2 = face.box
    assert face.size_px == pytest.approx(min(x2 - x1, y2 - y1))


@pytest.mark.parametrize("orientation, rotate_to_upright", [(6, -1), (8, 1)])
def test_exif_orientation_gives_boxes_on_the_upright_image(engine, faces_dir, tmp_path, orientation, rotate_to_upright):
    upright = Image.open(faces_dir / "_groups" / "fr_two_people.jpg").convert("RGB")
    # Store the pixels as a camera held sideways would, and tag how to turn them upright.
    stored = upright.rotate(90 * rotate_to_upright * -1, expand=True)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"orientation-{orientation}.jpg"
    stored.save(path, quality=95, exif=exif)

    loaded = load_upright_rgb(path)
    with Image.open(path) as raw:
        manually_rotated = np.ascontiguousarray(np.rot90(np.asarray(raw), k=rotate_to_upright))

    assert loaded.shape == np.asarray(upright).shape
    from_exif = engine.detect(loaded)
    assert len(from_exif) == 2
    np.testing.assert_allclose(_boxes(from_exif), _boxes(engine.detect(manually_rotated)), atol=1)
    np.testing.assert_allclose(_boxes(from_exif), _boxes(engine.detect(np.asarray(upright))), atol=6)


def test_a_face_that_fills_the_frame_is_found(engine, faces_dir):
    photo = _photo(faces_dir, "Barack_Obama/fr_obama.jpg")
    x1, y1, x2, y2 = (int(v) for v in largest_face(engine.detect(photo)).box)
    tight = np.ascontiguousarray(photo[y1:y2, x1:x2])

    faces = engine.detect(tight)

    assert len(faces) == 1
    face = faces[0]
    assert face.recognisable
    assert face.area > 0.6 * tight.shape[0] * tight.shape[1]
    bx1, by1, bx2, by2 = face.box  # mapped back from the padded image, clipped to the crop
    assert 0 <= bx1 < bx2 <= tight.shape[1] and 0 <= by1 < by2 <= tight.shape[0]


def test_a_12_megapixel_photo_gives_the_same_faces_at_full_scale(engine, faces_dir):
    photo = _photo(faces_dir, "_groups/fr_two_people.jpg")
    scale = 4000 / max(photo.shape[:2])
    large = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    assert large.shape[0] * large.shape[1] > 9e6

    small_faces = sorted(engine.detect(photo), key=lambda f: f.box)
    large_faces = sorted(engine.detect(large), key=lambda f: f.box)

    assert len(large_faces) == len(small_faces) == 2
    for small, big in zip(small_faces, large_faces, strict=True):
        tolerance = 0.05 * big.size_px
        np.testing.assert_allclose(np.array(big.box), np.array(small.box) * scale, atol=tolerance)
        np.testing.assert_allclose(big.landmarks, small.landmarks * scale, atol=tolerance)
        assert float(big.embedding @ small.embedding) > 0.9


def test_small_faces_are_kept_but_not_recognisable(engine, faces_dir):
    group = _photo(faces_dir, "_groups/opencvcourse_group_2.jpg")  # five faces of ~40 px
    shrunk = cv2.resize(group, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)

    faces = engine.detect(shrunk)

    assert len(faces) == 5
    for face in faces:
        assert face.size_px < engine.min_face_px
        assert face.embedding is None and not face.recognisable
        assert face.landmarks.shape == (5, 2)


def test_detect_rejects_anything_but_an_rgb_uint8_image(engine):
    with pytest.raises(ValueError, match="RGB"):
        engine.detect(np.zeros((100, 100), dtype=np.uint8))
    with pytest.raises(ValueError, match="RGB"):
        engine.detect(np.zeros((100, 100, 3), dtype=np.float32))


def test_load_upright_rgb_accepts_a_file_object(faces_dir):
    data = (faces_dir / "_groups" / "opencvcourse_lady.jpg").read_bytes()
    image = load_upright_rgb(io.BytesIO(data))
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3


def test_detected_faces_are_immutable(detections):
    face = largest_face(detections["_groups/opencvcourse_lady.jpg"])
    with pytest.raises(AttributeError):
        face.det_score = 1.0
    with pytest.raises(ValueError):
        face.embedding[0] = 0.0


def test_engine_exposes_the_calibrated_thresholds_of_its_pack(engine: FaceEngine):
    thresholds = engine.thresholds
    assert thresholds.calibrated
    assert 0 < thresholds.suggest < thresholds.auto_assign < 1
    assert thresholds.margin > 0


@pytest.mark.parametrize(
    "width, height", [(3200, 4), (4, 3200), (1300, 2), (405, 1), (1, 405), (2000, 4), (400, 2), (200, 1), (640, 3)]
)
def test_a_strip_of_any_shape_gives_no_faces_instead_of_an_opencv_error(engine, width, height):
    # SCRFD letterboxes into a square: a strip a few hundred times longer than wide became
    # 0 px across (an OpenCV assertion); under 2 px nothing is a face anyway.
    assert engine.detect(np.full((height, width, 3), 128, np.uint8)) == []
