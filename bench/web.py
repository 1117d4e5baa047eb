"""Web benchmark (issues 7 and 16): every page a user lives on, in a big library, under gunicorn,
driven by wrk.

Seeds its own MariaDB database (sg_bench_web by default, created and dropped here) with one user
holding 10,000 photos, 30,000 faces and 300 persons (about 2,400 suggestions, 40 unnamed groups
of which 8 ask "Are these N faces X?", about 5,000 unnamed faces), three other users with a
little data of their own, thumbnails as real small JPEG files shared by many rows. Serves the
production settings with gunicorn (sync workers, (2 x cores) + 1, 127.0.0.1 on a spare port)
and drives, one after the other for --seconds each with `wrk -t2 -c20 --latency`:

  grid, grid_next          the timeline and its next page (as htmx asks for it)
  people                   the People page (300 persons, the groups)
  person, person_next      the person with the most faces (3,000+) and their next page (htmx)
  review, review_grid      the review queue, one at a time and as a grid
  filter_and, filter_or    photos by people: all of / any of the 3 persons with the most faces
  photo                    a photo page (a photo with faces)
  group                    the largest unnamed group's page
  unnamed                  the unnamed faces view
  processing               the processing panel
  thumbnail                the authorized thumbnail endpoint (60 ids round robin)

The session is created directly (SessionStore + the auth hash): the benchmark skips the
password + emailed code login.

Also measured:
  - SQL queries and time (median of 5) per page, in this process with the test client and
    CaptureQueriesContext, never inside gunicorn: warm (the library unchanged since the page's
    last request, as wrk drives it: counts and orders come from the library cache) and cold
    (the first request after a change, every cached library value renewed:
    smartgallery.library_cache); the goal of 10 queries holds for both;
  - resident memory (VmRSS) of every gunicorn worker after the load, and whether FAISS is
    loaded in them;
  - resident memory of a Celery worker (prefork, concurrency 1) after it processed a few of
    the shared photos with the face pack SMARTGALLERY_FACE_PACK (default: the test pack).

Prints ONE JSON line on stdout (`pages: {name: {p95_ms, req_s, queries, in_process, ...}}`, `rss_after_load`);
progress on stderr. Loopback only; about 4 minutes with the defaults (8 s a page).

    .venv/bin/python -m bench.web [--seconds 8] [--connections 20] [--photos 10000] [--pages a,b]
    .venv/bin/python -m bench.web --seconds 15 --ml-photos 0    # the pages only, as in docs/BENCHMARKS.md
    # DATABASE_URL's server: BENCH_DATABASE_SERVER (default mysql://root@127.0.0.1:3306)
    # REDIS_URL default: a private redis-server (BENCH_REDIS_URL to use another)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from bench import _common as common

log = common.log

GOALS = {"p95_ms": 150, "req_s": 100, "max_queries": 10, "web_rss_mib": 200, "ml_worker_rss_mib": 500}
# Groups of the big user that ask about someone ("Are these N faces Anna?"): the review queue
# shows them before the single suggestions.
QUESTION_GROUPS = 8


def count_queries(pages: dict[str, tuple[str, dict]], session_key: str, owner_id: int, repeat: int = 5) -> dict:
    """SQL queries and in-process time (test client, median of `repeat`) of each page, in this
    process: warm (the library unchanged since the last request: counts and orders come from the
    library cache) and cold (the first request after a change: smartgallery.library_cache)."""
    import statistics

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from smartgallery import library_cache

    client = Client()
    client.cookies["sessionid"] = session_key

    def get(path: str, extra: dict):
        started = time.perf_counter()
        response = client.get(path, **extra)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: HTTP {response.status_code}")
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        return (time.perf_counter() - started) * 1000

    found = {}
    for name, (path, headers) in pages.items():
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
        page = {}
        for state in ("cold", "warm"):
            get(path, extra)
            times = []
            for _ in range(repeat):
                if state == "cold":
                    library_cache.new_versions({owner_id})
                with CaptureQueriesContext(connection) as captured:
                    times.append(get(path, extra))
                queries = list(captured.captured_queries)
            page[f"queries_{state}"] = len(queries)
            page[f"ms_{state}"] = round(statistics.median(times), 1)
            if os.environ.get("BENCH_SHOW_SQL"):
                for query in queries:
                    log(name, state, query["time"], query["sql"][:400])
        found[name] = page
    return found


def faiss_import_cost() -> dict:
    """RSS of a fresh Python with numpy, before and after `import faiss` (what a web process
    pays when the web path imports faiss)."""
    import subprocess

    code = (
        "import numpy, resource, pathlib\n"
        "def rss():\n"
        "    return [int(l.split()[1]) for l in pathlib.Path('/proc/self/status').read_text().splitlines()"
        " if l.startswith('VmRSS')][0] / 1024\n"
        "a = rss(); import faiss; b = rss(); print(round(a, 1), round(b, 1))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return {
        "numpy_only_mib": float(out[0]),
        "with_faiss_mib": float(out[1]),
        "faiss_adds_mib": round(float(out[1]) - float(out[0]), 1),
    }


def ml_worker_rss(env: dict[str, str], scratch: Path, user, photos: int) -> dict:
    """Upload `photos` shared photos for `user`; a real worker (concurrency 1) processes them
    with the configured pack; VmRSS of its pool process and of its main process after."""
    from django.core.files.base import ContentFile

    from gallery import services
    from gallery.models import Photo

    sources = sorted(p for p in (common.SHARED / "faces").glob("*/*.jpg") if not p.parent.name.startswith("_"))
    picked = [sources[(i * 17) % len(sources)] for i in range(photos)]
    before = Photo.objects.filter(owner=user).count()
    worker = common.start_worker(1, env, scratch / "ml-worker.log")
    try:
        for path in picked:
            services.photo_create(owner=user, file=ContentFile(path.read_bytes(), name=path.name), filename=path.name)
        done = common.wait_processed(user, before + len(picked), timeout=180)
        # The pool process is the child of the main worker process.
        pool = common.children(worker.pid)
        result = {
            "photos": len(picked),
            "processed": done,
            "failed": Photo.objects.filter(owner=user, status="failed").count(),
            "pool_process_mib": [common.rss_mib(pid) for pid in pool],
            "main_process_mib": common.rss_mib(worker.pid),
        }
        result["max_mib"] = max([m for m in result["pool_process_mib"] if m] + [result["main_process_mib"] or 0])
        return result
    finally:
        common.stop_worker(worker)


def bench_pages(user) -> tuple[dict[str, tuple[str, dict]], dict]:
    """The pages to drive, {name: (path, headers)}, and what the data behind them holds."""
    from django.db.models import Count, Q

    from faces import selectors as face_selectors
    from faces.models import Face, FaceGroup, Person
    from gallery import selectors as gallery_selectors
    from gallery.models import Photo

    first_page = gallery_selectors.photo_timeline(user=user)
    shown = Q(faces__state__in=["auto", "confirmed"])
    top = list(Person.objects.for_user(user).annotate(n=Count("faces", filter=shown)).order_by("-n", "id")[:3])
    person_page = face_selectors.person_photos(user=user, person_id=top[0].pk)
    photo = (
        Photo.objects.for_user(user)
        .annotate(n=Count("faces"))
        .filter(n__gte=3)
        .order_by("-taken_at", "-id")
        .values_list("id", flat=True)
        .first()
    )
    group = face_selectors.group_list(user=user).first()
    trio = "&".join(f"person={p.pk}" for p in top)
    pages = {
        "grid": ("/photos/", {}),
        "grid_next": (f"/photos/?after={first_page.next_cursor}", {"HX-Request": "true"}),
        "people": ("/people/", {}),
        "people_next": ("/people/?sort=count&offset=60", {"HX-Request": "true", "HX-Target": "people-more"}),
        "person": (f"/people/{top[0].pk}/", {}),
        "person_next": (f"/people/{top[0].pk}/?after={person_page.next_cursor}", {"HX-Request": "true"}),
        "review": ("/people/review/", {}),
        "review_grid": ("/people/review/?mode=grid", {}),
        "filter_and": (f"/people/photos/?{trio}&mode=and", {}),
        "filter_or": (f"/people/photos/?{trio}&mode=or", {}),
        "photo": (f"/photos/{photo}/", {}),
        "group": (f"/people/groups/{group.pk}/", {}),
        "unnamed": ("/people/unnamed/", {}),
        "processing": ("/photos/processing/", {}),
        "thumbnail": (f"/photos/{first_page.photos[0].pk}/thumbnail.jpg", {}),
    }
    data = {
        "largest_person_faces": Face.objects.filter(person=top[0], state__in=["auto", "confirmed"]).count(),
        "suggested_faces": Face.objects.filter(owner=user, state="suggested").count(),
        "question_groups": FaceGroup.objects.filter(owner=user, suggested_person__isnull=False).count(),
        "largest_group_faces": group.size,
        "unnamed_faces": face_selectors.unnamed_face_count(user=user),
        "photos_total": Photo.objects.count(),
        "thumbnails": [f"/photos/{p.pk}/thumbnail.jpg" for p in first_page.photos],
    }
    return pages, data


def cpu_ticks(pids: list[int]) -> int:
    """CPU time (user + system, in clock ticks) the processes have used so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total


def wait_idle(server, timeout: float = 180) -> float:
    """Until the gunicorn workers stop using CPU (at most 2 ticks in half a second): a sync
    worker goes on rendering the requests wrk left queued when it stopped, and a slow page's
    backlog would otherwise be measured as the next page's latency. Returns the seconds waited."""
    start = time.monotonic()
    before = cpu_ticks(server.worker_pids())
    while time.monotonic() - start < timeout:
        time.sleep(0.5)
        now = cpu_ticks(server.worker_pids())
        if now - before <= 2:
            break
        before = now
    return round(time.monotonic() - start, 1)


def ask_questions(user, count: int) -> None:
    """`count` of the user's groups ask about one of the persons with the most faces, as the
    regrouping would set them (faces.services)."""
    from faces.models import FaceGroup, Person

    persons = list(Person.objects.for_user(user).order_by("id")[:count])
    groups = list(FaceGroup.objects.for_user(user).order_by("id")[:count])
    for group, person in zip(groups, persons, strict=False):
        group.suggested_person = person
        group.suggested_score = 0.5
    FaceGroup.objects.bulk_update(groups, ["suggested_person", "suggested_score"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=10_000)
    parser.add_argument("--faces", type=int, default=30_000)
    parser.add_argument("--persons", type=int, default=300)
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration per page")
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (default (2 x cores) + 1)")
    parser.add_argument("--pages", default="", help="comma-separated subset of the pages")
    parser.add_argument("--ml-photos", type=int, default=6, help="photos for the ML worker RSS (0: skip)")
    parser.add_argument("--database", default="sg_bench_web", help="name of the throw-away database (sg_bench*)")
    parser.add_argument("--keep", action="store_true", help="keep the database and files (for profiling)")
    options = parser.parse_args()
    options.seconds = max(1, min(options.seconds, 120))
    options.connections = max(1, min(options.connections, 200))

    scratch = common.scratch_dir("web")
    common.configure(options.database, 14, scratch=scratch)
    result: dict = {"bench": "web", "cpus": os.cpu_count(), "loadavg_start": common.loadavg()}
    server = None
    t0 = time.monotonic()
    try:
        log(f"creating database {options.database}, migrating, collecting static files")
        common.create_database()
        from django.db import connection

        common.flush_redis_db()
        pack = os.environ["SMARTGALLERY_FACE_PACK"]
        model_id = common.model_id_of_pack(pack)
        log("seeding")
        t_seed = time.monotonic()
        user = common.seed_user(
            "bench@example.com",
            photos=options.photos,
            faces=options.faces,
            persons=options.persons,
            groups=40,
            model_id=model_id,
            seed=1,
        )
        ask_questions(user, QUESTION_GROUPS)
        for k in range(3):
            common.seed_user(
                f"other{k}@example.com", photos=300, faces=600, persons=10, groups=3, model_id=model_id, seed=10 + k
            )
        result["seed"] = {
            "photos": options.photos,
            "faces": options.faces,
            "persons": options.persons,
            "other_users": 3,
            "seconds": round(time.monotonic() - t_seed, 1),
        }
        log(f"seeded in {result['seed']['seconds']} s")

        pages, data = bench_pages(user)
        if options.pages:
            unknown = set(options.pages.split(",")) - set(pages)
            if unknown:
                raise SystemExit(f"unknown pages: {', '.join(sorted(unknown))}; pages: {', '.join(pages)}")
            pages = {k: v for k, v in pages.items() if k in options.pages.split(",")}
        result["data"] = {k: v for k, v in data.items() if k != "thumbnails"}
        session_key = common.session_for(user)
        log("counting queries and timing each page in process, cold and warm")
        in_process = count_queries(pages, session_key, user.pk)
        result["queries"] = {name: page["queries_warm"] for name, page in in_process.items()}
        connection.close()

        env = dict(os.environ)
        server = common.Gunicorn(env, scratch / "gunicorn.log", workers=options.workers or None)
        log(f"starting gunicorn with {server.workers} sync workers on {server.base}")
        server.start()
        for name, (path, _headers) in pages.items():
            status, _ = common.get(server.base + path, session_key)
            if status != 200:
                raise RuntimeError(f"{name} {path}: HTTP {status} under gunicorn")
        # Warm-up: every worker imports, connects and renders each page at least once.
        common.wrk(
            server.base,
            [p for p, h in pages.values() if not h],
            session_key,
            seconds=3,
            connections=10,
            scratch=scratch,
        )
        wait_idle(server)
        result["gunicorn_workers"] = server.workers
        result["rss_after_warmup"] = server.rss()
        result["pages"] = {}
        for name, (path, headers) in pages.items():
            paths = data["thumbnails"] if name == "thumbnail" else [path]
            log(f"wrk {name}: {options.seconds}s, {options.connections} connections; load {common.loadavg()}")
            run = common.wrk(
                server.base,
                paths,
                session_key,
                seconds=options.seconds,
                connections=options.connections,
                scratch=scratch,
                headers=headers,
            )
            if not run["requests"]:
                # Not one answer within the run: no latency to report (wrk's zeros would read as fast).
                run.update({k: None for k in ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms")})
            run["queries"] = result["queries"].get(name)
            run["in_process"] = in_process[name]
            run["drain_s"] = wait_idle(server)
            result["pages"][name] = run
            log(name, json.dumps(run))
        result["rss_after_load"] = server.rss()
        result["faiss_loaded_in_web_workers"] = any(common.has_mapped(pid, "faiss") for pid in server.worker_pids())
        server.stop()
        server = None
        result["faiss_import"] = faiss_import_cost()

        if options.ml_photos:
            log(f"ML worker: {options.ml_photos} photos with pack {pack}")
            result["ml_worker"] = ml_worker_rss(env, scratch, user, options.ml_photos)
            result["ml_worker"]["pack"] = Path(pack).name
            connection.close()

        worst_queries = max((max(p["queries_cold"], p["queries_warm"]) for p in in_process.values()), default=None)
        web_max = result["rss_after_load"]["worker_max_mib"]
        timed = {k: v for k, v in result["pages"].items() if k != "thumbnail"}
        slow = sorted(k for k, v in timed.items() if v["p95_ms"] is None or v["p95_ms"] > GOALS["p95_ms"])
        few = sorted(k for k, v in timed.items() if v["req_s"] < GOALS["req_s"])
        result["goals"] = {
            "p95<=150ms": not slow,
            "req_s>=100": not few,
            "queries<=10": worst_queries is not None and worst_queries <= GOALS["max_queries"],
            "web_rss<200MiB": web_max is not None and web_max < GOALS["web_rss_mib"],
        }
        result["missed"] = {"p95<=150ms": slow, "req_s>=100": few}
        if "ml_worker" in result:
            result["goals"]["ml_worker_rss<500MiB"] = result["ml_worker"]["max_mib"] < GOALS["ml_worker_rss_mib"]
        result["loadavg_end"] = common.loadavg()
        result["seconds"] = round(time.monotonic() - t0, 1)
    finally:
        if server is not None:
            server.stop()
        if not options.keep:
            common.drop_database()
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            log(f"kept database {options.database} and {scratch}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
