#!/usr/bin/env bash
# Debian's Chromium, which the tests use to render report.html headless (tests/core/accounting/test_report.py).
# Quick when it is already there.
set -euo pipefail
if ! command -v chromium >/dev/null; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium
fi
