#!/usr/bin/env bash
# Headless Chromium (Debian's `chromium` package) for the test that renders report.html. Idempotent;
# needs root or sudo when it is missing. If it cannot be installed, says so in one line (that test
# then fails with the same advice).
set -uo pipefail
if command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null; then
    exit 0
fi
as_root=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null && as_root="sudo -n" || { echo "chromium: not installed and not root; install Debian's chromium package"; exit 0; }
fi
export DEBIAN_FRONTEND=noninteractive
$as_root apt-get install -y -q chromium >/dev/null 2>&1 \
    || { $as_root apt-get update -q >/dev/null 2>&1 && $as_root apt-get install -y -q chromium >/dev/null 2>&1; } \
    || echo "chromium: apt-get install chromium failed; the report test needs it"
