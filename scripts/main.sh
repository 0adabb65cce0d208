#!/usr/bin/env bash
# The main job: install, train the paper's MNIST networks on a short CPU preset (fast-mnist: the
# paper's G and maxout D with the CPU recipe of docs/reproduction.md, about four minutes on 2 cores), draw samples,
# evaluate them with the paper's Parzen protocol, draw Figures 2 and 3 beside those of the shipped
# generator (the paper's exact recipe, 360 epochs), and write the run's report; then the demos that
# need no data: the 2-D ring (modes captured, with its figure) and the 1-D run behind Figure 1.
# Without MNIST (no files, no network) it says so in one line and runs only the demos.
# Outputs go to runs/main/; each training run keeps log.txt.
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
mnist_run="$out/fast-mnist-$stamp"
if advnets train fast-mnist --out "$mnist_run"; then
    advnets sample "$mnist_run" --n 100 --seed 0 --out "$mnist_run/samples-seed0.png"
    advnets sample "$mnist_run" --n 10000 --seed 0 --out "$mnist_run/samples-seed0.npy"
    advnets evaluate "$mnist_run" --metric parzen --seed 0   # Table 1's protocol; appends to metrics.jsonl
    advnets evaluate "$mnist_run" --metric mnistclf-features --seed 0   # FID/KID, precision/recall on the shipped classifier's features
    advnets figure fig2 "$mnist_run" --seed 0 --out "$mnist_run/fig2.png"   # samples + nearest training images
    advnets figure fig3 "$mnist_run" --seed 0 --out "$mnist_run/fig3.png"   # interpolation in z
    shipped=pretrained/mnist-paper   # the paper's exact recipe, 360 epochs (235.8 nats; README, Measured)
    advnets figure fig2 "$shipped" --seed 0 --out "$out/shipped-mnist-paper-fig2-$stamp.png" --force
    advnets figure fig3 "$shipped" --seed 0 --out "$out/shipped-mnist-paper-fig3-$stamp.png" --force
    advnets report "$mnist_run"   # report.html: numbers beside the paper's, curves, figures, config
    python - "$mnist_run" <<'PY'
import json, sys
from pathlib import Path
from advnets.metrics import references
run = Path(sys.argv[1])
last = json.loads((run / "stats.jsonl").read_text().splitlines()[-1])   # the run's last statistics row
rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
own = references.run_row(rows, f"this run ({run.name}: fast-mnist, {last['epoch']:.1f} epochs on this CPU, sample seed 0)")
print("\nWhere this run stands (MNIST test set; Parzen in nats, higher is better; fid_mnistclf lower is better):")
for row in [own, *references.reference_rows()]:
    if row.get("parzen") or row.get("fid_mnistclf"):
        print(f"  {row.get('parzen') or '-':>13}  {row.get('fid_mnistclf') or '-':>13}  {row['what']}")
classes = [r for r in rows if r.get("class_histogram")]
if classes:  # mode dropping: the digits the shipped classifier reads in the 10,000 samples
    c = classes[-1]
    shares = "  ".join(f"{digit}: {100 * share:.1f}%" for digit, share in enumerate(c["class_histogram"]))
    print(f"\nDigits in its 10,000 samples (read by the shipped classifier; 10% each is uniform):\n  {shares}\n"
          f"  KL to uniform {c['class_kl_uniform']:.3f} (0: every digit equally often; 2.303: one digit only)")
PY
    echo "MNIST run: $mnist_run (report.html, fig2.png, fig3.png, log.txt); the shipped generator's figures: $out/shipped-mnist-paper-fig{2,3}-$stamp.png"
else
    echo "MNIST unavailable (see the line above); running the 1-D and 2-D demos, which need no data."
fi
ring_run="$out/toy-ring-$stamp"
advnets train toy-ring --out "$ring_run"
advnets sample "$ring_run" --n 2500 --seed 0 --out "$ring_run/samples-seed0.png"
advnets evaluate "$ring_run" --metric modes --seed 0          # modes captured, % high quality, reverse KL
advnets figure modes "$ring_run" --out "$ring_run/modes.png"
advnets report "$ring_run"
echo "2-D demo: $ring_run"
fig1_run="$out/toy-1d-$stamp"
advnets train toy-1d --out "$fig1_run"
advnets figure fig1 "$fig1_run" --out "$fig1_run/fig1.png"   # the paper's Figure 1, from this run
advnets report "$fig1_run"
echo "1-D demo (Figure 1): $fig1_run/fig1.png"
