"""The Toronto Face Database (TFD), for users who have it: it is not openly available, so it is
never downloaded. The file is the one the paper's code read (pylearn2's ``TFD``): a MATLAB file
``TFD_48x48.mat`` holding

    images  [N, 48, 48] uint8      the faces
    folds   [N, 5]                 per fold: 0 unlabeled, 1 train, 2 valid, 3 test
    labs_ex [N, 1]                 expression label (1-7; -1 where unlabeled)

looked up as ``<dir>/tfd/TFD_48x48.mat`` or ``<dir>/TFD_48x48.mat`` in the usual data directories.
The paper's splits (``docs/paper.md`` section 4), fold 0: train = the "unlabeled" images, valid
and test = that fold's validation and test images.
"""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path

import numpy as np

from advnets.data.mnist import data_dirs
from advnets.data.spec import IMAGE, DatasetSpec
from advnets.errors import DataError

FILENAME = "TFD_48x48.mat"
FOLD_CODES = {"train": 0, "labeled-train": 1, "valid": 2, "test": 3}  # the paper's train is "unlabeled"
FOLD = 0


def find_tfd(data_dir: str | None = None) -> Path:
    dirs = data_dirs(data_dir)
    for d in dirs:
        for path in (d / "tfd" / FILENAME, d / FILENAME):
            if path.is_file():
                return path
    raise DataError(f"TFD file {FILENAME} not found in {', '.join(map(str, dirs))}; TFD is not openly "
                    f"available and is never downloaded: put your copy in {dirs[0] / 'tfd'}")


def crashes_the_parser(loadmat, path: Path) -> bool:
    """Whether scipy's loadmat kills the process reading `path`: fuzzing found damaged MATLAB files
    (about 1 in 800 random byte edits) on which scipy 1.17 segfaults, which no exception handler can
    catch. So the file is first read in a forked child, which may die in our place; the parent reads
    it only after the child has survived (where there is no fork, e.g. Windows, it reads directly)."""
    if not hasattr(os, "fork"):
        return False
    pid = os.fork()
    if pid == 0:  # the child: read, and exit without running any of the parent's clean-up
        import faulthandler

        faulthandler.disable()  # its crash is expected and reported by the parent, not dumped
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                loadmat(str(path))
        except BaseException:  # noqa: BLE001 - a Python exception is the parent's to report
            pass
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status)


@functools.lru_cache(maxsize=2)
def _read(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        from scipy.io import loadmat
        from scipy.io.matlab import MatReadError
    except ImportError:  # pragma: no cover - scipy is a declared dependency
        raise DataError("reading TFD needs scipy (pip install scipy)") from None
    if crashes_the_parser(loadmat, path):
        raise DataError(f"{path} is damaged: scipy's MATLAB reader crashed on it (get a fresh copy of TFD)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy warns before it fails on damaged files; the error says it
            mat = loadmat(str(path))
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror or e}") from None
    except (MatReadError, Exception) as e:  # noqa: BLE001 - scipy's parser meets damaged bytes with any of a
        # dozen types (zlib.error, ValueError, IndexError, UnicodeDecodeError ...; found by fuzzing)
        reason = (str(e).splitlines() or [type(e).__name__])[0]
        raise DataError(f"{path} is not a readable MATLAB file ({reason})") from None
    missing = [key for key in ("images", "folds") if key not in mat]
    if missing:
        raise DataError(f"{path} lacks the variable '{missing[0]}' of TFD's format (images, folds, labs_ex)")
    images, folds = np.asarray(mat["images"]), np.asarray(mat["folds"])
    if images.ndim != 3 or images.shape[1:] != (48, 48) or images.dtype != np.uint8:
        raise DataError(f"{path}: images must be uint8 [N, 48, 48], got {images.dtype} {list(images.shape)}")
    if folds.shape != (len(images), 5):
        raise DataError(f"{path}: folds must be [N, 5] for N = {len(images)} images, got {list(folds.shape)}")
    labels = np.asarray(mat.get("labs_ex", np.full((len(images), 1), -1))).reshape(-1).astype(np.int64)
    return images, folds, labels


def load_tfd_split(split: str, data_dir: str | None = None, fold: int = FOLD) -> tuple[np.ndarray, np.ndarray]:
    """Images [N, 48, 48] uint8 and expression labels [N] (-1: none) of one split of one fold."""
    if split not in FOLD_CODES:
        raise DataError(f"unknown TFD split '{split}' (known: {', '.join(FOLD_CODES)})")
    images, folds, labels = _read(find_tfd(data_dir))
    rows = folds[:, fold] == FOLD_CODES[split]
    if not rows.any():
        raise DataError(f"TFD fold {fold} has no '{split}' images in {find_tfd(data_dir)}")
    return images[rows], labels[rows]


# The paper's training split is TFD's unlabelled images: no class labels for conditional models. The
# file is the user's own copy, with no published checksum to check it against.
DATASETS = (DatasetSpec(name="tfd", title="TFD", kind=IMAGE, x_shape=(1, 48, 48), splits=tuple(FOLD_CODES),
                        read_split=lambda split, data_dir, download: load_tfd_split(split, data_dir)),)
