"""Sample sets from anywhere: the images ``advnets evaluate`` and ``advnets.metrics.fid(...)`` score, and
the references they are scored against.

    runs/00000-fast-mnist     a run or snapshot: n samples of its G (advnets.metrics.registry)
    ~/their-gan/pngs          a folder of image files   } read by data.name: images's rules (one reader,
    ~/their-gan/samples.npz   uint8 images in an array  }  the same refusals; class sub-folders or an
                                                            .npz's labels give each image its class)
    mnist:test, mnist         a split of a built-in data set (the split defaults to test)
    ref.npz                   (references only) statistics saved by advnets reference-stats

An :class:`ImageSet` holds float images [N, C, H, W] in [0, 1] (uint8 / 255 for images read from files),
their labels where known, and its identity: what it is, the SHA-256 of its pixels, how many.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from advnets.errors import ConfigError

ARRAY_SUFFIXES = (".npy", ".npz")


@dataclass(frozen=True)
class ImageSet:
    images: torch.Tensor  # float32 [N, C, H, W] in [0, 1]
    labels: torch.Tensor | None  # int64 [N]: each image's class, where known
    what: str  # for people and rows: "mnist:test", a path, "samples of runs/... (seed 0)"
    sha256: str  # of the pixels as read (uint8) or as given (float32)
    dataset: str | None = None  # the built-in data set the images are a split of
    split: str | None = None

    @property
    def count(self) -> int:
        return len(self.images)

    @property
    def x_shape(self) -> list[int]:
        return list(self.images.shape[1:])

    def identity(self) -> dict[str, Any]:
        """What a metric row and a statistics file say of these images."""
        return {"what": self.what, "sha256": self.sha256, "count": self.count, "x_shape": self.x_shape}


def _sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def from_pixels(pixels: np.ndarray, labels: np.ndarray | None, what: str, dataset: str | None = None,
                split: str | None = None) -> ImageSet:
    """An image set from uint8 pixels [N, C, H, W] (labels -1: none)."""
    known = labels is not None and len(labels) and (np.asarray(labels) >= 0).all()
    return ImageSet(torch.from_numpy(np.ascontiguousarray(pixels)).float().div_(255.0),
                    torch.from_numpy(np.asarray(labels, dtype=np.int64)) if known else None, what,
                    _sha256(pixels), dataset, split)


def _from_floats(images: torch.Tensor, labels: torch.Tensor | None, what: str, dataset: str | None = None,
                 split: str | None = None) -> ImageSet:
    """An image set from float pixels [N, C, H, W] in [0, 1] (kept as float32, hashed as given)."""
    x = images.float().contiguous()
    return ImageSet(x, labels, what, _sha256(x.numpy()), dataset, split)


def from_tensor(images: Any, what: str = "the images given", labels: Any = None) -> ImageSet:
    """An image set from a tensor or array the Python API was given: uint8 [N, C, H, W] (0-255), or floats in
    [0, 1]; [N, H, W] is one grey channel. Anything else is refused in one line."""
    x = torch.as_tensor(images).detach().cpu()
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] not in (1, 3) or len(x) < 2:
        raise ConfigError(f"{what}: give images [N, C, H, W] (C 1 or 3, N at least 2), got {list(x.shape)}")
    given = None if labels is None else torch.as_tensor(labels).detach().cpu().long()
    if given is not None and given.shape != (len(x),):
        raise ConfigError(f"{what}: labels must be one class number per image [{len(x)}], got {list(given.shape)}")
    if x.dtype == torch.uint8:
        return from_pixels(x.numpy(), None if given is None else given.numpy(), what)
    if not x.is_floating_point():
        raise ConfigError(f"{what}: give uint8 pixels or floats in [0, 1], got {x.dtype}")
    x = x.float()
    if not bool(torch.isfinite(x).all()) or float(x.min()) < 0 or float(x.max()) > 1:
        raise ConfigError(f"{what}: pixels must lie in [0, 1] (found {float(x.min()):.3g} to {float(x.max()):.3g}); "
                          "for a generator's tanh output in [-1, 1]: (x + 1) / 2")
    return _from_floats(x, given, what)


def is_image_source(path: str | Path) -> bool:
    """Whether `path` names images rather than a run: an array file, or a folder that holds no run's files."""
    from advnets.outputs import is_run_folder
    from advnets.snapshot import BEST_SNAPSHOT, EXPORTED_SNAPSHOT, LATEST_SNAPSHOT

    path = Path(path)
    if path.is_file():
        return path.suffix.lower() in ARRAY_SUFFIXES
    snapshots = (LATEST_SNAPSHOT, BEST_SNAPSHOT, EXPORTED_SNAPSHOT)  # a folder holding an exported G is a source too
    return path.is_dir() and not is_run_folder(path) and not any((path / name).exists() for name in snapshots)


def read_images(path: str | Path, size: int | None = None, channels: int | None = None,
                option: str = "SOURCE") -> ImageSet:
    """A folder of images or an array file, by data.name: images's rules (its refusals name `option`, --size and
    --channels)."""
    from advnets.data.images import Naming, read_path

    images = read_path(path, size, channels, naming=Naming(option, "--size", "--channels"))
    return from_pixels(images.pixels, images.labels, str(path))


def dataset_split(text: str, data_dir: str | None, option: str) -> ImageSet | None:
    """`name[:split]` of a built-in image data set (mnist:test), or None when `text` names none."""
    from advnets.data import registry as datasets

    name, _, split = text.partition(":")
    if name not in datasets.names(kind=datasets.IMAGE) or datasets.get(name).read_split is None:
        return None
    spec = datasets.get(name)
    split = split or "test"
    if split not in spec.splits:
        raise ConfigError(f"{option} {text}: {name} has the splits {', '.join(spec.splits)}")
    pixels, labels = spec.load_pixels(split, data_dir)
    return from_pixels(pixels, labels, f"{name}:{split}", name, split)


def resolve(text: str, data_dir: str | None, size: int | None = None, channels: int | None = None,
            option: str = "--reference", stats_allowed: bool = True):
    """What `text` names, as an ImageSet or (references) saved FeatureStats: an existing path first (an array
    file, a statistics file, a folder), then a data set's split; one line otherwise."""
    from advnets.data import registry as datasets
    from advnets.metrics import feature_stats

    path = Path(text).expanduser()
    if path.exists():
        if path.is_file() and feature_stats.is_stats_file(path):
            if not stats_allowed:
                raise ConfigError(f"{option} {text} is a statistics file (advnets reference-stats): give it as "
                                  "--reference; samples must be images")
            return feature_stats.load_stats(path)
        return read_images(path, size, channels, option)
    split = dataset_split(text, data_dir, option)
    if split is None:
        known = [n for n in datasets.names(kind=datasets.IMAGE) if datasets.get(n).read_split is not None]
        raise ConfigError(f"{option} {text}: no such file or folder, nor a data set's split (NAME[:SPLIT], e.g. "
                          f"mnist:test; data sets: {', '.join(known)})")
    return split


def run_samples(snap, request) -> ImageSet:
    """request.n_samples samples of a snapshot's G (seed request.seed), as an image set."""
    from advnets.sampling import generate

    samples = generate(snap.generator, request.n_samples, seed=request.seed, device=request.device).cpu()
    return _from_floats(samples, None, f"samples of {snap.path} (seed {request.seed})")


def run_reference(snap, request) -> ImageSet:
    """The split (request.reference_split: test, or valid) of the data set a run was trained on."""
    from advnets.metrics.spec import data_spec

    split = request.reference_split
    images, labels = data_spec(snap).load_pixels(split, request.data_dir or snap.config.data.dir)
    name = snap.config.data.name
    return from_pixels(images, labels, f"{name}:{split}" if name != "images" else f"{snap.config.data.path} ({split})",
                       name, split)


def score_run(snap, request, score_images) -> dict[str, Any]:
    """A metric's `score_images` for a run: its G's samples against request.reference, or by default against its
    data set's split (the row's `reference` then names the split, and `n_<split>` counts it, as rows always have)."""
    import dataclasses

    reference = request.reference or run_reference(snap, request)
    row = score_images(run_samples(snap, request), dataclasses.replace(request, reference=reference))
    if request.reference is not None:
        return {"reference": reference_name(reference), **row}
    split = request.reference_split
    return {"reference": split, **row, f"n_{split}": row["n_reference"]}


def needs_reference(request, what: str):
    """request.reference, or one line saying that `what` compares the samples with one."""
    if request.reference is None:
        raise ConfigError(f"{what} compares the samples with reference images: give --reference (a data set's split "
                          "such as mnist:test, a folder or array of images, or a file of advnets reference-stats)")
    return request.reference


def reference_name(reference) -> str:
    """What a row calls its reference: a data set's split, a path, or a statistics file's path."""
    return reference.path if getattr(reference, "path", None) else reference.identity()["what"]


def first(images: ImageSet, n: int) -> ImageSet:
    """The first n images of a set (--n-samples on images from anywhere); all of them when it holds fewer."""
    if n >= images.count:
        return images
    return _from_floats(images.images[:n], None if images.labels is None else images.labels[:n],
                        f"{images.what} (first {n:,})", images.dataset, images.split)


def as_image_set(given: Any, what: str, labels: Any = None, data_dir: str | None = None) -> ImageSet:
    """The Python API's samples: an ImageSet as it is, a path or a data set's split, else a tensor or array."""
    if isinstance(given, ImageSet):
        return given
    if isinstance(given, (str, Path)):
        images = resolve(str(given), data_dir, option=what, stats_allowed=False)
        if labels is not None:
            return from_tensor(images.images, what, labels)
        return images
    return from_tensor(given, what, labels)


def as_reference(given: Any, data_dir: str | None = None):
    """The Python API's reference: an ImageSet or FeatureStats as it is, a path, a data set's split or a statistics
    file, else a tensor or array of images."""
    from advnets.metrics.feature_stats import FeatureStats

    if isinstance(given, (ImageSet, FeatureStats)):
        return given
    if isinstance(given, (str, Path)):
        return resolve(str(given), data_dir, option="reference")
    return from_tensor(given, "reference")
