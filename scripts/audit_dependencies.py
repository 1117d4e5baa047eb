"""Audit the pinned requirements for known vulnerabilities with pip-audit (CI, rule 12's sibling).

    .venv/bin/python scripts/audit_dependencies.py [requirements.txt]

Fails (exit 1) when a pinned package has a known vulnerability that is not in IGNORED below.
pip-audit asks PyPI's per-release JSON API for vulnerability data. When that data cannot be
had (no network, or a registry mirror without that API: every package comes back "not found"),
nothing was audited; that is printed loudly and is not a failure, because CI must not depend
on a service it cannot reach. docs/SECURITY.md says how to run the audit where it can.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Vulnerability id -> why it does not apply to us. Each one is explained in docs/SECURITY.md
# and passed to pip-audit as --ignore-vuln. None today.
IGNORED: dict[str, str] = {}


def main(requirements: str = "requirements.txt") -> int:
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "-r",
        str(REPO / requirements),
        "--no-deps",
        "--disable-pip",
        "--progress-spinner",
        "off",
        "--format",
        "json",
        "--timeout",
        "10",
    ]
    for vuln in IGNORED:
        command += ["--ignore-vuln", vuln]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)  # noqa: S603 (our own argv)
    except subprocess.TimeoutExpired:
        # A network that swallows requests: bounded, so CI's time is not spent waiting.
        print("WARNING: NOT AUDITED: pip-audit got no answers within 300 s. See docs/SECURITY.md.")
        return 0
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        print(f"pip-audit did not run (exit {result.returncode}):\n{result.stderr[-2000:]}", file=sys.stderr)
        return 1
    dependencies = report.get("dependencies", [])
    audited = [d for d in dependencies if "skip_reason" not in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version"
            print(f"VULNERABLE {dep['name']}=={dep['version']}: {vuln['id']} (fixed in: {fixed})")
    if vulnerable:
        print(
            "Upgrade the pins above, or document each one in docs/SECURITY.md and add it to IGNORED "
            "in scripts/audit_dependencies.py."
        )
        return 1
    if dependencies and not audited:
        print(
            f"WARNING: NOT AUDITED: no vulnerability data could be fetched for any of the {len(dependencies)} "
            "pinned packages (PyPI's JSON API is not reachable from here). See docs/SECURITY.md."
        )
        return 0
    skipped = len(dependencies) - len(audited)
    print(
        f"pip-audit: {len(audited)} pinned packages audited, no known vulnerabilities"
        + (f" ({skipped} could not be audited)" if skipped else "")
        + (f"; {len(IGNORED)} ignored with a reason in docs/SECURITY.md" if IGNORED else "")
        + "."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
