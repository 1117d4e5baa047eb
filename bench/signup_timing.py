"""Sign-up timing (issue 15 §1): does the answer's timing tell whether an address has an account?

Posts the sign-up form for addresses that already have an account and for new ones,
alternately (existing, new, new, existing, ... so drift in the machine's load hits both
alike), each as its own browser (own cookies and CSRF token), and prints the two medians.
ACCOUNT_PREVENT_ENUMERATION makes both answers look the same (302 to the code page); this
checks that they also take the same time.

Production settings under gunicorn on 127.0.0.1 (a spare port), own MariaDB database
(sg_bench_signup), a private Redis. ALLAUTH_TRUSTED_PROXY_COUNT=1 and one X-Forwarded-For
address per sign-up, so allauth's per-IP sign-up limit (20/min) sees separate clients.

Prints ONE JSON line; progress on stderr. Exits 1 when the medians differ by more than
--max-gap-ms and --max-gap-ratio of the larger one (both must be exceeded: a few ms of noise
on a fast machine is not a signal), or when any answer is not the 302 to the code page.
Bounded: --rounds <= 200.

    .venv/bin/python -m bench.signup_timing [--rounds 40]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time

from bench import _common as common

log = common.log
PASSWORD = "bench-signup-password-1234"  # noqa: S105 (throw-away benchmark users)
CODE_PAGE = "/accounts/confirm-email/"


def signup(base: str, email: str, client_number: int) -> tuple[float, str]:
    """One sign-up by a fresh browser; (milliseconds of the POST, what it answered)."""
    browser = common.Browser(base)
    forwarded = {
        "X-Forwarded-For": f"10.{client_number // 65536 % 256}.{client_number // 256 % 256}.{client_number % 256}"
    }
    status, _, _ = browser.request("GET", "/accounts/signup/", headers=forwarded)
    if status != 200 or "csrftoken" not in browser.cookies:
        return 0.0, f"GET {status}"
    fields = {
        "csrfmiddlewaretoken": browser.cookies["csrftoken"],
        "email": email,
        "display_name": "",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    started = time.perf_counter()
    status, location, _ = browser.post_form("/accounts/signup/", fields, headers=forwarded)
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, "302 code page" if status == 302 and location == CODE_PAGE else f"{status} {location}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=40, help="sign-ups of each kind")
    parser.add_argument("--max-gap-ms", type=float, default=15.0)
    parser.add_argument("--max-gap-ratio", type=float, default=0.15)
    options = parser.parse_args()
    options.rounds = max(3, min(options.rounds, 200))

    scratch = common.scratch_dir("signup")
    common.configure("sg_bench_signup", 13, scratch=scratch)
    os.environ["ALLAUTH_TRUSTED_PROXY_COUNT"] = "1"
    result: dict = {
        "bench": "signup_timing",
        "rounds": options.rounds,
        "cpus": os.cpu_count(),
        "loadavg_start": common.loadavg(),
    }
    server = None
    try:
        log("creating database sg_bench_signup")
        common.create_database()
        common.flush_redis_db()
        from django.db import connection

        members = common.create_verified_users([f"member{k}@example.com" for k in range(options.rounds)], PASSWORD)
        existing = [user.email for user in members]
        connection.close()

        server = common.Gunicorn(dict(os.environ), scratch / "gunicorn.log")
        server.start()
        log(f"gunicorn {server.base}, {server.workers} workers; load {common.loadavg()}")
        signup(server.base, "warm-up@example.com", 0)

        timings: dict[str, list[float]] = {"existing": [], "new": []}
        answers: dict[str, dict[str, int]] = {"existing": {}, "new": {}}
        client = 1
        for k in range(options.rounds):
            order = ("existing", "new") if k % 2 == 0 else ("new", "existing")
            for kind in order:
                email = existing[k] if kind == "existing" else f"newcomer{k}@example.com"
                elapsed, answer = signup(server.base, email, client)
                client += 1
                answers[kind][answer] = answers[kind].get(answer, 0) + 1
                if answer == "302 code page":
                    timings[kind].append(elapsed)

        medians = {kind: round(statistics.median(values), 1) if values else None for kind, values in timings.items()}
        gap = abs(medians["existing"] - medians["new"]) if None not in medians.values() else None
        larger = max(medians.values()) if gap is not None else None
        result.update(
            {
                "median_ms_existing": medians["existing"],
                "median_ms_new": medians["new"],
                "gap_ms": round(gap, 1) if gap is not None else None,
                "gap_ratio": round(gap / larger, 3) if gap is not None and larger else None,
                "p90_ms_existing": round(statistics.quantiles(timings["existing"], n=10)[-1], 1)
                if len(timings["existing"]) >= 2
                else None,
                "p90_ms_new": round(statistics.quantiles(timings["new"], n=10)[-1], 1)
                if len(timings["new"]) >= 2
                else None,
                "answers": answers,
                "loadavg_end": common.loadavg(),
                "limits": {"max_gap_ms": options.max_gap_ms, "max_gap_ratio": options.max_gap_ratio},
            }
        )
        all_redirects = all(set(a) == {"302 code page"} for a in answers.values())
        result["ok"] = bool(
            all_redirects
            and gap is not None
            and not (gap > options.max_gap_ms and gap / larger > options.max_gap_ratio)
        )
    finally:
        if server is not None:
            server.stop()
        common.drop_database()
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(result))
    sys.exit(0 if result.get("ok") else 1)


if __name__ == "__main__":
    main()
