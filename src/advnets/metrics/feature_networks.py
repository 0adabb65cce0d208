"""Feature networks and the features they give (the classifier-feature metrics read nothing else): the
registered networks by name (``mnistclf``, the shipped MNIST classifier's penultimate features, registered here
as any plugin is), which network a name is (its module and the SHA-256 of its weights), features of images in
batches of one size, the cached features of MNIST's splits, and a reference's statistics in a network's
features (images, or a statistics file checked to be of the same network and image shape).
"""

from __future__ import annotations

import torch

from advnets import plugins
from advnets.batching import apply_in_batches
from advnets.classifier import classifier_for, classifier_provenance, load_classifier
from advnets.data import registry as datasets
from advnets.errors import ConfigError
from advnets.metrics.feature_stats import FeatureStats, check_comparable, stats_of, weights_sha256


FEATURE_BATCH = 500  # images per forward pass of a feature network: one size everywhere, so equal images give
#                      bit-equal features however they reach it (a saved reference, a cache, the images)


@torch.no_grad()
def classifier_features(dataset: str, images: torch.Tensor) -> torch.Tensor:
    """The shipped classifier's penultimate features [N, 128] (float64) of images [N, 1, 28, 28] in [0, 1]."""
    model = classifier_for(dataset)
    return apply_in_batches(lambda batch: model.features(batch.float()), images, FEATURE_BATCH).double()


def reference_features(dataset: str, data_dir: str | None, split: str = "test") -> torch.Tensor:
    """The features of a split's images (test, or valid: the images model selection compares with), cached under
    the SHA-256 of the images' file."""
    from advnets.data.mnist import user_cache_dir
    from advnets.errors import CheckpointError
    from advnets.tensorfile import load_tensors, save_tensors

    spec = datasets.get(dataset)
    marks = ("t10k-images", "test") if split == "test" else ("train-images", "train")  # valid: from the train file
    key = next((sha for name, sha in spec.checksums.items() if any(mark in name for mark in marks)), None)
    network = classifier_provenance(dataset)["feature_network_sha256"]  # new classifier weights: new features
    path = (user_cache_dir() / "features"
            / f"{dataset}-mnistclf-{network[:12]}-b{FEATURE_BATCH}-{split}-{(key or 'unversioned')[:16]}.safetensors")
    if key is not None and path.is_file():
        try:
            return load_tensors(path)[0]["features"]
        except CheckpointError:
            pass  # a damaged cache is computed again
    images, _ = spec.load_images(split, data_dir)
    features = classifier_features(dataset, images)
    if key is not None:
        save_tensors(path, {"features": features}, {"format": "advnets-feature-cache/1", f"{split}_file_sha256": key,
                                                     "feature_network_sha256": network})
    return features


class _ClassifierFeatures(torch.nn.Module):
    """The shipped MNIST classifier's penultimate features [N, 128] of MNIST-shaped images."""

    def __init__(self):
        super().__init__()
        self.classifier = load_classifier()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier.features(images)


plugins.register_features("mnistclf", _ClassifierFeatures)


def registered() -> tuple[str, ...]:
    """The feature networks' names: mnistclf (registered with this module) and every plugin's."""
    return tuple(plugins.features())


def feature_network(name: str | None) -> tuple[torch.nn.Module, dict[str, str]]:
    """The registered feature network `name`, in evaluation mode, and which it is (its name, where it was
    registered, the SHA-256 of its weights)."""
    known = plugins.features()
    if name is None:
        raise ConfigError(f"--metric features needs --features NAME (registered: {', '.join(known)}; register your "
                          "own with advnets.register_features)")
    if name not in known:
        raise ConfigError(f"--features {name}: no such feature network (registered: {', '.join(known)})")
    try:
        network = known[name].factory()
    except Exception as e:  # noqa: BLE001 - the plugin's own failure: one line naming it
        raise ConfigError(f"--features {name}: its factory failed ({type(e).__name__}: "
                          f"{(str(e).splitlines() or [''])[0][:160]})") from None
    if not isinstance(network, torch.nn.Module):
        raise ConfigError(f"--features {name}: its factory returned {type(network).__name__}, not a torch.nn.Module")
    return network.eval(), {"features": name, **{f"features_{k}": v for k, v in known[name].provenance.items()},
                            "features_weights_sha256": weights_sha256(network)}


@torch.no_grad()
def features_of(network: torch.nn.Module, name: str, images: torch.Tensor) -> torch.Tensor:
    """Features [N, d] (float64) of images [N, C, H, W] in [0, 1]; one line when the network cannot read them."""
    try:
        out = apply_in_batches(lambda batch: network(batch.float()), images, FEATURE_BATCH)
    except Exception as e:  # noqa: BLE001
        raise ConfigError(f"--features {name} does not read these images ({list(images.shape[1:])}: "
                          f"{type(e).__name__}: {(str(e).splitlines() or [''])[0][:120]}); choose a feature network "
                          "for this data") from None
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or len(out) != len(images):
        raise ConfigError(f"--features {name} returned {getattr(out, 'shape', type(out).__name__)} for "
                          f"{len(images)} images; it must return features [N, d]")
    return out.double()


def reference_stats(reference, name: str, network: torch.nn.Module, identity: dict[str, str],
                    x_shape: list[int], data_dir: str | None = None) -> FeatureStats:
    """The reference's statistics in `network`'s features: a statistics file's, checked to be of this network
    and image shape, or computed from its images (a built-in split's mnistclf features from the cache)."""
    if isinstance(reference, FeatureStats):
        check_comparable(reference, identity, x_shape)
        return reference
    if list(reference.x_shape) != list(x_shape):
        raise ConfigError(f"the reference {reference.what} holds images {reference.x_shape} and the samples are "
                          f"{list(x_shape)}: compare images of one shape (--size, --channels)")
    if name == "mnistclf" and reference.dataset == "mnist" and reference.split in ("test", "valid"):
        features = reference_features("mnist", data_dir, reference.split)  # cached by the split file's SHA-256
    else:
        features = features_of(network, name, reference.images)
    built_in = {"dataset": reference.dataset, "split": reference.split} if reference.dataset else {}
    return stats_of(features, identity, {**reference.identity(), **built_in})
