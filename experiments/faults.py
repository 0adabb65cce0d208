"""Fault injection: what clusters and disks do to runs, done to real `advnets train` processes, many
times, with the outcome of each trial checked (docs/reliability.md holds its table).

Faults: kill -9 at random times, kill -9 while a checkpoint file is being written, SIGTERM at random
times, a full disk (a small tmpfs; needs root), a file system turned read-only mid-run (tmpfs
remounted; needs root), divergence to NaN (a huge learning rate; stop and rollback), and two
launches into one folder / a resume of a run that is still training. After each fault the run must
hold only readable checkpoints, say what happened in one line (exit status 143 for SIGTERM, 2 for
user and disk errors, 3 for divergence), and, resumed to the end, equal a run never interrupted:
every tensor of the training state bit for bit and every statistic of stats.jsonl.

    python experiments/faults.py --trials 10            # about 5 minutes on 2 CPU cores
    python experiments/faults.py --trials 40 --cases toy-ring quick-mnist --out faults.md
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import torch

from advnets.tensorfile import load_tensors
from advnets.train.checkpoint import TRAINING_STATE, load_training_state, read_training_header
from advnets.train.rundir import read_stats

DATA = os.environ.get("ADVNETS_DATA") or str(Path(__file__).resolve().parents[2] / "shared" / "data")
SMALL = ["generator.hidden=[64]", "discriminator.hidden=[32]", "discriminator.pieces=2", "train.progress=false",
         "device=cpu", "train.log_every=10", "train.sample_every=100", "train.checkpoint_every=50",
         "train.grid_size=16"]
CASES = {  # name: (preset, overrides, steps)
    "toy-ring": ("toy-ring", [*SMALL, "train.batch_size=64"], 1500),
    "quick-mnist": ("paper-mnist", [*SMALL, f"data.dir={DATA}", "train.batch_size=100"], 600),
}
DETERMINISTIC = ("step", "epoch", "loss_d", "loss_g", "d_real", "d_fake", "lr", "lr_g", "momentum", "diversity")


def advnets(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "advnets.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def train_args(case: str, out: Path, *extra: str) -> list[str]:
    preset, overrides, steps = CASES[case]
    return ["train", preset, "--out", str(out), "--set", *overrides, f"train.steps={steps}", *extra]


def finish(proc: subprocess.Popen, timeout: float = 600) -> tuple[int, str]:
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err.strip()


def said(code: int, err: str, work: Path) -> str:
    """Exit status and the last line printed, with the trial's folders shortened (for the table)."""
    line = (err.splitlines() or [""])[-1].replace("advnets: error: ", "").replace("advnets: ", "")
    line = re.sub(r"step \d+", "step N", re.sub(re.escape(str(work)) + r"/[^/ :]+", "RUN", line))
    return f"{code} '{line[:75]}{'...' if len(line) > 75 else ''}'"


def resume(run: Path) -> tuple[int, str]:
    return finish(advnets("train", "--resume", str(run)))


def readable(run: Path) -> bool:
    """Every tensor file of the run loads (checksums included) and stats.jsonl reads."""
    try:
        for path in run.glob("*.safetensors"):
            load_tensors(path)
        read_stats(run)
        return True
    except Exception:  # noqa: BLE001 - any failure is what this counts
        return False


def equal_runs(run: Path, reference: Path) -> bool:
    a, ha = load_training_state(run)
    b, hb = load_training_state(reference)
    if a.keys() != b.keys() or any(not torch.equal(a[k], b[k]) for k in a):
        return False
    if (ha["step"], ha["d_updates"], ha["g_updates"]) != (hb["step"], hb["d_updates"], hb["g_updates"]):
        return False
    rows = lambda r: [[row.get(k) for k in DETERMINISTIC] for row in read_stats(r)]  # noqa: E731
    return rows(run) == rows(reference)


def wait_for(predicate, proc: subprocess.Popen, seconds: float) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline and proc.poll() is None:
        if predicate():
            return True
        time.sleep(0.002)
    return False


class Table:
    def __init__(self):
        self.rows: list[tuple[str, ...]] = []

    def add(self, fault: str, case: str, trials: int, outcomes: Counter, readable_ok: int, equal_ok: int | str,
            lost: int | str) -> None:
        shown = ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items()))
        self.rows.append((fault, case, str(trials), shown, f"{readable_ok}/{trials}",
                          equal_ok if isinstance(equal_ok, str) else f"{equal_ok}/{trials}", str(lost)))
        print(" | ".join(self.rows[-1]), flush=True)

    def markdown(self) -> str:
        head = ("fault", "run", "trials", "what the process said (exit status: count)", "checkpoints readable",
                "resumed = never stopped", "steps lost (max)")
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in self.rows])


def lost_steps(run: Path) -> int:
    """Steps logged beyond the checkpoint the run resumes from: the work a fault cost."""
    logged = max((r["step"] for r in read_stats(run)), default=0)
    return max(0, logged - read_training_header(run)["step"])


def kill_trials(case: str, reference: Path, trials: int, rng: random.Random, work: Path, table: Table,
                how: str) -> None:
    """kill -9 or SIGTERM at a random moment ("random"), or kill -9 while a file is being written."""
    outcomes, ok_read, ok_equal, lost, during_write = Counter(), 0, 0, 0, 0
    full_time = float(reference.joinpath("elapsed").read_text())
    for trial in range(trials):
        run = work / f"{case}-{how}-{trial}"
        proc = advnets(*train_args(case, run))
        if how == "write":
            writing = lambda: any(".tmp" in p.name for p in run.glob(".*"))  # noqa: E731
            wait_for(lambda: (run / TRAINING_STATE).exists(), proc, 120)
            time.sleep(rng.uniform(0, 0.5 * full_time))
            if wait_for(writing, proc, 60):
                during_write += 1
        else:
            time.sleep(rng.uniform(3.0, 3.0 + full_time))  # ~3 s of start-up (imports, data), then training
        proc.send_signal(signal.SIGTERM if how == "sigterm" else signal.SIGKILL)
        code, err = finish(proc)
        if code == 0:
            outcomes["finished before the fault"] += 1
        elif code == -9:
            outcomes["killed"] += 1
        else:
            outcomes[said(code, err, work)] += 1
        ok_read += readable(run)
        if (run / TRAINING_STATE).exists():
            lost = max(lost, lost_steps(run))
        if code != 0 and resume(run)[0] != 0:  # killed before it wrote a config: the folder is free again
            finish(advnets(*train_args(case, run)))
        ok_equal += (run / TRAINING_STATE).exists() and equal_runs(run, reference)
        shutil.rmtree(run, ignore_errors=True)
    fault = {"random": "kill -9 at a random time", "write": f"kill -9 during a file write ({during_write} hit one)",
             "sigterm": "SIGTERM at a random time"}[how]
    table.add(fault, case, trials, outcomes, ok_read, ok_equal, lost)


def nan_trials(case: str, work: Path, table: Table) -> None:
    lr = "optim.lr=1e6" if case == "quick-mnist" else "optim.lr=2"
    for mode in ("stop", "rollback"):
        run = work / f"{case}-nan-{mode}"
        code, err = finish(advnets(*train_args(case, run, "optim.name=momentum-sgd", lr,
                                               f"train.on_nonfinite={mode}")))
        finite = all(torch.isfinite(t).all() for p in run.glob("*.safetensors")
                     for t in load_tensors(p)[0].values() if t.is_floating_point())
        outcome = said(code, err, work) if code else "0 (finished)"
        if mode == "rollback" and code == 0:
            header = read_training_header(run)
            outcome += f"; {header['rollbacks']} rollback(s), lr x{header['lr_scale']:g}"
        table.add(f"NaN ({lr}), train.on_nonfinite={mode}", case, 1, Counter({outcome: 1}),
                  int(readable(run) and finite), "n/a", "n/a")
        shutil.rmtree(run, ignore_errors=True)


def concurrent_trials(case: str, trials: int, work: Path, table: Table) -> None:
    outcomes, ok_read = Counter(), 0
    for trial in range(trials):
        run = work / f"{case}-twice-{trial}"
        first, second = advnets(*train_args(case, run)), advnets(*train_args(case, run))
        codes = sorted([finish(first), finish(second)], key=lambda r: r[0])
        outcomes["one trained (0), one refused (2)" if [c for c, _ in codes] == [0, 2] else f"{codes}"] += 1
        # a resume while it trains
        runner = advnets("train", "--resume", str(run), "--set", "train.steps=100000")
        wait_for(lambda: False, runner, 4.0)
        code, err = resume(run)
        outcomes["resume while training refused (2)" if code == 2 and "being trained" in err else f"resume {code}"] += 1
        runner.send_signal(signal.SIGINT)
        finish(runner)
        ok_read += readable(run)
        shutil.rmtree(run, ignore_errors=True)
    table.add("two launches into one folder; a resume while training", case, trials, outcomes, ok_read, "n/a", "n/a")


def disk_trials(case: str, reference: Path, work: Path, table: Table, kind: str) -> None:
    """A full disk (tmpfs of a size that fills during the run), or a tmpfs made read-only mid-run."""
    mount = Path(tempfile.mkdtemp(dir=work))
    # full: room for the config, two checkpoints, three numbered snapshots and the images, then no more
    files = {p.name: p.stat().st_size for p in reference.iterdir() if p.is_file()}
    needed = 2 * (files[TRAINING_STATE] + files["network-latest.safetensors"]) + 3 * files["network-latest.safetensors"]
    size = f"{(needed + 300_000) // 1024}k" if kind == "full" else "50m"
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        table.add(f"{'full disk' if kind == 'full' else 'read-only disk'} (tmpfs)", case, 0,
                  Counter({"not run: mounting a tmpfs needs root": 0}), 0, "n/a", "n/a")
        return
    try:
        run = mount / "run"
        if kind == "full":
            code, err = finish(advnets(*train_args(case, run, "train.snapshot_every=50")))  # numbered ones fill it
            outcomes = Counter({said(code, err, mount): 1})
        else:  # a run on a file system that became read-only between two sessions: resume it, start one there
            finish(advnets(*train_args(case, run, f"train.steps={CASES[case][2] // 5}")))  # the later value wins
            subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
            outcomes = Counter()
            for argv in (["train", "--resume", str(run), "--set", f"train.steps={CASES[case][2]}"],
                         train_args(case, mount / "new")):
                code, err = finish(advnets(*argv))
                outcomes[f"{argv[1]}: {said(code, err, mount)}"] += 1
        ok = readable(run)
        lost = lost_steps(run) if (run / TRAINING_STATE).exists() else "n/a"
        subprocess.run(["mount", "-o", "remount,rw,size=200m", str(mount)], check=True)
        for old in run.glob("network-0*.safetensors"):
            old.unlink()  # the user frees space
        finish(advnets("train", "--resume", str(run), "--set", f"train.steps={CASES[case][2]}"))
        table.add({"full": f"full disk ({size}B tmpfs, numbered snapshots)",
                   "readonly": "read-only file system (--resume, --out)"}[kind],
                  case, 1, outcomes, int(ok), f"{int(equal_runs(run, reference))}/1", lost)
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def make_reference(case: str, work: Path) -> Path:
    run = work / f"{case}-reference"
    started = time.perf_counter()
    code, err = finish(advnets(*train_args(case, run)))
    assert code == 0, err
    (run / "elapsed").write_text(str(time.perf_counter() - started - 3.0))
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=10, help="trials per kill fault and case")
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args()
    rng, table = random.Random(args.seed), Table()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        for case in args.cases:
            reference = make_reference(case, work)
            for how in ("random", "write", "sigterm"):
                kill_trials(case, reference, args.trials, rng, work, table, how)
            nan_trials(case, work, table)
            concurrent_trials(case, max(1, args.trials // 5), work, table)
            for kind in ("full", "readonly"):
                disk_trials(case, reference, work, table, kind)
    print()
    print(table.markdown())
    if args.out:
        args.out.write_text(table.markdown() + "\n")


if __name__ == "__main__":
    main()
