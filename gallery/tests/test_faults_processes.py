"""Processes killed and brokers stopped under a running pipeline (catalogue D2, D3, D4, D14).

Every process here is started by the test and signalled by its pid: a worker of the stand-in
app (gallery/tests/fault_app.py: the real pipeline and engine, with a detector that waits
where the test wants to hit it) on a queue of its own, and for D2 a redis-server on a spare
loopback port with a web process of its own (gallery/tests/outage_client.py). The shared
Redis and the session's worker are never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from conftest import REPO_ROOT, WorkerProcess
from faces.models import Face
from gallery import services, tasks
from gallery.models import Photo
from gallery.tests import images

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]
QUEUE = "gallery-faults-processes"
GROUP_FACES = 2  # faces in images.group_photo()
SOFT_LIMIT, HARD_LIMIT = 20, 30
FILESYSTEM_BROKER = settings.CELERY_BROKER_URL.startswith("filesystem")


class StandInWorker(WorkerProcess):
    """`celery -A <app> worker` on the given queues, in a process group of its own."""

    def __init__(self, env, log_path, *, app="gallery.tests.fault_app", queues=QUEUE) -> None:
        super().__init__(env, log_path)
        self.app, self.queues = app, queues

    def start(self) -> None:
        self.log = open(self.log_path, "ab")  # noqa: SIM115 (closed with the process)
        args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            self.app,
            "worker",
            "-Q",
            self.queues,
            "--concurrency",
            "1",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "info",
        ]
        self.process = subprocess.Popen(
            args, cwd=REPO_ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.group = self.process.pid
        self.wait_ready()

    def kill_group(self) -> None:
        """SIGKILL whatever is left of this worker's process group (children outlive a killed main)."""
        try:
            os.killpg(self.group, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if self.process is not None:
            self.process.wait(timeout=10)


def _purge(queue: str) -> None:
    from smartgallery.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(queue)


@pytest.fixture
def block_dir(tmp_path) -> Path:
    folder = tmp_path / "block"
    folder.mkdir()
    return folder


@pytest.fixture
def stand_in_env(worker_environment, block_dir, monkeypatch) -> dict[str, str]:
    """Environment of the stand-in workers; uploads of the test go to their queue."""
    monkeypatch.setattr(
        services,
        "photo_enqueue",
        lambda *, photo_id: tasks.photo_process.apply_async(
            (photo_id,), queue=QUEUE, soft_time_limit=SOFT_LIMIT, time_limit=HARD_LIMIT
        ),
    )
    _purge(QUEUE)
    return {
        **worker_environment,
        "FAULT_BLOCK_DIR": str(block_dir),
        "CELERY_TASK_SOFT_TIME_LIMIT": str(SOFT_LIMIT),
        "CELERY_TASK_TIME_LIMIT": str(HARD_LIMIT),
    }


@pytest.fixture
def start_worker(tmp_path):
    started: list[StandInWorker] = []

    def start(env, **kwargs) -> StandInWorker:
        worker = StandInWorker(env, tmp_path / f"worker-{len(started)}.log", **kwargs)
        started.append(worker)
        worker.start()
        return worker

    yield start
    for worker in started:
        if worker.process is not None and worker.process.poll() is None:
            worker.process.terminate()  # warm shutdown of the main process, as in production
            try:
                worker.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        worker.kill_group()


def upload(owner) -> Photo:
    photo, created = services.photo_create(
        owner=owner, file=SimpleUploadedFile("couple.jpg", images.group_photo()), filename="couple.jpg"
    )
    assert created
    return photo


def detection_calls(block_dir: Path) -> list[tuple[int, float]]:
    path = block_dir / "calls"
    lines = path.read_text().split("\n") if path.exists() else []
    return [(int(pid), float(at)) for pid, at in (line.split() for line in lines if line.strip())]


def wait_for(condition, timeout: float, what: str, worker: StandInWorker | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} not seen after {timeout}s" + (f"\n{tail(worker)}" if worker else ""))


def tail(worker: StandInWorker) -> str:
    return "\n".join(line for line in worker.log_text().splitlines() if "faiss" not in line)[-4000:]


def blocked_child(block_dir: Path, worker: StandInWorker) -> int:
    """The pid of the worker process waiting in detection (checked to be our worker's child)."""
    pid = wait_for(lambda: detection_calls(block_dir)[:1], 30, "a detection", worker)[0][0]
    stat = Path(f"/proc/{pid}/stat").read_text()
    assert int(stat.rsplit(")", 1)[1].split()[1]) == worker.process.pid  # its parent is our worker
    return pid


def settle(photo: Photo, timeout: float, *, sweep: bool = False) -> Photo:
    """Wait until the photo is done or failed. With sweep, first run the sweeper once as if
    its delay had passed: the filesystem broker cannot redeliver the message of a dead worker."""
    if sweep:
        assert services.photos_requeue_stuck(now=timezone.now() + timedelta(hours=1))["requeued"] == 1

    def settled():
        fresh = Photo.objects.get(pk=photo.pk)
        return fresh if fresh.status in (Photo.Status.DONE, Photo.Status.FAILED) else None

    return wait_for(settled, timeout, f"photo {photo.pk} done")


def media_files(owner) -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    folder = root / str(owner.pk)
    return {str(p.relative_to(root)) for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def assert_processed_once(photo: Photo, new_files: set[str]) -> None:
    """One set of faces, and exactly the files of the finished photo: nothing half-written."""
    assert photo.status == Photo.Status.DONE, photo.last_error
    faces = list(Face.objects.filter(photo=photo))
    assert len(faces) == GROUP_FACES
    expected = {photo.original.name, photo.preview.name, photo.thumbnail.name, *(f.crop.name for f in faces)}
    assert new_files == expected
    assert all(default_storage.exists(name) for name in expected)


# D3 -----------------------------------------------------------------------------------------


@pytest.mark.catalogue("D3")
def test_a_worker_child_killed_mid_detection_is_rerun_and_stores_one_set_of_faces(
    alice, stand_in_env, start_worker, block_dir
):
    worker = start_worker(stand_in_env)
    before = media_files(alice)
    photo = upload(alice)
    child = blocked_child(block_dir, worker)
    assert Photo.objects.get(pk=photo.pk).status == Photo.Status.PROCESSING

    os.kill(child, signal.SIGKILL)
    # Redis gives the message back at once (reject_on_worker_lost); the filesystem broker
    # cannot, and there the sweeper queues the photo again.
    photo = settle(photo, 60, sweep=FILESYSTEM_BROKER)

    assert_processed_once(photo, media_files(alice) - before)
    assert photo.attempts == 2
    calls = detection_calls(block_dir)
    assert len(calls) == 2 and calls[1][0] != child  # rerun once, in a new child
    assert "WorkerLostError" in worker.log_text()


# D4 -----------------------------------------------------------------------------------------


@pytest.mark.skipif(
    FILESYSTEM_BROKER,
    reason="the filesystem broker has no visibility timeout: a message taken by a dead worker is gone "
    "(test_on_the_filesystem_broker_the_sweeper_recovers_... covers that broker)",
)
@pytest.mark.catalogue("D4")
def test_the_task_of_a_killed_worker_is_redelivered_after_the_visibility_timeout(
    alice, stand_in_env, start_worker, block_dir
):
    # Only the consuming side reads visibility_timeout (kombu's restore of unacked messages
    # runs in the worker); the publisher's transport options do not take part.
    env = {**stand_in_env, "CELERY_VISIBILITY_TIMEOUT": "10", "FAULT_UNACKED_RESTORE_INTERVAL": "1"}
    first = start_worker(env)
    before = media_files(alice)
    photo = upload(alice)
    child = blocked_child(block_dir, first)

    os.kill(first.process.pid, signal.SIGKILL)
    first.process.wait(timeout=10)
    # Its child, orphaned, would go on once released; the machine is gone, so it goes too.
    os.kill(child, signal.SIGKILL)
    second = start_worker(env)
    photo = settle(photo, 45)

    assert_processed_once(photo, media_files(alice) - before)
    assert photo.attempts == 2  # the same task, redelivered: it took the photo back
    (_, delivered), (_, redelivered) = detection_calls(block_dir)
    assert 10 <= redelivered - delivered <= 25, tail(second)


@pytest.mark.skipif(
    not FILESYSTEM_BROKER, reason="Redis redelivers by itself (test_..._redelivered_after_the_visibility_timeout)"
)
@pytest.mark.catalogue("D4")
def test_on_the_filesystem_broker_the_sweeper_recovers_the_task_of_a_killed_worker(
    alice, stand_in_env, start_worker, block_dir
):
    first = start_worker(stand_in_env)
    before = media_files(alice)
    photo = upload(alice)
    child = blocked_child(block_dir, first)
    os.kill(first.process.pid, signal.SIGKILL)
    first.process.wait(timeout=10)
    os.kill(child, signal.SIGKILL)
    start_worker(stand_in_env)
    assert services.photos_requeue_stuck()["requeued"] == 0  # not before the time limit + grace

    photo = settle(photo, 45, sweep=True)
    assert_processed_once(photo, media_files(alice) - before)
    assert photo.attempts == 2


# D14 ----------------------------------------------------------------------------------------


@pytest.mark.catalogue("D14")
def test_sigterm_to_the_worker_finishes_the_task_in_flight_before_it_exits(
    alice, stand_in_env, start_worker, block_dir
):
    worker = start_worker(stand_in_env)
    before = media_files(alice)
    photo = upload(alice)
    blocked_child(block_dir, worker)

    os.kill(worker.process.pid, signal.SIGTERM)  # docker stop: the main process only
    wait_for(lambda: "Warm shutdown" in worker.log_text(), 10, "warm shutdown", worker)
    time.sleep(1)
    assert worker.process.poll() is None  # waits for the task
    (block_dir / "release").touch()
    assert worker.process.wait(timeout=30) == 0

    photo = Photo.objects.get(pk=photo.pk)
    assert_processed_once(photo, media_files(alice) - before)
    assert photo.attempts == 1


@pytest.mark.catalogue("D14")
def test_sigterm_to_the_whole_worker_group_requeues_the_task_in_flight(alice, stand_in_env, start_worker, block_dir):
    worker = start_worker(stand_in_env)
    before = media_files(alice)
    photo = upload(alice)
    blocked_child(block_dir, worker)

    os.killpg(worker.group, signal.SIGTERM)  # systemd's default: every process of the unit
    assert worker.process.wait(timeout=30) == 0
    # The child died under the task: the worker gives the message back as it shuts down
    # ("Restoring 1 unacknowledged message(s)"), on Redis and on the filesystem broker alike.
    start_worker(stand_in_env)  # the supervisor starts it again
    photo = settle(photo, 60)

    assert_processed_once(photo, media_files(alice) - before)
    assert photo.attempts == 2


# D2 -----------------------------------------------------------------------------------------


class RedisServer:
    """A redis-server of this test alone, on a spare loopback port, without persistence."""

    def __init__(self, log_path: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(self.answers, 10, f"redis-server on port {self.port}")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def private_redis(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path / "redis.log")
    server.start()
    yield server
    server.stop()


class WebProcess:
    """gallery/tests/outage_client.py: one command per line in, one JSON line out."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gallery.tests.outage_client"],
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                start_new_session=True,
            )

    def ask(self, command: str) -> dict:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise AssertionError(f"web process ended on {command!r}:\n{self.log()[-4000:]}")
        return json.loads(line)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.mark.catalogue("D2")
def test_redis_stopped_during_an_upload_the_photo_is_kept_and_processed_once_after_it_returns(
    alice, worker_environment, private_redis, start_worker, tmp_path
):
    # Broker, cache and results all on the stopped Redis, as in production (one REDIS_URL).
    env = {
        **worker_environment,
        "REDIS_URL": private_redis.url,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "d2-" + "x" * 60,
        "SECURE_SSL": "false",
    }
    start_worker(env, app="smartgallery", queues="default,faces")  # the real worker and engine
    web = WebProcess(env, tmp_path / "web.log")
    try:
        assert web.ask(f"login {alice.pk}") == {"ok": True}
        photo_file = tmp_path / "couple.jpg"
        photo_file.write_bytes(images.group_photo())

        private_redis.stop()
        answer = web.ask(f"upload {photo_file}")
        assert answer["status"] == 201, web.log()[-4000:]
        photo = Photo.objects.get(pk=answer["photo_id"])
        assert photo.status == Photo.Status.QUEUED and default_storage.exists(photo.original.name)
        assert f"Could not queue photo {photo.pk}" in web.log()

        private_redis.start()
        assert web.ask("sweep") == {"requeued": 1}
        photo = settle(photo, 60)
    finally:
        web.stop()
    assert photo.status == Photo.Status.DONE, photo.last_error
    assert photo.attempts == 1  # processed once
    assert Face.objects.filter(photo=photo).count() == GROUP_FACES
