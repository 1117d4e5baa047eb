#!/usr/bin/env bash
# Installs the Debian packages the Python requirements need to build (mysqlclient), when
# they are missing. Needs root (as in CI); otherwise it says what to install and stops.
set -euo pipefail
missing=()
pkg-config --exists mysqlclient 2>/dev/null || missing+=(default-libmysqlclient-dev pkg-config build-essential)
command -v python3 >/dev/null || missing+=(python3 python3-venv)
# `scripts/system-packages.sh test`: the browser tests drive Debian's Chromium.
if [ "${1:-}" = "test" ]; then command -v chromium >/dev/null || missing+=(chromium); fi
# `scripts/system-packages.sh bench`: the web and load benchmarks drive wrk; the naming trial, Chromium.
if [ "${1:-}" = "bench" ]; then
  command -v wrk >/dev/null || missing+=(wrk)
  command -v chromium >/dev/null || missing+=(chromium)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing system packages: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
