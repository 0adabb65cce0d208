#!/usr/bin/env bash
# Install (scripts/setup.sh, and headless Chromium for the report test), then run the default test
# suite (slow reproductions excluded). The tests need MNIST: $ADVNETS_DATA, else ../shared/data
# beside the repository. A throwaway PostgreSQL server on the loopback serves the test of a study shared by
# several machines (scripts/test-postgres.sh; stopped and removed at the end; without one that test is skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/install-chromium.sh
. .venv/bin/activate
if [ -z "${ADVNETS_DATA:-}" ] && [ -d ../shared/data ]; then
    export ADVNETS_DATA="$(cd ../shared/data && pwd)"
fi
if [ -z "${ADVNETS_TEST_POSTGRES:-}" ]; then
    eval "$(bash scripts/test-postgres.sh start)"
    trap 'if [ -n "${ADVNETS_TEST_PGDIR:-}" ]; then bash scripts/test-postgres.sh stop "$ADVNETS_TEST_PGDIR"; fi' EXIT
fi
python -m pytest -q "$@"
