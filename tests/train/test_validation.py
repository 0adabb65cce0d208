"""train.valid_metric: model selection by validation Parzen or by validation FID (advnets.train.validation)."""

import pytest
import torch

from advnets.cli import main
from advnets.config import load_config
from advnets.errors import ConfigError
from advnets.snapshot import BEST_SNAPSHOT, LATEST_SNAPSHOT, load_snapshot
from advnets.train.loop import train
from advnets.train.rundir import read_stats
from tests.conftest import TINY


def _weights(path):
    return {k: v.clone() for k, v in load_snapshot(path).generator.state_dict().items()}


def test_selection_by_validation_fid_keeps_the_lowest_and_leaves_training_as_it_was(tiny_mnist, tmp_path):
    from advnets import runtime
    from advnets.metrics.classifier_features import classifier_features, frechet_distance, reference_features
    from advnets.sampling import generate

    steps = ["train.steps=30", "train.valid_every=5", "train.valid_samples=300"]
    fid_run, parzen_run, plain_run = tmp_path / "fid", tmp_path / "parzen", tmp_path / "plain"
    train(tiny_mnist(*steps, "train.valid_metric=fid"), fid_run)
    train(tiny_mnist(*steps), parzen_run)
    train(tiny_mnist("train.steps=30"), plain_run)
    rows = [r for r in read_stats(fid_run) if "fid_valid" in r]
    assert [r["step"] for r in rows] == [5, 10, 15, 20, 25, 30] and all("parzen_valid" not in r for r in rows)
    best = min(rows, key=lambda r: r["fid_valid"])
    assert rows[-1]["best_valid"] == best["fid_valid"] and rows[-1]["best_step"] == best["step"]  # lower is better
    assert load_snapshot(fid_run / BEST_SNAPSHOT).step == best["step"]
    # the number is FID of the kept G's samples (the validation seed) against the validation split, recomputed
    snap = load_snapshot(fid_run / BEST_SNAPSHOT)
    samples = generate(snap.generator, 300, seed=runtime.stream_seed("validation", snap.config.seed))
    recomputed = frechet_distance(reference_features("mnist", snap.config.data.dir, "valid"),
                                  classifier_features("mnist", samples))
    assert recomputed == pytest.approx(best["fid_valid"], abs=1e-9)
    parzen_rows = [r for r in read_stats(parzen_run) if "parzen_valid" in r]
    assert parzen_rows[-1]["best_valid"] == max(r["parzen_valid"] for r in parzen_rows)  # higher is better
    # selection reads G; it never changes how G trains
    final = _weights(plain_run / LATEST_SNAPSHOT)
    for run in (fid_run, parzen_run):
        assert all(torch.equal(final[k], v) for k, v in _weights(run / LATEST_SNAPSHOT).items())


@pytest.mark.parametrize(("overrides", "says"), [
    (["train.valid_metric=inception"], "train.valid_metric: must be parzen, fid"),
    (["train.valid_metric=Parzen"], "train.valid_metric: must be parzen, fid"),
])
def test_a_bad_valid_metric_is_refused_when_the_config_loads(data_dir, overrides, says):
    with pytest.raises(ConfigError, match=says):
        load_config("paper-mnist", [*TINY, f"data.dir={data_dir}", "train.valid_every=5", *overrides])


@pytest.mark.parametrize(("preset", "metric", "says"), [
    ("paper-fashion-mnist", "fid", "Fashion-MNIST has not: use fid:NAME"),
    ("paper-mnist", "fid:nobody", "no feature network 'nobody'"),
])
def test_a_valid_metric_the_data_cannot_have_is_refused_before_a_folder_exists(data_dir, tmp_path, capsys, preset,
                                                                               metric, says):
    out = tmp_path / "run"
    assert main(["train", preset, "--out", str(out), "--data-dir", str(data_dir), "--set", *TINY,
                 "train.valid_every=5", f"train.valid_metric={metric}"]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and not out.exists()


def test_the_run_says_which_validation_score_it_kept(data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "paper-mnist", "--out", str(out), "--data-dir", str(data_dir), "--set", *TINY,
                 "train.steps=10", "train.valid_every=5", "train.valid_samples=200", "train.valid_metric=fid"]) == 0
    assert "best validation FID (mnistclf) of G:" in capsys.readouterr().out
    assert main(["report", str(out)]) == 0
    assert "best validation FID (mnistclf)" in (out / "report.html").read_text()
    from advnets import figures

    assert figures.draw("curves", out, tmp_path / "curves.png") == "2 statistics rows"  # fid_valid on the right axis
    assert (tmp_path / "curves.png").stat().st_size > 0


def test_fid_is_refused_for_a_run_that_models_contrast_normalised_images(tiny_cifar_conv):
    from advnets.train.plan import plan_training

    with pytest.raises(ConfigError, match="data.preprocess gcn images, which have no exact way back"):
        plan_training(tiny_cifar_conv("train.valid_every=5", "train.valid_metric=fid:mnistclf"))
