#!/usr/bin/env bash
# The main job: install, train the paper's MNIST GAN on a short CPU preset (quick-mnist, about a
# minute and a half on 2 cores), draw samples, evaluate them with the paper's Parzen protocol.
# Without MNIST (no files, no network) it says so in one line and runs the 2-D demo (toy-ring),
# which needs no data. Outputs go to runs/main/.
set -euo pipefail
if [ -n "${ADVNETS_DATA:-}" ] && [ -d "$ADVNETS_DATA" ]; then
    export ADVNETS_DATA="$(cd "$ADVNETS_DATA" && pwd)"
fi
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
out=runs/main
mkdir -p "$out"
stamp=$(date +%Y%m%d-%H%M%S)
mnist_run="$out/quick-mnist-$stamp"
if advnets train quick-mnist --out "$mnist_run" --set train.progress=false; then
    advnets sample "$mnist_run" --n 100 --seed 0 --out "$mnist_run/samples-seed0.png"
    advnets sample "$mnist_run" --n 10000 --seed 0 --out "$mnist_run/samples-seed0.npy"
    advnets evaluate "$mnist_run" --metric parzen --seed 0   # Table 1's protocol; appends to metrics.jsonl
    echo "MNIST run: $mnist_run (stats.jsonl, samples/, network-latest.safetensors)"
else
    echo "MNIST unavailable (see the line above); running the 2-D demo, which needs no data."
fi
ring_run="$out/toy-ring-$stamp"
advnets train toy-ring --out "$ring_run" --set train.progress=false
advnets sample "$ring_run" --n 2500 --seed 0 --out "$ring_run/samples-seed0.png"
echo "2-D demo: $ring_run"
