"""What a metric is to the rest of advnets: a :class:`Metric` registered under its protocol's name.

A metric module computes its numbers for a snapshot and a :class:`MetricRequest` (how many samples,
which seed, where the data is ...) and declares what it needs of the snapshot (``needs``, checked
before anything is computed, each refusal one line), what ``--n-samples`` counts for it, its
headline number (training curves) and the columns the run report shows. ``advnets.metrics.registry``
turns its result into a metrics.jsonl row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import torch

from advnets.data import registry as datasets
from advnets.errors import ConfigError
from advnets.sampling import require_whole_images

if TYPE_CHECKING:  # annotations only
    from advnets.metrics.image_sets import ImageSet
    from advnets.snapshot import Snapshot


@dataclass(frozen=True)
class MetricRequest:
    """The options of one evaluation; None means the metric's default."""

    n_samples: int | None = None  # what it counts is the metric's own (Metric.n_counts)
    seed: int = 0
    data_dir: str | None = None  # default: the run's data.dir, then $ADVNETS_DATA, then the user cache
    device: torch.device | str = "cpu"
    baseline: str | None = None  # parzen: score real training images or k-means centroids instead of G
    mask: str | None = None  # inpainting: the hidden pixels (data/masks.py names)
    encoder: torch.nn.Module | None = None  # inference: this E rather than one found beside the snapshot
    ais_steps: int | None = None  # ais: intermediate distributions
    chains: int | None = None  # ais: chains per image
    leapfrog: int | None = None  # ais: leapfrog steps per HMC transition
    variance: float | None = None  # ais: the observation variance s^2 (default: chosen on validation)
    features: str | None = None  # features: the registered feature network (advnets.plugins.register_features)
    split: str | None = None  # what the samples are compared with: "test" (default, the reported numbers) or "valid"
    # or instead any reference: an ImageSet or saved FeatureStats (advnets.metrics.image_sets.resolve)
    reference: Any = None

    @property
    def reference_split(self) -> str:
        return self.split or "test"


# MetricRequest fields only some metrics read; a metric names those it reads in Metric.options.
OPTIONAL_FIELDS = ("baseline", "mask", "ais_steps", "chains", "leapfrog", "variance", "features", "split",
                   "reference")
SPLITS = ("test", "valid")  # MetricRequest.split: the test split reports; the validation split selects


@dataclass(frozen=True)
class Metric:
    name: str  # the protocol's name: advnets evaluate --metric NAME, "metric" in metrics.jsonl
    summary: str  # one line: what it measures (advnets evaluate --help)
    compute: Callable[["Snapshot", MetricRequest], dict[str, Any]]  # the row's metric-specific fields
    needs: tuple[str, ...]  # keys of NEEDS, checked in order
    default_n: int  # --n-samples when not given
    n_counts: str  # what --n-samples counts, for --help
    headline: tuple[str, str]  # (row key, label) of its one number over training (figure curves)
    columns: tuple[str, ...] = ()  # row keys the run report shows
    options: tuple[str, ...] = ()  # the OPTIONAL_FIELDS it reads
    # the metric on images from anywhere (advnets evaluate FOLDER, advnets.metrics.fid ...): (samples, request) ->
    # the row's fields; None for a metric that needs the generator itself (AIS, inference, inpainting ...)
    on_images: Callable[["ImageSet", MetricRequest], dict[str, Any]] | None = None


def data_spec(snap: "Snapshot") -> datasets.DatasetSpec:
    return datasets.for_config(snap.config.data)


def _trained_on(snap: "Snapshot") -> str:
    return f"this one was trained on '{snap.config.data.name}'"


def _image_data(snap: "Snapshot", what: str) -> None:
    if not data_spec(snap).is_image:
        raise ConfigError(f"{what} needs an image data set ({', '.join(datasets.names(kind=datasets.IMAGE))}); "
                          f"{_trained_on(snap)}")


def _toy_of_dim(dim: int) -> Callable[["Snapshot", str], None]:
    def need(snap: "Snapshot", what: str) -> None:
        spec = data_spec(snap)
        if spec.is_image or spec.dim != dim:
            runs = [s for s in datasets.names(kind=datasets.TOY) if datasets.get(s).dim == dim]
            raise ConfigError(f"{what} needs a run on a {dim}-D mixture ({', '.join(runs)}); {_trained_on(snap)}")

    return need


def _condition(kind: str, refusal: str) -> Callable[["Snapshot", str], None]:
    def need(snap: "Snapshot", what: str) -> None:
        if snap.generator.condition.kind != kind:
            raise ConfigError(f"{what} needs {refusal}")

    return need


def _classifier(snap: "Snapshot", what: str) -> None:
    if data_spec(snap).classifier is None:
        have = [n for n in datasets.names() if datasets.get(n).classifier]
        raise ConfigError(f"{what} labels images with a shipped classifier, which only {', '.join(have)} has; "
                          f"{_trained_on(snap)}")


def _stacked_mnist(snap: "Snapshot", what: str) -> None:
    if snap.config.data.name != "stacked-mnist":
        raise ConfigError(f"{what} needs a run on stacked-mnist (three MNIST digits as channels); {_trained_on(snap)}")


def _discriminator(snap: "Snapshot", what: str) -> None:
    if snap.discriminator is None:
        raise ConfigError(f"{what} starts from the run's D; {snap.path} holds a generator alone")


# What a metric may need of a snapshot; each check refuses with one line that names `what` asked.
NEEDS: dict[str, Callable[["Snapshot", str], None]] = {
    "image-data": _image_data,
    "whole-images": require_whole_images,  # not an inpainting model, which needs observed pixels
    "mixture-1d": _toy_of_dim(1),
    "mixture-2d": _toy_of_dim(2),
    "unconditional": _condition("none", "an unconditional model (trained without data.conditional and "
                                        "data.inpainting)"),
    "class-conditional": _condition("class", "a conditional model (trained with data.conditional=true)"),
    "inpainting": _condition("mask", "an inpainting model (trained with data.inpainting=true)"),
    "classifier": _classifier,
    "discriminator": _discriminator,
    "stacked-mnist": _stacked_mnist,
}


def require(snap: "Snapshot", needs: tuple[str, ...], what: str) -> None:
    """Refuse `snap` (one ConfigError line, naming `what` asked) unless it has every one of `needs`."""
    for need in needs:
        NEEDS[need](snap, what)
