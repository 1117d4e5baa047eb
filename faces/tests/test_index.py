"""The reference index is a cache: anything wrong with the file means a rebuild from the DB."""

from __future__ import annotations

import os

import numpy as np
import pytest
from django.conf import settings

from faces import index as face_index
from faces import index_cache, recognition_model
from faces.models import Face, RecognitionIndex
from faces.tests.people import Library, name_person
from smartgallery.tests.factories import unit_vectors

pytestmark = pytest.mark.usefixtures("fresh_process_cache")

PEOPLE = ["Ariel_Sharon", "Colin_Powell", "Tony_Blair"]


def _build(n: int = 50, *, version: int = 1, **kinds) -> face_index.FaceIndex:
    vectors = unit_vectors(n)
    ids = np.arange(n, dtype=np.int64) * 7 + 3
    return face_index.build(
        vectors=vectors, face_ids=ids, person_ids=ids % 4, version=version, model_id="m", dim=16, **kinds
    )


def test_search_returns_face_and_person_ids_best_first():
    built = _build()
    sims, faces, persons = built.search(unit_vectors(50)[:3], 5)
    assert faces[:, 0].tolist() == [3, 10, 17]
    assert persons[:, 0].tolist() == [3, 2, 1]
    assert np.all(np.diff(sims, axis=1) <= 1e-6)


def test_the_same_data_builds_the_same_bytes_on_every_machine():
    shuffled = np.random.default_rng(1).permutation(50)
    vectors, ids = unit_vectors(50), np.arange(50, dtype=np.int64) * 7 + 3
    other = face_index.build(
        vectors=vectors[shuffled],
        face_ids=ids[shuffled],
        person_ids=(ids % 4)[shuffled],
        version=1,
        model_id="m",
        dim=16,
    )
    assert face_index.sha256_hex(other.to_bytes()) == face_index.sha256_hex(_build().to_bytes())
    for kinds, kind in [({"float32_max": 10}, "flat16"), ({"exact_max": 10}, "pq-refine")]:
        first, second = _build(**kinds), _build(**kinds)
        assert first.kind == kind
        assert first.to_bytes() == second.to_bytes()


def test_save_and_load_round_trip(tmp_path):
    path = face_index.index_path(tmp_path, 7)
    checksum = face_index.save(_build(), path)
    loaded = face_index.load(path, expected_sha256=checksum, expected_version=1, model_id="m")
    assert loaded.ntotal == 50 and loaded.face_ids.tolist() == _build().face_ids.tolist()
    assert not list(path.parent.glob("*.tmp"))


@pytest.mark.parametrize("damage", ["flip", "truncate", "missing", "garbage"])
def test_a_damaged_file_is_refused(tmp_path, damage):
    path = face_index.index_path(tmp_path, 7)
    checksum = face_index.save(_build(), path)
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
    elif damage == "truncate":
        path.write_bytes(bytes(data[: len(data) // 3]))
    elif damage == "missing":
        path.unlink()
    else:
        path.write_bytes(b"\x00" * 100)
    with pytest.raises(face_index.IndexUnusable):
        face_index.load(path, expected_sha256=checksum, expected_version=1, model_id="m")


def test_a_truncated_file_is_refused_even_with_a_matching_checksum(tmp_path):
    # What FAISS itself says about a short file (RuntimeError) is turned into IndexUnusable.
    data = _build().to_bytes()[:-40]
    with pytest.raises(face_index.IndexUnusable):
        face_index.from_bytes(data)


def test_an_older_version_is_refused(tmp_path):
    path = face_index.index_path(tmp_path, 7)
    checksum = face_index.save(_build(version=4), path)
    with pytest.raises(face_index.IndexUnusable):
        face_index.load(path, expected_sha256=checksum, expected_version=5, model_id="m")


def test_a_crash_during_write_leaves_the_previous_index_loadable(tmp_path, monkeypatch):
    path = face_index.index_path(tmp_path, 7)
    checksum = face_index.save(_build(version=1), path)

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(face_index.os, "replace", crash)
    with pytest.raises(OSError):
        face_index.save(_build(version=2), path)
    monkeypatch.undo()

    assert face_index.load(path, expected_sha256=checksum, expected_version=1, model_id="m").version == 1
    assert not list(path.parent.glob("*.tmp"))


def test_a_temp_file_left_by_a_killed_writer_is_cleaned_on_the_next_write(tmp_path):
    path = face_index.index_path(tmp_path, 7)
    path.parent.mkdir(parents=True)
    leftover = path.parent / f".{path.name}.abc{face_index.TMP_SUFFIX}"
    leftover.write_bytes(b"half")
    os.utime(leftover, (0, 0))

    face_index.save(_build(), path)

    assert not leftover.exists()


# Through the database ----------------------------------------------------------------------


@pytest.fixture
def named(alice, detections, engine):
    model = recognition_model.current_model()
    library = Library(alice, detections, model.model_id, PEOPLE, per_identity=5)
    for identity in PEOPLE:
        name_person(library, alice, identity)
    return model


def _brute_force(owner, model, queries, k):
    rows = list(index_cache.reference_faces(owner.id, model.model_id).order_by("id").values_list("id", "embedding"))
    vectors = np.frombuffer(b"".join(r[1] for r in rows), np.float32).reshape(-1, model.dim)
    sims = queries @ vectors.T
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return np.array([r[0] for r in rows])[order]


def _path(user):
    return face_index.index_path(settings.SMARTGALLERY_INDEX_DIR, user.id)


# The reference set of `named` is 9 faces: flat by default; pq-refine when forced.
KINDS = {"flat": 300_000, "pq-refine": 1}


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("damage", ["flip", "truncate", "missing", "stale-file", "stale-record", "old-format"])
def test_a_bad_index_file_is_rebuilt_and_equals_an_exact_search_over_the_db(
    alice, named, damage, kind, settings, monkeypatch
):
    model = named
    settings.SMARTGALLERY_INDEX_EXACT_MAX = KINDS[kind]
    index_cache.get_index(alice.id, model)
    record = RecognitionIndex.objects.get(owner=alice)
    path = _path(alice)
    if damage == "flip":
        data = bytearray(path.read_bytes())
        data[-20] ^= 0x40
        path.write_bytes(bytes(data))
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "missing":
        path.unlink()
    elif damage == "stale-file":
        older = face_index.from_bytes(path.read_bytes())
        older.version = record.built_version - 1
        face_index.save(older, path)
    elif damage == "old-format":
        # Written by a release before FORMAT 2, and recorded as current: only the format is wrong.
        current = face_index.from_bytes(path.read_bytes())
        with monkeypatch.context() as patched:
            patched.setattr(face_index, "FORMAT", 1)
            checksum = face_index.save(current, path)
        RecognitionIndex.objects.filter(owner=alice).update(checksum=checksum)
    else:
        index_cache.labels_changed(alice.id)
    index_cache.forget_loaded_indexes()

    rebuilt = index_cache.get_index(alice.id, model)

    assert rebuilt.kind == kind
    record.refresh_from_db()
    assert record.built_version == record.labels_version == rebuilt.version
    assert face_index.sha256_hex(path.read_bytes()) == record.checksum
    queries = np.frombuffer(
        b"".join(Face.objects.filter(owner=alice, state=Face.State.UNKNOWN).values_list("embedding", flat=True)),
        np.float32,
    ).reshape(-1, model.dim)
    _, found, _ = rebuilt.search(queries, 3)
    assert found.tolist() == _brute_force(alice, model, queries, 3).tolist()


def test_index_invariants(alice, named):
    built = index_cache.get_index(alice.id, named)
    mine = set(Face.objects.filter(owner=alice).values_list("id", flat=True))
    assert set(built.face_ids.tolist()) <= mine
    assert built.ntotal == index_cache.reference_faces(alice.id, named.model_id).count()


def test_built_version_only_goes_up(alice, named):
    index_cache.get_index(alice.id, named)
    index_cache.labels_changed(alice.id)
    index_cache.labels_changed(alice.id)
    newest = index_cache.build_index(alice.id, named)
    RecognitionIndex.objects.filter(owner=alice).update(labels_version=newest.version)  # no change

    # An older build (it read version N-1 before the newer build) finishes last.
    RecognitionIndex.objects.filter(owner=alice).update(labels_version=newest.version - 1)
    index_cache.build_index(alice.id, named)
    record = RecognitionIndex.objects.get(owner=alice)
    assert record.built_version == newest.version


def test_a_second_machine_with_its_own_folder_builds_the_same_file(alice, named, tmp_path, settings):
    index_cache.get_index(alice.id, named)
    first = _path(alice).read_bytes()
    record = RecognitionIndex.objects.get(owner=alice)

    settings.SMARTGALLERY_INDEX_DIR = tmp_path / "machine-b"
    index_cache.forget_loaded_indexes()
    index_cache.get_index(alice.id, named)

    assert _path(alice).read_bytes() == first
    assert RecognitionIndex.objects.get(owner=alice).checksum == record.checksum
