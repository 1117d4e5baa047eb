"""Fixtures shared by every app's tests.

The cast follows the house style: *alice* owns data, *bob* is another user with data of his
own, and every view test checks that bob gets 404 on alice's objects.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import override_settings

REPO_ROOT = Path(__file__).resolve().parent
SHARED_DIR = Path(os.environ.get("SMARTGALLERY_SHARED_DIR", REPO_ROOT.parent / "shared")).resolve()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.fail(f"shared data not found at {SHARED_DIR}; set SMARTGALLERY_SHARED_DIR")
    return SHARED_DIR


@pytest.fixture(scope="session")
def face_pack_path(shared_dir: Path) -> Path:
    return shared_dir / "models" / "face_default"


@pytest.fixture(scope="session")
def faces_dir(shared_dir: Path) -> Path:
    return shared_dir / "faces"


@pytest.fixture(scope="session", autouse=True)
def _isolated_media(face_pack_path: Path) -> Iterator[Path]:
    """Media, indexes and the face pack of the whole run live in a temporary folder.

    Session-wide (not per test) so the real Celery worker, started once, sees the same files.
    """
    root = Path(tempfile.mkdtemp(prefix="smartgallery-test-"))
    override = override_settings(
        MEDIA_ROOT=root / "media",
        SMARTGALLERY_INDEX_DIR=root / "index",
        SMARTGALLERY_FACE_PACK=str(face_pack_path),
        # Hashed static names need `collectstatic`; tests render templates without it.
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    )
    override.enable()
    yield root
    override.disable()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing() -> Iterator[None]:
    """Every alice, bob and carol would otherwise cost an Argon2id hash at our production cost
    (32 MiB, about 90 ms) when made and at each sign-in. The tests of the hashing itself ask for
    `configured_password_hashers`."""
    override = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    override.enable()
    yield
    override.disable()


@pytest.fixture
def configured_password_hashers(settings) -> list[str]:
    """The PASSWORD_HASHERS that smartgallery/settings.py sets, for this test."""
    from smartgallery import settings as configured

    settings.PASSWORD_HASHERS = configured.PASSWORD_HASHERS
    return settings.PASSWORD_HASHERS


CATALOGUE_ID = re.compile(r"[A-G][0-9]{1,2}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`@pytest.mark.catalogue("A8")` names the rows of the test catalogue a test covers: a typo
    in an id would hide the test from anyone looking for its row, so it stops the run."""
    for item in items:
        for marker in item.iter_markers("catalogue"):
            if not marker.args or not all(isinstance(a, str) and CATALOGUE_ID.fullmatch(a) for a in marker.args):
                raise pytest.UsageError(f"{item.nodeid}: catalogue ids look like 'A8', got {marker.args!r}")


def _worker_environment(media_root: Path) -> dict[str, str]:
    env = dict(os.environ)
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        env["SQLITE_PATH"] = str(db["NAME"])
    else:
        # pytest-django has renamed NAME to the test database by now.
        env["SMARTGALLERY_TEST_DB_NAME"] = db["NAME"]
        env["DATABASE_URL"] = (
            f"mysql://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 3306}/{db['NAME']}"
        )
    env["MEDIA_ROOT"] = str(media_root / "media")
    env["SMARTGALLERY_INDEX_DIR"] = str(media_root / "index")
    env["SMARTGALLERY_FACE_PACK"] = settings.SMARTGALLERY_FACE_PACK
    env["PYTHONUNBUFFERED"] = "1"
    return env


class WorkerProcess:
    """A real `celery worker` process against the test database and broker."""

    def __init__(self, env: dict[str, str], log_path: Path, extra_args: list[str] | None = None) -> None:
        self.env = env
        self.log_path = log_path
        self.extra_args = extra_args or []
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        from smartgallery.celery import app

        app.control.purge()
        self.log = open(self.log_path, "ab")
        args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "smartgallery",
            "worker",
            "-Q",
            "default,faces",
            "--concurrency",
            "1",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "info",
            *self.extra_args,
        ]
        self.process = subprocess.Popen(
            args, cwd=REPO_ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited early, see {self.log_path}:\n{self.log_text()}")
            if "ready." in self.log_text():
                return
            time.sleep(0.2)
        raise RuntimeError(f"celery worker not ready after {timeout}s:\n{self.log_text()}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, _isolated_media: Path) -> Iterator[WorkerProcess]:
    """Start one real worker for the session. Tests that use it need transaction=True."""
    with django_db_blocker.unblock():
        env = _worker_environment(_isolated_media)
    worker = WorkerProcess(env, _isolated_media / "worker.log")
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def worker_environment(django_db_setup, _isolated_media: Path) -> dict[str, str]:
    """Environment for tests that start and stop their own worker (fault injection)."""
    return _worker_environment(_isolated_media)


@pytest.fixture
def alice(db):
    from accounts.models import User

    return User.objects.create_user("alice@example.com", "alice-password-1234", display_name="Alice")


@pytest.fixture
def bob(db):
    from accounts.models import User

    return User.objects.create_user("bob@example.com", "bob-password-1234", display_name="Bob")


@pytest.fixture
def carol(db):
    """alice's family: alice shares her library with carol (sharing app), who has data too."""
    from accounts.models import User

    return User.objects.create_user("carol@example.com", "carol-password-1234", display_name="Carol")


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(db, bob):
    from django.test import Client

    other = Client()
    other.force_login(bob)
    return other


@pytest.fixture
def carol_client(db, carol):
    from django.test import Client

    other = Client()
    other.force_login(carol)
    return other
