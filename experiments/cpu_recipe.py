"""The CPU recipe search (issue 30): which way of training the paper's MNIST networks gives the best
generator in the main job's budget, about 4 minutes of training on the 2-core VM.

Every candidate keeps the paper's model family (a ReLU MLP G with uniform z, a maxout D) and
changes only what the issue allows: the optimiser and its rates, the batch size, D's updates per G update,
G's moving average, the widths, dropout, and stabilisers (one-sided label smoothing, R1, spectral
normalisation, instance noise). Each is given the
same wall-clock budget, turned into a number of updates by timing its iteration against the former fast-mnist
(the candidate named so) on 2 threads (stage `calibrate`: windows of the two interleaved, so the machine's
drifts cancel; it trained 5,000 updates in the main job's 4 minutes), so that every later run is a fixed number of updates: its
result does not depend on how busy the machine is, only on the seed and the thread count (the order of a
sum's terms).

Stages (each resumable: every result is written to --results as soon as it exists, and a run folder that
was interrupted is resumed exactly):

    calibrate   each candidate's updates per second on 2 threads, idle -> its number of updates
    screen      each candidate once (seed 0, 2 threads: the main job's setting), scored on the validation split
    confirm     the best --top candidates of the screen on seeds 0-2 x 1 and 2 threads (6 runs each)
    test        the chosen candidate (the confirm stage's best by its worst run, then its median; or --choose)
                on the test split: its 6 runs, 5 sample sets each (sample seeds 0-4); once, at the end

Scores (validation split train[50000:60000] until `test`): 10,000 samples of G's moving average, sample
seed 0, against 10,000 real images in the shipped classifier's features: FID_mnistclf, precision, recall,
density, coverage, and the class histogram of the samples (and its KL to uniform).

    python experiments/cpu_recipe.py --data-dir ../shared/data --stage calibrate screen confirm test \\
        --top 2 --results experiments/results/cpu_recipe.json --runs runs/cpu-recipe --jobs 2
    python experiments/cpu_recipe.py --results experiments/results/cpu_recipe.json --table   # print the tables
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

# The budget: what the former fast-mnist (the candidate of that name) trained in the main job, 5,000 updates in about 4 minutes on the idle
# 2-core VM. A candidate gets as many updates as the same time buys it (calibrate).
REFERENCE, REFERENCE_STEPS = "fast-mnist", 5000
# Keys that change numbers, not operations: a candidate that differs from the reference only in these costs
# what it costs (timing them measured only the machine's drift: +-6% between identical updates).
SAME_COST_KEYS = {"name", "optim.lr", "optim.g_lr", "optim.d_lr", "optim.betas", "loss.label_smoothing",
                  "train.ema_decay"}
BUDGET_S = 240.0
SEEDS, THREADS = (0, 1, 2), (1, 2)
SAMPLE_SEEDS_TEST = (0, 1, 2, 3, 4)
N = 10_000
# Bookkeeping that costs time without changing the weights is off in the search (validation Parzen,
# progress grids, intermediate checkpoints); the chosen preset keeps its own.
QUIET = ["train.valid_every=0", "train.progress=false", "train.log_every=100"]
ADAM = ["optim.name=adam", "optim.betas=[0.5, 0.999]", "optim.lr_decay=1.0"]

# name -> (overrides of the paper-mnist preset, what it tries). Every one keeps G's moving average (0.999).
CANDIDATES: dict[str, tuple[list[str], str]] = {
    "fast-mnist": ([*ADAM, "optim.lr=0.0002", "optim.d_lr=0.0001", "train.ema_decay=0.999"],
                   "the former fast-mnist (before this search): Adam, G 2e-4, D 1e-4"),
    "adam-equal": ([*ADAM, "optim.lr=0.0002", "train.ema_decay=0.999"], "Adam, both 2e-4"),
    "ttur": ([*ADAM, "optim.g_lr=0.0001", "optim.d_lr=0.0004", "optim.lr=0.0001", "train.ema_decay=0.999"],
             "two time scales: D 4e-4, G 1e-4"),
    "ttur-r1": ([*ADAM, "optim.g_lr=0.0001", "optim.d_lr=0.0004", "optim.lr=0.0001", "train.ema_decay=0.999",
                 "loss.r1_gamma=1.0"], "two time scales and R1 (gamma 1) on D"),
    "adam-r1": ([*ADAM, "optim.lr=0.0002", "train.ema_decay=0.999", "loss.r1_gamma=1.0"], "Adam 2e-4 and R1 (gamma 1)"),
    "adam-r1-10": ([*ADAM, "optim.lr=0.0002", "train.ema_decay=0.999", "loss.r1_gamma=10.0"],
                   "Adam 2e-4 and R1 (gamma 10)"),
    "adam-smooth": ([*ADAM, "optim.lr=0.0002", "train.ema_decay=0.999", "loss.label_smoothing=0.1"],
                    "Adam 2e-4, one-sided label smoothing 0.1"),
    "adam-k2": ([*ADAM, "optim.lr=0.0002", "train.ema_decay=0.999", "train.schedule=alternating", "train.k=2"],
                "Adam 2e-4, two D updates per G update"),
    "narrow-g": ([*ADAM, "optim.lr=0.0002", "train.ema_decay=0.999", "generator.hidden=[600, 600]"],
                 "Adam 2e-4, G 600-600 (more updates in the budget)"),
    "adam-b50": ([*ADAM, "optim.lr=0.0002", "train.ema_decay=0.999", "train.batch_size=50"],
                 "Adam 2e-4, batch 50 (twice the updates)"),
    "momentum-sgd-ema": (["train.ema_decay=0.999"], "the released momentum SGD and schedules, G averaged"),
}
# Round 2, after the first screen (R1 was what kept G from collapsing; two time scales helped): around
# ttur-r1, what buys more updates or steadier samples.
TTUR_R1 = [*ADAM, "optim.g_lr=0.0001", "optim.d_lr=0.0004", "optim.lr=0.0001", "loss.r1_gamma=1.0"]
CANDIDATES.update({
    "ttur-r1-10": ([*TTUR_R1, "train.ema_decay=0.999", "loss.r1_gamma=10.0"], "two time scales, R1 gamma 10"),
    "ttur-r1-narrow": ([*TTUR_R1, "train.ema_decay=0.999", "generator.hidden=[600, 600]"],
                       "two time scales, R1, G 600-600"),
    "ttur-r1-b50": ([*TTUR_R1, "train.ema_decay=0.999", "train.batch_size=50"], "two time scales, R1, batch 50"),
    "ttur-r1-ema9995": ([*TTUR_R1, "train.ema_decay=0.9995"], "two time scales, R1, G averaged over longer"),
    "ttur-fast-r1": ([*ADAM, "optim.g_lr=0.0002", "optim.d_lr=0.0008", "optim.lr=0.0002", "loss.r1_gamma=1.0",
                      "train.ema_decay=0.999"], "two time scales at twice the rates (D 8e-4, G 2e-4), R1"),
})
# Round 3: D without dropout (R1 regularises it instead), Adam without first-moment momentum (beta1 = 0, as
# R1's authors train), and the two time scales closer together.
CANDIDATES.update({
    "ttur-r1-nodrop": ([*TTUR_R1, "train.ema_decay=0.999", "discriminator.input_keep=1.0",
                        "discriminator.hidden_keep=1.0"], "two time scales, R1, no dropout in D"),
    "ttur-r1-beta0": ([*TTUR_R1, "train.ema_decay=0.999", "optim.betas=[0.0, 0.99]"],
                      "two time scales, R1, Adam betas 0 / 0.99"),
    "ttur2-r1": ([*ADAM, "optim.g_lr=0.0001", "optim.d_lr=0.0002", "optim.lr=0.0001", "loss.r1_gamma=1.0",
                  "train.ema_decay=0.999"], "two time scales closer (D 2e-4, G 1e-4), R1"),
})


def ttur_r1(d_lr: str, g_lr: str) -> list[str]:
    """Adam at two time scales (D's rate `d_lr`, G's `g_lr`), R1 (gamma 1) on D, G averaged (0.999)."""
    return [*ADAM, f"optim.g_lr={g_lr}", f"optim.d_lr={d_lr}", f"optim.lr={g_lr}", "loss.r1_gamma=1.0",
            "train.ema_decay=0.999"]


# Round 4: the faster rates (the best so far) with the smaller batch, and faster still.
FAST_R1 = ttur_r1("0.0008", "0.0002")
FASTER_R1 = ttur_r1("0.0016", "0.0004")
FASTEST_R1 = ttur_r1("0.0032", "0.0008")
CANDIDATES.update({
    "ttur-fast-r1-b50": ([*FAST_R1, "train.batch_size=50"], "D 8e-4, G 2e-4, R1, batch 50"),
    "ttur-faster-r1": (FASTER_R1, "two time scales at four times the rates (D 1.6e-3, G 4e-4), R1"),
})
# Round 5: D without dropout (round 3's best recall) with the faster rates, and the rates faster still
# (round 4: each doubling of both rates helped).
NO_DROPOUT = ["discriminator.input_keep=1.0", "discriminator.hidden_keep=1.0"]
CANDIDATES.update({
    "fast-r1-nodrop": ([*FAST_R1, *NO_DROPOUT], "D 8e-4, G 2e-4, R1, no dropout in D"),
    "faster-r1-nodrop": ([*FASTER_R1, *NO_DROPOUT], "D 1.6e-3, G 4e-4, R1, no dropout in D"),
    "fastest-r1": (FASTEST_R1, "two time scales at eight times the rates (D 3.2e-3, G 8e-4), R1"),
})
# Round 6: round 5's best (no dropout, D 1.6e-3, G 4e-4) at the rates faster still.
CANDIDATES.update({
    "fastest-r1-nodrop": ([*FASTEST_R1, *NO_DROPOUT], "D 3.2e-3, G 8e-4, R1, no dropout in D"),
})
# Round 7: doubling again (D 6.4e-3, G 1.6e-3), and G's rate closer to D's (half instead of a quarter).
CANDIDATES.update({
    "x16-r1-nodrop": ([*ttur_r1("0.0064", "0.0016"), *NO_DROPOUT], "D 6.4e-3, G 1.6e-3, R1, no dropout in D"),
    "fastest-g2-r1-nodrop": ([*ttur_r1("0.0032", "0.0016"), *NO_DROPOUT],
                             "D 3.2e-3, G 1.6e-3 (half D's), R1, no dropout in D"),
})
# Round 8: the two stabilisers the search had not tried, each in R1's place in the chosen recipe
# (faster-r1-nodrop): spectral normalisation of D's weights, and instance noise (sigma 0.1 on D's
# inputs, annealed to 0 over the run).
FASTER = [*ADAM, "optim.g_lr=0.0004", "optim.d_lr=0.0016", "optim.lr=0.0004", "train.ema_decay=0.999"]
CANDIDATES.update({
    "faster-sn-nodrop": ([*FASTER, *NO_DROPOUT, "discriminator.spectral_norm=true"],
                         "D 1.6e-3, G 4e-4, spectral normalisation of D instead of R1, no dropout in D"),
    "faster-noise-nodrop": ([*FASTER, *NO_DROPOUT, "loss.instance_noise=0.1"],
                            "D 1.6e-3, G 4e-4, instance noise (0.1, annealed) instead of R1, no dropout in D"),
})


# ----------------------------------------------------------------------------------------------
# results file


def load_results(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {"calibration": {}, "runs": {}}


def save_results(path: Path, results: dict) -> None:
    from advnets.fileio import atomic_write_bytes

    atomic_write_bytes(path, (json.dumps(results, indent=1, sort_keys=True) + "\n").encode())


def run_key(name: str, seed: int, threads: int) -> str:
    return f"{name}/seed{seed}/threads{threads}"


# ----------------------------------------------------------------------------------------------
# stages


def _iteration_timer(name: str, data_dir: str):
    """A function that runs `n` iterations of candidate `name` and returns the seconds they took."""
    from advnets.config import load_config
    from advnets.train import build_game, plan_training
    from advnets.train.algorithm import train_iteration

    overrides, _ = CANDIDATES[name]
    game = build_game(plan_training(load_config("paper-mnist", [*overrides, f"data.dir={data_dir}", "device=cpu"])))

    def timed(n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            train_iteration(game)
        return time.perf_counter() - started

    return timed


def cost_signature(name: str) -> str:
    """What decides a candidate's cost per update: its config without SAME_COST_KEYS."""
    from advnets.config import flatten, load_config, to_dict

    cfg = flatten(to_dict(load_config("paper-mnist", [*CANDIDATES[name][0], "device=cpu"])))
    cfg["loss.r1_gamma"] = cfg["loss.r1_gamma"] > 0  # R1's cost is whether it is on, not its weight
    return json.dumps({k: v for k, v in sorted(cfg.items()) if k not in SAME_COST_KEYS})


def calibrate(name: str, data_dir: str, iterations: int = 60, windows: int = 7) -> dict:
    """Candidate `name`'s cost per update relative to the former fast-mnist on 2 threads (windows of the two
    interleaved, so that the machine's drifts in speed cancel: the median of the ratios), and so the updates
    the main job's budget buys it: fast-mnist's 5,000 updates (about 4 minutes of training) times the ratio."""
    from advnets.config import changed_keys, load_config

    configs = [load_config("paper-mnist", [*CANDIDATES[n][0], "device=cpu"]) for n in (REFERENCE, name)]
    if set(changed_keys(*configs)) <= SAME_COST_KEYS:  # the same operations on the same shapes: the same time
        return {"relative_speed": 1.0, "steps": REFERENCE_STEPS, "reference": f"{REFERENCE} at {REFERENCE_STEPS} "
                "updates", "measured": False, "why": "the same operations as the reference (rates or targets differ)"}
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        reference, candidate = _iteration_timer(REFERENCE, data_dir), _iteration_timer(name, data_dir)
        reference(20), candidate(20)  # warm-up: buffers, caches
        pairs = [(reference(iterations), candidate(iterations)) for _ in range(windows)]
    finally:
        torch.set_num_threads(before)
    ratio = statistics.median(ref / cand for ref, cand in pairs)  # candidate's updates per reference update
    steps = max(100, round(REFERENCE_STEPS * ratio / 100) * 100)
    return {"relative_speed": ratio, "steps": steps, "reference": f"{REFERENCE} at {REFERENCE_STEPS} updates", "measured": True,
            "iterations_per_s": iterations / statistics.median(cand for _, cand in pairs), "threads": 2,
            "cpu": _cpu(), "torch": torch.__version__, "date": time.strftime("%Y-%m-%d")}


def train_run(name: str, seed: int, threads: int, steps: int, runs: Path, data_dir: str) -> Path:
    """The candidate's run (advnets train, a fresh process with `threads` threads), resumed if interrupted."""
    overrides, _ = CANDIDATES[name]
    run = runs / f"{name}-s{seed}-t{threads}"
    settings = [*overrides, *QUIET, f"seed={seed}", f"threads={threads}", f"train.steps={steps}",
                f"train.checkpoint_every={max(steps // 4, 100)}", f"train.sample_every={steps}"]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    if (run / "training-state.safetensors").exists():
        argv = ["train", "--resume", str(run), "--set", f"threads={threads}", "train.progress=false"]
    else:
        argv = ["train", "paper-mnist", "--out", str(run), "--data-dir", data_dir, "--set", *settings]
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "advnets", *argv], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{run}: {(result.stderr.strip().splitlines() or ['?'])[-1]}")
    (run / "search-wall-s.txt").write_text(f"{time.perf_counter() - started:.1f}\n")
    return run


_REAL: dict[str, torch.Tensor] = {}


def real_features(split: str, data_dir: str) -> torch.Tensor:
    """The shipped classifier's features of the split's first 10,000 images (valid: train[50000:60000])."""
    from advnets.data import registry
    from advnets.metrics.classifier_features import classifier_features

    if split not in _REAL:
        images, _ = registry.get("mnist").load_images(split, data_dir)
        _REAL[split] = classifier_features("mnist", images[:N])
    return _REAL[split]


def score(run: Path, split: str, sample_seed: int, data_dir: str) -> dict:
    """The classifier-feature metrics and the class histogram of 10,000 samples of the run's G (its moving
    average), against the split's images."""
    from advnets.metrics.classifier_features import class_histogram, classifier_features, feature_metrics
    from advnets.sampling import generate
    from advnets.snapshot import load_snapshot

    snap = load_snapshot(run / "network-latest.safetensors")
    samples = generate(snap.generator, N, seed=sample_seed)
    row = feature_metrics(real_features(split, data_dir), classifier_features("mnist", samples), sample_seed)
    return {**row, **class_histogram("mnist", samples), "split": split, "sample_seed": sample_seed,
            "generator": snap.variant, "step": snap.step}


def do_runs(jobs: list[tuple[str, int, int]], args, results: dict, split: str = "valid") -> None:
    """Train and score the (candidate, seed, threads) runs not in the results yet; 1-thread runs may share
    the machine (--jobs), 2-thread runs go one at a time (their result does not depend on it, their time does)."""
    todo = [job for job in jobs if run_key(*job) not in results["runs"]]

    def one(job):
        name, seed, threads = job
        steps = results["calibration"][name]["steps"]
        run = train_run(name, seed, threads, steps, Path(args.runs), args.data_dir)
        return job, run

    for group in ([j for j in todo if j[2] == 1], [j for j in todo if j[2] != 1]):
        width = args.jobs if group and group[0][2] == 1 else 1
        with ThreadPoolExecutor(max_workers=width) as pool:
            for (name, seed, threads), run in pool.map(one, group):
                row = score(run, split, 0, args.data_dir)
                row.update(candidate=name, seed=seed, threads=threads, run=str(run),
                           wall_s=float((run / "search-wall-s.txt").read_text()))
                results["runs"][run_key(name, seed, threads)] = row
                save_results(Path(args.results), results)
                print(f"  {run_key(name, seed, threads):32s} FID {row['fid_mnistclf']:7.1f}  recall "
                      f"{row['recall']:.3f}  coverage {row['coverage']:.3f}  KL(classes) {row['class_kl_uniform']:.3f}",
                      flush=True)


def ranked(results: dict) -> list[str]:
    """Candidates by their screen's validation FID (lower first)."""
    screened = {k.split("/")[0]: r for k, r in results["runs"].items() if k.endswith("/seed0/threads2")}
    return sorted(screened, key=lambda name: screened[name]["fid_mnistclf"])


def confirmed(results: dict) -> list[tuple[str, float, float]]:
    """Candidates with all 6 runs as (name, median FID, worst FID), by their worst validation FID, then the
    median: a user trains one run, and the worst of the 6 is what the recipe can promise."""
    out = []
    for name in CANDIDATES:
        rows = [results["runs"].get(run_key(name, s, t)) for s in SEEDS for t in THREADS]
        if all(rows):
            fids = [r["fid_mnistclf"] for r in rows]
            out.append((name, statistics.median(fids), max(fids)))
    return sorted(out, key=lambda item: (item[2], item[1]))


def test_stage(name: str, args, results: dict) -> None:
    """The chosen candidate on the test split: its 6 runs x 5 sample sets (done once, at the end)."""
    test = results.setdefault("test", {})
    for seed in SEEDS:
        for threads in THREADS:
            row = results["runs"][run_key(name, seed, threads)]
            run = Path(row["run"])
            if not (run / "network-latest.safetensors").exists():  # trained elsewhere: train it again here
                run = train_run(name, seed, threads, results["calibration"][name]["steps"], Path(args.runs),
                                args.data_dir)
                again = score(run, "valid", 0, args.data_dir)["fid_mnistclf"]
                print(f"  {run_key(name, seed, threads)} retrained: validation FID {again:.3f} (the search's "
                      f"{row['fid_mnistclf']:.3f}; equal on the CPU that trained it, rounding apart elsewhere)")
            for sample_seed in SAMPLE_SEEDS_TEST:
                key = f"{run_key(name, seed, threads)}/samples{sample_seed}"
                if key not in test:
                    test[key] = score(run, "test", sample_seed, args.data_dir)
                    save_results(Path(args.results), results)
    results["chosen"] = name
    save_results(Path(args.results), results)


# ----------------------------------------------------------------------------------------------
# tables


def print_tables(results: dict) -> None:
    cal = results["calibration"]
    print(f"Screen: seed 0, 2 threads, validation split, 10,000 samples (budget: {REFERENCE_STEPS} updates of "
          f"{REFERENCE}'s cost, about {BUDGET_S / 60:.0f} minutes)")
    print(f"| candidate | what it changes | speed vs {REFERENCE} | updates | FID_mnistclf | precision | recall | "
          f"coverage | classes KL | largest class |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in ranked(results):
        r = results["runs"][run_key(name, 0, 2)]
        top = max(range(10), key=lambda c: r["class_histogram"][c])
        print(f"| {name} | {CANDIDATES[name][1]} | {cal[name]['relative_speed']:.2f}x | {cal[name]['steps']} | "
              f"{r['fid_mnistclf']:.1f} | {r['precision']:.3f} | {r['recall']:.3f} | {r['coverage']:.3f} | "
              f"{r['class_kl_uniform']:.3f} | {top}: {100 * r['class_histogram'][top]:.1f}% |")
    rows = confirmed(results)
    if rows:
        print("\nConfirm: seeds 0-2 x 1 and 2 threads, validation split (median [worst] of the 6 runs; ranked by the "
              "worst, then the median)")
        print("| candidate | FID_mnistclf | recall | coverage | classes KL | each run's FID (seed/threads) |")
        print("|---|---|---|---|---|---|")
        for name, median_fid, worst in rows:
            runs = [results["runs"][run_key(name, s, t)] for s in SEEDS for t in THREADS]

            def med(key):
                values = [r[key] for r in runs]
                return f"{statistics.median(values):.3f} [{(max if key in ('fid_mnistclf', 'class_kl_uniform') else min)(values):.3f}]"

            each = ", ".join(f"{r['fid_mnistclf']:.0f} ({r['seed']}/{r['threads']})" for r in runs)
            print(f"| {name} | {median_fid:.1f} [{worst:.1f}] | {med('recall')} | {med('coverage')} | "
                  f"{med('class_kl_uniform')} | {each} |")
    if results.get("test"):
        name = results.get("chosen")
        print(f"\nTest split, {name}: each run's mean over 5 sample sets (seeds 0-4); then the median [worst] run")
        per_run = {}
        for key, row in results["test"].items():
            per_run.setdefault(key.rsplit("/", 1)[0], []).append(row)
        summary = {k: {m: statistics.mean(r[m] for r in rows) for m in ("fid_mnistclf", "precision", "recall",
                                                                        "coverage", "class_kl_uniform")}
                   for k, rows in per_run.items()}
        print("| run | FID_mnistclf | precision | recall | coverage | classes KL | smallest / largest class |")
        print("|---|---|---|---|---|---|---|")
        for k, m in summary.items():
            shares = [statistics.mean(r["class_histogram"][c] for r in per_run[k]) for c in range(10)]
            print(f"| {k} | {m['fid_mnistclf']:.1f} | {m['precision']:.3f} | {m['recall']:.3f} | {m['coverage']:.3f} | "
                  f"{m['class_kl_uniform']:.3f} | {100 * min(shares):.1f}% / {100 * max(shares):.1f}% |")
        for metric in ("fid_mnistclf", "recall", "coverage"):
            values = [m[metric] for m in summary.values()]
            worst = max(values) if metric == "fid_mnistclf" else min(values)
            print(f"{metric}: median {statistics.median(values):.3f}, worst {worst:.3f}")
        shares = [share for row in results["test"].values() for share in row["class_histogram"]]
        print(f"every class's share of the samples, over every run and sample set: {100 * min(shares):.1f}% to "
              f"{100 * max(shares):.1f}%")


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=os.environ.get("ADVNETS_DATA"))
    p.add_argument("--results", default="experiments/results/cpu_recipe.json")
    p.add_argument("--runs", default="runs/cpu-recipe")
    p.add_argument("--stage", nargs="+", default=[], choices=["calibrate", "screen", "confirm", "test"])
    p.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=list(CANDIDATES))
    p.add_argument("--top", type=int, default=3, help="candidates the confirm stage runs 6 times (default 3)")
    p.add_argument("--jobs", type=int, default=2, help="1-thread runs at once (default 2)")
    p.add_argument("--choose", help="test: this candidate instead of the confirm stage's best")
    p.add_argument("--table", action="store_true", help="print the tables from --results")
    args = p.parse_args()
    results = load_results(Path(args.results))
    if "calibrate" in args.stage:
        for name in args.candidates:
            twin = next((other for other in results["calibration"] if cost_signature(other) == cost_signature(name)),
                        None)  # a candidate whose updates are the same operations: the same cost
            if twin is not None and name not in results["calibration"]:
                results["calibration"][name] = {**results["calibration"][twin], "same_cost_as": twin}
            if name not in results["calibration"]:
                results["calibration"][name] = calibrate(name, args.data_dir)
            save_results(Path(args.results), results)
            c = results["calibration"][name]
            print(f"  {name:18s} {c['relative_speed']:5.2f}x {REFERENCE}'s speed -> {c['steps']} updates"
                  + (f" (as {c['same_cost_as']})" if "same_cost_as" in c else ""), flush=True)
    if "screen" in args.stage:
        do_runs([(name, 0, 2) for name in args.candidates], args, results)
    if "confirm" in args.stage:
        best = ranked(results)[: args.top]
        print(f"confirming {', '.join(best)}")
        do_runs([(name, s, t) for name in best for s in SEEDS for t in THREADS], args, results)
    if "test" in args.stage:
        chosen = args.choose or confirmed(results)[0][0]
        test_stage(chosen, args, results)
    if args.table or args.stage:
        print_tables(results)


if __name__ == "__main__":
    main()
