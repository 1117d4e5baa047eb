"""The naming trial: clicks and keypresses to name everyone in ../shared/faces from an empty
library, in Chromium on the real pages (e2e/test_naming_trial.py, which says what it counts).
Needs what the browser tests need (Chromium, MariaDB or the embedded default, the face pack).
Prints ONE JSON line.

    .venv/bin/python -m bench.naming_trial
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bench import _common as common


def main() -> None:
    env = {**os.environ, "SMARTGALLERY_NAMING_TRIAL": "1"}
    run = subprocess.run(
        ["bash", "scripts/test.sh", "e2e/test_naming_trial.py", "-q", "-s", "-p", "no:cacheprovider"],
        cwd=common.REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in run.stdout.splitlines() if line.startswith('{"naming_trial"')]
    if run.returncode != 0 or not lines:
        sys.stderr.write(run.stdout[-4000:] + run.stderr[-4000:])
        raise SystemExit(f"the naming trial failed (exit {run.returncode})")
    result = json.loads(lines[-1])
    del result["naming_trial"]
    print(json.dumps({"bench": "naming_trial", **result}))


if __name__ == "__main__":
    main()
