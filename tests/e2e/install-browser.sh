#!/usr/bin/env bash
# What the tests need from Debian: Chromium and chromedriver for the browser tests, and a TrueType
# CJK font (WenQuanYi Zen Hei) for the label sheet PDFs. Installed when missing.
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null && [ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "missing: chromium, chromium-driver or fonts-wqy-zenhei; install them (apt-get install chromium chromium-driver fonts-wqy-zenhei)" >&2
  exit 1
fi
echo "installing chromium, chromium-driver and fonts-wqy-zenhei for the tests…"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium chromium-driver fonts-noto-cjk fonts-wqy-zenhei >/dev/null
