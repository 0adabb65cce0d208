"""The config's range checks: what types alone cannot say, each refusal one line naming the dotted key.

:func:`validate` runs on every loaded config (advnets.config.loading.from_dict); what depends on a data
set's content (your images' classes and size) waits for the data (:func:`with_data_found`, called where a
run is planned: advnets.train.plan).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from advnets.config.schema import Config, FoundImages
from advnets.errors import ConfigError


def _need(ok: bool, key: str, what: str) -> None:
    if not ok:
        raise ConfigError(f"{key}: must be {what}")


def with_data_found(cfg: Config, spec: Any) -> Config:
    """`cfg` checked against what was read of a data set whose content the config decides (your images: `spec`
    made from them) and holding that record as data.found (which config.yaml and every snapshot carry): class
    labels for a conditional model, and the convolutional networks' sizes against the images'."""
    _need(not cfg.data.conditional or spec.n_classes > 0, "data.conditional",
          f"false unless the data set has class labels ({spec.title} has none: put the images in one sub-folder "
          "per class, or give an .npz its 'labels')")
    _validate_conv(cfg, spec, _need)
    return dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, found=FoundImages(**spec.source)))


def validate(cfg: Config) -> None:
    """Range checks that types alone cannot express, section by section (the first failure is said)."""
    from advnets.data import registry

    spec = registry.get(cfg.data.name)  # (a data set the config decides, your images, is checked when it is read)
    _check_run_and_data(cfg, spec)
    _check_networks(cfg, spec)
    _check_objective_and_optimizer(cfg)
    _check_training(cfg, spec)


def _check_run_and_data(cfg: Config, spec: Any) -> None:
    from advnets.data import registry
    from advnets.data.masks import FAMILIES

    need, d = _need, cfg.data
    need(cfg.seed >= 0, "seed", ">= 0")
    need(0 <= cfg.threads <= 4096, "threads", "auto (0) or a number of threads, 1 or more")
    need(cfg.device == "auto" or cfg.device == "cpu" or cfg.device.startswith("cuda"), "device",
         "auto, cpu, cuda or cuda:N")
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


def _check_networks(cfg: Config, spec: Any) -> None:
    need, g, dis = _need, cfg.generator, cfg.discriminator
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


def _check_objective_and_optimizer(cfg: Config) -> None:
    need, dis, o = _need, cfg.discriminator, cfg.optim
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


def _check_training(cfg: Config, spec: Any) -> None:
    need, d, t = _need, cfg.data, cfg.train
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
    need(t.valid_metric == "parzen" or t.valid_metric == "fid" or (t.valid_metric.startswith("fid:")
                                                                  and len(t.valid_metric) > 4),
         "train.valid_metric", "parzen, fid (the data set's classifier's features) or fid:NAME (a registered "
         "feature network)")
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
        if not spec.x_shape:  # your images: checked when they are read (with_data_found)
            return
        need(dis.pad_to is None or dis.pad_to >= max(spec.x_shape[1:]), "discriminator.pad_to",
             f"at least the image size {spec.x_shape[1]}x{spec.x_shape[2]} (or null)")
        problem = conv.conv_stack_problem(dis.conv, spec.x_shape, dis.pad_to)
        if problem:
            raise ConfigError(f"discriminator.conv: {problem}")
    else:
        need(not dis.conv and dis.pad_to is None, "discriminator.conv",
             "empty (and discriminator.pad_to null) unless arch is conv-maxout")
