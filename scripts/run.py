"""`make run`: honcho, with a stop that lets the worker finish.

    python scripts/run.py -f Procfile start --port 8000

honcho sends SIGTERM to every process on Ctrl-C and SIGKILL to those left 5 s after the first
one stopped (honcho.manager.KILL_WAIT, a constant with no option). The web server stops at once;
a Celery worker on the embedded filesystem broker needs up to about 5 s just to notice (its loop
waits 2 s for messages between checks) and to close its pool, so it was killed. KILL_WAIT is
raised here; scripts/run_worker.py bounds the worker's own stop well inside it.
"""

import sys

import honcho.manager
from honcho.command import main

GRACE_SECONDS = 10

if __name__ == "__main__":
    honcho.manager.KILL_WAIT = GRACE_SECONDS
    sys.exit(main())
