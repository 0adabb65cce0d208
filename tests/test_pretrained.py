"""The generators shipped in pretrained/: each loads without a run directory, samples (mnist-paper) or completes
test images (mnist-inpaint), and scores what its README says it scores (the row in its evaluation.json)."""

import json

import numpy as np
import pytest

from advnets.cli import main
from advnets.metrics.registry import MetricRequest, evaluate
from advnets.snapshot import load_snapshot
from tests.conftest import REPO

SHIPPED = REPO / "pretrained" / "mnist-paper"
INPAINTING = REPO / "pretrained" / "mnist-inpaint"


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


def test_shipped_inpainting_generator_keeps_the_visible_pixels_and_completes_the_rest(data_dir):
    import torch

    from advnets.data.masks import named_masks
    from advnets.data.registry import get as dataset
    from advnets.sampling import complete

    snap = load_snapshot(INPAINTING)
    assert snap.discriminator is None and snap.generator.condition.kind == "mask"
    images = dataset("mnist").load_images("test", str(data_dir))[0][:16]
    masks = named_masks("right-half", 16, (28, 28), seed=0)
    x = complete(snap.generator, images, masks, 3, 0)  # [16, 3, 1, 28, 28]
    visible = masks.bool()[:, None].expand_as(x)
    assert torch.allclose(x[visible], images[:, None].expand_as(x)[visible])
    assert (x[~visible] > 0.5).any() and not torch.equal(x[:, 0], x[:, 1])  # ink, and different completions


def test_shipped_inpainting_generator_scores_the_documented_values(data_dir):
    recorded = json.loads((INPAINTING / "evaluation.json").read_text())
    request = MetricRequest(n_samples=recorded["n_images"], seed=recorded["seed"], data_dir=str(data_dir),
                            mask=recorded["mask"])
    row = evaluate("inpainting", load_snapshot(INPAINTING), request)
    for key in ("class_kept", "class_from_visible_only", "spread_ratio", "l2_to_original"):
        assert row[key] == pytest.approx(recorded[key], abs=1e-3), key
