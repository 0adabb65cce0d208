"""The generator shipped in pretrained/mnist-paper: it loads without a run directory, samples, and
scores what docs/reproduction.md says it scores (the row in its evaluation.json)."""

import json

import numpy as np
import pytest

from advnets.cli import main
from advnets.metrics.registry import MetricRequest, evaluate
from advnets.snapshot import load_snapshot
from tests.conftest import REPO

SHIPPED = REPO / "pretrained" / "mnist-paper"


def test_shipped_generator_loads_alone_and_samples_digits_shaped_arrays(tmp_path):
    snap = load_snapshot(SHIPPED)
    assert snap.discriminator is None and snap.config.data.name == "mnist"
    out = tmp_path / "s.npy"
    assert main(["sample", str(SHIPPED), "--n", "64", "--seed", "0", "--out", str(out)]) == 0
    samples = np.load(out)
    assert samples.shape == (64, 1, 28, 28) and samples.dtype == np.uint8
    assert samples.std(axis=0).mean() > 20  # samples differ from each other (no collapse)


def test_shipped_generator_scores_the_documented_parzen_value(data_dir):
    recorded = json.loads((SHIPPED / "evaluation.json").read_text())
    request = MetricRequest(n_samples=recorded["n_samples"], seed=recorded["seed"], data_dir=str(data_dir))
    row = evaluate("parzen", load_snapshot(SHIPPED), request)
    assert row["sigma"] == pytest.approx(recorded["sigma"])
    assert row["mean"] == pytest.approx(recorded["mean"], abs=0.01)
    assert row["se"] == pytest.approx(recorded["se"], abs=0.01)
