"""Your own images as a data set (``data.name: images``): a folder of image files, or one array file.

    data:
      name: images
      path: ~/my-images        # a folder (searched recursively), or one .npy / .npz array of uint8 images
      size: 64                 # each image centre-cropped to a square, then resized to 64 x 64 (null: as stored)
      channels: 3              # 1 (grey: Pillow's "L", ITU-R 601-2 luma) or 3 (RGB); null: as stored

A folder's images are read through Pillow (PNG, JPEG, BMP, WebP), in the order of their paths; when every
image lies in a first-level sub-folder, the sub-folders are the classes (ImageFolder's convention), in
sorted order, for conditional models. An array file holds uint8 images [N, H, W], [N, H, W, C] or
[N, C, H, W] (C 1 or 3); an .npz holds them as ``images`` (or its only array) and may hold ``labels`` [N].

The splits: a permutation of the images drawn from the "data-split" stream of ``data.split_seed`` (the same
whatever the run's seed, so that every run of a data set is scored on the same test images), shared out as
``data.split_fractions`` (train / valid / test). The decoded images are cached as one array in the user
cache, under the SHA-256 of what was read (each file's path, size and modification time, or the array
file's bytes) and of the settings above: a second run starts in seconds, and a changed file is read again.

What cannot become a data set is refused in one line naming the file and what to do: a file Pillow
cannot read, a mix of sizes without ``data.size``, a mix of grey and colour without ``data.channels``, an
empty folder, labels that do not match the images. Nothing is skipped silently.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from advnets.data.spec import IMAGE, DatasetSpec
from advnets.errors import ConfigError
from advnets.fileio import atomic_write_bytes, file_sha256

SPLITS = ("train", "valid", "test")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
ARRAY_SUFFIXES = (".npy", ".npz")
FILTERS = ("lanczos", "bicubic", "bilinear", "box", "hamming", "nearest")  # data.resize_filter: Pillow's
CACHE_VERSION = 1  # part of every cache key: a change of how images are decoded reads them again


@dataclass(frozen=True)
class Images:
    """A data set's decoded images: uint8 [N, C, H, W], labels int64 [N] (-1 when it has none), the class
    names, and the SHA-256 key of what was read."""

    pixels: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    key: str
    files: int


def spec_for(data: Any) -> DatasetSpec:
    """The data set ``data`` (a DataConfig with name images) describes. Its shape and classes come from what a
    run recorded (data.found) when there is such a record, so that a trained model samples without its
    images; its splits read the images, and refuse them when they changed since the record was made. A spec
    walks the folder once: a run's plan makes one spec per command (advnets.train.plan)."""
    if not data.path:
        raise ConfigError("data.path: give the folder of your images (or a .npy / .npz array of them) for "
                          "data.name=images")
    found = data.found if data.found is not None and data.found.sha256 else None
    checked = False  # whether this spec has read the images and found them to be the recorded ones
    if found is None:
        images = read(data)
        found = {"sha256": images.key, "files": images.files, "x_shape": list(images.pixels.shape[1:]),
                 "classes": list(images.classes)}
        checked = True
    else:
        found = {"sha256": found.sha256, "files": found.files, "x_shape": list(found.x_shape),
                 "classes": list(found.classes)}

    def read_split(split: str, data_dir: str | None, download: bool) -> tuple[np.ndarray, np.ndarray]:
        nonlocal checked
        # Once this spec has read the folder, its splits come from this process's decoded images (no second walk
        # over the files); otherwise, or if another data set has taken their place, the images are read again
        images = _DECODED.get(found["sha256"]) if checked else None
        if images is None:
            images = read(data)
        if images.key != found["sha256"]:
            raise ConfigError(f"the images at {data.path} are not those this run was trained on ({found['files']} "
                              f"files then, {images.files} now, or their sizes or times changed): put them back, "
                              "or train a new run on them")
        checked = True
        rows = split_rows(len(images.pixels), tuple(data.split_fractions), data.split_seed)[split]
        if len(rows) == 0:
            raise ConfigError(f"the {split} split of {data.path} is empty (data.split_fractions "
                              f"{list(data.split_fractions)} of {len(images.pixels)} images): give it a share")
        return images.pixels[rows], images.labels[rows]

    return DatasetSpec(name="images", title=f"the images of {data.path}", kind=IMAGE, x_shape=tuple(found["x_shape"]),
                       n_classes=len(found["classes"]), splits=SPLITS, read_split=read_split, source=found)


@dataclass(frozen=True)
class Naming:
    """What a refusal calls the path and the two settings: a data config's keys, or a command's options."""

    path: str = "data.path"
    size: str = "data.size"
    channels: str = "data.channels"


CONFIG_NAMING = Naming()


def read(data: Any) -> Images:
    """The images of a data config (name images), decoded or from the cache."""
    return read_path(data.path, data.size, data.channels, data.resize_filter)


def read_path(path: str | Path, size: int | None = None, channels: int | None = None, resize_filter: str = "lanczos",
              naming: Naming = CONFIG_NAMING) -> Images:
    """The images of a folder or an array file, read by ``data.name: images``'s rules (the same decoding, cache and
    refusals), whoever asks: a data config, or ``advnets evaluate`` scoring images from anywhere."""
    return _read(str(Path(path).expanduser().resolve()), size, channels, resize_filter, naming)


def split_rows(n: int, fractions: tuple[float, ...], seed: int) -> dict[str, np.ndarray]:
    """Row indices of each split: a permutation of n from the "data-split" stream of `seed`, the valid and test
    shares rounded, the rest train."""
    import torch

    from advnets import runtime

    order = torch.randperm(n, generator=runtime.stream("data-split", seed)).numpy()
    n_valid, n_test = round(n * fractions[1]), round(n * fractions[2])
    n_train = n - n_valid - n_test
    return {"train": np.sort(order[:n_train]), "valid": np.sort(order[n_train:n_train + n_valid]),
            "test": np.sort(order[n_train + n_valid:])}


_DECODED: dict[str, Images] = {}  # this process's last decoded images, by key (a changed file changes the key)


def _read(path: str, size: int | None, channels: int | None, resize_filter: str, naming: Naming) -> Images:
    """The images at `path` as the settings ask: from memory or the cache when they hold them, else decoded."""
    from advnets.data.mnist import user_cache_dir

    source = Path(path)
    if not source.exists():
        raise ConfigError(f"{naming.path} {source}: no such folder or file")
    if source.is_dir():
        files = image_files(source, naming)
        what = [(str(f.relative_to(source)), f.stat().st_size, f.stat().st_mtime_ns) for f in files]
    elif source.suffix.lower() in ARRAY_SUFFIXES:
        files, what = [source], file_sha256(source)
    else:
        raise ConfigError(f"{naming.path} {source}: give a folder of images or a .npy / .npz array file")
    settings = {"size": size, "channels": channels, "filter": resize_filter, "version": CACHE_VERSION}
    key = hashlib.sha256(json.dumps([what, settings]).encode()).hexdigest()
    if key in _DECODED:
        return _DECODED[key]
    cached = user_cache_dir() / "images" / f"{key}.npz"
    if cached.is_file():
        try:
            with np.load(cached, allow_pickle=False) as stored:
                images = Images(stored["pixels"], stored["labels"], tuple(str(c) for c in stored["classes"]), key,
                                len(files))
            return _remember(images)
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache file: decoded again (and rewritten) below
    if source.is_dir():
        pixels, labels, classes = _decode_folder(source, files, size, channels, resize_filter, naming)
    else:
        pixels, labels, classes = _decode_array(source, size, channels, resize_filter)
    buffer = io.BytesIO()
    np.savez(buffer, pixels=pixels, labels=labels, classes=np.array(classes, dtype=str))
    try:
        atomic_write_bytes(cached, buffer.getvalue())
    except OSError:
        pass  # no cache (read-only home, full disk): the next run decodes again
    return _remember(Images(pixels, labels, classes, key, len(files)))


def _remember(images: Images) -> Images:
    _DECODED.clear()  # one data set at a time in memory
    _DECODED[images.key] = images
    return images


def image_files(folder: Path, naming: Naming = CONFIG_NAMING) -> list[Path]:
    """Every image file under `folder`, in the order of their paths; refused when there is none."""
    files = sorted((p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
                   key=lambda p: p.relative_to(folder).as_posix())
    if not files:
        raise ConfigError(f"{naming.path} {folder} holds no image files ({', '.join(IMAGE_SUFFIXES)}, searched in its "
                          "sub-folders too)")
    return files


def _decode_folder(folder: Path, files: list[Path], size: int | None, channels: int | None, resize_filter: str,
                   naming: Naming) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    from PIL import Image, UnidentifiedImageError

    first_parts = [f.relative_to(folder).parts for f in files]
    classes = tuple(sorted({parts[0] for parts in first_parts})) if all(len(p) > 1 for p in first_parts) else ()
    pictures = []
    for f in files:
        try:
            with Image.open(f) as image:
                image.load()
                pictures.append(image.copy())
        except (UnidentifiedImageError, OSError, ValueError) as e:
            raise ConfigError(f"{f}: Pillow cannot read it as an image ({str(e).splitlines()[0][:100]}); remove it "
                              "or convert it to PNG") from None
    arrays = [_shaped(picture, size, channels, resize_filter) for picture in pictures]
    _check_alike(arrays, files, naming)
    labels = np.array([classes.index(p[0]) for p in first_parts] if classes else [-1] * len(files), dtype=np.int64)
    return np.stack(arrays), labels, classes


def _shaped(picture, size: int | None, channels: int | None, resize_filter: str):
    """One image as uint8 [C, H, W]: converted to grey or RGB, centre-cropped to a square and resized when
    `size` is given."""
    from PIL import Image

    mode = {1: "L", 3: "RGB"}.get(channels) or ("L" if picture.mode in ("1", "L", "I", "I;16", "F") else "RGB")
    picture = picture.convert(mode)
    if size is not None:
        w, h = picture.size
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        picture = picture.crop((left, top, left + side, top + side))
        picture = picture.resize((size, size), getattr(Image.Resampling, resize_filter.upper()))
    array = np.asarray(picture, dtype=np.uint8)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def _check_alike(arrays: list[np.ndarray], files: list[Path], naming: Naming) -> None:
    first = arrays[0].shape
    for f, array in zip(files, arrays):
        if array.shape[0] != first[0]:
            raise ConfigError(f"{f} is {'grey' if array.shape[0] == 1 else 'colour'} and {files[0]} is not: set "
                              f"{naming.channels} to 1 (grey) or 3 (RGB)")
        if array.shape != first:
            raise ConfigError(f"{f} is {array.shape[2]}x{array.shape[1]} and {files[0]} {first[2]}x{first[1]}: "
                              f"set {naming.size} to resize them all (each centre-cropped to a square first)")


def _decode_array(path: Path, size: int | None, channels: int | None,
                  resize_filter: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    unreadable = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error)  # a torn or damaged file
    try:
        loaded = np.load(path, allow_pickle=False)
        labels = None
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                names = list(loaded.files)
                key = "images" if "images" in names else (names[0] if len(names) == 1 else None)
                if key is None:
                    raise ConfigError(f"{path} holds {names}: name the images' array 'images' (and the labels "
                                      "'labels')")
                images = loaded[key]
                labels = loaded["labels"] if "labels" in names else None
        else:
            images = loaded
    except unreadable as e:
        raise ConfigError(f"{path}: not a NumPy array file numpy can read ({str(e).splitlines()[0][:100]})") from None
    images = _channels_first(images, path)
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (len(images),) or labels.dtype.kind not in "iu" or (len(labels) and labels.min() < 0):
            raise ConfigError(f"{path}: 'labels' must be {len(images)} class numbers 0, 1, ... (one per image), "
                              f"got {labels.dtype} {list(labels.shape)}")
    from PIL import Image

    if size is not None or (channels is not None and channels != images.shape[1]):
        shaped = []
        for image in images:
            picture = Image.fromarray(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0))
            shaped.append(_shaped(picture, size, channels, resize_filter))
        images = np.stack(shaped)
    classes = tuple(str(c) for c in range(int(labels.max()) + 1)) if labels is not None and len(labels) else ()
    return np.ascontiguousarray(images), (labels.astype(np.int64) if labels is not None
                                          else np.full(len(images), -1, dtype=np.int64)), classes


def _channels_first(images: np.ndarray, path: Path) -> np.ndarray:
    """uint8 [N, C, H, W] from [N, H, W], [N, H, W, C] or [N, C, H, W] (C 1 or 3)."""
    if images.dtype != np.uint8:
        raise ConfigError(f"{path} holds {images.dtype} values: give uint8 pixels 0-255 (for floats in [0, 1]: "
                          "(x * 255).round().astype(np.uint8))")
    if images.ndim == 3:
        images = images[:, None]
    elif images.ndim == 4 and images.shape[-1] in (1, 3) and images.shape[1] not in (1, 3):
        images = images.transpose(0, 3, 1, 2)
    if images.ndim != 4 or images.shape[1] not in (1, 3) or len(images) == 0:
        raise ConfigError(f"{path} holds an array of shape {list(images.shape)}: give images [N, H, W], [N, H, W, C] "
                          "or [N, C, H, W] with C 1 or 3, N at least 1")
    return images


PLACEHOLDER = DatasetSpec(name="images", title="your images (data.path)", kind=IMAGE, x_shape=(), splits=SPLITS,
                          from_config=spec_for)
DATASETS = (PLACEHOLDER,)
