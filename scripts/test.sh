#!/usr/bin/env bash
# Install (scripts/setup.sh, and headless Chromium for the report test), then run the default test
# suite (slow reproductions excluded). The tests need MNIST: $ADVNETS_DATA, else ../shared/data
# beside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/install-chromium.sh
. .venv/bin/activate
if [ -z "${ADVNETS_DATA:-}" ] && [ -d ../shared/data ]; then
    export ADVNETS_DATA="$(cd ../shared/data && pwd)"
fi
python -m pytest -q "$@"
