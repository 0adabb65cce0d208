"""A reference set's statistics in a feature network's features, computed once and saved
(``advnets reference-stats REFERENCE --features NAME --out ref.npz``), then used as ``--reference ref.npz``.

A statistics file (NumPy .npz, read without pickle) holds what each metric needs:

    features   float64 [N, d]   KID and precision/recall/density/coverage compare sample features with them
    mean, cov  float64 [d], [d, d]   FID's Gaussian, computed from the features as for any sample set
    meta       one JSON string: format, the feature network (name, module, SHA-256 of its weights), the
               reference's identity (what, SHA-256 of its pixels, count, image shape), the pixel scale and
               the advnets version that wrote it

Scores against a statistics file equal scores against its images (the same features, the same mean and
covariance, the same formulas). Statistics of another feature network, or of images of another shape, are
refused in one line: their numbers would not be comparable.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from advnets.errors import ConfigError
from advnets.fileio import atomic_write_bytes

FORMAT = "advnets-reference-stats/1"
PIXELS = "[0, 1]: uint8 / 255"  # what every feature network is given


@dataclass(frozen=True)
class FeatureStats:
    features: torch.Tensor  # float64 [N, d]
    mean: torch.Tensor  # float64 [d]
    cov: torch.Tensor  # float64 [d, d]
    network: dict[str, str]  # features (name), features_weights_sha256, features_module ...
    reference: dict[str, Any]  # the images' identity (ImageSet.identity), and dataset / split where built in
    path: str | None = None  # the file it was read from

    @property
    def count(self) -> int:
        return len(self.features)

    @property
    def x_shape(self) -> list[int]:
        return list(self.reference["x_shape"])

    def identity(self) -> dict[str, Any]:
        return {**self.reference, "stats_file": self.path}


def weights_sha256(network: torch.nn.Module) -> str:
    """SHA-256 of a network's weights and buffers (names, dtypes, shapes, bytes): which features they are."""
    digest = hashlib.sha256()
    for name, tensor in sorted(network.state_dict().items()):
        value = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{value.dtype}:{list(value.shape)};".encode())
        digest.update(value.view(torch.uint8).numpy().tobytes() if value.numel() else b"")
    return digest.hexdigest()


def gaussian_moments(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """FID's Gaussian of features [N, d]: the mean [d] and the unbiased covariance [d, d], float64,
    cov = (sum_i f_i f_i^T - N mu mu^T) / (N - 1)."""
    f = features.double()
    n = len(f)
    mean = f.sum(0) / n
    cov = (f.T @ f - n * torch.outer(mean, mean)) / (n - 1)
    return mean, cov


def stats_of(features: torch.Tensor, network: dict[str, str], reference: dict[str, Any]) -> FeatureStats:
    mean, cov = gaussian_moments(features)
    return FeatureStats(features.double(), mean, cov, network, reference)


def is_stats_file(path: Path) -> bool:
    """Whether `path` is an .npz written by save_stats (it holds `meta` beside `features`)."""
    if path.suffix.lower() != ".npz":
        return False
    try:
        with np.load(path, allow_pickle=False) as stored:
            return "meta" in stored.files and "features" in stored.files
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return False  # not readable as an .npz: the image reader says why


def save_stats(stats: FeatureStats, path: Path) -> None:
    """Write `stats` to `path` atomically (a crash leaves the old file or none, never half of one)."""
    from advnets import __version__

    meta = {"format": FORMAT, "network": stats.network, "reference": stats.reference, "pixels": PIXELS,
            "advnets": __version__}
    buffer = io.BytesIO()
    np.savez(buffer, features=stats.features.numpy(), mean=stats.mean.numpy(), cov=stats.cov.numpy(),
             meta=np.array(json.dumps(meta)))
    atomic_write_bytes(Path(path), buffer.getvalue())


def load_stats(path: Path) -> FeatureStats:
    """A statistics file, checked: its format, its arrays' shapes; one line when it is not what it says."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            meta = json.loads(str(stored["meta"]))
            features, mean, cov = (torch.from_numpy(stored[k].astype(np.float64)) for k in ("features", "mean", "cov"))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:  # (JSONDecodeError is a ValueError)
        raise ConfigError(f"{path}: not a readable statistics file ({str(e).splitlines()[0][:100]}); make it again "
                          "with advnets reference-stats") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ConfigError(f"{path}: a statistics file of format {meta.get('format') if isinstance(meta, dict) else '?'}"
                          f", not {FORMAT}; make it again with advnets reference-stats")
    n, d = features.shape if features.ndim == 2 else (0, 0)
    if n < 2 or mean.shape != (d,) or cov.shape != (d, d) or meta["reference"].get("count") != n:
        raise ConfigError(f"{path}: its arrays do not agree (features {list(features.shape)}, mean "
                          f"{list(mean.shape)}, cov {list(cov.shape)}); make it again with advnets reference-stats")
    return FeatureStats(features, mean, cov, meta["network"], meta["reference"], str(path))


def check_comparable(stats: FeatureStats, network: dict[str, str], x_shape: list[int]) -> None:
    """Refuse statistics of another feature network (its name or weights) or of images of another shape."""
    where = stats.path or "the reference statistics"
    theirs, ours = stats.network, network
    if (theirs.get("features"), theirs.get("features_weights_sha256")) != (ours.get("features"),
                                                                          ours.get("features_weights_sha256")):
        raise ConfigError(f"{where} holds features of '{theirs.get('features')}' (weights "
                          f"{str(theirs.get('features_weights_sha256'))[:12]}); these samples are read by "
                          f"'{ours.get('features')}' (weights {str(ours.get('features_weights_sha256'))[:12]}): make "
                          f"the statistics again with advnets reference-stats ... --features {ours.get('features')}")
    if list(stats.x_shape) != list(x_shape):
        raise ConfigError(f"{where} was made from images {stats.x_shape}; these samples are {list(x_shape)}: "
                          "compare images of one shape (preprocess them alike: --size, --channels)")
