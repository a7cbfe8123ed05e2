#!/usr/bin/env bash
# Make sure QGIS (Debian's packages) is installed, and a venv for pytest that sees QGIS's Python.
# Quick when both are already there. zip builds the plugin (make plugin), which the plugin tests install;
# xvfb-run runs the QGIS desktop of tests/plugin/test_desktop.py on a virtual screen.
set -euo pipefail
venv=${1:-.venv-qgis}
packages="qgis python3-qgis qgis-providers python3-venv xvfb zip"

if ! command -v qgis_process >/dev/null || ! command -v zip >/dev/null || ! command -v xvfb-run >/dev/null \
    || ! /usr/bin/python3 -c 'import qgis.core, ensurepip' 2>/dev/null; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $packages
fi
if [ ! -x "$venv/bin/python" ]; then
    /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
if ! "$venv/bin/python" -c 'import pytest, pytest_qgis' 2>/dev/null; then
    "$venv/bin/python" -m pip install --quiet pytest pytest-qgis
fi
