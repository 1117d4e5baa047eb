"""Face engine fixtures: the real shared pack and photos, loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faces import index_cache, recognition_model
from faces.calibration import labelled_photos, largest_face
from faces.engine import DetectedFace, FaceEngine, load_engine, load_upright_rgb


@pytest.fixture(scope="session")
def engine(face_pack_path: Path) -> FaceEngine:
    return load_engine(face_pack_path)


@pytest.fixture(scope="session")
def detections(engine: FaceEngine, faces_dir: Path) -> dict[str, list[DetectedFace]]:
    """Every shared photo ("Person/file.jpg", "_groups/...", "_noface/...") -> its faces."""
    photos = [p for p in sorted(faces_dir.glob("*/*")) if p.suffix.lower() in {".jpg", ".png"}]
    return {f"{photo.parent.name}/{photo.name}": engine.detect(load_upright_rgb(photo)) for photo in photos}


@pytest.fixture(scope="session")
def labelled_embeddings(detections: dict[str, list[DetectedFace]], faces_dir: Path) -> tuple[np.ndarray, list[str]]:
    """Embedding of the labelled (largest) face of every identity photo, with its person."""
    embeddings, labels = [], []
    for person, photo in labelled_photos(faces_dir):
        face = largest_face(detections[f"{person}/{photo.name}"])
        if face is not None and face.recognisable:
            embeddings.append(face.embedding)
            labels.append(person)
    return np.array(embeddings), labels


@pytest.fixture
def fresh_process_cache():
    """No face index kept in this process from another test, before or after this one
    (`pytestmark = pytest.mark.usefixtures("fresh_process_cache")` in the modules that need it)."""
    index_cache.forget_loaded_indexes()
    yield
    index_cache.forget_loaded_indexes()


@pytest.fixture
def model(engine: FaceEngine):
    """The recognition model of the face pack under test."""
    return recognition_model.current_model()
