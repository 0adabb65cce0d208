#!/usr/bin/env bash
# Issue 18's GPU measurements in one command, on a CUDA machine with MNIST beside the repository:
#
#   ADVNETS_DATA=/path/to/data bash benchmarks/gpu.sh [OUT.json]
#
# Runs from the source tree with the machine's python3 and PyTorch (no install), in about 5 minutes on
# an H200: the training-step table (plain eager, advnets eager, advnets captured as a CUDA graph, the
# bare captured step as the limit; batch 64 / 100 / 1024; fp32, bf16, fp32 with TF32), a whole
# paper-mnist run with validation (graph on and off), the Parzen protocol on the GPU, and every
# subcommand once on CUDA, and the CIFAR-10 presets' time per epoch (issue 23). Writes every row to
# OUT.json (default gpu-benchmark.json).
set -euo pipefail
cd "$(dirname "$0")/.."
data="${ADVNETS_DATA:-}"
for candidate in "$data" data ../shared/data; do
    if [ -n "$candidate" ] && [ -f "$candidate/mnist/train-images-idx3-ubyte.gz" ]; then data="$candidate"; break; fi
done
if [ -z "$data" ] || [ ! -f "$data/mnist/train-images-idx3-ubyte.gz" ]; then
    echo "benchmarks/gpu.sh: MNIST not found (set ADVNETS_DATA to a folder holding mnist/*.gz)"; exit 2
fi
export ADVNETS_DATA="$(cd "$data" && pwd)" PYTHONUNBUFFERED=1
python3 benchmarks/gpu.py --data-dir "$ADVNETS_DATA" --out "${1:-gpu-benchmark.json}"
