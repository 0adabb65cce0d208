"""Typed run configuration: one dataclass per concern, YAML round trip, dotted overrides.

The defaults are the authors' released MNIST setup (``mnist.yaml`` in goodfeli/adversarial, see
``docs/paper.md`` section 4). A preset YAML file lists only the keys it sets; anything else keeps
its default. Unknown keys, wrong types and out-of-range values raise :class:`ConfigError` naming
the dotted key, so a typo never silently trains the wrong model.

Example::

    cfg = load_config("paper-mnist", overrides=["train.steps=2000", "seed=3"])
    print(to_yaml(cfg))
"""

from __future__ import annotations

import dataclasses
import math
import re
import reprlib
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Optional, Union

import yaml

from advnets.errors import ConfigError

# The data registry (and the masks) are imported where a config is checked, not here: listing presets,
# printing help and reading YAML stay free of PyTorch, which the data modules import.


def _choice(default: str, *choices: str) -> Any:
    return field(default=default, metadata={"choices": (default, *choices)})


def _data_set_names() -> tuple[str, ...]:
    """data.name's choices: the registry's, asked when a config is checked (not when it is defined)."""
    from advnets.data import registry

    return registry.names()


def _arches(network: str) -> tuple[str, ...]:
    """generator.arch's / discriminator.arch's choices: the built-in networks and the registered ones."""
    from advnets import plugins

    if network == "generator":
        return (*plugins.BUILT_IN_GENERATORS, *plugins.generators())
    return (*plugins.BUILT_IN_DISCRIMINATORS, *plugins.discriminators())


@dataclass
class FoundImages:
    """What advnets read for data.name=images (written by advnets at the start of training, into config.yaml
    and every snapshot; not a setting): the SHA-256 key of the files (paths, sizes, times) or array file and
    of the settings, how many files, the images' shape [C, H, W], the class names (sub-folders)."""

    sha256: str = ""
    files: int = 0
    x_shape: list[int] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)


@dataclass
class DataConfig:
    """Which distribution p_data is, and where its files live."""

    name: str = field(default="mnist", metadata={"choices": _data_set_names})  # advnets.data.registry
    dir: Optional[str] = None  # else env ADVNETS_DATA, else the user cache directory
    # name images (data/images.py): your own images, a folder of image files (its first-level sub-folders the
    # classes) or one .npy / .npz uint8 array; each centre-cropped to a square and resized to size x size with
    # resize_filter (null: as stored, all one size); channels 1 (grey, Pillow's luma) or 3 (RGB), null: as
    # stored; split into train / valid / test by split_fractions, drawn from split_seed (the same for every run)
    path: Optional[str] = None
    size: Optional[int] = None
    resize_filter: str = _choice("lanczos", "bicubic", "bilinear", "box", "hamming", "nearest")
    channels: Optional[int] = None
    split_fractions: list[float] = field(default_factory=lambda: [0.8, 0.1, 0.1])
    split_seed: int = 0
    found: Optional[FoundImages] = None  # written by advnets when it reads your images (see FoundImages)
    download: bool = True  # fetch missing files from the official mirrors (checksums checked)
    # The space G and D model (data/preprocess.py): none, pixels in [0, 1]; gcn, each image's mean
    # removed and its norm set to gcn_scale (the released CIFAR-10 code's, scale 55)
    preprocess: str = _choice("none", "gcn")
    gcn_scale: float = 55.0
    conditional: bool = False  # p(x | c): the class label c (one-hot) is fed to both G and D (future work 1)
    # p(x_S | x_notS) (future work 3): G fills in the pixels a random mask hides, given the others and
    # the mask; D judges the completed image and sees the mask. Masks drawn from `masks` (data/masks.py).
    inpainting: bool = False
    masks: list[str] = field(default_factory=lambda: ["halves", "quarters", "squares", "pixels"])
    # Synthetic distributions (no files): ring of `modes` Gaussians of radius `radius`; a 5x5 grid
    # with spacing 2; a 1-D mixture sum_i mixture_weights_i N(means_i, stds_i^2) (equal weights when
    # None). `std` is each mode's standard deviation (None: the data set's published default: ring
    # 0.01, grid 0.05).
    modes: int = 8
    radius: float = 1.0
    std: Optional[float] = None
    means: list[float] = field(default_factory=lambda: [0.0])
    stds: list[float] = field(default_factory=lambda: [1.0])
    mixture_weights: Optional[list[float]] = None


@dataclass
class GeneratorConfig:
    """G: z -> x, an MLP (paper: ReLU 1200, ReLU 1200, sigmoid 784), or the same fully connected layers
    followed by a transposed convolution (arch deconv: the CIFAR-10 convolutional model, models/conv.py)."""

    arch: str = field(default="mlp", metadata={"choices": lambda: _arches("generator")})  # or a plugin's
    z_dim: int = 100
    z_prior: str = _choice("uniform", "gaussian")  # uniform is U(-sqrt3, sqrt3): unit variance
    hidden: list[int] = field(default_factory=lambda: [1200, 1200])
    activation: str = _choice("relu", "leaky_relu", "tanh", "sigmoid")
    hidden_activations: Optional[list[str]] = None  # one per hidden layer, instead of `activation`
    hidden_bias: Optional[list[float]] = None  # starting bias of each hidden layer (default 0)
    output: str = _choice("sigmoid", "linear")
    init_range: float = 0.05  # weights ~ U(-r, r), biases 0 ("irange")
    output_init_range: Optional[float] = None  # the output layer's irange (null: init_range)
    output_bias: str = _choice("data-logit", "zero")  # data-logit: logit(mean training pixel)
    # arch deconv: the last hidden layer is reshaped to feature_shape [C, h, w], then a transposed
    # convolution (kernel x kernel, output stride `stride`) makes [channels, (h-1)*stride + kernel, ...],
    # centre-cropped to the image size where larger (CIFAR-10: 80x10x10, 5, 3 -> 3x32x32)
    feature_shape: Optional[list[int]] = None
    kernel: int = 5
    stride: int = 3
    max_col_norm: Optional[float] = None  # after each update, each unit's incoming weights scaled to norm <= this
    # Not the paper's: batch normalisation after each hidden layer's linear map (DCGAN's remedy for a G that
    # collapses all samples to one point; conv-mnist). Batch statistics in training, running ones when sampling.
    batch_norm: bool = False
    # A trained G (run or snapshot) whose layers start this G's last ones: TFD stage 2 (models/stacking.py)
    init_from: Optional[str] = None


@dataclass
class ConvLayerConfig:
    """One convolutional maxout layer of D (pylearn2's MaxoutConvC01B): a kernel x kernel convolution
    with `pad` zeros on every side to channels * pieces maps, the max over each group of `pieces`, then
    a max-pool of pool x pool windows at stride pool_stride (windows may overhang the edge, as
    pylearn2's: every input pixel is in some window)."""

    channels: int = 32
    pieces: int = 2
    kernel: int = 8
    pad: int = 0
    pool: int = 1  # 1: no pooling
    pool_stride: Optional[int] = None  # null: pool


@dataclass
class DiscriminatorConfig:
    """D: x -> logit of P(x is data); maxout layers with dropout on each layer's input, after the
    convolutional maxout layers of `conv` for arch conv-maxout (models/conv.py)."""

    # mlp: plain linear + `activation` layers; or a registered network's name (advnets.plugins)
    arch: str = field(default="maxout", metadata={"choices": lambda: _arches("discriminator")})
    conv: list[ConvLayerConfig] = field(default_factory=list)  # arch conv-maxout: its conv layers, in order
    pad_to: Optional[int] = None  # arch conv-maxout: images zero-padded (centred) to pad_to x pad_to first
    hidden: list[int] = field(default_factory=lambda: [240, 240])
    pieces: int = 5  # maxout pieces per unit
    activation: str = _choice("relu", "leaky_relu", "tanh", "sigmoid")  # for arch=mlp only
    init_range: float = 0.005
    input_keep: float = 0.8  # dropout keep probability on the pixels
    hidden_keep: float = 0.5  # ... and on the input of every later layer
    max_col_norm: Optional[float] = None  # as generator.max_col_norm (pylearn2's max_col_norm)
    # Not the paper's: every weight divided by its largest singular value, estimated by one power
    # iteration per training pass (spectral normalisation, Miyato et al. 2018)
    spectral_norm: bool = False


@dataclass
class LossConfig:
    """Which generator objective: the paper's minimax one or its non-saturating advice."""

    generator: str = _choice("non-saturating", "minimax")
    # Stabilisers the field uses, not the paper's (0: off, as in the paper):
    label_smoothing: float = 0.0  # one-sided: D's target on data is 1 - label_smoothing (Salimans et al. 2016)
    r1_gamma: float = 0.0  # R1: D's loss + r1_gamma/2 * E_x |grad_x logit D(x)|^2 on data (Mescheder et al. 2018)
    # Instance noise: D reads x + sigma_t * N(0, I), real and generated alike, with
    # sigma_t = instance_noise * max(0, 1 - t / T) after t iterations, T = instance_noise_steps or train.steps
    # (Sønderby et al. 2017; Arjovsky & Bottou 2017)
    instance_noise: float = 0.0
    instance_noise_steps: Optional[int] = None


@dataclass
class OptimConfig:
    """Optimizer and schedules, shared by D and G unless d_lr / g_lr override the rate."""

    name: str = _choice("momentum-sgd", "adam")
    lr: float = 0.1
    d_lr: Optional[float] = None
    g_lr: Optional[float] = None
    lr_decay: float = 1.000004  # lr_t = lr / lr_decay**t after t updates ...
    lr_min: float = 1e-6  # ... floored here
    # t above: "updates", each optimizer's own update count (the released code, where k = 1); or
    # "iterations", generator updates, so that with k > 1 D's rate does not decay k times faster
    lr_decay_clock: str = _choice("updates", "iterations")
    # A late annealing (a "better coordination of G and D" variant, not the paper's): from update
    # `lr_anneal_from` of the same clock on, the rate is further divided by `lr_anneal` after every update:
    #     lr_t = max(lr / lr_decay**t / lr_anneal**max(0, t - lr_anneal_from), lr_min)
    lr_anneal_from: Optional[int] = None  # null: no annealing (the released code)
    lr_anneal: float = 1.0
    momentum: float = 0.5  # at epoch `momentum_start_epoch`, rising linearly to ...
    momentum_final: float = 0.7  # ... this at epoch `momentum_saturate_epoch`
    momentum_start_epoch: int = 1
    momentum_saturate_epoch: int = 250
    betas: list[float] = field(default_factory=lambda: [0.5, 0.999])  # adam only


@dataclass
class InferenceConfig:
    """An inference network E: x -> z (future work 2). `advnets infer` fits one for a finished G; with
    joint: true one is also trained alongside the game (on fresh (z, G(z)) pairs, no gradient into G)."""

    joint: bool = False
    hidden: list[int] = field(default_factory=lambda: [1200, 1200])
    lr: float = 0.001  # Adam


@dataclass
class TrainConfig:
    """Algorithm 1: how many updates, in which order, and what the run records."""

    steps: int = 1000  # total generator updates
    batch_size: int = 100  # m
    k: int = 1  # discriminator updates per generator update (alternating schedule)
    schedule: str = _choice("simultaneous", "alternating")
    g_sees_dropout: bool = True  # G's loss reads D with dropout on, as the released code does
    # bf16: forward and backward matmuls in bfloat16 (torch.autocast), weights, optimizer state and
    # losses in float32. Faster where the hardware has bf16 units (recent GPUs, AVX512-BF16 CPUs).
    precision: str = _choice("fp32", "bf16")
    # CUDA graphs (train/graph.py): the whole iteration captured once and replayed, so that Python stops
    # issuing its ~100 kernels one by one. auto: on for CUDA wherever the config allows it; on: required
    # (refused in one line where it cannot be); off: every iteration runs eagerly.
    graph: str = _choice("auto", "on", "off")
    log_every: int = 100
    sample_every: int = 500
    checkpoint_every: int = 500
    snapshot_every: int = 0  # also keep numbered network snapshots every N steps (0: off)
    grid_size: int = 100  # samples in each progress grid (fixed latent batch)
    # Model selection on validation only: every valid_every steps (a multiple of log_every; 0: off),
    # the Parzen log-likelihood of the first 1,000 validation images under valid_samples samples of G,
    # at the best sigma of the paper's grid; the best one is kept as network-best.safetensors.
    valid_every: int = 0
    valid_samples: int = 10000
    # An exponential moving average of G's weights (0: off), updated after every G update; samples,
    # validation and evaluation read the average (train/ema.py). The live G trains as without it.
    ema_decay: float = 0.0
    tensorboard: bool = False  # also log scalars and sample grids to RUN_DIR/tensorboard (needs the package)
    progress: bool = True
    # When a statistic or a weight becomes NaN or infinite (checked on the device at every log interval
    # and before every checkpoint; nothing non-finite is ever written): stop (exit status 3, the last finite
    # checkpoint kept), or roll back to the last checkpoint with the learning rates halved, at most
    # max_rollbacks times in a run, then stop.
    on_nonfinite: str = _choice("stop", "rollback")
    max_rollbacks: int = 3


@dataclass
class Config:
    """A whole run. Round-trips through YAML; `to_dict(load(x)) == x` for valid x."""

    name: str = "run"
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    # CPU threads of the run's PyTorch ops; 0 or "auto": one thread where an update is small work (the 1-D and
    # 2-D presets), all of them for the image networks (advnets.train.budget.choose_threads; written to log.txt).
    # Results can depend on it in their last bits (the order of a sum's terms), as they can on the CPU.
    threads: int = field(default=0, metadata={"auto": 0})
    data: DataConfig = field(default_factory=DataConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    inference: InferenceConfig = field(default_factory=InferenceConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


# ----------------------------------------------------------------------------------------------
# dict <-> dataclass with type checks


def to_dict(cfg: Any) -> dict:
    return dataclasses.asdict(cfg)


# Keys renamed since a version that wrote configs (into run directories and checkpoints): old -> new.
# Such a config still loads, under the new name.
RENAMED_KEYS = {"data.weights": "data.mixture_weights"}  # 0.1.0: the mixture's weights, not a network's


def _renamed(data: dict, prefix: str) -> dict:
    """`data`, the mapping at dotted `prefix`, with its keys under their current names."""
    out = {}
    for key, value in data.items():
        new = RENAMED_KEYS.get(prefix + key, prefix + key)[len(prefix):]
        if new != key and new in data:
            raise ConfigError(f"{prefix}{key} was renamed {prefix}{new}; give only {prefix}{new}")
        out[new] = value
    return out


def from_dict(cls: type, data: Any, prefix: str = "", static: bool = False) -> Any:
    """Build dataclass `cls` from a (partial) dict, checking keys, types and choices. `static`: only what
    needs no data registry (keys, types, fixed choices), so that the command line can refuse a typo before
    it loads PyTorch; the returned config is then not validated."""
    where = prefix.rstrip(".") or "config"
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of keys, got {_show(data)}")
    data = _renamed(data, prefix)
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown config key '{prefix}{unknown[0]}' (known in {where}: {', '.join(known)})"
        )
    values = {}
    for name, value in data.items():
        key = prefix + name
        choices = known[name].metadata.get("choices")
        if callable(choices):
            choices = None if static else choices()
        if isinstance(value, bool) and choices and {"on", "off"} <= set(choices):
            value = "on" if value else "off"  # YAML 1.1 reads a bare on / off as true / false
        if value == "auto" and "auto" in known[name].metadata:
            value = known[name].metadata["auto"]  # a number field whose "auto" has a number (threads: 0)
        values[name] = _coerce(hints[name], value, key, static)
        if choices and values[name] not in choices:
            raise ConfigError(f"{key}: {_show(value)} is not one of {', '.join(choices)}")
    cfg = cls(**values)
    if cls is Config and not static:
        validate(cfg)
    return cfg


_FLOAT_WITHOUT_DOT = re.compile(r"[-+]?\d+[eE][-+]?\d+")


def _coerce(tp: Any, value: Any, key: str, static: bool = False) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _coerce(args[0], value, key, static)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, key + ".", static)
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {_show(value)}")
        return [_coerce(item, v, f"{key}[{i}]", static) for i, v in enumerate(value)]
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, str) and _FLOAT_WITHOUT_DOT.fullmatch(value.strip()):
            value = float(value)  # YAML 1.1 reads 1e-3 (no dot) as a string
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    else:  # pragma: no cover - a new field type needs a branch here
        raise TypeError(f"unsupported config type {tp} for {key}")
    raise ConfigError(f"{key}: expected {tp.__name__}, got {_show(value)}")


# A value quoted in an error message is shortened (a few items, a few levels, 60 characters a string), so
# that no value, however large or deeply nested, makes the message itself expensive.
_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxtuple, _SHORT.maxdict = 3, 6, 6, 6
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlong = 60, 60, 40


def _show(value: Any) -> str:
    return f"{type(value).__name__} {_SHORT.repr(value)}"


def _need(ok: bool, key: str, what: str) -> None:
    if not ok:
        raise ConfigError(f"{key}: must be {what}")


def check_against_data(cfg: Config, spec: Any) -> None:
    """What depends on the data set's content, once it is known (your images: when they are read): class labels
    for a conditional model, and the convolutional networks' sizes against the images'."""
    _need(not cfg.data.conditional or spec.n_classes > 0, "data.conditional",
          f"false unless the data set has class labels ({spec.title} has none: put the images in one sub-folder "
          "per class, or give an .npz its 'labels')")
    _validate_conv(cfg, spec, _need)


def validate(cfg: Config) -> None:
    """Range checks that types alone cannot express."""
    need = _need

    d, g, dis, o, t = cfg.data, cfg.generator, cfg.discriminator, cfg.optim, cfg.train
    need(cfg.seed >= 0, "seed", ">= 0")
    need(0 <= cfg.threads <= 4096, "threads", "auto (0) or a number of threads, 1 or more")
    need(cfg.device == "auto" or cfg.device == "cpu" or cfg.device.startswith("cuda"), "device",
         "auto, cpu, cuda or cuda:N")
    from advnets.data import registry
    from advnets.data.masks import FAMILIES

    spec = registry.get(d.name)  # (a data set the config decides, your images, is checked when it is read)
    need(d.path is not None or spec.from_config is None, "data.path",
         "the folder (or .npy / .npz file) of your images, for data.name=images")
    need(d.size is None or 1 <= d.size <= 4096, "data.size", "a side in pixels, 1 to 4096 (or null: as stored)")
    need(d.channels in (None, 1, 3), "data.channels", "1 (grey), 3 (RGB) or null (as stored)")
    need(len(d.split_fractions) == 3 and all(f >= 0 for f in d.split_fractions) and d.split_fractions[0] > 0
         and abs(sum(d.split_fractions) - 1) < 1e-9, "data.split_fractions",
         "three shares (train, valid, test), each >= 0, train > 0, summing to 1")
    need(d.split_seed >= 0, "data.split_seed", ">= 0")
    need(not d.conditional or spec.n_classes > 0 or spec.from_config is not None, "data.conditional",
         f"false unless the data set has class labels ({', '.join(registry.names(labelled=True))}, or images "
         "in one sub-folder per class)")
    image_data = ", ".join(registry.names(kind=registry.IMAGE))
    need(not d.inpainting or spec.is_image, "data.inpainting",
         f"false unless the data set is one of images ({image_data})")
    need(not (d.inpainting and d.conditional), "data.inpainting", "false when data.conditional is true (one condition)")
    need(len(d.masks) >= 1 and all(m in FAMILIES for m in d.masks), "data.masks",
         f"a non-empty list of {', '.join(FAMILIES)}")
    need(d.preprocess == "none" or spec.is_image, "data.preprocess",
         f"none unless the data set is one of images ({image_data})")
    need(d.gcn_scale > 0, "data.gcn_scale", "> 0")
    need(d.preprocess == "none" or cfg.generator.output == "linear", "generator.output",
         "linear with data.preprocess gcn (contrast-normalised values are not in [0, 1])")
    need(d.preprocess == "none" or not d.inpainting, "data.inpainting",
         "false with data.preprocess gcn (inpainting keeps observed pixels, which gcn changes with the hidden ones)")
    need(d.modes >= 1, "data.modes", ">= 1")
    need(d.radius > 0, "data.radius", "> 0")
    need(d.std is None or d.std > 0, "data.std", "> 0")
    need(len(d.means) == len(d.stds) >= 1, "data.stds", "as long as data.means (>= 1 entry)")
    need(all(s > 0 for s in d.stds), "data.stds", "all > 0")
    need(d.mixture_weights is None or (len(d.mixture_weights) == len(d.means) and all(w > 0 for w in d.mixture_weights)),
         "data.mixture_weights", "positive and as long as data.means")
    need(g.z_dim >= 1, "generator.z_dim", ">= 1")
    need(all(h >= 1 for h in g.hidden), "generator.hidden", "positive layer widths")
    need(g.init_range > 0, "generator.init_range", "> 0")
    activations = ("relu", "leaky_relu", "tanh", "sigmoid")
    need(g.hidden_activations is None or (len(g.hidden_activations) == len(g.hidden)
                                          and all(a in activations for a in g.hidden_activations)),
         "generator.hidden_activations", f"one of {', '.join(activations)} per entry of generator.hidden")
    need(g.hidden_bias is None or len(g.hidden_bias) == len(g.hidden), "generator.hidden_bias",
         "one value per entry of generator.hidden")
    for key, norm in (("generator.max_col_norm", g.max_col_norm), ("discriminator.max_col_norm", dis.max_col_norm)):
        need(norm is None or norm > 0, key, "> 0 (or null: no constraint)")
    need(g.output_init_range is None or g.output_init_range > 0, "generator.output_init_range", "> 0 (or null)")
    need(all(h >= 1 for h in dis.hidden), "discriminator.hidden", "positive layer widths")
    _validate_conv(cfg, spec, need)
    need(dis.pieces >= 1, "discriminator.pieces", ">= 1")
    need(dis.init_range > 0, "discriminator.init_range", "> 0")
    need(0 < dis.input_keep <= 1, "discriminator.input_keep", "in (0, 1]")
    need(0 < dis.hidden_keep <= 1, "discriminator.hidden_keep", "in (0, 1]")
    for key, lr in (("optim.lr", o.lr), ("optim.d_lr", o.d_lr), ("optim.g_lr", o.g_lr)):
        need(lr is None or lr > 0, key, "> 0")
    need(0 <= cfg.loss.label_smoothing < 0.5, "loss.label_smoothing", "in [0, 0.5) (0: none, as the paper)")
    need(cfg.loss.r1_gamma >= 0, "loss.r1_gamma", ">= 0 (0: no penalty, as the paper)")
    need(cfg.loss.instance_noise >= 0, "loss.instance_noise", ">= 0 (0: none, as the paper)")
    need(cfg.loss.instance_noise_steps is None or cfg.loss.instance_noise_steps >= 1, "loss.instance_noise_steps",
         ">= 1 (or null: annealed over train.steps)")
    need(not (dis.spectral_norm and dis.max_col_norm is not None), "discriminator.spectral_norm",
         "false when discriminator.max_col_norm is set (two constraints on the same weights: choose one)")
    need(o.lr_decay >= 1, "optim.lr_decay", ">= 1 (1 means no decay)")
    need(o.lr_min >= 0, "optim.lr_min", ">= 0")
    need(o.lr_anneal >= 1, "optim.lr_anneal", ">= 1 (1 means no annealing)")
    need(o.lr_anneal_from is None or o.lr_anneal_from >= 0, "optim.lr_anneal_from", ">= 0 (or null: no annealing)")
    need(0 <= o.momentum < 1, "optim.momentum", "in [0, 1)")
    need(0 <= o.momentum_final < 1, "optim.momentum_final", "in [0, 1)")
    need(1 <= o.momentum_start_epoch <= o.momentum_saturate_epoch, "optim.momentum_saturate_epoch",
         ">= optim.momentum_start_epoch >= 1")
    need(len(o.betas) == 2 and all(0 <= b < 1 for b in o.betas), "optim.betas", "two values in [0, 1)")
    need(t.steps >= 1, "train.steps", ">= 1")
    need(t.max_rollbacks >= 0, "train.max_rollbacks", ">= 0")
    need(t.batch_size >= 1, "train.batch_size", ">= 1")
    need(t.k >= 1, "train.k", ">= 1")
    need(t.schedule == "alternating" or t.k == 1, "train.k",
         "1 with the simultaneous schedule (use train.schedule=alternating for k > 1)")
    for key in ("log_every", "sample_every", "checkpoint_every"):
        need(getattr(t, key) >= 1, f"train.{key}", ">= 1")
    need(t.snapshot_every >= 0, "train.snapshot_every", ">= 0")
    need(t.grid_size >= 1, "train.grid_size", ">= 1")
    need(t.valid_every >= 0 and t.valid_every % t.log_every == 0, "train.valid_every",
         "0 (off) or a multiple of train.log_every")
    need(t.valid_every == 0 or spec.is_image, "train.valid_every",
         "0 for synthetic data (the Parzen validation score needs an image data set)")
    need(t.valid_every == 0 or not d.inpainting, "train.valid_every",
         "0 for inpainting models (the Parzen validation score is for models of whole images)")
    need(t.valid_samples >= 1, "train.valid_samples", ">= 1")
    need(0 <= t.ema_decay < 1, "train.ema_decay", "in [0, 1) (0: no average)")
    need(all(h >= 1 for h in cfg.inference.hidden), "inference.hidden", "positive layer widths")
    need(cfg.inference.lr > 0, "inference.lr", "> 0")
    need(not cfg.inference.joint or not (d.conditional or d.inpainting), "inference.joint",
         "false for conditional and inpainting models (E inverts an unconditional G)")


def _validate_conv(cfg: Config, spec: Any, need: Any) -> None:
    """The convolutional networks' settings, and their size arithmetic against the data's image size."""
    from advnets import conv_shapes as conv

    g, dis = cfg.generator, cfg.discriminator
    need(g.arch != "deconv" or spec.is_image, "generator.arch",
         "mlp or a registered network for synthetic data (deconv makes images)")
    need(dis.arch != "conv-maxout" or spec.is_image, "discriminator.arch",
         "maxout or mlp for synthetic data (conv-maxout reads images)")
    if g.arch == "deconv":
        need(g.feature_shape is not None and len(g.feature_shape) == 3 and all(n >= 1 for n in g.feature_shape),
             "generator.feature_shape", "[channels, height, width] with arch deconv")
        need(bool(g.hidden) and g.hidden[-1] == math.prod(g.feature_shape), "generator.hidden",
             f"a list whose last width is {math.prod(g.feature_shape)} (generator.feature_shape's size)")
        need(g.kernel >= 1 and g.stride >= 1, "generator.kernel", ">= 1 (and generator.stride >= 1)")
        problem = spec.x_shape and conv.deconv_problem(g.feature_shape, g.kernel, g.stride, spec.x_shape)
        if problem:
            raise ConfigError(f"generator.feature_shape: {problem}")
        need(g.init_from is None, "generator.init_from", "null with arch deconv (stacking is for MLP generators)")
    if dis.arch == "conv-maxout":
        need(len(dis.conv) >= 1, "discriminator.conv", "at least one layer with arch conv-maxout")
        need(len(dis.hidden) >= 1, "discriminator.hidden", "at least one maxout layer after the convolutions")
        for i, layer in enumerate(dis.conv):
            key = f"discriminator.conv[{i}]"
            need(min(layer.channels, layer.pieces, layer.kernel, layer.pool) >= 1 and layer.pad >= 0, key,
                 "positive channels, pieces, kernel and pool, and pad >= 0")
            need(layer.pool_stride is None or layer.pool_stride >= 1, f"{key}.pool_stride", ">= 1 (or null)")
        if not spec.x_shape:  # your images: checked when they are read (check_against_data)
            return
        need(dis.pad_to is None or dis.pad_to >= max(spec.x_shape[1:]), "discriminator.pad_to",
             f"at least the image size {spec.x_shape[1]}x{spec.x_shape[2]} (or null)")
        problem = conv.conv_stack_problem(dis.conv, spec.x_shape, dis.pad_to)
        if problem:
            raise ConfigError(f"discriminator.conv: {problem}")
    else:
        need(not dis.conv and dis.pad_to is None, "discriminator.conv",
             "empty (and discriminator.pad_to null) unless arch is conv-maxout")


# ----------------------------------------------------------------------------------------------
# presets, YAML files and dotted overrides


def preset_names() -> list[str]:
    folder = resources.files("advnets") / "configs"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


# The most values a config may hold once YAML's aliases (*name) are expanded: a config has about a hundred,
# and an "alias bomb" (nine levels of nine aliases, in 300 characters) expands to hundreds of millions.
MAX_YAML_VALUES = 10_000


def safe_yaml(text: str, where: str) -> Any:
    """`text` read as YAML (safe: no Python objects are built), with its aliases' expansion bounded by
    MAX_YAML_VALUES and no alias that contains itself; ConfigError naming `where` otherwise. (yaml.YAMLError
    passes to the caller, which knows how to describe the file.)"""
    value = yaml.safe_load(text)
    _count_values(value, where)
    return value


def _count_values(value: Any, where: str) -> int:
    """How many values `value` holds with every alias expanded, counted without expanding anything (a
    shared list is counted once and its size reused)."""
    sizes: dict[int, int] = {}
    open_ids: set[int] = set()

    def size(v: Any, depth: int) -> int:
        if not isinstance(v, (list, dict)):
            return 1
        if id(v) in sizes:
            return sizes[id(v)]
        if id(v) in open_ids or depth > 64:
            raise ConfigError(f"{where}: a YAML alias contains itself (or the values nest over 64 levels); "
                              "write the values out")
        open_ids.add(id(v))
        items = [x for pair in v.items() for x in pair] if isinstance(v, dict) else v
        n = 1
        for item in items:
            n += size(item, depth + 1)
            if n > MAX_YAML_VALUES:
                raise ConfigError(f"{where}: its YAML aliases (*name) expand to more than {MAX_YAML_VALUES:,} "
                                  "values; a config holds about a hundred: write the values out")
        open_ids.discard(id(v))
        sizes[id(v)] = n
        return n

    return size(value, 0)


def read_yaml(path: Path | str) -> dict:
    path = Path(path)
    try:
        data = safe_yaml(path.read_text(), f"config file {path}")
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not valid YAML (not UTF-8 text)") from None
    except (yaml.YAMLError, ValueError, RecursionError) as e:  # ValueError: a date YAML parses and Python refuses
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise ConfigError(f"config file {path} is not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys at the top level")
    return data


def preset_path(preset_or_yaml: str) -> Path:
    path = Path(preset_or_yaml)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        return path
    if preset_or_yaml in preset_names():
        return Path(str(resources.files("advnets") / "configs" / f"{preset_or_yaml}.yaml"))
    raise ConfigError(
        f"'{preset_or_yaml}' is neither a YAML file nor a preset (presets: {', '.join(preset_names())})"
    )


def parse_override(text: str) -> tuple[str, Any]:
    """'train.steps=2000' -> ('train.steps', 2000). Values are read as YAML scalars or lists."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"override '{text}' is not of the form KEY=VALUE (e.g. train.steps=2000)")
    try:
        value = safe_yaml(raw, f"--set {key}") if raw.strip() else None
    except (yaml.YAMLError, ValueError, RecursionError):
        value = raw  # a plain string such as a path with odd characters
    return key, value


def set_dotted(data: dict, key: str, value: Any) -> None:
    """Set `a.b.c` in nested dict `data`, checking every part against Config's fields."""
    key = RENAMED_KEYS.get(key, key)
    parts = key.split(".")
    cls: Any = Config
    node = data
    for i, part in enumerate(parts):
        names = {f.name: f for f in dataclasses.fields(cls)}
        if part not in names:
            where = ".".join(parts[:i]) or "config"
            raise ConfigError(f"unknown config key '{key}' (known in {where}: {', '.join(names)})")
        if i == len(parts) - 1:
            node[part] = value
            return
        cls = typing.get_type_hints(cls)[part]
        if not dataclasses.is_dataclass(cls):
            raise ConfigError(f"unknown config key '{key}' ('{'.'.join(parts[: i + 1])}' has no sub-keys)")
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"config key '{'.'.join(parts[: i + 1])}' must be a mapping")


def load_config(preset_or_yaml: str | None = None, overrides: list[str] = (), base: dict | None = None,
                static: bool = False) -> Config:
    """Defaults <- preset or YAML file (or `base`) <- dotted overrides, validated (with `static`: only the
    checks that need no PyTorch, see from_dict)."""
    data: dict = dict(base or {})
    if preset_or_yaml is not None:
        data = read_yaml(preset_path(preset_or_yaml))
        if "name" not in data:
            data["name"] = Path(preset_or_yaml).stem
    for text in overrides:
        set_dotted(data, *parse_override(text))
    return from_dict(Config, data, static=static)


def to_yaml(cfg: Config) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False, default_flow_style=None)


def flatten(data: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def changed_keys(old: Config, new: Config) -> list[str]:
    """Dotted keys whose values differ between two configs."""
    a, b = flatten(to_dict(old)), flatten(to_dict(new))
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
