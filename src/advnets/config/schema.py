"""The run configuration's schema: one typed dataclass per concern, with its defaults and choices.

The defaults are the authors' released MNIST setup (``mnist.yaml`` in goodfeli/adversarial, see
``docs/paper.md`` section 4). A field's ``choices`` (fixed, or asked of a registry when a config is checked)
and a number field's ``auto`` value are in its metadata; advnets.config.loading reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

# The data registry and the plugins are asked for their names when a config is checked, not here: listing
# presets, printing help and reading YAML stay free of PyTorch, which the data modules import.


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
    # valid_metric on valid_samples samples of G, the best kept as network-best.safetensors (train/validation.py):
    # parzen, the Parzen log-likelihood of the first 1,000 validation images at the best sigma of the paper's
    # grid; fid, FID against the validation split in the data set's shipped classifier's features (MNIST);
    # fid:NAME, the same in a registered feature network's features.
    valid_every: int = 0
    valid_samples: int = 10000
    valid_metric: str = "parzen"
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
