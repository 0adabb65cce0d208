#!/usr/bin/env bash
# Create .venv (if missing) and install PyTorch and advnets into it. Idempotent.
# PyTorch is installed first and pinned, so that the project's range (torch>=2.3) is already met and
# pip pulls no other build; set ADVNETS_TORCH to pick another version (e.g. a CUDA build's).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --disable-pip-version-check "torch==${ADVNETS_TORCH:-2.13.0}" 2>&1 | grep -v "is ignored" || true
python -m pip install -q --disable-pip-version-check -e ".[test]" 2>&1 | grep -v "is ignored" || true
python -c "import advnets, torch; print(f'advnets {advnets.__version__}, torch {torch.__version__}')"
