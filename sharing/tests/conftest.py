import pytest

from accounts.tests.conftest import _clear_rate_limits
from sharing.models import Share
from smartgallery.tests.world import World, make_world


@pytest.fixture(autouse=True)
def _media_and_limits(settings, tmp_path):
    """Each test its own media folder, and fresh invitation counters (allauth's rate limits)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SMARTGALLERY_INDEX_DIR = tmp_path / "index"
    _clear_rate_limits()
    yield
    _clear_rate_limits()


@pytest.fixture
def alice_world(alice) -> World:
    return make_world(alice, label="Alice")


@pytest.fixture
def share(alice, carol) -> Share:
    """alice's library, shared with carol."""
    return Share.objects.create(owner=alice, email=carol.email, viewer=carol)


def hx(**extra) -> dict:
    return {"HTTP_HX_REQUEST": "true", **extra}
