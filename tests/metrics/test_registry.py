"""The metric registry: what `advnets evaluate` offers and the rows it writes come from it, and a
metric added by registration alone is offered, checked, recorded, plotted and reported."""

import json
import shutil

import pytest

from advnets import figures
from advnets.cli import main
from advnets.metrics import registry
from advnets.metrics.spec import NEEDS, Metric


def test_built_in_metrics_declare_what_they_need_and_show():
    assert registry.names() == ("parzen", "modes", "classes", "inpainting", "inference", "optimal-d",
                                "mnistclf-features", "features", "stacked-modes", "ais")
    for name in registry.names():
        metric = registry.get(name)
        assert set(metric.needs) <= set(NEEDS) and metric.default_n >= 1 and metric.summary
        assert registry.HEADLINES[name] == metric.headline and metric.headline[0] in metric.columns
    columns = registry.report_columns()
    assert columns[:2] == ["metric", "generator"] and columns[-4:] == ["n_samples", "seed", "step", "snapshot"]


def test_options_belong_to_their_metric(tiny_mnist_run, capsys):
    assert main(["evaluate", str(tiny_mnist_run), "--metric", "classes", "--baseline", "train"]) == 2
    assert "--baseline applies to --metric parzen only" in capsys.readouterr().err
    assert main(["evaluate", str(tiny_mnist_run), "--metric", "parzen", "--mask", "center"]) == 2
    assert "--mask applies to --metric inpainting only" in capsys.readouterr().err
    assert main(["evaluate", str(tiny_mnist_run), "--metric", "fid"]) == 2
    err = capsys.readouterr().err
    assert "--metric: invalid choice: 'fid'" in err and err.count("\n") == 1


def test_the_validation_split_is_the_reference_where_asked(tiny_mnist_run, data_dir, capsys):
    """--split valid (what a study's objective reads): the samples are compared with the validation images; Parzen
    chooses sigma on the first 1,000 of them and scores the other 9,000. Synthetic data has no split."""
    base = ["evaluate", str(tiny_mnist_run), "--data-dir", str(data_dir), "--seed", "0"]
    assert main([*base, "--metric", "mnistclf-features", "--n-samples", "500", "--split", "valid"]) == 0
    valid = json.loads(capsys.readouterr().out)
    assert valid["reference"] == "valid" and valid["n_valid"] == 10_000
    assert main([*base, "--metric", "mnistclf-features", "--n-samples", "500"]) == 0
    test = json.loads(capsys.readouterr().out)
    assert test["reference"] == "test" and test["n_test"] == 10_000 and test["fid_mnistclf"] != valid["fid_mnistclf"]
    assert main([*base, "--metric", "parzen", "--n-samples", "200", "--split", "valid"]) == 0
    parzen = json.loads(capsys.readouterr().out)
    assert parzen["split"] == "valid" and parzen["n_test"] == 9_000 and parzen["n_valid"] == 1_000
    assert main([*base, "--metric", "classes", "--split", "valid"]) == 2
    assert "--split applies to --metric parzen / mnistclf-features / features only" in capsys.readouterr().err


def _mean_pixel(snap, request):
    from advnets.sampling import generate

    return {"mean_pixel": float(generate(snap.generator, request.n_samples, seed=request.seed).mean()),
            "n_samples": request.n_samples}


@pytest.fixture
def mean_pixel(monkeypatch):
    metric = Metric(name="mean-pixel", summary="the mean pixel of G's samples", compute=_mean_pixel,
                    needs=("image-data", "whole-images"), default_n=64, n_counts="samples of G",
                    headline=("mean_pixel", "mean pixel"), columns=("mean_pixel",))
    monkeypatch.setitem(registry._REGISTRY, metric.name, metric)
    monkeypatch.setitem(registry.HEADLINES, metric.name, metric.headline)
    return metric


def test_a_registered_metric_needs_no_other_change(mean_pixel, tiny_mnist_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny_mnist_run, run)
    assert main(["evaluate", str(run), "--metric", "mean-pixel", "--seed", "2"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert (row["metric"], row["dataset"], row["n_samples"], row["seed"], row["step"]) == ("mean-pixel", "mnist", 64, 2, 10)
    assert 0 < row["mean_pixel"] < 1 and len(row["snapshot_sha256"]) == 64
    assert json.loads((run / registry.METRICS_FILE).read_text().splitlines()[-1]) == row
    figures.draw("curves", run, tmp_path / "curves.png")
    assert main(["report", str(run)]) == 0
    assert "mean_pixel" in (run / "report.html").read_text()


def test_a_registered_metric_is_refused_where_it_does_not_apply(mean_pixel, tmp_path, capsys):
    run = tmp_path / "ring"
    assert main(["train", "toy-ring", "--out", str(run), "--set", "train.steps=4", "train.log_every=2",
                 "train.checkpoint_every=4", "train.sample_every=4", "train.progress=false", "device=cpu"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run), "--metric", "mean-pixel"]) == 2
    err = capsys.readouterr().err
    assert "--metric mean-pixel needs an image data set" in err and err.count("\n") == 1
    assert not (run / registry.METRICS_FILE).exists()


def test_a_metric_over_several_sample_seeds_gives_mean_and_standard_error(tiny_mnist_run, capsys):
    import json
    import statistics

    assert main(["evaluate", str(tiny_mnist_run), "--metric", "parzen", "--n-samples", "50", "--seeds", "0-2"]) == 0
    row = json.loads(capsys.readouterr().out)
    means = row["per_seed"]["mean"]
    assert row["seeds"] == [0, 1, 2] and len(set(means)) == 3  # three sets of samples, three scores
    assert row["mean"] == statistics.fmean(means)
    assert row["mean_se_seeds"] == statistics.stdev(means) / 3**0.5


def test_a_seeds_warning_survives_the_summary_over_seeds(tiny_mnist_run, monkeypatch, tmp_path, capsys):
    def flagged(snap, request):  # a metric whose odd seeds have not converged, as AIS's rows say
        ok = request.seed % 2 == 0
        return {"mean_pixel": 0.5, "converged": ok, **({} if ok else {"warning": f"not converged at {request.seed}"})}

    metric = Metric(name="flagged", summary="a flag per seed", compute=flagged, needs=("image-data",), default_n=1,
                    n_counts="samples", headline=("mean_pixel", "mean pixel"), columns=("mean_pixel",))
    monkeypatch.setitem(registry._REGISTRY, metric.name, metric)
    monkeypatch.setitem(registry.HEADLINES, metric.name, metric.headline)
    run = tmp_path / "run"
    shutil.copytree(tiny_mnist_run, run)
    assert main(["evaluate", str(run), "--metric", "flagged", "--seeds", "0-3"]) == 0
    captured = capsys.readouterr()
    row = json.loads(captured.out)
    assert row["converged"] is False and row["warning"] == "seed 1: not converged at 1\nseed 3: not converged at 3"
    assert captured.err == "warning: seed 1: not converged at 1\nwarning: seed 3: not converged at 3\n"  # one a line
    assert main(["evaluate", str(run), "--metric", "flagged", "--seeds", "0,2"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["converged"] is True and captured.err == ""
