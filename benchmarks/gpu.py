"""Everything issue 18 asks to measure on a CUDA machine, in one run (benchmarks/gpu.sh calls this).

1. The training step: plain eager loop, advnets eager, advnets as a captured CUDA graph, and the bare
   captured step (the reference limit), at batch 64, 100 and 1024, fp32 and bf16, and fp32 with TF32
   (benchmarks/train_step.py, interleaved windows, one process per table).
2. A whole `advnets train paper-mnist` run of --updates updates with validation every epoch, graph on
   and graph off: wall time and updates per second, and what the paper's 500,000 updates would take.
3. The Parzen protocol on the GPU (the shipped generator): seconds and the score; AIS batched on the GPU
   (issue 21: 1,000 test images x 16 chains, 1,000 distributions, 10 leapfrog steps).
4. Every subcommand once with the device on CUDA (short runs): which ones fail, with their error line.
5. The CIFAR-10 presets (issue 23): an iteration's operations and time, and an epoch's, on CUDA
   (benchmarks/cifar10.py, random images in the official format).
6. Several seeds in one process (issue 44): paper-mnist's K = 1, 4, 16 members (eager) against K lone games
   run in turn, eagerly and as a captured CUDA graph (benchmarks/members.py's device_rows).

Prints one table per part and writes every row to --out (JSON). Needs MNIST (--data-dir, $ADVNETS_DATA).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def advnets(*args: str, timeout: float = 600) -> tuple[int, str, float]:
    """Run the command line in a fresh process: (exit status, last error line or output line, seconds)."""
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}:{os.environ.get('PYTHONPATH', '')}"}
    t0 = time.perf_counter()
    try:
        result = subprocess.run([sys.executable, "-m", "advnets.cli", *args], capture_output=True, text=True,
                                env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, f"timed out after {timeout:.0f} s", time.perf_counter() - t0
    lines = (result.stderr if result.returncode else result.stdout).strip().splitlines()
    return result.returncode, lines[-1] if lines else "", time.perf_counter() - t0


def step_tables(data_dir: str, out: list[dict], device: str = "cuda", sizes: list[str] = ()) -> None:
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}:{os.environ.get('PYTHONPATH', '')}"}
    with tempfile.TemporaryDirectory() as tmp:
        for extra in ([], ["--tf32", "--precisions", "fp32"]):
            rows = Path(tmp) / "rows.jsonl"
            rows.unlink(missing_ok=True)
            subprocess.run([sys.executable, str(REPO / "benchmarks" / "train_step.py"), "--device", device,
                            "--data-dir", data_dir, "--batch-sizes", "64", "100", "1024", "--json", str(rows), *extra,
                            *sizes], env=env, check=False)
            if rows.exists():
                out += [{"part": "step", **json.loads(line)} for line in rows.read_text().splitlines()]


def full_runs(data_dir: str, updates: int, out: list[dict], device: str = "cuda") -> None:
    print(f"\nadvnets train paper-mnist, {updates} updates, validation every epoch (500 updates), on {device}")
    print(f"{'train.graph':12s} {'wall s':>8s} {'updates/s':>10s} {'500,000 updates':>16s}  result")
    with tempfile.TemporaryDirectory() as tmp:
        for graph in ("on", "off"):
            n = updates if graph == "on" else max(updates // 5, min(updates, 1000))  # the eager run is the slow one
            status, line, seconds = advnets(
                "train", "paper-mnist", "--out", f"{tmp}/{graph}", "--data-dir", data_dir, "--set", f"device={device}",
                f"train.graph={graph}", f"train.steps={n}", "train.progress=false", "train.ema_decay=0.9999",
                f"train.checkpoint_every={n}", f"train.sample_every={n}")
            rate = n / seconds
            row = {"part": "full-run", "graph": graph, "updates": n, "wall_s": seconds, "updates_per_s": rate,
                   "full_500k_min": 500_000 / rate / 60, "status": status, "line": line}
            out.append(row)
            print(f"{graph:12s} {seconds:8.1f} {rate:10.0f} {row['full_500k_min']:13.1f} min  "
                  f"{'ok' if status == 0 else 'FAILED: ' + line}")


def cifar(data_dir: str, out: list[dict], device: str = "cuda", steps: str = "50") -> None:
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}:{os.environ.get('PYTHONPATH', '')}"}
    print(f"\nThe CIFAR-10 presets on {device}")
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "cifar10.py"), "--device", device, "--data-dir",
                             data_dir, "--steps", steps], env=env, capture_output=True, text=True, check=False)
    print(result.stdout + (result.stderr.strip().splitlines() or [""])[-1])
    out.append({"part": "cifar10", "status": result.returncode, "table": result.stdout})


def parzen(data_dir: str, out: list[dict], device: str = "cuda") -> None:
    status, line, seconds = advnets("evaluate", str(REPO / "pretrained" / "mnist-paper"), "--metric", "parzen",
                                    "--device", device, "--data-dir", data_dir)
    row = {"part": "parzen", "status": status, "wall_s": seconds}
    if status == 0:
        result = json.loads(line)
        row.update(mean=result["mean"], se=result["se"], seconds=result["seconds"])
        print(f"\nParzen protocol on {device} (shipped generator): {result['mean']:.2f} +- {result['se']:.2f} nats, "
              f"{result['seconds']:.2f} s in the protocol, {seconds:.1f} s with start-up")
    else:
        print(f"\nParzen protocol on {device}: FAILED: {line}")
    (REPO / "pretrained" / "mnist-paper" / "metrics.jsonl").unlink(missing_ok=True)
    out.append(row)


def ais(data_dir: str, out: list[dict], device: str = "cuda", size: tuple[str, ...] = ()) -> None:
    """AIS batched on the device: the shipped generator, 1,000 test images x 16 chains, 1,000 distributions."""
    size = size or ("--n-samples", "1000", "--ais-steps", "1000", "--chains", "16", "--leapfrog", "10")
    status, line, seconds = advnets("evaluate", str(REPO / "pretrained" / "mnist-paper"), "--metric", "ais",
                                    *size, "--device", device, "--data-dir", data_dir, timeout=300)
    row = {"part": "ais", "status": status, "wall_s": seconds, "settings": list(size)}
    if status == 0:
        result = json.loads(line)
        row.update({k: result[k] for k in ("log_likelihood", "se", "variance", "bdmc_gap", "acceptance", "seconds")})
        print(f"\nAIS on {device} (shipped generator, {' '.join(size)}): {result['log_likelihood']:.1f} +- "
              f"{result['se']:.1f} nats (s^2 {result['variance']}), BDMC gap {result['bdmc_gap']:.2f}, "
              f"{result['seconds']:.1f} s")
    else:
        print(f"\nAIS on {device}: FAILED: {line}")
    (REPO / "pretrained" / "mnist-paper" / "metrics.jsonl").unlink(missing_ok=True)
    out.append(row)


def every_command(data_dir: str, out: list[dict], device: str = "cuda") -> None:
    """Each subcommand once on `device`, on short runs made here."""
    print(f"\nevery command with the device on {device}")
    short = ["train.steps=60", "train.log_every=20", "train.sample_every=60", "train.checkpoint_every=60",
             "train.progress=false", f"device={device}"]
    with tempfile.TemporaryDirectory() as tmp:
        runs = {name: f"{tmp}/{name}" for name in ("mnist", "cond", "inpaint", "ring", "t1", "joint")}
        cases = [
            ("train paper-mnist (ema, validation)", ["train", "paper-mnist", "--out", runs["mnist"], "--data-dir", data_dir,
                                                     "--set", *short, "train.ema_decay=0.9", "train.valid_every=20"]),
            ("train cond-mnist", ["train", "cond-mnist", "--out", runs["cond"], "--data-dir", data_dir, "--set", *short,
                                  "train.valid_every=0"]),
            ("train inpaint-mnist", ["train", "inpaint-mnist", "--out", runs["inpaint"], "--data-dir", data_dir,
                                     "--set", *short]),
            ("train toy-ring (Adam: eager)", ["train", "toy-ring", "--out", runs["ring"], "--set", *short]),
            ("train toy-1d (k = 25, probes)", ["train", "toy-1d", "--out", runs["t1"], "--set", *short, "train.sample_every=20"]),
            ("train paper-mnist (joint E)", ["train", "paper-mnist", "--out", runs["joint"], "--data-dir", data_dir,
                                             "--set", *short, "inference.joint=true", "inference.hidden=[64]"]),
            ("train --resume (graph)", ["train", "--resume", runs["mnist"], "--set", "train.steps=80"]),
            ("sample", ["sample", runs["mnist"], "--n", "1000", "--device", device, "--out", f"{tmp}/s.npy"]),
            ("evaluate parzen", ["evaluate", runs["mnist"], "--metric", "parzen", "--n-samples", "1000", "--device", device]),
            ("evaluate parzen --baseline kmeans", ["evaluate", runs["mnist"], "--metric", "parzen", "--baseline", "kmeans",
                                                   "--n-samples", "100", "--device", device]),
            ("evaluate mnistclf-features", ["evaluate", runs["mnist"], "--metric", "mnistclf-features",
                                            "--n-samples", "1000", "--device", device]),
            ("evaluate ais", ["evaluate", runs["mnist"], "--metric", "ais", "--n-samples", "20", "--ais-steps", "50",
                              "--device", device]),
            ("evaluate modes", ["evaluate", runs["ring"], "--metric", "modes", "--device", device]),
            ("evaluate optimal-d", ["evaluate", runs["t1"], "--metric", "optimal-d", "--n-samples", "200", "--device", device]),
            ("evaluate classes", ["evaluate", runs["cond"], "--metric", "classes", "--n-samples", "500", "--device", device]),
            ("evaluate inpainting", ["evaluate", runs["inpaint"], "--metric", "inpainting", "--n-samples", "500",
                                     "--device", device]),
            ("infer", ["infer", runs["mnist"], "--steps", "200", "--n", "500", "--device", device, "--out", f"{tmp}/r.png"]),
            ("evaluate inference (joint E)", ["evaluate", runs["joint"], "--metric", "inference", "--n-samples", "500",
                                              "--device", device]),
            ("figure fig2", ["figure", "fig2", runs["mnist"], "--out", f"{tmp}/f2.png"]),
            ("report", ["report", runs["mnist"]]),
        ]
        for name, argv in cases:
            status, line, seconds = advnets(*argv)
            out.append({"part": "command", "command": name, "status": status, "seconds": seconds, "line": line})
            print(f"  {name:38s} {seconds:6.1f} s  {'ok' if status == 0 else 'FAILED: ' + line}")
        failed = [r["command"] for r in out if r["part"] == "command" and r["status"] != 0]
        print(f"  {len(failed)} of {len(cases)} failed" + (f": {', '.join(failed)}" if failed else ""))


def members(data_dir: str, out: list[dict], device: str = "cuda", ks: tuple[int, ...] = (1, 4, 16),
            iterations: int = 200) -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    from members import device_rows  # benchmarks/members.py

    print("\nseveral seeds in one process (paper-mnist; updates/s of all K together):")
    out.extend(device_rows("paper-mnist", list(ks), iterations, data_dir, device))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=os.environ.get("ADVNETS_DATA"), help="MNIST's folder (default $ADVNETS_DATA)")
    p.add_argument("--updates", type=int, default=10_000, help="updates of the whole run with the graph on (default 10000)")
    p.add_argument("--out", default="gpu-benchmark.json", help="the JSON file of every row")
    p.add_argument("--parts", nargs="+", default=["step", "run", "parzen", "ais", "commands", "cifar", "members"],
                   choices=["step", "run", "parzen", "ais", "commands", "cifar", "members"])
    p.add_argument("--check-on-cpu", action="store_true",
                   help="run every part on the CPU, tiny (checks this script where there is no GPU)")
    args = p.parse_args()
    import torch

    if args.check_on_cpu:
        rows: list[dict] = []
        tiny = {"step": lambda: step_tables(args.data_dir, rows, "cpu", ["--steps", "2", "--repeats", "1", "--warmup", "1"]),
                "run": lambda: full_runs(args.data_dir, 60, rows, "cpu"), "parzen": lambda: parzen(args.data_dir, rows, "cpu"),
                "ais": lambda: ais(args.data_dir, rows, "cpu", ("--n-samples", "4", "--ais-steps", "8", "--chains", "2")),
                "commands": lambda: every_command(args.data_dir, rows, "cpu"),
                "cifar": lambda: cifar(args.data_dir, rows, "cpu", steps="1"),
                "members": lambda: members(args.data_dir, rows, "cpu", ks=(1, 2), iterations=2)}
        run_parts({name: tiny[name] for name in args.parts}, rows, Path(args.out), {"device": "cpu", "torch": torch.__version__})
        return
    if not torch.cuda.is_available():
        raise SystemExit("benchmarks/gpu.py needs a CUDA device; PyTorch sees none")
    if not args.data_dir:
        raise SystemExit("benchmarks/gpu.py needs MNIST: --data-dir or $ADVNETS_DATA")
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, CUDA {torch.version.cuda}, "
          f"{time.strftime('%Y-%m-%d')}")
    rows: list[dict] = []
    t0 = time.perf_counter()
    parts = {"step": lambda: step_tables(args.data_dir, rows),
             "run": lambda: full_runs(args.data_dir, args.updates, rows),
             "parzen": lambda: parzen(args.data_dir, rows), "ais": lambda: ais(args.data_dir, rows),
             "commands": lambda: every_command(args.data_dir, rows), "cifar": lambda: cifar(args.data_dir, rows),
             "members": lambda: members(args.data_dir, rows)}
    run_parts({name: parts[name] for name in args.parts}, rows, Path(args.out),
              {"device": torch.cuda.get_device_name(), "torch": torch.__version__})
    print(f"\n{len(rows)} rows in {args.out}; {time.perf_counter() - t0:.0f} s in all")


def run_parts(parts: dict, rows: list[dict], out: Path, machine: dict) -> None:
    """Run each part in turn; one that fails adds a row saying how and the next one runs; after every
    part the rows so far are written to `out` (atomically), so a run cut short keeps what it measured."""
    for name, part in parts.items():
        try:
            part()
        except Exception as e:  # noqa: BLE001 - a benchmark part's failure is a result, not the end
            line = (str(e).splitlines() or [type(e).__name__])[0]
            rows.append({"part": name, "status": "failed", "error": f"{type(e).__name__}: {line}"})
            print(f"\npart {name} FAILED: {type(e).__name__}: {line}", flush=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(json.dumps({**machine, "date": time.strftime("%Y-%m-%d"), "parts_done": list(parts)[
            : list(parts).index(name) + 1], "rows": rows}, indent=1) + "\n")
        os.replace(tmp, out)


if __name__ == "__main__":
    main()
