#!/usr/bin/env bash
# Debian's Chromium for the browser test (tests/test_e2e.py), installed where missing.
# As root (CI) or with password-less sudo it is installed with apt-get; otherwise this
# says how, and the browser test skips - except with CI=true, where it fails.
set -u
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  echo "compmodel: Chromium is missing; the browser test needs Debian's: sudo apt-get install -y chromium" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q chromium >/dev/null 2>&1 \
  || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q chromium >/dev/null; } \
  || echo "compmodel: could not install chromium with apt-get; the browser test will fail in CI" >&2
exit 0
