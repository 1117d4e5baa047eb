"""Bounded soak (issue 9 §4, catalogue G6): steady mixed traffic + uploads for --minutes,
sampling the resident memory of every web and worker process every --sample seconds.

Own MariaDB database (sg_bench_soak, created and dropped here), Redis db 10, a seeded library
(2,000 photos, 6,000 faces, 60 persons) for the browsing user; gunicorn with the production
settings ((2 x cores) + 1 sync workers, 127.0.0.1 on a spare port); one real Celery worker
(prefork, concurrency 1, the face pack SMARTGALLERY_FACE_PACK, default the test pack).

Traffic, all on loopback: wrk (-t1 -c4) in back-to-back 15 s runs cycling over the grid, the
grid's next page, people, the largest person, the review queue and thumbnails; one uploader
thread posting a shared face photo (re-encoded, so each is new) through the real upload view
every --upload-every seconds. The session is created directly (no password + emailed code).

Plateau: for each process, the least-squares slope of RSS (MiB/min) over the first and the
last half of the samples; a process plateaus when its last-half slope is under 0.5 MiB/min or
under a quarter of its first-half slope. Prints ONE JSON line; progress on stderr.

    .venv/bin/python -m bench.soak [--minutes 10] [--sample 15] [--upload-every 5]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import threading
import time
from pathlib import Path

from bench import _common as common

log = common.log


def slope_mib_per_min(points: list[tuple[float, float]]) -> float | None:
    if len(points) < 2:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_r = sum(r for _, r in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if not var:
        return None
    return round(60 * sum((t - mean_t) * (r - mean_r) for t, r in points) / var, 2)


def plateau(series: list[tuple[float, float]]) -> dict:
    half = len(series) // 2
    first, last = slope_mib_per_min(series[: half + 1]), slope_mib_per_min(series[half:])
    verdict = None
    if first is not None and last is not None:
        verdict = last < 0.5 or (first > 0 and last < first / 4)
    return {
        "start_mib": series[0][1] if series else None,
        "end_mib": series[-1][1] if series else None,
        "max_mib": max(r for _, r in series) if series else None,
        "slope_first_half_mib_min": first,
        "slope_last_half_mib_min": last,
        "plateau": verdict,
    }


def upload_photos(sources: list[Path]):
    """Endless distinct JPEGs made from the shared face photos (a corner block changed per round)."""
    from PIL import Image

    round_ = 0
    while True:
        for source in sources:
            image = Image.open(source).convert("RGB")
            # A 16x16 block whose colour encodes the round: survives JPEG, so every upload is new.
            image.paste(((37 * round_) % 256, (91 * round_ + 64) % 256, (round_ // 7 * 53) % 256), (0, 0, 16, 16))
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", quality=90)
            yield f"soak-{round_}-{source.name}", buffer.getvalue()
        round_ += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--sample", type=float, default=15, help="seconds between RSS samples")
    parser.add_argument("--upload-every", type=float, default=5)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--photos", type=int, default=2000, help="seeded library of the browsing user")
    options = parser.parse_args()
    options.minutes = max(0.5, min(options.minutes, 120))
    options.connections = max(1, min(options.connections, 50))

    scratch = common.scratch_dir("soak")
    common.configure("sg_bench_soak", 10, scratch=scratch)
    result: dict = {
        "bench": "soak",
        "minutes": options.minutes,
        "cpus": os.cpu_count(),
        "loadavg_start": common.loadavg(),
    }
    server = worker = None
    stop = threading.Event()
    threads: list[threading.Thread] = []
    try:
        log("creating database sg_bench_soak")
        common.create_database()
        common.flush_redis_db()
        from django.db import connection
        from django.db.models import Count, Q

        from faces.models import Person
        from gallery import selectors as gallery_selectors
        from gallery.models import Photo

        model_id = common.model_id_of_pack(os.environ["SMARTGALLERY_FACE_PACK"])
        user = common.seed_user(
            "soak@example.com",
            photos=options.photos,
            faces=3 * options.photos,
            persons=60,
            groups=10,
            model_id=model_id,
            seed=3,
        )
        first_page = gallery_selectors.photo_timeline(user=user)
        shown = Q(faces__state__in=["auto", "confirmed"])
        top = Person.objects.for_user(user).annotate(n=Count("faces", filter=shown)).order_by("-n").first()
        paths = [
            "/photos/",
            f"/photos/?after={first_page.next_cursor}",
            "/people/",
            f"/people/{top.pk}/",
            "/people/review/",
        ] + [f"/photos/{p.pk}/thumbnail.jpg" for p in first_page.photos[:10]]
        session_key = common.session_for(user)
        seeded = Photo.objects.filter(owner=user).count()
        connection.close()

        env = dict(os.environ)
        worker = common.start_worker(1, env, scratch / "worker.log")
        server = common.Gunicorn(env, scratch / "gunicorn.log")
        server.start()
        log(
            f"gunicorn {server.base} ({server.workers} workers), worker pid {worker.pid}; "
            f"soak {options.minutes} min, load {common.loadavg()}"
        )

        wrk_runs: list[dict] = []
        uploads = {"ok": 0, "errors": 0, "statuses": {}}

        def traffic() -> None:
            while not stop.is_set():
                try:
                    run = common.wrk(
                        server.base,
                        paths,
                        session_key,
                        seconds=15,
                        connections=options.connections,
                        threads=1,
                        scratch=scratch,
                    )
                    wrk_runs.append(run)
                except Exception as error:  # noqa: BLE001 (reported, the soak goes on)
                    log("wrk failed:", error)
                    time.sleep(1)

        def uploader() -> None:
            browser = common.Browser(server.base, session_key)
            browser.csrf("/photos/upload/")
            sources = sorted(p for p in (common.SHARED / "faces").glob("*/*.jpg") if not p.parent.name.startswith("_"))
            for name, data in upload_photos(sources[::3]):
                if stop.wait(options.upload_every):
                    return
                try:
                    status, _, _ = browser.upload("/photos/upload/", name, data)
                except OSError as error:
                    status = f"{type(error).__name__}"
                uploads["statuses"][str(status)] = uploads["statuses"].get(str(status), 0) + 1
                uploads["ok" if status in (200, 201) else "errors"] += 1

        threads = [threading.Thread(target=traffic, daemon=True), threading.Thread(target=uploader, daemon=True)]
        for thread in threads:
            thread.start()

        samples: dict[str, list[tuple[float, float]]] = {}
        started = time.monotonic()
        end = started + options.minutes * 60
        while True:
            now = time.monotonic() - started
            for index, pid in enumerate(server.worker_pids()):
                rss = common.rss_mib(pid)
                if rss is not None:
                    samples.setdefault(f"web_{index}_pid{pid}", []).append((now, rss))
            for label, pid in [("worker_main", worker.pid)] + [("worker_pool", p) for p in common.children(worker.pid)]:
                rss = common.rss_mib(pid)
                if rss is not None:
                    samples.setdefault(f"{label}_pid{pid}", []).append((now, rss))
            if time.monotonic() >= end:
                break
            time.sleep(min(options.sample, max(0.0, end - time.monotonic())))
        stop.set()
        for thread in threads:
            thread.join(timeout=40)

        processed = Photo.objects.filter(owner=user, status__in=["done", "failed"]).count() - seeded
        result.update(
            {
                "gunicorn_workers": server.workers,
                "samples": max(len(s) for s in samples.values()) if samples else 0,
                "sample_seconds": options.sample,
                "uploads": uploads,
                "uploads_processed": processed,
                "uploads_failed": Photo.objects.filter(owner=user, status="failed").count(),
                "requests": sum(r["requests"] for r in wrk_runs),
                "request_errors": sum(sum(r["errors"].values()) for r in wrk_runs),
                "wrk_runs": len(wrk_runs),
                "mixed_p95_ms_first_last": [wrk_runs[0]["p95_ms"], wrk_runs[-1]["p95_ms"]] if wrk_runs else None,
                "mixed_req_s_first_last": [wrk_runs[0]["req_s"], wrk_runs[-1]["req_s"]] if wrk_runs else None,
                "rss": {name: plateau(series) for name, series in samples.items()},
                "rss_series_mib": {name: [r for _, r in series] for name, series in samples.items()},
            }
        )
        verdicts = [v["plateau"] for v in result["rss"].values() if len(samples) and v["plateau"] is not None]
        result["all_plateau"] = bool(verdicts) and all(verdicts)
        result["loadavg_end"] = common.loadavg()
        connection.close()
    finally:
        stop.set()
        if server is not None:
            server.stop()
        if worker is not None:
            common.stop_worker(worker)
        common.drop_database()
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
