import pytest

from gallery import services


@pytest.fixture(autouse=True)
def _media_per_test(request, settings, tmp_path):
    """Each test without a real worker gets its own media folder, so leftovers never mix.

    Tests with a worker keep the session folder: the worker process was started with it.
    """
    if "celery_worker_process" in request.fixturenames or request.node.get_closest_marker("worker"):
        yield
        return
    settings.MEDIA_ROOT = tmp_path / "media"
    yield


@pytest.fixture
def no_broker(monkeypatch) -> list[int]:
    """Enqueues are recorded, not sent, for tests that run the task body themselves: the
    session's real worker (started by earlier tests) would otherwise take the photo first."""
    sent: list[int] = []
    monkeypatch.setattr(services, "photo_enqueue", lambda *, photo_id: sent.append(photo_id))
    return sent
