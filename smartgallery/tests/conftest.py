import pytest
from django.urls import reverse

from faces.responses import UNDO_SESSION_KEY
from smartgallery.tests.world import World, make_world


@pytest.fixture(autouse=True)
def _media_per_test(request, settings, tmp_path):
    """Each test gets its own media folder, so a file snapshot sees only that test's files.

    Tests with a real worker keep the session folder: the worker process was started with it.
    """
    if "celery_worker_process" in request.fixturenames or request.node.get_closest_marker("worker"):
        return
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SMARTGALLERY_INDEX_DIR = tmp_path / "index"


@pytest.fixture
def alice_world(alice) -> World:
    return make_world(alice, label="Alice")


@pytest.fixture
def bob_world(bob) -> World:
    return make_world(bob, label="Bob")


def undo_token_of(client, world: World) -> str:
    """A real Undo token in the user's session: they name their spare face, as on the page."""
    response = client.post(reverse("faces:face_assign", args=[world.spare_face.id]), {"person": world.person.id})
    assert response.status_code == 302, response
    tokens = list(client.session[UNDO_SESSION_KEY])
    assert len(tokens) == 1
    return tokens[0]


@pytest.fixture
def alice_share(alice, carol):
    """alice's library, shared with carol (live)."""
    from sharing.models import Share

    return Share.objects.create(owner=alice, email=carol.email, viewer=carol)


@pytest.fixture
def alice_objects(alice_client, alice_world, alice_share) -> dict:
    """Alice's objects by kind; the isolation tables map URL arguments to these kinds."""
    return {
        "share": alice_share.id,
        "confirmed_face": alice_world.confirmed_face.id,
        "photo": alice_world.photo.id,
        "failed_photo": alice_world.failed_photo.id,
        "trashed_photo": alice_world.trashed_photo.id,
        "face": alice_world.face.id,
        "person": alice_world.person.id,
        "group": alice_world.group.id,
        "undo_token": undo_token_of(alice_client, alice_world),
    }
