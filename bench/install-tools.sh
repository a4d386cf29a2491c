#!/usr/bin/env bash
# What the benchmarks need from Debian: wrk, the HTTP load generator (bench/http.py). Installed when missing.
set -euo pipefail
if command -v wrk >/dev/null; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "missing: wrk; install it (apt-get install wrk)" >&2
  exit 1
fi
echo "installing wrk for the benchmarks…"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq wrk >/dev/null
