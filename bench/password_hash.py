"""Cost of one Argon2id password hash for a few parameter sets, on this machine.

Prints one JSON line. Each parameter set runs in a fresh child process so its peak resident
memory (ru_maxrss) is its own; "rss_mib" is that peak minus the child's peak before hashing.
Used to choose the parameters of accounts.hashers.Argon2idHasher (see docs/ACCOUNTS.md).

    .venv/bin/python -m bench.password_hash [--rounds N]
"""

import argparse
import json
import multiprocessing
import os
import platform
import resource
import statistics
import time

# (label, memory_cost KiB, time_cost, parallelism)
PARAMETER_SETS = [
    ("owasp-min m=19MiB t=2 p=1", 19 * 1024, 2, 1),
    ("owasp-alt m=46MiB t=1 p=1", 46 * 1024, 1, 1),
    ("m=32MiB t=3 p=1", 32 * 1024, 3, 1),
    ("m=64MiB t=3 p=1", 64 * 1024, 3, 1),
    ("m=64MiB t=3 p=2", 64 * 1024, 3, 2),
    ("django-default m=100MiB t=2 p=8", 102400, 2, 8),
]


def _measure(memory_cost: int, time_cost: int, parallelism: int, rounds: int, queue) -> None:
    from argon2 import PasswordHasher, Type

    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    hasher.hash("warm-up password")
    timings = []
    for i in range(rounds):
        start = time.perf_counter()
        hasher.hash(f"correct horse battery staple {i}")
        timings.append((time.perf_counter() - start) * 1000)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put(
        {
            "median_ms": round(statistics.median(timings), 1),
            "max_ms": round(max(timings), 1),
            "rss_mib": round((after - before) / 1024, 1),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    ctx = multiprocessing.get_context("spawn")
    results = []
    for label, memory_cost, time_cost, parallelism in PARAMETER_SETS:
        queue = ctx.Queue()
        child = ctx.Process(target=_measure, args=(memory_cost, time_cost, parallelism, args.rounds, queue))
        child.start()
        measured = queue.get()
        child.join()
        results.append({"params": label, "m_kib": memory_cost, "t": time_cost, "p": parallelism, **measured})
    print(
        json.dumps(
            {
                "bench": "argon2id",
                "cpus": os.cpu_count(),
                "machine": platform.machine(),
                "rounds": args.rounds,
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
