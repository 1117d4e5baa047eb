"""The index kinds above the float32 size (fp16 exact, pq-refine), forced at small sizes;
label-only reuse, streamed saves and the search thread count (docs/PEOPLE.md)."""

from __future__ import annotations

import threading

import faiss
import numpy as np
import pytest
from django.conf import settings

from faces import index as face_index
from faces import index_cache, recognition_model, services
from faces.models import Face, Person, RecognitionIndex
from faces.tests.people import Library, name_person
from smartgallery.tests.factories import unit_vectors

pytestmark = pytest.mark.usefixtures("fresh_process_cache")

FORCE = {"flat": {}, "flat16": {"float32_max": 10}, "pq-refine": {"exact_max": 10}}


def _build(kind: str, n: int = 600, *, persons: int = 4, vectors=None, ids=None, version=1, reuse=None):
    vectors = unit_vectors(n) if vectors is None else vectors
    ids = np.arange(n, dtype=np.int64) * 7 + 3 if ids is None else ids
    return face_index.build(
        vectors=vectors,
        face_ids=ids,
        person_ids=ids % persons,
        version=version,
        model_id="m",
        dim=16,
        reuse=reuse,
        **FORCE[kind],
    )


@pytest.mark.parametrize("kind", sorted(FORCE))
def test_each_kind_is_built_searched_saved_and_loaded(tmp_path, kind):
    built = _build(kind)
    assert built.kind == kind
    path = face_index.index_path(tmp_path, 1)
    checksum = face_index.save(built, path)
    assert checksum == face_index.sha256_hex(path.read_bytes()) == face_index.sha256_hex(built.to_bytes())
    loaded = face_index.load(path, expected_sha256=checksum, expected_version=1, model_id="m")
    assert loaded.kind == kind and loaded.face_ids.tolist() == built.face_ids.tolist()
    queries = unit_vectors(20, seed=3)
    for got, want in zip(loaded.search(queries, 5), built.search(queries, 5), strict=True):
        assert np.array_equal(got, want)


@pytest.mark.parametrize("kind", ["flat16", "pq-refine"])
def test_the_larger_kinds_agree_with_exact_search(kind):
    vectors = unit_vectors(2000)
    exact, other = _build("flat", vectors=vectors, n=2000), _build(kind, vectors=vectors, n=2000)
    queries = unit_vectors(100, seed=9)
    exact_sims, exact_faces, _ = exact.search(queries, 10)
    sims, faces, _ = other.search(queries, 10)
    recall = np.mean([len(np.intersect1d(a, b)) for a, b in zip(faces, exact_faces, strict=True)]) / 10
    assert recall >= 0.98
    assert np.mean(faces[:, 0] == exact_faces[:, 0]) >= 0.98
    # Returned similarities are the fp16 ones: within fp16 rounding of the exact ones.
    same = faces == exact_faces
    assert np.abs(sims[same] - exact_sims[same]).max() < 1e-3


@pytest.mark.parametrize("kind", ["flat16", "pq-refine"])
@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_a_damaged_file_of_any_kind_is_refused(tmp_path, kind, damage):
    path = face_index.index_path(tmp_path, 1)
    checksum = face_index.save(_build(kind), path)
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x01
    else:
        data = data[: len(data) // 2]
    path.write_bytes(bytes(data))
    with pytest.raises(face_index.IndexUnusable):
        face_index.load(path, expected_sha256=checksum, expected_version=1, model_id="m")
    with pytest.raises(face_index.IndexUnusable):
        face_index.from_bytes(bytes(data[: len(data) - 40]))


# Label-only changes -------------------------------------------------------------------------


def test_a_label_only_change_reuses_the_loaded_index_and_writes_a_fresh_builds_bytes(tmp_path):
    path = face_index.index_path(tmp_path, 1)
    checksum = face_index.save(_build("pq-refine"), path)
    loaded = face_index.load(path, expected_sha256=checksum, expected_version=1, model_id="m")

    relabelled = _build("pq-refine", persons=3, version=2, reuse=loaded)
    fresh = _build("pq-refine", persons=3, version=2)

    assert relabelled.index is loaded.index  # not trained or encoded again
    assert relabelled.to_bytes() == fresh.to_bytes()
    queries = unit_vectors(30, seed=4)
    for got, want in zip(relabelled.search(queries, 8), fresh.search(queries, 8), strict=True):
        assert np.array_equal(got, want)
    # The previous index still answers with its own labels.
    assert loaded.search(queries, 8)[2].tolist() == _build("pq-refine").search(queries, 8)[2].tolist()


@pytest.mark.parametrize("change", ["vector", "added", "removed", "parameters", "kind"])
def test_anything_but_labels_builds_afresh(change, monkeypatch):
    vectors, ids = unit_vectors(600), np.arange(600, dtype=np.int64) * 7 + 3
    previous = _build("pq-refine", vectors=vectors, ids=ids)
    kind = "pq-refine"
    if change == "vector":  # a kept face re-measured: same id, new embedding
        vectors = vectors.copy()
        vectors[10] = unit_vectors(1, seed=99)[0]
    elif change == "added":
        vectors, ids = np.vstack([vectors, unit_vectors(1, seed=98)]), np.append(ids, 10_000)
    elif change == "removed":
        vectors, ids = vectors[1:], ids[1:]
    elif change == "parameters":
        monkeypatch.setattr(face_index, "REFINE_FACTOR", face_index.REFINE_FACTOR + 1)
    else:
        kind = "flat16"
    rebuilt = _build(kind, n=len(ids), vectors=vectors, ids=ids, reuse=previous)
    fresh = _build(kind, n=len(ids), vectors=vectors, ids=ids)
    assert rebuilt.index is not previous.index
    assert rebuilt.to_bytes() == fresh.to_bytes()


# Saving and searching ------------------------------------------------------------------------


def test_save_streams_without_a_serialized_copy(tmp_path, monkeypatch):
    def no_copies(*args, **kwargs):
        raise AssertionError("save must not serialize the index into memory")

    monkeypatch.setattr(face_index.faiss, "serialize_index", no_copies)
    built = _build("pq-refine")
    path = face_index.index_path(tmp_path, 1)
    checksum = face_index.save(built, path)
    assert checksum == face_index.sha256_hex(path.read_bytes())


def test_searches_run_on_one_openmp_thread_in_any_thread():
    built = _build("flat16")
    seen = []

    def search_elsewhere():
        faiss.omp_set_num_threads(4)  # a pool thread with FAISS's default
        built.search(unit_vectors(2, seed=1), 3)
        seen.append(faiss.omp_get_max_threads())

    worker = threading.Thread(target=search_elsewhere)
    worker.start()
    worker.join()
    assert seen == [face_index.SEARCH_THREADS] == [1]


def test_a_format_1_file_with_an_hnsw_graph_is_refused_even_with_a_matching_checksum(tmp_path, monkeypatch):
    """What users above 50,000 faces had before pq-refine: it is rebuilt from the database."""
    vectors, ids = unit_vectors(300), np.arange(300, dtype=np.int64) * 7 + 3
    inner = faiss.IndexHNSWFlat(16, 16, faiss.METRIC_INNER_PRODUCT)
    hnsw = faiss.IndexIDMap2(inner)
    hnsw.add_with_ids(vectors, ids)
    old = face_index.FaceIndex(index=hnsw, face_ids=ids, person_ids=ids % 4, version=1, model_id="m", dim=16)
    path = face_index.index_path(tmp_path, 1)
    with monkeypatch.context() as patched:
        patched.setattr(face_index, "FORMAT", 1)
        checksum = face_index.save(old, path)
    assert face_index.FORMAT == 2
    with pytest.raises(face_index.IndexUnusable, match="format"):
        face_index.load(path, expected_sha256=checksum, expected_version=1, model_id="m")


def test_flat_files_keep_the_previous_header():
    header = _build("flat").header()
    assert b"params" not in header and b"inputs_sha256" not in header


# Through the database ------------------------------------------------------------------------

PEOPLE = ["Ariel_Sharon", "Colin_Powell", "Tony_Blair"]


@pytest.fixture
def named(alice, detections, engine, settings):
    settings.SMARTGALLERY_INDEX_EXACT_MAX = 1  # 9 reference faces: pq-refine
    model = recognition_model.current_model()
    library = Library(alice, detections, model.model_id, PEOPLE, per_identity=5)
    for identity in PEOPLE:
        name_person(library, alice, identity)
    return model


def test_a_reassignment_reuses_the_index_and_every_machine_gets_the_same_file(alice, named, tmp_path, monkeypatch):
    first = index_cache.get_index(alice.id, named)
    assert first.kind == "pq-refine"
    builds = []
    real = face_index._new_index
    monkeypatch.setattr(face_index, "_new_index", lambda *a, **kw: builds.append(1) or real(*a, **kw))
    moved = Face.objects.filter(owner=alice, state=Face.State.CONFIRMED).order_by("id").first()
    other = Person.objects.filter(owner=alice).exclude(pk=moved.person_id).order_by("pk").first()
    services.face_assign(user=alice, face_id=moved.id, person_id=other.pk)

    relabelled = index_cache.get_index(alice.id, named)

    assert builds == [] and relabelled.index is first.index
    assert relabelled.person_ids[relabelled.face_ids.tolist().index(moved.id)] == other.pk
    record = RecognitionIndex.objects.get(owner=alice)
    assert record.built_version == record.labels_version == relabelled.version
    # Another machine, with no file and nothing in memory, builds the same bytes from the DB.
    settings.SMARTGALLERY_INDEX_DIR = tmp_path / "machine-b"
    index_cache.forget_loaded_indexes()
    fresh = index_cache.get_index(alice.id, named)
    assert builds == [1]
    assert face_index.sha256_hex(fresh.to_bytes()) == record.checksum
    assert RecognitionIndex.objects.get(owner=alice).checksum == record.checksum


def test_a_confirmation_rebuilds_from_a_loaded_file_too(alice, named):
    index_cache.get_index(alice.id, named)
    index_cache.forget_loaded_indexes()  # a fresh process: the previous index comes from the file
    unknown = Face.objects.filter(owner=alice, state=Face.State.UNKNOWN).order_by("id").first()
    person = Person.objects.filter(owner=alice).order_by("pk").first()
    services.face_assign(user=alice, face_id=unknown.id, person_id=person.pk)

    rebuilt = index_cache.get_index(alice.id, named)

    assert unknown.id in rebuilt.face_ids.tolist()
    assert rebuilt.ntotal == index_cache.reference_faces(alice.id, named.model_id).count()
