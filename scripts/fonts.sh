#!/usr/bin/env bash
# Make sure a Chinese (CJK) font is installed, for the credit office's pages and their
# screenshots on this machine (the pages use the viewer's system CJK fonts; a Linux box without
# one shows boxes). Installs Debian's `fonts-noto-cjk` with apt when missing and running as
# root; otherwise says what to install. Never fails: the service works without the font.
#   bash scripts/fonts.sh
set -uo pipefail

has_chinese_font() {
  command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh family 2>/dev/null)" ]
}

has_chinese_font && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing a Chinese font for the pages (fonts-noto-cjk) from Debian's packages …" >&2
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends fontconfig fonts-noto-cjk >&2; then
    exit 0
  fi
fi
echo "no Chinese font on this machine: the pages will show boxes here until one is installed" \
  "(Debian/Ubuntu: apt-get install fonts-noto-cjk)" >&2
exit 0
