"""Concurrent logins (issue 9 §4, catalogue G5): --clients logins at once, --rounds times.

Each client is its own browser (its own cookies, CSRF token) of its own verified user: GET
/accounts/login/, then POST the email and the right password. Expected answers: 302 to the
emailed-code page (/accounts/login/code/confirm/, the password was right and Argon2id ran) or
429 (allauth's rate limits: 30 logins a minute per IP, all clients share 127.0.0.1); anything
else is an error. Production settings under gunicorn ((2 x cores) + 1 sync workers, 127.0.0.1
on a spare port), own MariaDB database (sg_bench_logins), Redis db 12 (the rate-limit
counters). The resident memory of the web workers is sampled every 50 ms during the bursts
(Argon2id memory x concurrent hashes): peak per worker, and whether any worker died.

Prints ONE JSON line; progress on stderr. Bounded: --clients <= 100, --rounds <= 5.

    .venv/bin/python -m bench.load_logins [--clients 20] [--rounds 2]
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
PASSWORD = "bench-login-password-1234"  # noqa: S105 (throw-away benchmark users)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2, help="bursts, back to back")
    options = parser.parse_args()
    options.clients = max(1, min(options.clients, 100))
    options.rounds = max(1, min(options.rounds, 5))

    scratch = common.scratch_dir("logins")
    common.configure("sg_bench_logins", 12, scratch=scratch)
    result: dict = {
        "bench": "load_logins",
        "clients": options.clients,
        "rounds": options.rounds,
        "cpus": os.cpu_count(),
        "loadavg_start": common.loadavg(),
    }
    server = None
    try:
        log("creating database sg_bench_logins")
        common.create_database()
        common.flush_redis_db()
        from django.conf import settings
        from django.db import connection

        users = common.create_verified_users([f"login{k}@example.com" for k in range(options.clients)], PASSWORD)
        connection.close()
        result["hasher"] = settings.PASSWORD_HASHERS[0].rsplit(".", 1)[1]

        server = common.Gunicorn(dict(os.environ), scratch / "gunicorn.log")
        server.start()
        pids_before = server.worker_pids()
        log(f"gunicorn {server.base}, {server.workers} workers; load {common.loadavg()}")

        peak: dict[int, float] = {}
        sampling = threading.Event()

        def sample() -> None:
            while not sampling.is_set():
                for pid in server.worker_pids():
                    rss = common.rss_mib(pid)
                    if rss is not None:
                        peak[pid] = max(peak.get(pid, 0.0), rss)
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        rss_idle = server.rss()
        statuses: Counter = Counter()
        latencies: list[float] = []
        rounds = []
        lock = threading.Lock()

        def login(user, barrier: threading.Barrier, answers: Counter) -> None:
            browser = common.Browser(server.base)
            try:
                browser.csrf("/accounts/login/")
                barrier.wait(timeout=60)
                started = time.perf_counter()
                status, location, _ = browser.post_form(
                    "/accounts/login/",
                    {"login": user.email, "password": PASSWORD, "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
                )
                elapsed = time.perf_counter() - started
                if status == 302 and location == "/accounts/login/code/confirm/":
                    label = "302 code page"
                else:
                    label = f"{status} {location or ''}".strip()
            except Exception as error:  # noqa: BLE001 (counted as an error)
                label, elapsed = f"error {type(error).__name__}", None
            with lock:
                answers[label] += 1
                if elapsed is not None:
                    latencies.append(elapsed)

        for number in range(options.rounds):
            answers: Counter = Counter()
            barrier = threading.Barrier(options.clients)
            threads = [threading.Thread(target=login, args=(u, barrier, answers)) for u in users]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=180)
            rounds.append(
                {"round": number + 1, "seconds": round(time.perf_counter() - started, 2), "statuses": dict(answers)}
            )
            statuses.update(answers)
            log(f"round {number + 1}: {dict(answers)}")
        sampling.set()
        sampler.join(timeout=5)

        pids_after = server.worker_pids()
        expected = {"302 code page", "429"}
        result.update(
            {
                "rounds_detail": rounds,
                "statuses": dict(statuses),
                "unexpected": sum(n for label, n in statuses.items() if label not in expected),
                "latency": common.percentiles_ms(latencies),
                "rss_idle": rss_idle,
                "rss_peak_workers_mib": sorted(peak.values()),
                "rss_peak_max_mib": max(peak.values()) if peak else None,
                "workers_died": len(set(pids_before) - set(pids_after)),
                "oom_in_log": "out of memory" in (scratch / "gunicorn.log").read_text(errors="replace").lower()
                or "SIGKILL" in (scratch / "gunicorn.log").read_text(errors="replace"),
                "loadavg_end": common.loadavg(),
            }
        )
        result["ok"] = result["unexpected"] == 0 and not result["workers_died"] and not result["oom_in_log"]
    finally:
        if server is not None:
            server.stop()
        common.drop_database()
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
