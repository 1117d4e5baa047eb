"""Import scale benchmark: does a long import keep its first-minute pace? (issue 16 item 3)

One user imports N photos (default 1,200; the issue's run is --photos 20000) into an empty
library: synthetic copies of the ../shared/faces photos (each copy cropped, scaled, mirrored,
re-lit and re-encoded differently, so no two are the same file), uploaded through
gallery.services.photo_create in this process and processed by ONE real Celery worker
(concurrency 1, the real face pack) on MariaDB + Redis. Nobody is named, so every face stays
unknown and joins or starts an unnamed group: the worst case for grouping. The debounced full
refresh (faces_regroup) runs on the same worker, as in production.

Reported: photos/s over the first minute and over the last window of photos, by the photos'
finished_at; the worker's CPU seconds per photo in the same windows (from /proc: robust to
other load on the machine, wall-clock rates are not); the regroup runs and their durations
(from the worker log). Prints ONE JSON line.

    DATABASE_URL=mysql://smartgallery:smartgallery@127.0.0.1:3306/smartgallery \\
    REDIS_URL=redis://127.0.0.1:6379/5 .venv/bin/python -m bench.import_scale [--photos 20000]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import shutil
import tempfile
import time
from pathlib import Path

from bench import _common as common

MEDIA = Path(tempfile.mkdtemp(prefix="sg-bench-import-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartgallery.settings")
os.environ["MEDIA_ROOT"] = str(MEDIA / "media")
os.environ.setdefault("SMARTGALLERY_FACE_PACK", str(common.SHARED / "models" / "face_default"))
os.environ.setdefault("SECURE_SSL", "false")
os.environ.setdefault("SECRET_KEY", common.BENCH_SECRET_KEY)
os.environ.setdefault("SMARTGALLERY_TEST_DB_NAME", "test_smartgallery_bench_import")

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def sources() -> list[Path]:
    from faces.calibration import PHOTO_SUFFIXES

    folder = common.SHARED / "faces"
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in PHOTO_SUFFIXES)


def variant(path: Path, number: int) -> bytes:
    """A distinct JPEG of the photo at `path`: the same people, never the same bytes."""
    from PIL import Image, ImageEnhance, ImageOps

    rng = random.Random(number)
    with Image.open(path) as opened:
        image = ImageOps.exif_transpose(opened).convert("RGB")
    w, h = image.size
    left, top = int(w * rng.uniform(0, 0.06)), int(h * rng.uniform(0, 0.06))
    right, bottom = w - int(w * rng.uniform(0, 0.06)), h - int(h * rng.uniform(0, 0.06))
    image = image.crop((left, top, right, bottom))
    scale = rng.uniform(0.85, 1.15)
    image = image.resize((max(64, int(image.width * scale)), max(64, int(image.height * scale))))
    if number % 2:
        image = ImageOps.mirror(image)
    image = ImageEnhance.Brightness(image).enhance(rng.uniform(0.9, 1.1))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=rng.randint(80, 92))
    return out.getvalue()


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its children that are alive now."""
    total = 0
    for each in [pid, *common.children(pid)]:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def at_count(samples: list[tuple[float, int, float]], count: int) -> tuple[float, float]:
    """(time, worker cpu) when `count` photos were done, interpolated between samples."""
    for (t0, n0, c0), (t1, n1, c1) in zip(samples, samples[1:], strict=False):
        if n0 <= count <= n1 and n1 > n0:
            f = (count - n0) / (n1 - n0)
            return t0 + f * (t1 - t0), c0 + f * (c1 - c0)
    t, _, c = samples[-1]
    return t, c


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=1200)
    parser.add_argument("--window", type=int, default=0, help="photos in the last window (default: a tenth)")
    parser.add_argument("--ahead", type=int, default=200, help="most photos queued ahead of the worker")
    options = parser.parse_args()
    window = options.window or max(50, options.photos // 10)

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from accounts.models import User
    from faces.models import Face, FaceGroup
    from gallery.models import Photo
    from gallery.services import photo_create
    from smartgallery.celery import app

    if connection.vendor != "mysql" or not settings.REDIS_URL:
        raise SystemExit("Set DATABASE_URL (MariaDB/MySQL) and REDIS_URL: the benchmark measures the production stack")
    db_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    env = {
        **os.environ,
        "DATABASE_URL": os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + db_name,
        "OMP_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    files = sources()
    log_path = MEDIA / "worker.log"
    worker = None
    try:
        app.control.purge()
        user = User.objects.create_user("import@example.com", "bench-password-123456")
        worker = common.start_worker(1, env, log_path)
        samples: list[tuple[float, int, float]] = []
        started = time.monotonic()

        def sample() -> int:
            done = Photo.objects.filter(owner=user, status__in=["done", "failed"]).count()
            samples.append((time.monotonic() - started, done, cpu_seconds(worker.pid)))
            return done

        done = sample()
        for number in range(options.photos):
            path = files[number % len(files)]
            photo_create(owner=user, file=io.BytesIO(variant(path, number)), filename=f"{number:05d}-{path.name}")
            # Keep the queue short: the worker, not a backlog, sets the pace, and samples are dense.
            while number + 1 - done > options.ahead:
                time.sleep(1.0)
                done = sample()
            if number % 25 == 0:
                done = sample()
            if number % 1000 == 0:
                common.log(f"uploaded {number + 1}, done {done}, load {common.loadavg()}")
        while done < options.photos:
            if time.monotonic() - started > 6 * 3600:
                raise RuntimeError("photos not processed in 6 hours")
            time.sleep(2.0)
            done = sample()
        elapsed = time.monotonic() - started

        first_t, first_cpu = at_count(samples, 0)
        minute = [(t, n, c) for t, n, c in samples if t - first_t <= 60.0 + 1e-9]
        minute_t, minute_n, minute_cpu = minute[-1]
        end_t0, end_cpu0 = at_count(samples, options.photos - window)
        end_t1, end_cpu1 = at_count(samples, options.photos)
        runs = [
            float(s)
            for s in re.findall(
                r"faces\.tasks\.faces_regroup\[[^]]+\] succeeded in ([0-9.]+)s", log_path.read_text(errors="replace")
            )
        ]
        faces = Face.objects.filter(owner=user)
        result = {
            "bench": "import_scale",
            "photos": options.photos,
            "source_photos": len(files),
            "faces": faces.count(),
            "faces_unknown": faces.filter(person__isnull=True).count(),
            "groups": FaceGroup.objects.filter(owner=user).count(),
            "failed": Photo.objects.filter(owner=user, status="failed").count(),
            "seconds": round(elapsed, 1),
            "photos_per_s_overall": round(options.photos / elapsed, 2),
            "first_minute": {
                "photos": minute_n,
                "photos_per_s": round(minute_n / max(minute_t - first_t, 1e-9), 2),
                "worker_cpu_s_per_photo": round((minute_cpu - first_cpu) / max(minute_n, 1), 4),
            },
            f"last_{window}": {
                "photos_per_s": round(window / max(end_t1 - end_t0, 1e-9), 2),
                "worker_cpu_s_per_photo": round((end_cpu1 - end_cpu0) / window, 4),
            },
            "regroup_runs": len(runs),
            "regroup_seconds_last": runs[-1] if runs else None,
            "regroup_seconds_max": max(runs) if runs else None,
            "regroup_seconds_total": round(sum(runs), 1),
            "cpus": os.cpu_count(),
            "load_at_end": common.loadavg(),
        }
    finally:
        if worker is not None:
            common.stop_worker(worker)
        connection.creation.destroy_test_db(db_name, verbosity=0)
        shutil.rmtree(MEDIA, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
