import pytest
import torch

from advnets.cli import main
from advnets.snapshot import load_snapshot
from advnets.train.checkpoint import load_training_state
from advnets.train.loop import train
from advnets.train.rundir import read_stats


def _weights(run_dir):
    tensors, header = load_training_state(run_dir)
    return tensors, header


@pytest.mark.parametrize("make, extra", [
    ("tiny_mnist", []),  # released code: simultaneous, momentum SGD, schedules, dropout
    ("tiny_ring", ["train.schedule=alternating", "train.k=2"]),  # Algorithm 1 with k = 2 and Adam
    ("tiny_mnist", ["data.conditional=true", "train.schedule=alternating", "train.k=2"]),  # p(x | c)
    ("tiny_mnist", ["train.ema_decay=0.9", "train.valid_every=5", "train.valid_samples=200"]),  # G's average
    ("tiny_mnist", ["data.inpainting=true", "train.valid_every=0", "train.schedule=alternating", "train.k=2"]),
    # stabilisers: spectral normalisation's power-iteration vectors and instance noise's annealing
    ("tiny_mnist", ["discriminator.spectral_norm=true", "loss.instance_noise=0.2", "loss.instance_noise_steps=15"]),
])
def test_resume_equals_uninterrupted(request, tmp_path, make, extra):
    make = request.getfixturevalue(make)
    full = train(make(*extra, "train.steps=20"), tmp_path / "full")
    half = train(make(*extra, "train.steps=10"), tmp_path / "split")
    assert half.step == 10
    resumed = train(make(*extra, "train.steps=20"), tmp_path / "split", resume=True)
    assert resumed.step == 20
    a, ha = _weights(full.run_dir)
    b, hb = _weights(resumed.run_dir)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key  # bit-identical, optimizer buffers and RNG included
    assert (ha["d_updates"], ha["g_updates"]) == (hb["d_updates"], hb["g_updates"])
    assert [r["step"] for r in read_stats(full.run_dir)] == [r["step"] for r in read_stats(resumed.run_dir)]
    assert [r["loss_d"] for r in read_stats(full.run_dir)] == [r["loss_d"] for r in read_stats(resumed.run_dir)]


def test_cli_resume_and_refusal(tiny_ring, tmp_path, capsys):
    from advnets.train.rundir import create_run_dir

    run = tmp_path / "run"
    args = ["train", "toy-ring", "--out", str(run), "--set", "train.steps=10", "train.progress=false",
            "train.log_every=5", "train.checkpoint_every=5", "train.batch_size=32", "device=cpu"]
    assert main(args) == 0
    # continuing to a higher step count is allowed (train.steps may change) ...
    assert main(["train", "--resume", str(run), "--set", "train.steps=15"]) == 0
    assert load_snapshot(run).step == 15
    # ... a changed hyper-parameter is refused, with the key named, and nothing is written
    before = (run / "training-state.safetensors").read_bytes()
    assert main(["train", "--resume", str(run), "--set", "train.steps=20", "optim.lr=0.5"]) == 2
    err = capsys.readouterr().err
    assert "refusing to resume" in err and "optim.lr: 0.001 -> 0.5" in err and err.count("\n") == 1
    assert (run / "training-state.safetensors").read_bytes() == before
    # an existing run directory is never overwritten by a new run
    assert main(args) == 2
    assert "already exists and is not empty" in capsys.readouterr().err
    assert create_run_dir(None, "x", tmp_path / "runs").name == "00000-x"
    assert create_run_dir(None, "x", tmp_path / "runs").name == "00001-x"


def test_resume_may_add_an_annealing_that_has_not_begun(tiny_mnist, tmp_path, capsys):
    """A run resumed with a later annealing equals a fresh run of the annealed config, bit for bit;
    an annealing that would already have acted is refused."""
    anneal = ["optim.lr_anneal_from=10", "optim.lr_anneal=1.05"]
    fresh = train(tiny_mnist(*anneal, "train.steps=20"), tmp_path / "fresh")
    first = train(tiny_mnist("train.steps=10", "train.checkpoint_every=10"), tmp_path / "branch")
    assert main(["train", "--resume", str(first.run_dir), "--set", "train.steps=20", *anneal]) == 0
    a, b = _weights(fresh.run_dir)[0], _weights(first.run_dir)[0]
    assert all(torch.equal(a[key], b[key]) for key in a)
    lr = {r["step"]: r["lr"] for r in read_stats(first.run_dir)}
    assert lr == {r["step"]: r["lr"] for r in read_stats(fresh.run_dir)} and lr[20] < lr[10] / 1.04**9
    capsys.readouterr()
    assert main(["train", "--resume", str(first.run_dir), "--set", "train.steps=30", "optim.lr_anneal=1.1"]) == 2
    assert "optim.lr_anneal: 1.05 -> 1.1" in capsys.readouterr().err  # it began at update 10


def test_validation_keeps_the_best_snapshot_and_survives_resume(tiny_mnist, tmp_path):
    from advnets.snapshot import BEST_SNAPSHOT, resolve_snapshot_path

    extra = ["train.valid_every=5", "train.valid_samples=200"]
    full = train(tiny_mnist(*extra, "train.steps=20"), tmp_path / "full")
    rows = [r for r in read_stats(full.run_dir) if "parzen_valid" in r]
    assert [r["step"] for r in rows] == [5, 10, 15, 20]
    best = max(rows, key=lambda r: r["parzen_valid"])
    assert rows[-1]["best_valid"] == best["parzen_valid"] and rows[-1]["best_step"] == best["step"]
    assert all(r["best_valid"] == max(q["parzen_valid"] for q in rows if q["step"] <= r["step"]) for r in rows)
    assert resolve_snapshot_path(full.run_dir).name == BEST_SNAPSHOT  # sample/evaluate use the best
    assert load_snapshot(full.run_dir).step == best["step"]
    # a run stopped at step 10 and resumed keeps tracking the same best
    train(tiny_mnist(*extra, "train.steps=10"), tmp_path / "split")
    resumed = train(tiny_mnist(*extra, "train.steps=20"), tmp_path / "split", resume=True)
    assert resumed.last_stats["best_step"] == best["step"]
    assert [r.get("parzen_valid") for r in read_stats(resumed.run_dir)] == \
        [r.get("parzen_valid") for r in read_stats(full.run_dir)]


def test_tensorboard_logging_is_optional_and_explained(tiny_ring, tmp_path, monkeypatch):
    import sys

    train(tiny_ring("train.tensorboard=true", "train.steps=10"), tmp_path / "tb")
    assert list((tmp_path / "tb" / "tensorboard").glob("events.out.tfevents.*"))
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if the package were missing
    from advnets.errors import ConfigError

    with pytest.raises(ConfigError, match="the tensorboard package is not installed"):
        train(tiny_ring("train.tensorboard=true", "train.steps=10"), tmp_path / "tb2")
