import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from gallery import services
from gallery.services import photo_create
from gallery.tests import images


@pytest.fixture
def make_photo():
    """Store a photo through the upload service (no worker involved)."""

    def make(owner, data: bytes | None = None, name: str = "photo.jpg", **fields):
        content = data if data is not None else images.jpeg_bytes(color=(make.counter % 256, 90, 30))
        make.counter += 1
        photo, _ = photo_create(owner=owner, file=SimpleUploadedFile(name, content), filename=name)
        if fields:
            for key, value in fields.items():
                setattr(photo, key, value)
            photo.save()
        return photo

    make.counter = 0
    return make


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
