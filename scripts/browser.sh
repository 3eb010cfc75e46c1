#!/usr/bin/env bash
# Make sure Debian's Chromium (and a Chinese font for readable screenshots) is installed for
# the browser test (tests/serving/web/test_browser.py), and print Chromium's path.
#   bash scripts/browser.sh          → /usr/bin/chromium
# Installs the package `chromium` (and the font, scripts/fonts.sh) with apt when missing (needs
# root, as on CI); does nothing when they are there, so it can run before every test run. The test drives
# Chromium with Playwright (the `dev` extra); Playwright's own browser download is never used.
# CREDLINK_CHROMIUM names another Chromium binary.
set -euo pipefail

find_chromium() {
  for candidate in "${CREDLINK_CHROMIUM:-}" /usr/bin/chromium; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

bash "$(dirname "$0")/fonts.sh"
if ! find_chromium >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing chromium from Debian's packages …" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends chromium >&2
  else
    echo "Chromium is not installed and this is not root: apt-get install chromium" >&2
    exit 1
  fi
fi
find_chromium
