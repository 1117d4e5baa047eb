"""Ingest benchmark: upload -> done throughput with 1 and 2 worker processes, upload latency.

Uploads go through the real upload view (Django test client, in this process: validation,
storage, database, enqueue); real Celery workers with the real face pack do the rest. Uses
DATABASE_URL (MariaDB) and REDIS_URL from the environment, in a throw-away test database and
media folder. Prints ONE JSON line.

    DATABASE_URL=mysql://smartgallery:smartgallery@127.0.0.1:3306/smartgallery \
    REDIS_URL=redis://127.0.0.1:6379/5 SECRET_KEY=$(python -c 'print("x"*64)') \
    .venv/bin/python -m bench.ingest [--photos 24] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench import _common as common

MEDIA = Path(tempfile.mkdtemp(prefix="sg-bench-ingest-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartgallery.settings")
os.environ["MEDIA_ROOT"] = str(MEDIA / "media")
os.environ.setdefault("SMARTGALLERY_FACE_PACK", str(common.SHARED / "models" / "face_default"))
os.environ.setdefault("SECURE_SSL", "false")
os.environ.setdefault("SMARTGALLERY_TEST_DB_NAME", "test_smartgallery_bench_ingest")


def wait_done(owner, count: int, timeout: float) -> None:
    from gallery.models import Photo

    deadline = time.monotonic() + timeout
    while Photo.objects.filter(owner=owner, status__in=["done", "failed"]).count() < count:
        if time.monotonic() > deadline:
            raise RuntimeError("photos not processed in time")
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=36)
    parser.add_argument("--workers", default="1,2")
    options = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection
    from django.db.models import Q
    from django.test import Client
    from django.urls import reverse

    from accounts.models import User
    from faces.models import Face
    from gallery.models import Photo
    from smartgallery.celery import app

    if connection.vendor != "mysql" or not settings.REDIS_URL:
        raise SystemExit("Set DATABASE_URL (MariaDB/MySQL) and REDIS_URL: the benchmark measures the production stack")
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.DEBUG = False
    db_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    env = {
        **os.environ,
        "DATABASE_URL": os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + db_name,
        "OMP_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    photos = common.make_photos(options.photos + 2)
    result = {
        "bench": "ingest",
        "photo": "12MP JPEG 4000x3000",
        "photo_mb": round(statistics.mean(len(d) for _, d in photos) / 1e6, 2),
        "photos_per_run": options.photos,
        "database": connection.vendor,
        "broker": "redis",
        "cpus": os.cpu_count(),
    }
    try:
        for concurrency in [int(n) for n in options.workers.split(",")]:
            app.control.purge()
            user = User.objects.create_user(f"bench{concurrency}@example.com", "bench-password-123456")
            client = Client()
            client.force_login(user)
            worker = common.start_worker(concurrency, env, MEDIA / f"worker-{concurrency}.log")
            try:
                # Warm-up: every worker child loads the models on its first photo.
                for name, data in photos[:concurrency]:
                    client.post(
                        reverse("gallery:upload"), {"files": [SimpleUploadedFile(name, data)]}, HTTP_HX_REQUEST="true"
                    )
                wait_done(user, concurrency, 120)
                latencies = []
                started = time.perf_counter()
                for name, data in photos[2 : 2 + options.photos]:
                    t0 = time.perf_counter()
                    response = client.post(
                        reverse("gallery:upload"), {"files": [SimpleUploadedFile(name, data)]}, HTTP_HX_REQUEST="true"
                    )
                    latencies.append(time.perf_counter() - t0)
                    assert response.status_code == 201, response.content[:300]
                uploaded = time.perf_counter() - started
                wait_done(user, concurrency + options.photos, 600)
                elapsed = time.perf_counter() - started
            finally:
                common.stop_worker(worker)
            failed = Photo.objects.filter(Q(status="failed") | Q(faces_status="failed"), owner=user).count()
            faces = Face.objects.filter(owner=user).count()
            latencies.sort()
            result[f"workers_{concurrency}"] = {
                "photos_per_s": round(options.photos / elapsed, 2),
                "seconds": round(elapsed, 2),
                "upload_seconds": round(uploaded, 2),
                "upload_latency_ms_p50": round(1000 * statistics.median(latencies), 1),
                "upload_latency_ms_p95": round(1000 * latencies[int(0.95 * (len(latencies) - 1))], 1),
                "failed": failed,
                "faces_found": faces,
            }
    finally:
        connection.creation.destroy_test_db(db_name, verbosity=0)
        shutil.rmtree(MEDIA, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
