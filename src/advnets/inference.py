"""``advnets infer``: an inference network E: x -> z for a finished G (the paper's future work 2).

E (advnets.models.encoder) is fitted for the fixed, trained G on fresh pairs (z, G(z)) every step,
with Adam whose learning rate is annealed to 0 by a cosine; G gets no gradient. It is saved beside
the snapshot (inference-net.safetensors, with the snapshot's hash and the settings it was fitted
with) and reused by later calls with the same settings. Its report is the registered metric
"inference" (advnets.metrics.inference); the figure shows test images beside G(E(x)).
(The joint variant, E trained alongside the game, is ``inference.joint``: advnets.train.joint_encoder.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from advnets.data import preprocess as preprocessing
from advnets.errors import ConfigError
from advnets.fileio import file_sha256
from advnets.metrics import registry as metrics
from advnets.metrics.spec import MetricRequest, require
from advnets.outputs import check_output
from advnets.models.encoder import Encoder, encoder_loss
from advnets.progress import progress
from advnets.sampling import generate
from advnets.snapshot import ENCODER_FILE, VARIANT_KEY, Snapshot, load_encoder, save_encoder


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
    for step in progress(range(1, steps + 1), steps, "fitting E: x -> z"):
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


def infer(snap: Snapshot, joint: bool = False, steps: int = 20_000, batch_size: int = 100, lr: float = 1e-3,
          seed: int = 0, n_test: int = 10_000, data_dir: str | None = None, refit: bool = False,
          figure: Path | None = None) -> dict[str, Any]:
    """E for the snapshot's G (the joint one, or fitted for the fixed G and kept in
    inference-net.safetensors beside the snapshot, reused when it was fitted with the same settings),
    its metrics row on the test split, and optionally the reconstruction figure."""
    require(snap, metrics.get("inference").needs, "advnets infer")
    device = next(snap.generator.parameters()).device
    settings = {"snapshot_sha256": file_sha256(snap.path), VARIANT_KEY: snap.variant, "steps": steps,
                "batch_size": batch_size, "lr": lr, "seed": seed, "hidden": list(snap.config.inference.hidden)}
    if joint:
        if snap.encoder is None:
            raise ConfigError(f"{snap.path} holds no joint inference network (train with inference.joint=true, or "
                              "leave out --joint to fit one for this G)")
        encoder, origin = snap.encoder, {"encoder": "joint"}
    else:
        path = Path(snap.path).parent / ENCODER_FILE
        reuse = path.is_file() and not refit
        if not reuse:
            check_output(path, force=True)  # before fitting: not into a run another process trains
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
    request = MetricRequest(n_samples=n_test, seed=seed, data_dir=data_dir, device=device, encoder=encoder)
    row = metrics.evaluate("inference", snap, request)
    if figure is not None:
        test, _ = preprocessing.load_images(snap.config.data, "test", data_dir)
        draw_reconstructions(snap, encoder, test[:10], seed, figure)
    return {**row, **origin}


@torch.no_grad()
def draw_reconstructions(snap: Snapshot, encoder: nn.Module, test: torch.Tensor, seed: int, out: Path) -> None:
    """Rows: test images x, G(E(x)), samples G(z), G(E(G(z)))."""
    from advnets.viz import to_uint8
    from advnets.viz.image_figures import draw_rows

    G, n = snap.generator, len(test)
    device = next(G.parameters()).device
    recon = generate(G, n, z=encoder(test.to(device)).cpu(), device=device)
    samples = generate(G, n, seed=seed, device=device)
    again = generate(G, n, z=encoder(samples.to(device)).cpu(), device=device)
    grid = to_uint8(torch.stack([test, recon, samples, again]).flatten(0, 1),
                    preprocessing.for_data(snap.config.data)).reshape(4, n, *test.shape[1:])  # [4, n, C, H, W]
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp.png")
    try:
        draw_rows(grid, tmp, title=f"{snap.config.name} step {snap.step}: inference network E: x -> z",
                  row_labels=["x (test)", "G(E(x))", "G(z)", "G(E(G(z)))"])
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
