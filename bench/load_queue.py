"""Queue drain with worker restarts (issue 9 §4, catalogue G4): --photos photos queued at once,
processed by a real Celery worker (prefork, --concurrency) that is stopped twice while it works:
once with SIGTERM (warm shutdown) and once with SIGKILL to its whole process group (a crash),
each time started again. Every photo must end `done`, processed exactly once: the faces stored
per photo must equal what the detector found for it, none twice.

FAULT INJECTION: the worker runs the real app, tasks and storage with a fast stand-in for the
face detector only (like gallery/tests/fault_app.py): it returns 1-3 synthetic faces per photo,
decided by the photo's width (640 + k -> k + 1 faces), with random unit embeddings of the real
pack's dimension, after --detect-ms of sleep. Decoding, derivatives, crops, the database writes
and recognition are the real ones. CELERY_VISIBILITY_TIMEOUT is lowered to --visibility seconds
so the messages of the killed worker are redelivered within the run (production: 3600 s).

Own MariaDB database (sg_bench_queue), Redis db 11. Prints ONE JSON line; progress on stderr.
Bounded: gives up after --timeout seconds.

    .venv/bin/python -m bench.load_queue [--photos 200] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench import _common as common

log = common.log

STAND_IN_APP = '''"""Written by bench/load_queue.py: the real Celery app with a fast stand-in face detector."""
import os
import time

import numpy as np

from faces import engine_loader
from faces.engine import DetectedFace
from smartgallery.celery import app  # noqa: F401  (the app celery -A loads)

_real_get_engine = engine_loader.get_engine
DETECT_SECONDS = float(os.environ.get("BENCH_DETECT_MS", "50")) / 1000


class FastEngine:
    """The real engine (model id, dimension, thresholds), except detect()."""

    def __getattr__(self, name):
        return getattr(_real_get_engine(), name)

    def detect(self, rgb):
        time.sleep(DETECT_SECONDS)
        count = 1 + (rgb.shape[1] - 640) % 3
        dim = _real_get_engine().dim
        rng = np.random.default_rng(int(rgb[:8, :8].sum()) + rgb.shape[1])
        faces = []
        for k in range(count):
            x1, y1 = 40.0 + 180 * k, 60.0
            vector = rng.standard_normal(dim).astype(np.float32)
            faces.append(DetectedFace(
                box=(x1, y1, x1 + 120.0, y1 + 120.0),
                landmarks=np.array([[x1 + 40, y1 + 50], [x1 + 80, y1 + 50], [x1 + 60, y1 + 70],
                                    [x1 + 45, y1 + 95], [x1 + 75, y1 + 95]], dtype=np.float32),
                det_score=0.9, embedding=vector / np.linalg.norm(vector), size_px=120.0, sharpness=100.0,
                frontalness=0.9))
        return faces


_engine = FastEngine()
engine_loader.get_engine = lambda: _engine
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--detect-ms", type=int, default=50)
    parser.add_argument("--visibility", type=int, default=20, help="CELERY_VISIBILITY_TIMEOUT for the run (s)")
    parser.add_argument("--timeout", type=int, default=400)
    options = parser.parse_args()
    options.photos = max(10, min(options.photos, 2000))

    scratch = common.scratch_dir("queue")
    common.configure("sg_bench_queue", 11, scratch=scratch)
    os.environ["CELERY_VISIBILITY_TIMEOUT"] = str(options.visibility)
    (scratch / "app").mkdir()
    (scratch / "app" / "bench_queue_app.py").write_text(STAND_IN_APP)
    result: dict = {
        "bench": "load_queue",
        "photos": options.photos,
        "concurrency": options.concurrency,
        "detector": f"stand-in (fault injection), {options.detect_ms} ms, 1-3 faces per photo",
        "visibility_timeout_s": options.visibility,
        "cpus": os.cpu_count(),
        "loadavg_start": common.loadavg(),
    }
    worker = None
    try:
        log("creating database sg_bench_queue")
        common.create_database()
        common.flush_redis_db()
        from django.core.files.base import ContentFile
        from django.db.models import Count

        from accounts.models import User
        from faces.models import Face
        from gallery import services
        from gallery.models import Photo

        user = User.objects.create_user("queue@example.com", "bench-password-123456")
        expected = {}
        log(f"queueing {options.photos} photos (no worker yet)")
        for i in range(options.photos):
            width = 640 + i % 3
            photo, created = services.photo_create(
                owner=user,
                file=ContentFile(common.small_jpeg(width, 480, seed=i, quality=85), name=f"q{i}.jpg"),
                filename=f"q{i}.jpg",
            )
            assert created
            expected[photo.pk] = 1 + (width - 640) % 3

        env = {
            **os.environ,
            "PYTHONPATH": f"{scratch / 'app'}{os.pathsep}{common.REPO}",
            "BENCH_DETECT_MS": str(options.detect_ms),
        }
        log_path = scratch / "worker.log"

        def finished() -> int:
            return Photo.objects.filter(owner=user, status__in=["done", "failed"]).count()

        def wait_for(count: int, deadline: float) -> None:
            while finished() < count and time.monotonic() < deadline:
                time.sleep(0.1)

        started = time.monotonic()
        deadline = started + options.timeout
        restarts = []
        worker = common.start_worker(options.concurrency, env, log_path, app="bench_queue_app")
        wait_for(options.photos // 3, deadline)
        # 1. Warm shutdown: SIGTERM to the main process only (what `docker stop` does).
        at = finished()
        os.kill(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except Exception:  # noqa: BLE001
            common.stop_group(worker, signal.SIGKILL)
        restarts.append(
            {
                "signal": "SIGTERM (main process)",
                "done_when_stopped": at,
                "processing_left": Photo.objects.filter(owner=user, status="processing").count(),
            }
        )
        log(f"SIGTERM at {at} done")
        worker = common.start_worker(options.concurrency, env, log_path, app="bench_queue_app")
        wait_for(2 * options.photos // 3, deadline)
        # 2. Crash: SIGKILL to the main process and its pool processes at once.
        at = finished()
        common.stop_group(worker, signal.SIGKILL)
        restarts.append(
            {
                "signal": "SIGKILL (process group)",
                "done_when_stopped": at,
                "processing_left": Photo.objects.filter(owner=user, status="processing").count(),
            }
        )
        log(f"SIGKILL at {at} done, {restarts[-1]['processing_left']} left processing")
        worker = common.start_worker(options.concurrency, env, log_path, app="bench_queue_app")
        wait_for(options.photos, deadline)
        elapsed = time.monotonic() - started
        common.stop_worker(worker)
        worker = None

        faces = dict(Face.objects.filter(owner=user).values_list("photo_id").annotate(n=Count("id")).order_by())
        statuses = Counter(Photo.objects.filter(owner=user).values_list("status", flat=True))
        attempts = Counter(Photo.objects.filter(owner=user).values_list("attempts", flat=True))
        wrong = {pk: faces.get(pk, 0) for pk, n in expected.items() if faces.get(pk, 0) != n}
        log_text = log_path.read_text(errors="replace")
        result.update(
            {
                "seconds": round(elapsed, 1),
                "statuses": dict(statuses),
                "attempts": {str(k): v for k, v in sorted(attempts.items())},
                "restarts": restarts,
                "faces_expected": sum(expected.values()),
                "faces_stored": sum(faces.values()),
                "photos_with_wrong_face_count": len(wrong),
                "wrong_examples": dict(list(wrong.items())[:5]),
                "skipped_duplicate_deliveries": log_text.count("'skipped'"),
                "photos_with_derivatives": Photo.objects.filter(owner=user).exclude(thumbnail="").count(),
            }
        )
        result["exactly_once"] = (
            statuses.get("done", 0) == options.photos
            and not wrong
            and result["photos_with_derivatives"] == options.photos
        )
        result["loadavg_end"] = common.loadavg()
    finally:
        if worker is not None:
            common.stop_group(worker, signal.SIGKILL)
        if (scratch / "worker.log").exists() and not result.get("exactly_once"):
            kept = Path(tempfile.gettempdir()) / "sg-bench-queue-worker.log"
            shutil.copy(scratch / "worker.log", kept)
            log(f"worker log kept in {kept}")
        common.drop_database()
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
