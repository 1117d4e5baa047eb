"""Real Celery workers configured as other machines would be (their own environment), for the
object-storage and several-machines tests.

While such workers run, the session's worker (conftest.celery_worker_process) is stopped, so
every task of the test is taken by a worker the test configured, and started again after.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from conftest import REPO_ROOT, WorkerProcess
from gallery.models import Photo


class MachineWorker(WorkerProcess):
    """`celery worker` on both queues and one named after it (for tasks meant for this machine),
    with a node name of its own (several share one host here)."""

    def __init__(self, env: dict[str, str], log_path: Path, *, name: str) -> None:
        super().__init__(env, log_path)
        self.name = name

    def start(self, *, purge: bool = True) -> None:
        if purge:
            from smartgallery.celery import app

            app.control.purge()
        self.log = open(self.log_path, "ab")  # noqa: SIM115 (closed with the process)
        args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "smartgallery",
            "worker",
            "-Q",
            f"default,faces,{self.name}",
            "-n",
        ]
        args += [f"{self.name}@%h", "--concurrency", "1", "--without-gossip", "--without-mingle", "-l", "info"]
        self.process = subprocess.Popen(
            args, cwd=REPO_ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.wait_ready()


@contextmanager
def machines(session_worker: WorkerProcess, log_dir: Path) -> Iterator[Callable[..., MachineWorker]]:
    """Stop the session's worker; yield start(env, name=...) for workers of the test's own;
    stop them and start the session's worker again (which purges what they left queued)."""
    session_worker.stop()
    started: list[MachineWorker] = []

    def start(env: dict[str, str], *, name: str) -> MachineWorker:
        worker = MachineWorker(env, log_dir / f"{name}.log", name=name)
        # Only the first start purges the queues: a second machine must not drop the
        # tasks the first one has not taken yet.
        first = not started
        started.append(worker)
        worker.start(purge=first)
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.stop()
        session_worker.start()


def wait_for(condition: Callable[[], object], *, timeout: float, what: str, logs: Callable[[], str] = str) -> object:
    """Poll `condition` until it is truthy; fail with `what` and the workers' logs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} not reached after {timeout:.0f}s\n{logs()[-6000:]}")


def settled(photo_ids: list[int]) -> bool:
    """Every photo is done or failed."""
    pending = Photo.objects.filter(pk__in=photo_ids).exclude(status__in=[Photo.Status.DONE, Photo.Status.FAILED])
    return not pending.exists()
