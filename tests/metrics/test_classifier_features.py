"""The feature-space metrics: each library result against a direct computation, and the sanity
anchors of docs/protocols.md ordered as each metric's definition says."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from advnets.metrics.classifier_features import (classifier_features, frechet_distance, kernel_distance,
                                                 kernel_distance_all_pairs, kid,
                                                 precision_recall_density_coverage)


def _sets(n=400, d=8, shift=0.5, seed=0):
    g = torch.Generator().manual_seed(seed)
    real = torch.randn(n, d, generator=g, dtype=torch.float64)
    fake = torch.randn(n, d, generator=g, dtype=torch.float64) * 1.3 + shift
    return real, fake


def test_frechet_distance_equals_the_formula():
    real, fake = _sets()
    mu_r, mu_f = real.mean(0).numpy(), fake.mean(0).numpy()
    s_r, s_f = np.cov(real.numpy(), rowvar=False), np.cov(fake.numpy(), rowvar=False)
    direct = ((mu_r - mu_f) ** 2).sum() + np.trace(s_r + s_f - 2 * scipy.linalg.sqrtm(s_r @ s_f).real)
    assert frechet_distance(real, fake) == pytest.approx(direct, rel=1e-4)


def test_kernel_distance_equals_the_unbiased_mmd():
    real, fake = _sets(n=300)
    d = real.shape[1]
    k = lambda a, b: (a @ b.T / d + 1) ** 3  # noqa: E731
    kxx, kyy, kxy = k(real, real), k(fake, fake), k(real, fake)
    n = len(real)
    direct = ((kxx.sum() - kxx.diag().sum()) / (n * (n - 1)) + (kyy.sum() - kyy.diag().sum()) / (n * (n - 1))
              - 2 * kxy.mean())
    mean, _ = kernel_distance(real, fake, subsets=1, subset_size=n)  # one subset of all: no sampling left
    assert mean == pytest.approx(float(direct), rel=1e-6)


def test_all_pairs_kid_is_the_unbiased_mmd_over_every_pair_and_the_reported_value():
    real, fake = _sets(n=300)
    fake = fake[:250]  # sets of different sizes
    d = real.shape[1]
    k = lambda a, b: (a @ b.T / d + 1) ** 3  # noqa: E731
    kxx, kyy, kxy = k(real, real), k(fake, fake), k(real, fake)
    m, n = len(real), len(fake)
    direct = ((kxx.sum() - kxx.diag().sum()) / (m * (m - 1)) + (kyy.sum() - kyy.diag().sum()) / (n * (n - 1))
              - 2 * kxy.mean())
    value, se = kernel_distance_all_pairs(real, fake)
    assert value == pytest.approx(float(direct), rel=1e-9) and se > 0
    assert kid(real, fake) == {"kid": value, "kid_se": se, "kid_estimator": "all-pairs"}
    equal = real[:250]
    subset_of_all, _ = kernel_distance(equal, fake, subsets=1, subset_size=250)  # torchmetrics, no sampling left
    assert kernel_distance_all_pairs(equal, fake)[0] == pytest.approx(subset_of_all, rel=1e-9)


def test_all_pairs_kid_standard_error_matches_the_spread_over_independent_sets():
    """The first-order standard error against the spread of the estimate over 200 independent pairs of sets."""
    estimates, errors = [], []
    for seed in range(200):
        real, fake = _sets(n=200, d=4, shift=0.3, seed=seed)
        value, se = kernel_distance_all_pairs(real, fake)
        estimates.append(value)
        errors.append(se)
    spread, typical_se = float(np.std(estimates, ddof=1)), float(np.mean(errors))
    assert 0.8 < typical_se / spread < 1.25, (typical_se, spread)


def test_kid_falls_back_to_subsets_for_sets_too_large_for_all_pairs(monkeypatch):
    from advnets.metrics import classifier_features

    monkeypatch.setattr(classifier_features, "KID_ALL_PAIRS_MAX", 100)
    real, fake = _sets(n=300)
    row = kid(real, fake, seed=1)
    assert row["kid_estimator"] == "subsets" and "kid_se" not in row and row["kid_std"] > 0
    assert row["kid"] == kernel_distance(real, fake, seed=1)[0]


def test_precision_recall_density_coverage_equal_their_definitions():
    real, fake = _sets(n=200, d=4)
    got = precision_recall_density_coverage(real, fake)

    def radii(x, k):  # distance to the k-th nearest other point
        return torch.cdist(x, x).sort(dim=1).values[:, k]

    d_rf = torch.cdist(real, fake)  # [real, fake]
    r3, f3, r5 = radii(real, 3), radii(fake, 3), radii(real, 5)
    precision = (d_rf <= r3[:, None]).any(0).double().mean()
    recall = (d_rf.T <= f3[:, None]).any(0).double().mean()
    density = (d_rf <= r5[:, None]).sum(0).double().mean() / 5
    coverage = (d_rf.min(1).values < r5).double().mean()
    assert got == pytest.approx({"precision": float(precision), "recall": float(recall), "density": float(density),
                                 "coverage": float(coverage)})


def test_sanity_anchors_are_ordered(data_dir):
    """Training images vs test images score best, noise worst, a collapse has no recall; blurred and
    one-class-removed sets fall between (docs/protocols.md's anchors, on 2,000 images each)."""
    from advnets.data import registry as datasets
    from advnets.metrics.classifier_features import feature_metrics

    n = 2000
    test, test_labels = datasets.get("mnist").load_images("test", str(data_dir))
    train, train_labels = datasets.get("mnist").load_images("train", str(data_dir))
    g = torch.Generator().manual_seed(0)
    real = classifier_features("mnist", test[:n])
    blurred = torch.nn.functional.avg_pool2d(train[:n], 3, stride=1, padding=1)
    no_nines = train[train_labels != 9][:n]
    sets = {"train": train[:n], "no 9s": no_nines, "blurred": blurred,
            "collapsed": train[:1].repeat(n, 1, 1, 1), "noise": torch.rand(n, 1, 28, 28, generator=g)}
    scores = {name: feature_metrics(real, classifier_features("mnist", x)) for name, x in sets.items()}
    fid = {name: s["fid_mnistclf"] for name, s in scores.items()}
    assert fid["train"] < fid["no 9s"] < fid["noise"] and fid["train"] < fid["blurred"] < fid["noise"]
    assert scores["train"]["kid_mnistclf"] < scores["blurred"]["kid_mnistclf"] < scores["noise"]["kid_mnistclf"]
    assert scores["collapsed"]["recall"] < 0.01 and scores["collapsed"]["coverage"] < 0.01
    assert scores["train"]["recall"] > 0.7 and scores["train"]["precision"] > 0.7
    assert scores["no 9s"]["coverage"] < scores["train"]["coverage"]  # a missing class is missed coverage
    assert scores["noise"]["precision"] < 0.05


def test_evaluate_scores_a_generator_and_caches_the_test_features(data_dir, tmp_path, capsys):
    import json
    import shutil

    from advnets.cli import main
    from advnets.data.mnist import user_cache_dir

    shipped = tmp_path / "shipped"
    shutil.copytree("pretrained/mnist-paper", shipped)
    argv = ["evaluate", str(shipped), "--metric", "mnistclf-features", "--n-samples", "2000",
            "--data-dir", str(data_dir)]
    assert main(argv) == 0
    row = json.loads(capsys.readouterr().out)  # one JSON line, nothing else on standard output
    assert 0 < row["fid_mnistclf"] < 50 and 0.5 < row["precision"] <= 1 and 0.5 < row["recall"] <= 1
    assert len(row["feature_network_sha256"]) == 64 and len(row["snapshot_sha256"]) == 64 and row["seed"] == 0
    assert len(row["class_histogram"]) == 10 and row["class_kl_uniform"] < 0.1  # the shipped G draws every digit
    cached = list((user_cache_dir() / "features").glob("mnist-mnistclf-*-test-*.safetensors"))
    assert len(cached) == 1
    assert main(argv) == 0 and json.loads(capsys.readouterr().out)["fid_mnistclf"] == row["fid_mnistclf"]


def test_rows_name_the_feature_network_by_its_hash():
    import hashlib
    from importlib import resources

    from advnets.classifier import classifier_provenance

    shipped = resources.files("advnets").joinpath("weights", "mnist-classifier.safetensors").read_bytes()
    assert classifier_provenance("mnist") == {"feature_network": "advnets/weights/mnist-classifier.safetensors",
                                              "feature_network_sha256": hashlib.sha256(shipped).hexdigest()}


def test_the_class_histogram_shows_a_missing_class_and_a_collapse(data_dir):
    """Mode dropping shows in the classes the classifier reads: real images near uniform (KL near 0), a set
    without the 9s has no 9s, one image repeated is one class (KL = log 10)."""
    import math

    from advnets.data import registry as datasets
    from advnets.metrics.classifier_features import class_histogram

    train, labels = datasets.get("mnist").load_images("train", str(data_dir))
    real = class_histogram("mnist", train[:2000])
    assert len(real["class_histogram"]) == 10 and abs(sum(real["class_histogram"]) - 1) < 1e-4
    assert real["class_kl_uniform"] < 0.02 and all(0.07 < p < 0.14 for p in real["class_histogram"])
    no_nines = class_histogram("mnist", train[labels != 9][:2000])
    assert no_nines["class_histogram"][9] < 0.01 and no_nines["class_kl_uniform"] > real["class_kl_uniform"]
    collapsed = class_histogram("mnist", train[:1].repeat(500, 1, 1, 1))
    assert max(collapsed["class_histogram"]) == 1.0 and abs(collapsed["class_kl_uniform"] - math.log(10)) < 1e-9
