import pytest
import torch
from torch import nn

from advnets.cli import main
from advnets.errors import CheckpointError
from advnets.snapshot import BEST_LIVE_SNAPSHOT, BEST_SNAPSHOT, load_snapshot
from advnets.tensorfile import strip_prefix
from advnets.train.checkpoint import load_training_state
from advnets.train.ema import GeneratorAverage, ema_decay_at
from advnets.train.loop import train


def test_decay_warms_up_then_stays_at_its_value():
    assert ema_decay_at(0.9999, 1) == pytest.approx(2 / 11)
    assert ema_decay_at(0.9999, 90) == pytest.approx(91 / 100)
    assert ema_decay_at(0.9999, 10**6) == 0.9999
    assert ema_decay_at(0.5, 1) == 2 / 11 and ema_decay_at(0.5, 10) == 0.5


def test_average_follows_the_formula():
    torch.manual_seed(0)
    g = nn.Linear(3, 2)
    avg = GeneratorAverage(g, 0.9)
    expected = [p.detach().clone() for p in g.parameters()]
    for t in range(1, 6):
        with torch.no_grad():
            for p in g.parameters():
                p.add_(torch.randn_like(p))
        avg.update(g, t)
        beta = min(0.9, (1 + t) / (10 + t))
        expected = [beta * e + (1 - beta) * p.detach() for e, p in zip(expected, g.parameters())]
    for e, a in zip(expected, avg.model.parameters()):
        torch.testing.assert_close(a, e, rtol=0, atol=1e-6)
    assert not any(p.requires_grad for p in avg.model.parameters()) and not avg.model.training


def test_average_leaves_training_unchanged_and_is_saved(tiny_mnist, tmp_path):
    plain = train(tiny_mnist("train.steps=10"), tmp_path / "plain")
    averaged = train(tiny_mnist("train.steps=10", "train.ema_decay=0.9", "train.valid_every=5",
                                "train.valid_samples=100"), tmp_path / "ema")
    a, _ = load_training_state(plain.run_dir)
    b, _ = load_training_state(averaged.run_dir)
    for key in a:  # the live game (both networks, optimizers, RNG) is bit-identical with or without the average
        assert torch.equal(a[key], b[key]), key
    live, ema = strip_prefix("generator", b), strip_prefix("generator_ema", b)
    assert live.keys() == ema.keys() and not all(torch.equal(live[k], ema[k]) for k in live)
    # a run directory gives the average by default; --generator live gives the best live G
    snap = load_snapshot(averaged.run_dir)
    assert snap.variant == "ema" and snap.path.name == BEST_SNAPSHOT
    live_snap = load_snapshot(averaged.run_dir, variant="live")
    assert live_snap.variant == "live" and live_snap.path.name == BEST_LIVE_SNAPSHOT
    row = averaged.last_stats
    assert {"parzen_valid", "parzen_valid_live", "best_step", "best_step_live"} <= row.keys()
    assert load_snapshot(averaged.run_dir / BEST_LIVE_SNAPSHOT).variant == "live"  # holds no average
    with pytest.raises(CheckpointError, match="holds no moving average of G"):
        load_snapshot(plain.run_dir, variant="ema")


def test_export_writes_one_generator_that_samples_alike(tiny_mnist, tmp_path, capsys):
    run = train(tiny_mnist("train.steps=10", "train.ema_decay=0.9"), tmp_path / "run").run_dir
    out = tmp_path / "shipped"
    assert main(["export", str(run), "--out", str(out)]) == 0
    exported = load_snapshot(out)  # a directory holding generator.safetensors
    source = load_snapshot(run)
    assert exported.discriminator is None and exported.variant == "ema" and exported.step == source.step
    for p, q in zip(exported.generator.parameters(), source.generator.parameters()):
        assert torch.equal(p, q)
    size = (out / "generator.safetensors").stat().st_size
    assert size < (run / "network-latest.safetensors").stat().st_size / 2
    assert main(["sample", str(out), "--n", "8", "--out", str(tmp_path / "s.npy")]) == 0
    capsys.readouterr()
    # the one generator it holds is the average: asking for the live one is refused in one line
    assert main(["sample", str(out), "--n", "8", "--generator", "live", "--out", str(tmp_path / "t.npy")]) == 2
    err = capsys.readouterr().err
    assert "holds no live G" in err and err.count("\n") == 1
    # an existing export is never overwritten without --force
    assert main(["export", str(run), "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
