#!/usr/bin/env bash
# The browser tests drive Debian's Chromium through chromedriver; install them when missing.
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "chromium and chromium-driver are missing; install them (apt-get install chromium chromium-driver)" >&2
  exit 1
fi
echo "installing chromium and chromium-driver for the browser tests…"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null
