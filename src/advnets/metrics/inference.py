"""How well an inference network E: x -> z inverts G (the paper's future work 2; models/encoder.py).

- z recovery on generated data: the per-dimension MSE of E(G(z)) against z, for fresh z (1.0 is what
  predicting the prior's mean scores, since both priors have unit variance);
- reconstruction of real test images: the per-pixel MSE of G(E(x)) against x, beside two
  references: the mean training image, and the best of 10,000 random samples of G for each image
  (what search without E finds).

Which E: the one given (``advnets infer`` passes the E it fitted or reused); else one fitted for this
very snapshot and saved beside it (inference-net.safetensors, from ``advnets infer``); else the joint
E trained alongside the game (inference.joint).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from advnets.batching import apply_in_batches
from advnets.data import preprocess as preprocessing
from advnets.errors import ConfigError, shell_command
from advnets.fileio import file_sha256
from advnets.metrics.nearest import nearest_rows
from advnets.metrics.spec import Metric, MetricRequest
from advnets.sampling import generate
from advnets.snapshot import ENCODER_FILE, VARIANT_KEY, load_encoder


@torch.no_grad()
def inference_report(generator: nn.Module, encoder: nn.Module, test_images: torch.Tensor, train_mean: torch.Tensor,
                     n_generated: int = 10_000, n_search: int = 10_000, seed: int = 0) -> dict[str, Any]:
    """test_images [n, *x_shape] in [0, 1]; train_mean [*x_shape]. See the module docstring."""
    generator, encoder = generator.eval(), encoder.eval()
    device = next(generator.parameters()).device
    z = generator.sample_z(n_generated, torch.Generator().manual_seed(seed), "cpu")  # [n, z_dim]
    x_gen = generate(generator, n_generated, z=z, device=device)
    z_hat = apply_in_batches(encoder, x_gen, device=device)
    z_mse = float(((z_hat - z) ** 2).mean())
    x = test_images
    z_test = apply_in_batches(encoder, x, device=device)
    recon = generate(generator, len(x), z=z_test, device=device)
    pixel_mse = float(((recon - x) ** 2).mean())
    mean_mse = float(((train_mean[None] - x) ** 2).mean())
    pool = generate(generator, n_search, seed=seed + 1, device=device)  # [n_search, *x_shape]
    _, best_sq = nearest_rows(x.reshape(len(x), -1).float(), pool.reshape(n_search, -1).float())
    search_mse = float(best_sq.mean() / math.prod(x.shape[1:]))
    return {
        "z_mse_generated": z_mse, "z_mse_of_prior_mean": float((z**2).mean()),
        "pixel_mse_test": pixel_mse, "pixel_mse_mean_image": mean_mse,
        "pixel_mse_best_of_random_samples": search_mse, "n_search": n_search,
        "n_generated": n_generated, "n_test": len(x),
    }


def fitted_encoder(snap) -> tuple[nn.Module, dict[str, Any]] | None:
    """The E saved beside `snap` by advnets infer, if it was fitted for this snapshot's file and G
    (with its header), else None."""
    path = Path(snap.path).parent / ENCODER_FILE
    if not path.is_file():
        return None
    encoder, header = load_encoder(path)
    if (header.get("snapshot_sha256"), header.get(VARIANT_KEY)) != (file_sha256(snap.path), snap.variant):
        return None
    return encoder, header


def score_inference(snap, request: MetricRequest) -> dict[str, Any]:
    origin: dict[str, Any] = {}
    encoder = request.encoder
    if encoder is None:
        found = fitted_encoder(snap)
        if found is not None:
            encoder, origin = found[0], {"encoder": "fixed-G", "encoder_file": str(Path(snap.path).parent / ENCODER_FILE)}
        elif snap.encoder is not None:
            encoder, origin = snap.encoder, {"encoder": "joint"}
        else:
            raise ConfigError(f"{snap.path} has no inference network: fit one with {shell_command('advnets', 'infer', snap.path)}")
    device = next(snap.generator.parameters()).device
    test, _ = preprocessing.load_images(snap.config.data, "test", request.data_dir)  # the model's space
    if not 1 <= request.n_samples <= len(test):
        raise ConfigError(f"{request.n_samples} test images asked for: the test split has {len(test)} images")
    train_mean = preprocessing.load_images(snap.config.data, "train", request.data_dir)[0].mean(0)  # [*x_shape]
    report = inference_report(snap.generator, encoder.to(device), test[: request.n_samples], train_mean,
                              seed=request.seed)
    return {**origin, **report}


METRIC = Metric(
    name="inference", summary="how well an inference network E: x -> z inverts G: z recovered from G(z), test "
                              "images reconstructed as G(E(x)) (E from advnets infer, or the joint one)",
    compute=score_inference, needs=("image-data", "unconditional"), default_n=10_000,
    n_counts="test images reconstructed", headline=("z_mse_generated", "z MSE"),
    columns=("z_mse_generated", "pixel_mse_test"))
