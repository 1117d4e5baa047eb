"""Loaded indexes kept by a worker process are bounded by bytes (SMARTGALLERY_INDEX_CACHE_MB)."""

from __future__ import annotations

import numpy as np
import pytest
from django.utils import timezone

from faces import index as face_index
from faces import index_cache
from faces.index_cache import LoadedIndexes
from faces.models import RecognitionIndex
from faces.recognition_model import MatchPolicy, RecognitionModel
from smartgallery.tests.factories import unit_vectors

pytestmark = pytest.mark.usefixtures("fresh_process_cache")

MODEL = RecognitionModel(model_id="cache-test", dim=128, policy=MatchPolicy(auto_assign=0.6, suggest=0.4, margin=0.05))
FACES = 1000  # 128-d float32: ~0.5 MiB of file, ~0.55 MiB held


def cache_of(budget: list[int]) -> LoadedIndexes:
    return LoadedIndexes(lambda: budget[0])


def test_the_least_recently_used_index_goes_first_when_the_budget_is_exceeded():
    cache = cache_of([100])
    cache.put(1, "a", "index-1", 40)
    cache.put(2, "b", "index-2", 40)
    assert cache.get(1).index == "index-1"  # used: now the most recent
    cache.put(3, "c", "index-3", 40)
    assert cache.owners() == [1, 3]
    assert cache.get(2) is None
    assert cache.nbytes == 80


def test_an_index_bigger_than_the_whole_budget_stays_alone_while_it_is_the_latest():
    cache = cache_of([100])
    cache.put(1, "a", "index-1", 40)
    cache.put(2, "b", "index-2", 300)
    assert cache.owners() == [2] and cache.nbytes == 300
    cache.put(1, "a", "index-1", 40)
    assert cache.owners() == [1] and cache.nbytes == 40


def test_putting_an_owner_again_replaces_its_index_and_its_size():
    cache = cache_of([100])
    cache.put(1, "a", "old", 60)
    cache.put(1, "b", "new", 30)
    assert cache.get(1).checksum == "b" and cache.get(1).index == "new"
    assert cache.nbytes == 30


def test_a_smaller_budget_applies_at_the_next_put():
    budget = [1000]
    cache = cache_of(budget)
    for owner in range(5):
        cache.put(owner, str(owner), owner, 100)
    budget[0] = 250
    cache.put(5, "5", 5, 100)
    assert cache.owners() == [4, 5] and cache.nbytes == 200


def test_a_zero_budget_keeps_only_the_index_in_use():
    cache = cache_of([0])
    cache.put(1, "a", "index-1", 10)
    cache.put(2, "b", "index-2", 10)
    assert cache.owners() == [2]


def _current_index_on_disk(owner, index_dir, seed: int) -> None:
    """A current, recorded index file for `owner`, as build_index leaves it."""
    built = face_index.build(
        vectors=unit_vectors(FACES, MODEL.dim, seed=seed),
        face_ids=np.arange(1, FACES + 1, dtype=np.int64),
        person_ids=np.zeros(FACES, dtype=np.int64),
        version=1,
        model_id=MODEL.model_id,
        dim=MODEL.dim,
    )
    checksum = face_index.save(built, face_index.index_path(index_dir, owner.pk))
    RecognitionIndex.objects.update_or_create(
        owner=owner,
        defaults={
            "labels_version": 1,
            "built_version": 1,
            "checksum": checksum,
            "model_id": MODEL.model_id,
            "dimension": MODEL.dim,
            "size": FACES,
            "built_at": timezone.now(),
        },
    )


@pytest.fixture
def file_loads(monkeypatch) -> list[str]:
    """Every index read from a file by this process."""
    loads: list[str] = []
    real_load = face_index.load

    def counting_load(path, **kwargs):
        loads.append(str(path))
        return real_load(path, **kwargs)

    monkeypatch.setattr(face_index, "load", counting_load)
    return loads


def test_get_index_reloads_an_index_the_byte_budget_pushed_out(alice, bob, settings, tmp_path, file_loads):
    settings.SMARTGALLERY_INDEX_DIR = tmp_path
    settings.SMARTGALLERY_INDEX_CACHE_MB = 1  # one of the two ~0.55 MiB indexes, not both
    _current_index_on_disk(alice, tmp_path, seed=1)
    _current_index_on_disk(bob, tmp_path, seed=2)

    for owner in (alice, alice, bob, bob, alice):
        assert index_cache.get_index(owner.pk, MODEL).ntotal == FACES
    assert len(file_loads) == 3  # alice, bob, alice again: bob's load pushed alice's out
    assert index_cache._loaded.owners() == [alice.pk]
    assert 0.5 * 2**20 < index_cache._loaded.nbytes <= 2**20


def test_get_index_keeps_both_indexes_when_the_budget_holds_them(alice, bob, settings, tmp_path, file_loads):
    settings.SMARTGALLERY_INDEX_DIR = tmp_path
    settings.SMARTGALLERY_INDEX_CACHE_MB = 2
    _current_index_on_disk(alice, tmp_path, seed=1)
    _current_index_on_disk(bob, tmp_path, seed=2)

    for owner in (alice, bob, alice, bob, alice):
        index_cache.get_index(owner.pk, MODEL)
    assert len(file_loads) == 2
    assert index_cache._loaded.owners() == [bob.pk, alice.pk]
