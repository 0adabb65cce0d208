"""Runs written by advnets 0.1.0, before the layout of issue 17 (tests/fixtures/v0.1.0, made by its
make.sh with that version's command line), still load, sample, evaluate and resume as they did.

On the machine and PyTorch that wrote them (written-by.json) every number must be bit-identical;
elsewhere floating-point results may differ in their last bits (matrix kernels differ between CPUs),
so floats are compared to a tolerance there, while integers (random-generator states, counters,
data positions) must still be identical."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from advnets.cli import main
from advnets.train.checkpoint import load_training_state
from advnets.train.rundir import read_stats
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "v0.1.0"
WRITTEN_BY = json.loads((FIXTURES / "written-by.json").read_text())
CASES = ("mnist", "ring", "cond-mnist")


def _cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return ""
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "")


SAME_MACHINE = (WRITTEN_BY["torch"], WRITTEN_BY["cpu"], WRITTEN_BY["cpu_capability"]) == (
    torch.__version__, _cpu_model(), torch.backends.cpu.get_cpu_capability())


def _assert_same(new: torch.Tensor, old: torch.Tensor, what: str) -> None:
    assert new.dtype == old.dtype and new.shape == old.shape, what
    if SAME_MACHINE or not old.is_floating_point():
        assert torch.equal(new, old), what
    else:
        assert torch.allclose(new, old, rtol=1e-4, atol=1e-6), what


@pytest.fixture
def old_run(tmp_path, data_dir):
    """A writable copy of one fixture run (resuming and evaluating write into it)."""

    def copy(case: str) -> Path:
        run = tmp_path / case
        shutil.copytree(FIXTURES / case, run)
        return run

    return copy


@pytest.mark.parametrize("case, variant", [("mnist", "auto"), ("mnist", "live"), ("ring", "auto"),
                                           ("cond-mnist", "auto")])
def test_old_snapshots_load_and_sample_as_before(old_run, tmp_path, case, variant):
    run = old_run(case)
    out = tmp_path / "samples.npy"
    assert main(["sample", str(run), "--n", "16", "--seed", "0", "--generator", variant, "--out", str(out)]) == 0
    expected = np.load(FIXTURES / f"{case}-samples{'-live' if variant == 'live' else ''}.npy")
    _assert_same(torch.from_numpy(np.load(out)).float(), torch.from_numpy(expected).float(), case)


def test_old_runs_evaluate_as_before(old_run, data_dir, capsys):
    for case, metric, n, keys in [("mnist", "parzen", 100, ("mean", "se", "sigma")),
                                  ("ring", "modes", 500, ("modes", "high_quality", "counts"))]:
        run = old_run(case)
        before = read_stats(run, "metrics.jsonl")[-1]
        capsys.readouterr()
        assert main(["evaluate", str(run), "--metric", metric, "--n-samples", str(n), "--data-dir", str(data_dir)]) == 0
        row = json.loads(capsys.readouterr().out)
        assert (row["snapshot_sha256"], row["step"], row["generator"]) == \
            (before["snapshot_sha256"], before["step"], before["generator"])
        for key in keys:
            _assert_same(torch.tensor(row[key], dtype=torch.float64), torch.tensor(before[key], dtype=torch.float64),
                         f"{case} {key}")


@pytest.mark.parametrize("case", CASES)
def test_old_training_states_resume_as_if_never_stopped(old_run, case, data_dir):
    """The run stopped at step 10 by 0.1.0, resumed by this version to 20, equals 0.1.0's own
    uninterrupted run to 20: every tensor (networks, optimizer buffers, random states) and counter."""
    run = old_run(case)
    assert main(["train", "--resume", str(run), "--data-dir", str(data_dir), "--set", "train.steps=20"]) == 0
    new, new_header = load_training_state(run)
    old, old_header = load_training_state(FIXTURES / f"{case}-20")
    assert new.keys() - old.keys() == {"log_sums"} and old.keys() <= new.keys()  # 0.2: the unfinished log interval
    for key in old:
        _assert_same(new[key], old[key], f"{case}: {key}")
    for key in ("step", "d_updates", "g_updates", "data", "monitor"):
        if key == "monitor" and not SAME_MACHINE:
            continue  # validation scores are floats
        assert new_header[key] == old_header[key], key
    old_rows, new_rows = read_stats(FIXTURES / f"{case}-20"), read_stats(run)
    assert [r["step"] for r in new_rows] == [r["step"] for r in old_rows]
    for name in ("loss_d", "loss_g", "d_real", "d_fake", "lr", "momentum"):
        _assert_same(torch.tensor([r[name] for r in new_rows], dtype=torch.float64),
                     torch.tensor([r[name] for r in old_rows], dtype=torch.float64), f"{case}: {name}")


FIXTURE_200 = {  # tests/fixtures/v0.1.0/make-200.sh: 200 updates at batch 1000 (4 to 8 epochs)
    "simultaneous": [],
    "alternating-k2": ["train.schedule=alternating", "train.k=2"],
    "moving-average": ["train.ema_decay=0.99"],
    "conditional": ["data.conditional=true", "train.schedule=alternating", "train.k=2"],
    "inpainting": ["data.inpainting=true", "train.valid_every=0", "train.schedule=alternating", "train.k=2"],
}


# After 200 updates the floats differ between CPUs by more than a few roundings: a GAN's updates amplify
# them. Measured (2026-12-02) on an AMD EPYC (AVX512) against the fixtures written on an Intel Xeon (AVX512),
# largest absolute difference of any weight (weights up to 16 in size): simultaneous 4.9e-5, moving-average
# 4.9e-5, inpainting 1.1e-4, conditional 2.0e-3, alternating-k2 8.1e-3; the same on 1 and 2 threads. Away from
# the writing machine the weights are compared to 5x the largest of these; the integers (random states,
# counters, the data position) are machine-independent and stay bit-exact everywhere.
CROSS_CPU_ATOL_200 = 0.04


@pytest.mark.parametrize("case", FIXTURE_200)
def test_200_updates_train_as_0_1_0_did(case, tmp_path, data_dir):
    """The step with its counts, cursor, epoch orders, rates and average on the device (the state a CUDA
    graph replays) gives 0.1.0's weights after 200 updates across several epochs: bit for bit on the
    machine that wrote them, to the measured cross-CPU spread elsewhere (CROSS_CPU_ATOL_200)."""
    from advnets.config import load_config
    from advnets.tensorfile import load_tensors
    from advnets.train.loop import train

    base = ["generator.hidden=[8]", "discriminator.hidden=[4]", "discriminator.pieces=2", "train.batch_size=1000",
            "train.log_every=50", "train.sample_every=200", "train.checkpoint_every=200", "train.grid_size=16",
            "train.progress=false", "device=cpu", "train.steps=200", f"data.dir={data_dir}"]
    run = train(load_config("paper-mnist", [*base, *FIXTURE_200[case]]), tmp_path / case).run_dir
    new, header = load_tensors(run / "network-latest.safetensors")
    old, old_header = load_tensors(FIXTURES / "200" / f"{case}.safetensors")
    assert header["step"] == old_header["step"] == 200 and new.keys() == old.keys()
    for key in old:
        if SAME_MACHINE or not old[key].is_floating_point():
            _assert_same(new[key], old[key], f"{case}: {key}")
        else:
            assert new[key].dtype == old[key].dtype and new[key].shape == old[key].shape, key
            assert torch.allclose(new[key], old[key], rtol=0, atol=CROSS_CPU_ATOL_200), f"{case}: {key}"
