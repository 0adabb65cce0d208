#!/usr/bin/env bash
# Create .venv (if missing) and install PyTorch and advnets into it. Idempotent; says what it is doing
# (a line per step, and pip's lines for what it fetches and installs, so a fresh install shows progress).
# PyTorch is installed first and pinned, so that the project's range (torch>=2.3) is already met and
# pip pulls no other build; set ADVNETS_TORCH to pick another version (e.g. a CUDA build's).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
started=$SECONDS
say() { echo "setup: $*"; }
quiet_pip() {  # pip install, showing what it fetches and installs (and errors), not what it leaves as it is;
    # its exit status is pip's (pipefail), so a failed install stops the set-up here
    python -m pip install --disable-pip-version-check "$@" 2>&1 \
        | { grep --line-buffered -E "^(Collecting|Downloading|Installing collected|Successfully installed|ERROR|error)" || true; }
}
if [ ! -x .venv/bin/python ]; then
    say "creating .venv with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv .venv
fi
. .venv/bin/activate
say "PyTorch ${ADVNETS_TORCH:-2.13.0} (the CPU build; a minute or two on a fresh machine)"
quiet_pip "torch==${ADVNETS_TORCH:-2.13.0}"
say "advnets and what it needs (NumPy, SciPy, matplotlib, Pillow, safetensors, torchmetrics, prdc, pytest ...)"
quiet_pip -e ".[test]"
python -c "import advnets, torch; print(f'setup: ready in $((SECONDS - started)) s: advnets {advnets.__version__}, torch {torch.__version__}')"
