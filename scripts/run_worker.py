"""Run a Celery worker under honcho (`make run`, the Procfile) so that Ctrl-C stops it cleanly.

    python scripts/run_worker.py celery -A smartgallery worker ...

honcho stops a process by sending SIGTERM to its whole process group, and SIGKILL 5 s after the
first process stopped (its fixed KILL_WAIT). Run straight from the Procfile, the worker's pool
children got that SIGTERM too and died under their tasks ("exited with signal 15"), and the
worker's warm shutdown (up to 6 s when idle on the filesystem broker) was cut short by SIGKILL
(scripts/run.py gives 10 s now, but a busy worker's warm shutdown has no bound).
Here the worker runs in a session of its own and only its main process is told to stop, with a
cold shutdown: running tasks get CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT (settings) to finish, the
rest go back to the queue (they run again later), and an idle worker stops at once. Whatever is
left after KILL_AFTER_SECONDS is killed, still before honcho would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

# Inside the grace period of scripts/run.py (10 s).
KILL_AFTER_SECONDS = 8.0


def main(command: list[str]) -> int:
    if not command:
        sys.stderr.write(__doc__)
        return 2
    worker = subprocess.Popen(command, start_new_session=True)
    asked: list[float] = []

    def stop(signum, frame) -> None:
        if not asked:
            asked.append(time.monotonic())
            worker.send_signal(signal.SIGQUIT)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        try:
            return worker.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            pass
        if asked and time.monotonic() - asked[0] > KILL_AFTER_SECONDS:
            print("worker: not stopped in time, killed; its tasks run again later", file=sys.stderr, flush=True)
            os.killpg(worker.pid, signal.SIGKILL)
            return worker.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
