"""The Redis cache keeps one client per connection pool (smartgallery.redis_cache)."""

import pytest
from django.conf import settings
from django.core.cache import cache

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="only production-shaped runs have Redis")


def test_every_operation_of_a_process_uses_one_client():
    cache.set("redis-cache-test", 1)
    first = cache._cache.get_client()

    assert cache.get("redis-cache-test") == 1
    assert cache._cache.get_client(write=True) is first
    assert cache._cache.get_client() is first


def test_values_round_trip_through_the_reused_client():
    cache.set_many({"redis-cache-a": [1, 2], "redis-cache-b": {"x": "y"}})

    assert cache.get_many(["redis-cache-a", "redis-cache-b", "redis-cache-c"]) == {
        "redis-cache-a": [1, 2],
        "redis-cache-b": {"x": "y"},
    }
    assert cache.delete("redis-cache-a") and cache.get("redis-cache-a") is None
