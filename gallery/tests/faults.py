"""A stand-in face engine for the fault-injection tests (used by gallery/tests/fault_app.py).

It picks its behaviour from the photo's width, so one worker serves well-behaved and hostile
photos alike:
    77 px wide: the worker process dies (os._exit), every time
    78 px wide: a transient database error the first FAULT_TRANSIENT_FAILURES times
    79 px wide: hangs past the soft time limit
    otherwise:  no faces
With FAULT_BLOCK_DIR set, every photo gets the real engine's faces instead, and the first
detection of the worker's life (all its processes) writes its pid to FAULT_BLOCK_DIR/calls and
waits there until the test creates FAULT_BLOCK_DIR/release (or kills the process); later
detections only record their pid. The test kills or stops the worker while it waits.
Everything else (model id, thresholds used by recognition) comes from the real engine.
"""

import os
import time
from pathlib import Path

from django.db import OperationalError

POISON_WIDTH, TRANSIENT_WIDTH, HANG_WIDTH = 77, 78, 79
BLOCK_SECONDS = 60


class StandInEngine:
    """The real engine, except that detect() misbehaves on demand."""

    def __init__(self, real_get_engine):
        self._real_get_engine = real_get_engine

    def __getattr__(self, name):
        return getattr(self._real_get_engine(), name)

    def detect(self, rgb):
        width = rgb.shape[1]
        if width == POISON_WIDTH:
            os._exit(139)
        if width == TRANSIENT_WIDTH:
            counter = Path(os.environ["FAULT_COUNTER_FILE"])
            failures = int(counter.read_text() or 0) if counter.exists() else 0
            if failures < int(os.environ.get("FAULT_TRANSIENT_FAILURES", "2")):
                counter.write_text(str(failures + 1))
                raise OperationalError("injected: server has gone away")
        if width == HANG_WIDTH:
            time.sleep(60)
        if os.environ.get("FAULT_BLOCK_DIR"):
            _record_and_maybe_block(Path(os.environ["FAULT_BLOCK_DIR"]))
            return self._real_get_engine().detect(rgb)
        return []


def _record_and_maybe_block(folder: Path) -> None:
    with (folder / "calls").open("a") as calls:
        calls.write(f"{os.getpid()} {time.time()}\n")
    try:
        os.close(os.open(folder / "blocked", os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return
    deadline = time.monotonic() + BLOCK_SECONDS
    while not (folder / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
