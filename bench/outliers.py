"""What "Faces that may not be X" costs for one big person: queries and time.

A throw-away database (Django's test-database machinery: SQLite in a temporary folder, or
MariaDB when DATABASE_URL is set, as `test_<its database>_bench_outliers`, created and dropped here) gets one
user with a person of --faces faces (half confirmed, half automatic, each on its own photo,
512-d face prints spread around the person like real ones: similarities about 0.3-0.7) and a
few faces of someone else confirmed to her by mistake. Measured, warm (the median of --repeat
runs after one warm-up) and cold (the first call of the process):

  - ranking_*: selectors.person_outlier_ranking (read her faces' prints, score, sort), with
    its time split into the database read and the scoring itself;
  - page_*: the whole page through the test client (GET /people/<id>/outliers/);
  - move_*: services.person_faces_move of a 20-face selection;
  - the same ranking with every face confirmed (the most references there can be).

Prints one JSON line on stdout.

    .venv/bin/python -m bench.outliers [--faces 3000] [--wrong 15] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

from bench import _common as common


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--faces", type=int, default=3000)
    parser.add_argument("--wrong", type=int, default=15, help="faces of someone else confirmed to her")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="sg-bench-outliers-")
    os.environ.setdefault("SMARTGALLERY_VAR_DIR", tmp)
    os.environ.setdefault("SECRET_KEY", common.BENCH_SECRET_KEY)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartgallery.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("SECURE_SSL", "false")  # the test client talks plain HTTP
    url = os.environ.get("DATABASE_URL", "")
    # On MariaDB, named after the configured database (test_<name>...: where test accounts
    # usually may create databases).
    os.environ["SMARTGALLERY_TEST_DB_NAME"] = (
        f"test_{url.rsplit('/', 1)[-1].split('?')[0]}_bench_outliers" if url else os.path.join(tmp, "bench.sqlite3")
    )
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import override_settings, setup_databases, setup_test_environment, teardown_databases

    setup_test_environment()
    # Hashed static names need `collectstatic`; the page is rendered without it, as in the tests.
    override_settings(
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    ).enable()
    databases = setup_databases(verbosity=0, interactive=False)
    try:
        result = _measure(args)
        result["database"] = connection.vendor
    finally:
        teardown_databases(databases, verbosity=0)
    print(json.dumps(result))


def _measure(args) -> dict:
    import numpy as np
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django.utils import timezone

    from accounts.models import User
    from faces import outliers, selectors, services
    from faces.models import Face, Person
    from faces.recognition_model import decode_vectors
    from gallery.models import Photo

    rng = np.random.default_rng(0)
    dim = 512

    def prints(centre: np.ndarray, n: int) -> np.ndarray:
        vectors = centre + rng.normal(scale=0.042, size=(n, dim))  # same person: cosine ~0.3-0.7
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)

    user = User.objects.create_user("bench-outliers@example.invalid", "bench-outliers-password-1")
    person = Person.objects.create(owner=user, name="Anna")
    anna, other = rng.normal(size=dim), rng.normal(size=dim)
    anna, other = anna / np.linalg.norm(anna), other / np.linalg.norm(other)
    vectors = np.vstack([prints(anna, args.faces - args.wrong), prints(other, args.wrong)])
    now = timezone.now()
    common.log(f"Seeding {args.faces} faces")
    photos = Photo.objects.bulk_create(
        [
            Photo(
                owner=user,
                original=f"{user.pk}/originals/{i}.jpg",
                original_filename=f"{i}.jpg",
                image_format="JPEG",
                sha256=f"{i:064x}",
                file_size=1000,
                width=640,
                height=480,
                taken_at=now,
                status=Photo.Status.DONE,
            )
            for i in range(args.faces)
        ],
        batch_size=1000,
    )
    faces = Face.objects.bulk_create(
        [
            Face(
                owner=user,
                photo=photo,
                x1=0,
                y1=0,
                x2=100,
                y2=100,
                det_score=0.9,
                size_px=100,
                embedding=vectors[i].tobytes(),
                model_id="bench",
                person=person,
                state=Face.State.CONFIRMED if i % 2 == 0 or i >= args.faces - args.wrong else Face.State.AUTO,
            )
            for i, photo in enumerate(photos)
        ],
        batch_size=500,  # 2 KiB prints: one INSERT of them all is over MariaDB's packet limit
    )
    wrong_ids = {f.id for f in faces[args.faces - args.wrong :]}

    def timed(call, repeat: int) -> tuple[float, float, int]:
        """(cold ms, warm median ms, queries of one warm call)."""
        started = time.perf_counter()
        call()
        cold = (time.perf_counter() - started) * 1000
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            call()
            times.append((time.perf_counter() - started) * 1000)
        with CaptureQueriesContext(connection) as queries:
            call()
        return round(cold, 1), round(statistics.median(times), 1), len(queries.captured_queries)

    result: dict = {"faces": args.faces, "confirmed": args.faces // 2 + args.wrong // 2, "wrong": args.wrong}
    ranking = lambda: selectors.person_outlier_ranking(user=user, person_id=person.id)  # noqa: E731
    result["ranking_cold_ms"], result["ranking_ms"], result["ranking_queries"] = timed(ranking, args.repeat)
    order = ranking()[0]
    result["wrong_in_first"] = sum(1 for face_id in order[: args.wrong] if face_id in wrong_ids)

    # The ranking's time split: reading the prints, and the scoring itself.
    def read():
        return list(
            Face.objects.for_user(user)
            .filter(person=person, state__in=selectors.OUTLIER_STATES, photo__deleted_at__isnull=True)
            .order_by("id")
            .values_list("id", "state", "recognisable", "model_id", "embedding")
        )

    rows = read()
    read_times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        read()
        read_times.append((time.perf_counter() - started) * 1000)
    matrix = decode_vectors([r[4] for r in rows], dim)
    references = np.array([r[1] == Face.State.CONFIRMED for r in rows])
    score_times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        outliers.ranking(outliers.leave_one_out_scores(matrix, references), np.array([r[0] for r in rows]))
        score_times.append((time.perf_counter() - started) * 1000)
    result["read_prints_ms"] = round(statistics.median(read_times), 1)
    result["score_ms"] = round(statistics.median(score_times), 1)

    client = Client()
    client.force_login(user)
    url = reverse("faces:person_outliers", args=[person.id])

    def page():
        response = client.get(url)
        assert response.status_code == 200, response.status_code

    result["page_cold_ms"], result["page_ms"], result["page_queries"] = timed(page, args.repeat)

    picked = order[:20]
    target = Person.objects.create(owner=user, name="Ben")
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        change = services.person_faces_move(user=user, person_id=person.id, face_ids=picked, to_person_id=target.id)
        result["move_20_ms"] = round((time.perf_counter() - started) * 1000, 1)
    result["move_20_queries"] = len(queries.captured_queries)
    services.labels_undo(user=user, change=change.as_dict())

    Face.objects.filter(person=person).update(state=Face.State.CONFIRMED)
    result["all_confirmed_cold_ms"], result["all_confirmed_ms"], _ = timed(ranking, args.repeat)
    return result


if __name__ == "__main__":
    main()
