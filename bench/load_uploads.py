"""Concurrent uploads while the workers are busy (issue 9 §4, catalogue G3).

--clients browsers (one user each) upload --per-client 12 MP JPEGs (4000x3000, ~3.6 MB, made
from the shared face photos like bench/ingest.py) through the real upload view, all at once,
over HTTP to gunicorn with the production settings ((2 x cores) + 1 sync workers, 127.0.0.1 on
a spare port). A real Celery worker (prefork, --concurrency, the face pack
SMARTGALLERY_FACE_PACK, default the test pack) processes them. Meanwhile wrk measures the
gallery grid of another user (2,000 seeded photos; -t1 -c--grid-connections): once idle before
the uploads, once during uploads + processing. Expected: 0 upload errors (every answer 201),
every photo processed, and the grid p95 under load within 2x its idle value.

Own MariaDB database (sg_bench_uploads), a private redis-server. Sessions are created directly
(no password + emailed code). Prints ONE JSON line; progress on stderr. Bounded: --clients <= 10,
--per-client <= 20, processing wait <= --timeout.

    .venv/bin/python -m bench.load_uploads [--clients 5] [--per-client 4] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import threading
import time
from collections import Counter

from bench import _common as common

log = common.log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--per-client", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--seconds", type=int, default=20, help="wrk duration, idle and under load")
    parser.add_argument("--grid-connections", type=int, default=5)
    parser.add_argument("--timeout", type=int, default=400, help="seconds to wait for processing")
    options = parser.parse_args()
    options.clients = max(1, min(options.clients, 10))
    options.per_client = max(1, min(options.per_client, 20))
    options.seconds = max(5, min(options.seconds, 120))

    scratch = common.scratch_dir("uploads")
    common.configure("sg_bench_uploads", 13, scratch=scratch)
    result: dict = {
        "bench": "load_uploads",
        "clients": options.clients,
        "per_client": options.per_client,
        "worker_concurrency": options.concurrency,
        "cpus": os.cpu_count(),
        "loadavg_start": common.loadavg(),
    }
    server = worker = None
    try:
        log(f"making {options.clients * options.per_client} 12 MP JPEGs")
        photos = common.make_photos(options.clients * options.per_client, seed=11)
        result["photo_mb"] = round(sum(len(d) for _, d in photos) / len(photos) / 1e6, 2)
        log("creating database sg_bench_uploads")
        common.create_database()
        from django.db import connection
        from django.db.models import Q

        from accounts.models import User
        from gallery import selectors as gallery_selectors
        from gallery.models import Photo

        model_id = common.model_id_of_pack(os.environ["SMARTGALLERY_FACE_PACK"])
        viewer = common.seed_user(
            "viewer@example.com", photos=2000, faces=6000, persons=60, groups=10, model_id=model_id, seed=5
        )
        first = gallery_selectors.photo_timeline(user=viewer)
        grid_paths = ["/photos/", f"/photos/?after={first.next_cursor}"]
        viewer_session = common.session_for(viewer)
        uploaders = [
            User.objects.create_user(f"up{k}@example.com", "bench-password-123456") for k in range(options.clients)
        ]
        sessions = [common.session_for(u) for u in uploaders]
        connection.close()

        env = dict(os.environ)
        server = common.Gunicorn(env, scratch / "gunicorn.log")
        server.start()
        worker = common.start_worker(options.concurrency, env, scratch / "worker.log")
        log(
            f"gunicorn {server.base} ({server.workers} workers), worker -c {options.concurrency}; "
            f"load {common.loadavg()}"
        )
        common.wrk(
            server.base,
            grid_paths,
            viewer_session,
            seconds=3,
            connections=options.grid_connections,
            threads=1,
            scratch=scratch,
        )
        idle = common.wrk(
            server.base,
            grid_paths,
            viewer_session,
            seconds=options.seconds,
            connections=options.grid_connections,
            threads=1,
            scratch=scratch,
        )
        log("grid idle", json.dumps(idle))

        statuses: Counter = Counter()
        latencies: list[float] = []
        lock = threading.Lock()

        def client(index: int) -> None:
            browser = common.Browser(server.base, sessions[index])
            browser.csrf("/photos/upload/")
            for name, data in photos[index * options.per_client : (index + 1) * options.per_client]:
                started = time.perf_counter()
                try:
                    status, _, _ = browser.upload("/photos/upload/", name, data)
                except OSError as error:
                    status = f"error {type(error).__name__}"
                with lock:
                    statuses[str(status)] += 1
                    latencies.append(time.perf_counter() - started)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(options.clients)]
        t0 = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(1)
        busy = common.wrk(
            server.base,
            grid_paths,
            viewer_session,
            seconds=options.seconds,
            connections=options.grid_connections,
            threads=1,
            scratch=scratch,
        )
        pending_after_wrk = Photo.objects.filter(status__in=["queued", "processing"]).count()
        log("grid busy", json.dumps(busy), f"pending after: {pending_after_wrk}")
        for thread in threads:
            thread.join(timeout=300)
        uploaded = time.monotonic() - t0
        rss_web = server.rss()
        pool = common.children(worker.pid)
        total = options.clients * options.per_client
        done = False
        deadline = time.monotonic() + options.timeout
        while time.monotonic() < deadline:
            if Photo.objects.filter(owner__in=uploaders, status__in=["done", "failed"]).count() >= total:
                done = True
                break
            time.sleep(0.5)
        result.update(
            {
                "uploads": dict(statuses),
                "upload_errors": sum(n for s, n in statuses.items() if s != "201"),
                "upload_latency": common.percentiles_ms(latencies),
                "upload_seconds": round(uploaded, 1),
                "processed_all": done,
                "drain_seconds": round(time.monotonic() - t0, 1),
                "failed": Photo.objects.filter(
                    Q(status="failed") | Q(faces_status="failed"), owner__in=uploaders
                ).count(),
                "grid_idle": idle,
                "grid_busy": busy,
                "grid_busy_pending_photos_at_end": pending_after_wrk,
                "grid_p95_ratio": round(busy["p95_ms"] / idle["p95_ms"], 2) if idle["p95_ms"] else None,
                "rss_web": rss_web,
                "rss_worker_pool_mib": [common.rss_mib(pid) for pid in pool],
                "loadavg_end": common.loadavg(),
            }
        )
        result["ok"] = (
            result["upload_errors"] == 0
            and done
            and not result["failed"]
            and result["grid_p95_ratio"] is not None
            and result["grid_p95_ratio"] <= 2
        )
        connection.close()
    finally:
        if server is not None:
            server.stop()
        if worker is not None:
            common.stop_worker(worker)
        common.drop_database()
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
