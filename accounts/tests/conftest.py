import pytest
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache

from accounts.tests.flows import make_verified_user


def _clear_rate_limits() -> None:
    if isinstance(cache, RedisCache):
        # Only allauth's counters: in production-shaped runs the same Redis database may also be
        # the Celery broker of a session-wide worker, which a FLUSHDB would break.
        client = cache._cache.get_client(write=True)
        keys = list(client.scan_iter(match="*allauth:rl:*"))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    _clear_rate_limits()
    yield
    _clear_rate_limits()


@pytest.fixture
def carol(db):
    """A user who signed up and verified her address, signing in through the real pages."""
    return make_verified_user("carol@example.com", "carol-password-5678", display_name="Carol")
