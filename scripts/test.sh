#!/usr/bin/env bash
# Runs the whole suite. Uses MariaDB and Redis when they answer (as in CI), else the
# embedded default, and says which it used. Extra arguments go to pytest.
# SMARTGALLERY_TEST_EMBEDDED=1: the embedded default (SQLite, filesystem broker) even where
# MariaDB and Redis answer or DATABASE_URL / REDIS_URL are set.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${SMARTGALLERY_TEST_EMBEDDED:-}" = 1 ]; then
  unset DATABASE_URL REDIS_URL
else
  eval "$(.venv/bin/python scripts/detect_services.py)"
fi
# Production-shaped settings need a secret; tests talk plain HTTP to the test client.
export SECRET_KEY="${SECRET_KEY:-$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(64))')}"
export SECURE_SSL="${SECURE_SSL:-false}"
export SMARTGALLERY_VAR_DIR="${SMARTGALLERY_VAR_DIR:-$PWD/var/test}"

if [ -n "${DATABASE_URL:-}" ]; then db="MariaDB/MySQL (${DATABASE_URL%%@*}@...)"; else db="SQLite (embedded default)"; fi
if [ -n "${REDIS_URL:-}" ]; then broker="Redis ($REDIS_URL)"; else broker="filesystem broker (embedded default)"; fi
echo "Tests use: database $db; Celery broker and cache $broker"

set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: treating that as a failure" >&2
  exit 1
fi
echo "Tests used: database $db; Celery broker and cache $broker"
exit "$rc"
