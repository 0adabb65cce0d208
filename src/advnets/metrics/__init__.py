"""Metrics: every number advnets reports, each computed here and named by its protocol.

Registered (advnets evaluate --metric NAME; registry.py, spec.py):
    parzen_window.py    Table 1's Parzen-window protocol, its critique baselines, the validation score
    modes.py            modes captured, high-quality samples and reverse KL on the 2-D mixtures
    class_agreement.py  a conditional model's samples labelled by the shipped classifier
    inpainting.py       completions of test images: the class they keep and how much they vary
    inference.py        how well an inference network E inverts G
    optimal_d.py        Proposition 1 on a trained 1-D game: D trained to convergence against D*

Measured during training (advnets.train.monitor):
    diversity.py   sample diversity and the mode-collapse rule
    probe_1d.py    the 1-D game on a grid: p_g, D against D*, JSD (Figure 1)

Images from anywhere (advnets evaluate FOLDER, reference-stats; the functions below):
    image_sets.py     sample sets and references: folders, arrays, data sets' splits, tensors
    feature_stats.py  a reference's saved statistics (features, mean, covariance, which network)
    trust.py          the warnings a row carries: few images, a small reference, a grid's edge

Building blocks: kmeans.py, nearest.py (exact nearest neighbours), summary.py (mean +- SE over seeds).

    from advnets.metrics import fid, kid, prdc, parzen, classes
    fid(samples, "mnist:test")                 # samples: uint8 [N, 1, 28, 28] or floats in [0, 1]
    fid("their-gan/pngs", "mnist-test.npz")    # a folder against saved statistics
"""

from __future__ import annotations


# ----------------------------------------------------------------------------------------------
# The metrics on tensors (docs/evaluation.md, "Score images from any generator"). Each takes images as a tensor or
# array (uint8 [N, C, H, W] or floats in [0, 1]; [N, H, W]: grey), a path (a folder of images, an .npy / .npz),
# and a reference as the same or a data set's split ("mnist:test") or a statistics file of advnets
# reference-stats; each gives the numbers `advnets evaluate SOURCE --reference REF` prints, and says its
# warnings (few images, a grid's edge ...) as Python warnings (UserWarning).


def score(metric: str, samples, reference=None, *, features: str | None = None, labels=None,
          data_dir: str | None = None, seed: int = 0) -> dict:
    """The whole row of `metric` (a name of advnets evaluate --metric that works on images) for `samples`."""
    import warnings

    from advnets.metrics import image_sets, registry
    from advnets.metrics.spec import MetricRequest

    images = image_sets.as_image_set(samples, "samples", labels, data_dir)
    against = None if reference is None else image_sets.as_reference(reference, data_dir)
    row = registry.evaluate_images(metric, images, MetricRequest(n_samples=images.count, seed=seed, data_dir=data_dir,
                                                                 features=features, reference=against))
    for line in (row.get("warning") or "").splitlines():
        warnings.warn(line, UserWarning, stacklevel=3)
    return row


def fid(samples, reference, features: str = "mnistclf", data_dir: str | None = None) -> float:
    """FID of samples against a reference in a registered feature network's features (default: the shipped MNIST
    classifier's): the Frechet distance of the Gaussians fitted to the two feature sets."""
    return score("features", samples, reference, features=features, data_dir=data_dir)["fid"]


def kid(samples, reference, features: str = "mnistclf", data_dir: str | None = None, seed: int = 0) -> dict:
    """KID (unbiased MMD^2, cubic kernel) with its standard error: kid, kid_se (or kid_std) and kid_estimator."""
    row = score("features", samples, reference, features=features, data_dir=data_dir, seed=seed)
    return {key: row[key] for key in ("kid", "kid_se", "kid_std", "kid_estimator") if key in row}


def prdc(samples, reference, features: str = "mnistclf", data_dir: str | None = None) -> dict:
    """Precision and recall (k = 3 neighbours), density and coverage (k = 5) in a feature network's features."""
    row = score("features", samples, reference, features=features, data_dir=data_dir)
    return {key: row[key] for key in ("precision", "recall", "density", "coverage")}


def parzen(samples, reference, data_dir: str | None = None) -> dict:
    """Table 1's Parzen-window protocol with the samples as centres: mean log-likelihood (nats) of the reference's
    scored images and its standard error, sigma chosen as advnets.metrics.parzen_window.sigma_and_scored says."""
    row = score("parzen", samples, reference, data_dir=data_dir)
    return {key: row[key] for key in ("mean", "se", "sigma", "sigma_chosen_on", "n_samples", "n_valid", "n_test")}


def classes(samples, labels, dataset: str = "mnist", data_dir: str | None = None) -> dict:
    """How often `dataset`'s shipped classifier reads each sample as the class it was drawn for (labels [N])."""
    row = score("classes", samples, f"{dataset}:test", labels=labels, data_dir=data_dir)
    return {key: row[key] for key in ("agreement", "per_class", "n_samples")}
