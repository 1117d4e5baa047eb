"""Many users on one worker (issue 16, item 2): worker memory and per-photo time, cold and warm.

Seeds its own MariaDB database (sg_bench_tenants, created and dropped here) with --users users
whose reference indexes hold 5,000 to 30,000 faces each (evenly spread, shuffled). The indexes
are built from synthetic embeddings (clustered unit vectors, one person per 30 faces, of the
face pack's dimension) with the production code (`faces.index.build` + `save`) and recorded
in RecognitionIndex as `build_index` records them, so the worker finds a current, verified
file for every user and loads it from disk; the database holds the users' persons but not
those reference faces (the bench makes no correction, so no rebuild reads them).

Then one real Celery worker (prefork, concurrency 1: one process holds the index cache) with
the face pack processes real photos of ../shared/faces, uploaded through the real service:

  round robin: --rounds photos per user, queued user 1, user 2, ..., user N, user 1, ...: with
      more users than the cache holds, each photo's index comes from its file (cold);
  warm: --warm-photos photos of one user back to back, for --warm-users users: the first
      loads the index, the others find it in memory (warm).

Per-photo time is the photo's started_at -> finished_at (claim, decode, detection, derivatives,
faces stored, recognition with the user's index). The pool process's RSS (VmRSS) is sampled
every 0.25 s. The worker gets SMARTGALLERY_INDEX_CACHE_MB from the environment (unset: the
default). Prints ONE JSON line; progress on stderr. Loopback only; about 4-6 minutes here.

    .venv/bin/python -m bench.tenants [--users 100] [--rounds 2] [--min-faces 5000] [--max-faces 30000]
    SMARTGALLERY_INDEX_CACHE_MB=64 .venv/bin/python -m bench.tenants
    # DATABASE_URL's server: BENCH_DATABASE_SERVER (default mysql://root@127.0.0.1:3306)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import _common as common

log = common.log

GOALS = {"worker_rss_mib": 500}
FACES_PER_PERSON = 30
SAME_PERSON_COSINE = 0.6


def synthetic_vectors(count: int, dim: int, seed: int):
    """Unit vectors, one identity per FACES_PER_PERSON faces; returns (vectors, identity of each)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    identities = max(1, count // FACES_PER_PERSON)
    centres = rng.standard_normal((identities, dim), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = rng.integers(0, identities, count)
    # Noise so that two faces of one identity have cosine ~SAME_PERSON_COSINE.
    sigma = np.sqrt((1 - SAME_PERSON_COSINE) / SAME_PERSON_COSINE / dim)
    vectors = centres[labels] + rng.standard_normal((count, dim), dtype=np.float32) * np.float32(sigma)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32), labels


def seed_tenant(k: int, faces: int, *, model, index_dir: Path) -> tuple[int, int]:
    """A user, their persons, and a current index of `faces` synthetic reference faces.
    Returns (user id, index file bytes)."""
    import numpy as np
    from django.conf import settings

    from accounts.models import User
    from faces import index as face_index
    from faces.models import Person, RecognitionIndex

    user = User.objects.create_user(f"tenant{k:03d}@example.com", "bench-password-123456", display_name=f"T{k}")
    vectors, labels = synthetic_vectors(faces, model.dim, seed=1000 + k)
    identities = int(labels.max()) + 1
    persons = Person.objects.bulk_create([Person(owner=user, name=f"Person {j:04d}") for j in range(identities)])
    person_ids = np.array([persons[label].pk for label in labels], dtype=np.int64)
    built = face_index.build(
        vectors=vectors,
        face_ids=np.arange(1, faces + 1, dtype=np.int64) + k * 1_000_000,
        person_ids=person_ids,
        version=1,
        model_id=model.model_id,
        dim=model.dim,
        exact_max=settings.SMARTGALLERY_INDEX_EXACT_MAX,
    )
    path = face_index.index_path(index_dir, user.pk)
    checksum = face_index.save(built, path)
    RecognitionIndex.objects.create(
        owner=user,
        labels_version=1,
        built_version=1,
        checksum=checksum,
        model_id=model.model_id,
        dimension=model.dim,
        size=built.ntotal,
        built_at=datetime.now(UTC),
    )
    return user.pk, path.stat().st_size


def shared_photos() -> list[Path]:
    folder = common.SHARED / "faces"
    return sorted(
        p for p in folder.glob("*/*") if p.suffix.lower() in (".jpg", ".jpeg", ".png") and "_" != p.parent.name[0]
    )


def upload(user, path: Path):
    from django.core.files import File

    from gallery import services

    with path.open("rb") as stream:
        photo, _ = services.photo_create(owner=user, file=File(stream, name=path.name), filename=path.name)
    return photo


class RssSampler(threading.Thread):
    """VmRSS of the worker's pool process (its only child), every `interval` seconds."""

    def __init__(self, worker_pid: int, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.worker_pid, self.interval = worker_pid, interval
        self.samples: list[tuple[float, float]] = []
        self.main: list[float] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            for child in common.children(self.worker_pid):
                rss = common.rss_mib(child)
                if rss is not None:
                    self.samples.append((time.monotonic(), rss))
            main = common.rss_mib(self.worker_pid)
            if main is not None:
                self.main.append(main)
            self.stop_event.wait(self.interval)

    def peak(self, since: float = 0.0) -> float | None:
        values = [rss for at, rss in self.samples if at >= since]
        return max(values) if values else None


def timings_ms(photo_ids: list[int]) -> dict:
    from gallery.models import Photo

    rows = Photo.objects.filter(pk__in=photo_ids).values_list("status", "started_at", "finished_at")
    seconds = [(finished - started).total_seconds() for status, started, finished in rows if status == "done"]
    failed = sum(1 for status, _, _ in rows if status != "done")
    result = common.percentiles_ms(seconds) if seconds else {}
    result.update(photos=len(seconds), failed=failed)
    if seconds:
        result["mean_ms"] = round(statistics.mean(seconds) * 1000, 1)
    return result


def index_loads(worker_log: Path) -> dict:
    """faces.index_cache logs every index it reads from a file (a cold index): how many, how long."""
    import re

    pattern = re.compile(r"Loaded face index of user \d+ from file: (\d+) faces, ([\d.]+) MiB, (\d+) ms")
    loads = [(int(f), float(m), int(ms)) for f, m, ms in pattern.findall(worker_log.read_text(errors="replace"))]
    if not loads:
        return {"count": 0}
    ms = sorted(load[2] for load in loads)
    big = [load[2] for load in loads if load[0] >= 25_000]
    return {
        "count": len(loads),
        "p50_ms": ms[len(ms) // 2],
        "max_ms": ms[-1],
        "p50_ms_25k_faces_or_more": sorted(big)[len(big) // 2] if big else None,
    }


def wait_done(photo_ids: list[int], timeout: float) -> None:
    from gallery.models import Photo

    deadline = time.monotonic() + timeout
    while Photo.objects.filter(pk__in=photo_ids, status__in=["done", "failed"]).count() < len(photo_ids):
        if time.monotonic() > deadline:
            raise SystemExit(f"photos not processed after {timeout:.0f} s")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--min-faces", type=int, default=5_000)
    parser.add_argument("--max-faces", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=2, help="round-robin photos per user")
    parser.add_argument("--warm-users", type=int, default=5)
    parser.add_argument("--warm-photos", type=int, default=6, help="back-to-back photos per warm user")
    parser.add_argument("--keep", action="store_true", help="keep the database and files")
    options = parser.parse_args()

    scratch = common.scratch_dir("tenants")
    common.configure("sg_bench_tenants", 0, scratch=scratch)
    result: dict = {"bench": "tenants", "cpus": os.cpu_count(), "loadavg_start": common.loadavg()}
    worker = None
    sampler = None
    try:
        log("creating database sg_bench_tenants, migrating")
        common.create_database()
        common.flush_redis_db()
        import random

        import numpy as np
        from django.conf import settings

        from accounts.models import User
        from faces import recognition
        from gallery import services

        model = recognition.current_model()  # the pack's model id and embedding dimension
        sizes = np.linspace(options.min_faces, options.max_faces, options.users).astype(int).tolist()
        random.Random(3).shuffle(sizes)
        log(f"seeding {options.users} users, {sum(sizes):,} synthetic reference faces of {model.dim} dimensions")
        t_seed = time.monotonic()
        files = []
        users = []
        for k, faces in enumerate(sizes):
            user_id, size = seed_tenant(k, faces, model=model, index_dir=Path(settings.SMARTGALLERY_INDEX_DIR))
            users.append(user_id)
            files.append(size)
        result["seed"] = {
            "users": options.users,
            "reference_faces": sum(sizes),
            "faces_per_user": [min(sizes), max(sizes)],
            "dim": model.dim,
            "model_id": model.model_id,
            "index_files_mib": round(sum(files) / 2**20, 1),
            "largest_index_mib": round(max(files) / 2**20, 1),
            "seconds": round(time.monotonic() - t_seed, 1),
        }
        log(f"seeded in {result['seed']['seconds']} s: {result['seed']['index_files_mib']} MiB of index files")

        # Uploads first, nothing queued: the order of the queue is then ours.
        queued: list[int] = []
        from unittest import mock

        photos = shared_photos()
        needed = options.users * options.rounds + options.warm_users * options.warm_photos
        owners = {pk: User.objects.get(pk=pk) for pk in users}
        round_robin: list[int] = []
        with mock.patch.object(services, "photo_enqueue", lambda *, photo_id: queued.append(photo_id)):
            cursor = 0
            for _ in range(options.rounds):
                for pk in users:
                    round_robin.append(upload(owners[pk], photos[cursor % len(photos)]).pk)
                    cursor += 1
            warm: list[list[int]] = []
            for pk in users[: options.warm_users]:
                warm.append(
                    [upload(owners[pk], photos[(cursor + j) % len(photos)]).pk for j in range(options.warm_photos)]
                )
                cursor += options.warm_photos
        assert len(queued) == needed, (len(queued), needed)

        env = dict(os.environ)
        env["LOG_LEVEL"] = "INFO"
        worker_log = scratch / "worker.log"
        worker = common.start_worker(1, env, worker_log)
        sampler = RssSampler(worker.pid)
        sampler.start()
        result["worker_rss_idle_mib"] = None
        time.sleep(1)
        idle = sampler.peak()
        result["worker_rss_idle_mib"] = idle
        result["index_cache_mb"] = os.environ.get("SMARTGALLERY_INDEX_CACHE_MB") or "default"

        # A first photo of another kind warms the engine (model load), outside the numbers.
        with mock.patch.object(services, "photo_enqueue", lambda *, photo_id: None):
            warmup = upload(owners[users[-1]], common.SHARED / "faces" / "_groups" / "deepface_couple.jpg")
        services.photo_enqueue(photo_id=warmup.pk)
        wait_done([warmup.pk], 120)

        log(f"round robin: {len(round_robin)} photos over {options.users} users")
        t_rr = time.monotonic()
        for photo_id in round_robin:
            services.photo_enqueue(photo_id=photo_id)
        wait_done(round_robin, 60 + 10 * len(round_robin))
        rr_seconds = time.monotonic() - t_rr
        result["round_robin"] = {
            **timings_ms(round_robin),
            "photos_per_s": round(len(round_robin) / rr_seconds, 2),
            "worker_rss_peak_mib": sampler.peak(t_rr),
        }
        log(f"round robin: {result['round_robin']}")

        log(f"warm: {options.warm_users} users x {options.warm_photos} photos back to back")
        t_warm = time.monotonic()
        for batch in warm:
            for photo_id in batch:
                services.photo_enqueue(photo_id=photo_id)
        wait_done([p for batch in warm for p in batch], 60 + 10 * options.warm_users * options.warm_photos)
        result["warm"] = {
            "first_of_user": timings_ms([batch[0] for batch in warm]),
            "following": timings_ms([p for batch in warm for p in batch[1:]]),
            "worker_rss_peak_mib": sampler.peak(t_warm),
        }
        log(f"warm: {result['warm']}")
        result["index_loads_from_file"] = index_loads(worker_log)
        sampler.stop_event.set()
        sampler.join()
        result["worker_rss_peak_mib"] = sampler.peak()
        result["worker_rss_end_mib"] = sampler.samples[-1][1] if sampler.samples else None
        result["worker_main_rss_mib"] = max(sampler.main) if sampler.main else None
        result["goals"] = {
            "worker_rss_mib": {
                "goal": GOALS["worker_rss_mib"],
                "met": (result["worker_rss_peak_mib"] or 1e9) < GOALS["worker_rss_mib"],
            }
        }
    finally:
        if sampler is not None:
            sampler.stop_event.set()
        if worker is not None:
            common.stop_worker(worker)
        result["loadavg_end"] = common.loadavg()
        if not options.keep:
            common.drop_database()
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            log(f"kept database sg_bench_tenants and {scratch}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
