#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests of the caption page (tests/test_caption_page_browser.py).
# For the tests only: the app never needs a browser, so packaging/install.sh does not install it.
# Playwright (a test extra) drives this system browser; its own browser download is not used.
# Safe to run again; it does nothing when /usr/bin/chromium is there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
echo "Installing Debian's chromium for the browser tests"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core
