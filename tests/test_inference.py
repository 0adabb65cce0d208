import json

import pytest
import torch

from advnets.cli import main
from advnets.config import load_config
from advnets.inference import train_encoder
from advnets.metrics.inference import inference_report
from advnets.models import build_generator
from advnets.snapshot import ENCODER_FILE, load_snapshot
from advnets.tensorfile import strip_prefix
from advnets.train.checkpoint import load_training_state
from advnets.train.loop import train


def test_an_encoder_learns_to_invert_a_fixed_generator():
    cfg = load_config("paper-mnist", ["generator.z_dim=8", "generator.hidden=[64]", "generator.init_range=0.5"])
    torch.manual_seed(0)
    G = build_generator(cfg, (1, 28, 28), torch.full((1, 28, 28), 0.13))
    before = [p.detach().clone() for p in G.parameters()]
    E, curve = train_encoder(G, steps=600, batch_size=64, lr=3e-3, hidden=(128,), seed=0, log_every=100)
    assert all(torch.equal(a, b) for a, b in zip(before, G.parameters()))  # G is never updated
    assert curve[0][1] > 3 * curve[-1][1]
    test = torch.rand(50, 1, 28, 28)
    report = inference_report(G, E, test, test.mean(0), n_generated=500, n_search=200)
    assert report["z_mse_generated"] < 0.25 < 0.9 < report["z_mse_of_prior_mean"]


def test_the_joint_encoder_leaves_the_game_unchanged_and_resumes_exactly(tiny_mnist, tmp_path):
    joint = ["inference.joint=true", "inference.hidden=[16]", "train.valid_every=0"]
    plain = train(tiny_mnist("train.valid_every=0", "train.steps=20"), tmp_path / "plain")
    full = train(tiny_mnist(*joint, "train.steps=20"), tmp_path / "full")
    train(tiny_mnist(*joint, "train.steps=10"), tmp_path / "split")
    resumed = train(tiny_mnist(*joint, "train.steps=20"), tmp_path / "split", resume=True)
    a, _ = load_training_state(plain.run_dir)
    b, _ = load_training_state(full.run_dir)
    c, _ = load_training_state(resumed.run_dir)
    assert all(torch.equal(a[k], b[k]) for k in a)  # E draws its own noise: the game is as without it
    assert b.keys() == c.keys() and all(torch.equal(b[k], c[k]) for k in b)  # E and its optimizer resume exactly
    assert strip_prefix("encoder", b) and load_snapshot(full.run_dir).encoder is not None


def test_infer_fits_once_reuses_and_refuses_other_settings(tiny_mnist, tmp_path, capsys):
    run = train(tiny_mnist("train.valid_every=0", "train.steps=10"), tmp_path / "run").run_dir
    args = ["infer", str(run), "--steps", "30", "--n", "50", "--batch-size", "20"]
    assert main([*args, "--out", str(tmp_path / "recon.png")]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["encoder"] == "fixed-G" and not first["fit_reused"] and (run / ENCODER_FILE).is_file()
    assert (tmp_path / "recon.png").is_file()
    assert main(args) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["fit_reused"] and second["z_mse_generated"] == first["z_mse_generated"]
    assert main([*args[:3], "40", *args[4:]]) == 2  # other settings: refused without --refit
    err = capsys.readouterr().err
    assert "fitted with other settings" in err and "--refit" in err and err.count("\n") == 1
    saved = (run / ENCODER_FILE).read_bytes()
    assert main([*args, "--out", str(tmp_path / "recon.png")]) == 2  # an existing figure is kept...
    assert "exists" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "recon.png"), "--force"]) == 0  # ...--force redraws it
    assert json.loads(capsys.readouterr().out)["fit_reused"] and (run / ENCODER_FILE).read_bytes() == saved
    assert main([*args[:3], "40", *args[4:], "--refit"]) == 0  # --refit fits and saves a new E
    assert not json.loads(capsys.readouterr().out)["fit_reused"] and (run / ENCODER_FILE).read_bytes() != saved
    assert main(["infer", str(run), "--joint"]) == 2
    assert "holds no joint inference network" in capsys.readouterr().err
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["metric"] for r in rows] == ["inference"] * 4


def test_evaluate_inference_uses_the_fitted_or_the_joint_encoder(tiny_mnist, tmp_path, capsys):
    run = train(tiny_mnist("train.valid_every=0", "train.steps=10"), tmp_path / "run").run_dir
    assert main(["evaluate", str(run), "--metric", "inference", "--n-samples", "50"]) == 2
    assert "fit one with advnets infer" in capsys.readouterr().err
    assert main(["infer", str(run), "--steps", "30", "--n", "50", "--batch-size", "20"]) == 0
    fitted = json.loads(capsys.readouterr().out)
    assert main(["evaluate", str(run), "--metric", "inference", "--n-samples", "50"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["encoder"] == "fixed-G" and row["z_mse_generated"] == fitted["z_mse_generated"]
    joint = train(tiny_mnist("train.valid_every=0", "train.steps=10", "inference.joint=true", "inference.hidden=[16]"),
                  tmp_path / "joint").run_dir
    assert main(["evaluate", str(joint), "--metric", "inference", "--n-samples", "50"]) == 0
    assert json.loads(capsys.readouterr().out)["encoder"] == "joint"
