"""What `make run` starts (issue 14, bug 9): honcho with the Procfile serves on PORT, and Ctrl-C
stops the web server, the worker and beat cleanly within the grace period: nobody is killed, and
the worker's pool children are not sent a signal under their tasks.

Run on the embedded default (SQLite, filesystem broker) in a folder of its own, as a first
`make run` would; this is the slow case, the worker's loop waits 2 s between checks there."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from conftest import REPO_ROOT

pytestmark = pytest.mark.slow
sys.path.insert(0, str(REPO_ROOT / "scripts"))
from run import GRACE_SECONDS  # noqa: E402  (scripts/ is no package)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)  # noqa: S310 (our own server)
    except urllib.error.HTTPError:
        return True  # an answer all the same (static files are not collected here)
    except OSError:
        return False
    return True


def test_ctrl_c_stops_the_web_server_the_worker_and_beat_cleanly(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    env["SMARTGALLERY_VAR_DIR"] = str(tmp_path)
    env["PATH"] = f"{os.path.dirname(sys.executable)}:{env['PATH']}"
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO_ROOT, env=env, check=True)
    port = free_port()
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        run = subprocess.Popen(
            [python, "scripts/run.py", "-f", "Procfile", "start", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 90
            while not ("celery@" in log.read_text() and " ready." in log.read_text() and answers(port)):
                assert run.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.5)

            asked = time.monotonic()
            run.send_signal(signal.SIGINT)  # what the terminal sends on Ctrl-C
            run.wait(timeout=GRACE_SECONDS + 10)
            took = time.monotonic() - asked
        finally:
            if run.poll() is None:
                run.kill()
    text = log.read_text()
    assert took < GRACE_SECONDS, f"{took:.1f} s\n{text[-3000:]}"
    assert "SIGKILL" not in text and "killed" not in text, text[-3000:]
    assert "exited with 'signal" not in text, text[-3000:]  # a pool child killed under a task
    assert "worker.1 stopped (rc=0)" in text and "beat.1 stopped (rc=0)" in text, text[-3000:]
