"""Loading model packs: any SCRFD + ArcFace-style pack works, bad packs fail clearly."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import requests
from django.test import override_settings

from faces import engine_loader
from faces.calibration import largest_face
from faces.engine import PACK_SETTING, FaceEngineError, load_engine, load_upright_rgb

REPO_ROOT = Path(__file__).resolve().parents[2]


def _pack(folder: Path, *files: Path) -> Path:
    folder.mkdir()
    for file in files:
        (folder / file.name).symlink_to(file)
    return folder


@pytest.fixture
def detector_file(shared_dir: Path) -> Path:
    return shared_dir / "models" / "face_default" / "det_500m.onnx"


def test_model_id_names_the_pack_and_the_recogniser_and_is_stable(engine, face_pack_path):
    again = load_engine(face_pack_path)
    assert engine.pack_name == "face_default"
    assert engine.model_id == again.model_id == "face_default:6ced4e0c36ab"


def test_another_detector_and_recogniser_work_too(engine, shared_dir, faces_dir, tmp_path):
    models = shared_dir / "models"
    other = load_engine(
        _pack(
            tmp_path / "scrfd25_foamliu",
            models / "scrfd_2.5g" / "det_2.5g.onnx",
            models / "mobilefacenet_foamliu" / "mbf_foamliu_ms1m.onnx",
        )
    )
    assert other.model_id == "scrfd25_foamliu:b7120c095d60"
    assert other.dim == 128
    assert not other.thresholds.calibrated  # a different recogniser never reuses calibration

    # This recogniser has a fixed batch size of 1: faces are embedded one at a time.
    group = other.detect(load_upright_rgb(faces_dir / "_groups" / "fr_two_people.jpg"))
    assert len(group) == 2 and all(face.recognisable for face in group)
    first, second = (
        largest_face(other.detect(load_upright_rgb(faces_dir / "Colin_Powell" / name)))
        for name in ("Colin_Powell_0001.jpg", "Colin_Powell_0002.jpg")
    )
    stranger = largest_face(other.detect(load_upright_rgb(faces_dir / "Madonna" / "opencvcourse_val_1.jpg")))
    assert float(first.embedding @ second.embedding) > float(first.embedding @ stranger.embedding)


def test_a_pack_without_a_recogniser_is_refused(tmp_path, detector_file):
    folder = _pack(tmp_path / "detector_only", detector_file)
    with pytest.raises(FaceEngineError, match=f"no recogniser.*{PACK_SETTING}"):
        load_engine(folder)


def test_a_corrupt_model_file_is_refused(tmp_path, detector_file):
    folder = _pack(tmp_path / "corrupt", detector_file)
    (folder / "w600k_r50.onnx").write_bytes(b"\x08\x07 not a model")
    with pytest.raises(FaceEngineError, match=f"Could not load.*{PACK_SETTING}") as caught:
        load_engine(folder)
    assert "INVALID_PROTOBUF" in str(caught.value)


def test_a_missing_pack_folder_is_refused_without_a_download(tmp_path):
    with pytest.raises(FaceEngineError, match=f"does not exist.*{PACK_SETTING}"):
        load_engine(tmp_path / "nowhere")


def test_an_unknown_pack_name_is_refused(tmp_path):
    # InsightFace tries to download it: no internet here, a 404 where there is.
    with pytest.raises(FaceEngineError, match=f"no_such_face_pack.*{PACK_SETTING}"):
        load_engine("no_such_face_pack", models_root=tmp_path)


def test_buffalo_l_without_internet_says_what_to_do(tmp_path, monkeypatch):
    # Simulate the offline machine even where GitHub is reachable: never fetch 300 MB in tests.
    def offline(*args, **kwargs):
        raise requests.ConnectionError("Failed to resolve 'github.com'")

    monkeypatch.setattr(requests, "get", offline)
    with pytest.raises(FaceEngineError) as caught:
        load_engine("buffalo_l", models_root=tmp_path)
    message = str(caught.value)
    assert "buffalo_l" in message and PACK_SETTING in message
    assert "github.com" in message and "~/.insightface/models" in message


def test_importing_the_engine_does_not_load_onnxruntime_or_insightface():
    code = (
        "import sys, faces.engine, faces.engine_loader, faces.calibration, faces.quality\n"
        "loaded = {'onnxruntime', 'insightface'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True)


def test_get_engine_loads_one_engine_per_process_from_the_settings(face_pack_path):
    engine_loader.reset_engine()
    try:
        with override_settings(SMARTGALLERY_FACE_PACK=str(face_pack_path), SMARTGALLERY_FACE_MIN_SIZE=50):
            results = []
            threads = [threading.Thread(target=lambda: results.append(engine_loader.get_engine())) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert len(results) == 4 and all(found is results[0] for found in results)
            assert results[0].model_id == "face_default:6ced4e0c36ab"
            assert results[0].min_face_px == 50
            assert engine_loader.get_engine() is results[0]
    finally:
        engine_loader.reset_engine()


def test_get_engine_names_the_setting_when_the_pack_is_missing(tmp_path):
    engine_loader.reset_engine()
    try:
        with override_settings(SMARTGALLERY_FACE_PACK=str(tmp_path / "missing")):
            with pytest.raises(FaceEngineError, match=PACK_SETTING):
                engine_loader.get_engine()
    finally:
        engine_loader.reset_engine()


def test_onnxruntime_sessions_use_the_configured_thread_count(face_pack_path):
    two = load_engine(face_pack_path, ort_threads=2)
    assert two.detect(np.zeros((64, 64, 3), dtype=np.uint8)) == []
    # The sessions are insightface's; their options are the only place the setting shows.
    detector_session = two._detector._session_for_input_size((two.det_size, two.det_size))
    for session in (detector_session, two._recogniser.session):
        assert session.get_session_options().intra_op_num_threads == 2
