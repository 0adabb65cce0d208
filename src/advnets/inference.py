"""A learned inference network z <- x: the paper's future work 2.

    "Learned approximate inference can be performed by training an auxiliary network to predict z
    given x ... this can be done after the generator net has finished training."

E is an MLP from data space to latent space (ReLU hidden layers, linear output). For a fixed,
trained G it is fitted on pairs (z, G(z)) with z ~ p_z drawn fresh every step, minimising

    L(E) = E_z || E(G(z)) - z ||^2 / z_dim        (mean squared error per latent dimension)

with Adam; G gets no gradient. (The joint variant, E trained alongside the game, is the config key
``inference.joint``; it uses the same loss and update, one E step per iteration.)

What is measured (``inference_report``):
- z recovery on generated data: the per-dimension MSE of E(G(z)) against z, for fresh z (1.0 is
  what predicting the prior's mean scores, since both priors have unit variance);
- reconstruction of real test images: the per-pixel MSE of G(E(x)) against x, beside two
  references: the mean training image, and the best of 10,000 random samples of G for each image
  (what search without E finds).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from advnets.batching import apply_in_batches
from advnets.sampling import generate


class Encoder(nn.Module):
    """E(x): x [m, *x_shape] -> z [m, z_dim] (ReLU MLP, linear output)."""

    def __init__(self, x_shape: tuple[int, ...], z_dim: int, hidden: list[int] | tuple[int, ...] = (1200, 1200)):
        super().__init__()
        self.x_shape, self.z_dim = tuple(x_shape), z_dim
        widths = [math.prod(self.x_shape), *hidden]
        layers: list[nn.Module] = []
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(n_in, n_out), nn.ReLU()]
        self.hidden = nn.Sequential(*layers)
        self.out = nn.Linear(widths[-1], z_dim)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer [m, hidden[-1]] (used as features for semi-supervised learning)."""
        return self.hidden(x.reshape(len(x), -1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x))  # [m, z_dim]


def encoder_loss(encoder: nn.Module, generator: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """|| E(G(z)) - z ||^2 / z_dim, averaged over the batch; no gradient reaches G."""
    with torch.no_grad():
        x = generator(z)  # [m, *x_shape]
    return ((encoder(x) - z) ** 2).mean()


def train_encoder(generator: nn.Module, steps: int = 20_000, batch_size: int = 100, lr: float = 1e-3,
                  hidden: tuple[int, ...] = (1200, 1200), seed: int = 0, log_every: int = 0) -> tuple[Encoder, list]:
    """E fitted for the fixed `generator` (eval mode, unconditional); returns E and its loss curve
    [(step, mean loss over the interval)] every `log_every` steps (0: none). The learning rate is
    annealed to 0 by a cosine over the steps."""
    generator = generator.eval()
    device = next(generator.parameters()).device
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder = Encoder(generator.x_shape, generator.z_dim, hidden).to(device)
    opt = torch.optim.Adam(encoder.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1))
    rng = torch.Generator(device).manual_seed(seed)
    curve, running = [], torch.zeros((), device=device)
    for step in range(1, steps + 1):
        loss = encoder_loss(encoder, generator, generator.sample_z(batch_size, rng))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        schedule.step()
        running += loss.detach()
        if log_every and step % log_every == 0:
            curve.append((step, float(running) / log_every))
            running.zero_()
    return encoder.eval(), curve


ENCODER_FILE = "inference-net.safetensors"
ENCODER_FORMAT = "advnets-inference-net/1"


def save_encoder(path, encoder: Encoder, info: dict[str, Any]) -> None:
    """E's weights and how it was trained (which snapshot, steps, seed ...), atomically, no pickle."""
    from advnets.train.checkpoint import save_tensors

    save_tensors(path, encoder.state_dict(), {"format": ENCODER_FORMAT, "x_shape": list(encoder.x_shape),
                                              "z_dim": encoder.z_dim, **info})


def load_encoder(path) -> tuple[Encoder, dict[str, Any]]:
    from advnets.errors import CheckpointError
    from advnets.train.checkpoint import load_tensors

    tensors, header = load_tensors(path)
    if header.get("format") != ENCODER_FORMAT:
        raise CheckpointError(f"{path} is not an advnets inference network (format {header.get('format')!r})")
    try:
        encoder = Encoder(tuple(header["x_shape"]), int(header["z_dim"]), header["hidden"])
        encoder.load_state_dict(tensors)
    except (KeyError, RuntimeError, TypeError) as e:
        raise CheckpointError(f"{path} does not hold an inference network this version can build "
                              f"({str(e).splitlines()[0]})") from None
    return encoder.eval(), header


class JointEncoder:
    """The joint variant: E trained alongside the game, one Adam step on fresh (z, G(z)) pairs after
    every G update, with its own random generator so that the game itself runs exactly as without it."""

    def __init__(self, generator: nn.Module, hidden: list[int], lr: float, batch_size: int, seed: int):
        device = next(generator.parameters()).device
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.model = Encoder(generator.x_shape, generator.z_dim, hidden).to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.rng = torch.Generator(device).manual_seed(seed)
        self.batch_size = batch_size

    def update(self, generator: nn.Module) -> None:
        was_training = generator.training
        generator.eval()  # G's samples as sampling draws them
        loss = encoder_loss(self.model, generator, generator.sample_z(self.batch_size, self.rng))
        generator.train(was_training)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()


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
    from advnets.metrics.nearest import nearest_rows

    pool = generate(generator, n_search, seed=seed + 1, device=device)  # [n_search, *x_shape]
    _, best_sq = nearest_rows(x.reshape(len(x), -1).float(), pool.reshape(n_search, -1).float())
    search_mse = float(best_sq.mean() / math.prod(x.shape[1:]))
    return {
        "z_mse_generated": z_mse, "z_mse_of_prior_mean": float((z**2).mean()),
        "pixel_mse_test": pixel_mse, "pixel_mse_mean_image": mean_mse,
        "pixel_mse_best_of_random_samples": search_mse, "n_search": n_search,
        "n_generated": n_generated, "n_test": len(x),
    }


def infer(snap, joint: bool = False, steps: int = 20_000, batch_size: int = 100, lr: float = 1e-3, seed: int = 0,
          n_test: int = 10_000, data_dir: str | None = None, refit: bool = False, figure=None) -> dict[str, Any]:
    """`advnets infer`: E for the snapshot's G (the joint one, or fitted for the fixed G and kept in
    inference-net.safetensors beside the snapshot, reused when it was fitted with the same settings),
    its report on the test split, and optionally the reconstruction figure."""
    import time
    from pathlib import Path

    from advnets.data.images import IMAGE_DATASETS, load_split
    from advnets.errors import ConfigError
    from advnets.metrics.evaluate import file_sha256, provenance

    t0 = time.perf_counter()
    name = snap.config.data.name
    if name not in IMAGE_DATASETS or snap.generator.condition.kind != "none":
        raise ConfigError(f"advnets infer needs an unconditional image model; {snap.path} is not one")
    device = next(snap.generator.parameters()).device
    settings = {"snapshot_sha256": file_sha256(snap.path), "generator_weights": snap.weights, "steps": steps,
                "batch_size": batch_size, "lr": lr, "seed": seed, "hidden": list(snap.config.inference.hidden)}
    if joint:
        if snap.encoder is None:
            raise ConfigError(f"{snap.path} holds no joint inference network (train with inference.joint=true, or "
                              "leave out --joint to fit one for this G)")
        encoder, origin = snap.encoder, {"encoder": "joint"}
    else:
        path = Path(snap.path).parent / ENCODER_FILE
        reuse = path.is_file() and not refit
        if reuse:
            encoder, header = load_encoder(path)
            if {k: header.get(k) for k in settings} != settings:
                raise ConfigError(f"{path} was fitted with other settings or for another snapshot; pass --refit "
                                  "to fit and save a new one")
            curve = header.get("loss_curve", [])
        else:
            encoder, curve = train_encoder(snap.generator, steps, batch_size, lr, tuple(settings["hidden"]), seed,
                                           log_every=max(steps // 20, 1))
            save_encoder(path, encoder, {**settings, "loss_curve": curve})
        encoder = encoder.to(device)
        origin = {"encoder": "fixed-G", "encoder_file": str(path), "fit_reused": reuse, "fit_steps": steps,
                  "fit_final_loss": curve[-1][1] if curve else None}
    images, _ = load_split(name, "test", data_dir or snap.config.data.dir)
    if not 1 <= n_test <= len(images):
        raise ConfigError(f"--n {n_test}: the test split has {len(images)} images")
    test = torch.from_numpy(images[:n_test]).float().div(255).unsqueeze(1)  # [n, 1, H, W]
    train_images, _ = load_split(name, "train", data_dir or snap.config.data.dir)
    train_mean = torch.from_numpy(train_images).float().div(255).mean(0)[None]  # [1, H, W]
    report = inference_report(snap.generator, encoder, test, train_mean, seed=seed)
    if figure is not None:
        draw_reconstructions(snap, encoder, test[:10], seed, figure)
    return {"metric": "inference", "dataset": name, **origin, **report, "seed": seed, **provenance(snap, t0)}


@torch.no_grad()
def draw_reconstructions(snap, encoder: nn.Module, test: torch.Tensor, seed: int, out) -> None:
    """Rows: test images x, G(E(x)), samples G(z), G(E(G(z)))."""
    from pathlib import Path

    from advnets.viz import to_uint8
    from advnets.viz.image_figures import draw_rows

    G, n = snap.generator, len(test)
    device = next(G.parameters()).device
    recon = generate(G, n, z=encoder(test.to(device)).cpu(), device=device)
    samples = generate(G, n, seed=seed, device=device)
    again = generate(G, n, z=encoder(samples.to(device)).cpu(), device=device)
    grid = to_uint8(torch.stack([test, recon, samples, again]))  # [4, n, C, H, W]
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp.png")
    try:
        draw_rows(grid, tmp, title=f"{snap.config.name} step {snap.step}: inference network E: x -> z",
                  row_labels=["x (test)", "G(E(x))", "G(z)", "G(E(G(z)))"])
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
