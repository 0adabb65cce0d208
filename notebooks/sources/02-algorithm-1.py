# %% [markdown]
# # 2. Algorithm 1 on the 1-D game, and the paper's Figure 1
#
# Algorithm 1 of the paper trains the two networks in turns: for $k$ steps, ascend $D$'s stochastic gradient of
#
# $$\frac{1}{m}\sum_{i=1}^m \left[\log D(x^{(i)}) + \log\left(1 - D(G(z^{(i)}))\right)\right],$$
#
# then take one step of $G$ down
#
# $$\frac{1}{m}\sum_{i=1}^m \log\left(1 - D(G(z^{(i)}))\right),$$
#
# or, as the paper advises because this saturates early in training, *up* $\frac{1}{m}\sum_i \log D(G(z^{(i)}))$
# (the non-saturating loss). Figure 1 pictures the game in one dimension: $p_\text{data}$ (black dots), $p_g$
# (green), $D$ (blue, dashed) and the map $z \to x = G(z)$ (the arrows), from (a) near convergence to (d), where
# $p_g = p_\text{data}$ and $D = 1/2$. Here it is drawn from a real run of advnets' `toy-1d` preset.

# %%
import json
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from IPython.display import Image, display

from advnets import figures
from advnets.config import load_config
from advnets.losses import generator_loss
from advnets.train.loop import train

# this notebook's runs: in $ADVNETS_NOTEBOOK_RUNS (the tests' temporary folder) or a new temporary folder
runs = Path(os.environ.get("ADVNETS_NOTEBOOK_RUNS") or tempfile.mkdtemp(prefix="advnets-notebook-")) / "02"


def trained(name, *overrides):
    """A toy-1d run (seed 0) with these overrides, trained once: its folder."""
    run = runs / name
    if not (run / "training-state.safetensors").exists():
        train(load_config("toy-1d", ["train.progress=false", *overrides]), run)
    return run


def last_probe(run):
    """The last Figure-1 probe of a run: JSD(p_data || p_g) and the largest |D - D*| where the data lie."""
    return json.loads((run / "probes.jsonl").read_text().splitlines()[-1])


figure_1 = trained("toy-1d")  # the preset: 600 iterations of k = 25 D steps and one G step
figures.draw("fig1", figure_1, runs / "fig1.png")
display(Image(filename=runs / "fig1.png"))

# %% [markdown]
# The same run over training, one frame per probe (`advnets figure fig1 RUN --animate --out fig1.gif`):

# %%
figures.draw("fig1", figure_1, runs / "fig1.gif", animate=True)
display(Image(filename=runs / "fig1.gif"))

# %% [markdown]
# ## Why the minimax loss saturates
#
# With $\ell$ the logit of $D(G(z))$, G's two losses and their gradients with respect to $\ell$ are
#
# $$\log(1 - \sigma(\ell)): \; -\sigma(\ell), \qquad -\log \sigma(\ell): \; -(1 - \sigma(\ell)).$$
#
# Early in training $D$ rejects $G$'s samples confidently, $D(G(z)) \to 0$: the minimax gradient vanishes with
# it, while the non-saturating one tends to 1. advnets' `generator_loss`, differentiated by autograd:

# %%
logits = torch.linspace(-8, 8, 201, requires_grad=True)
fig, ax = plt.subplots(figsize=(6, 3))
for kind in ("minimax", "non-saturating"):
    (grad,) = torch.autograd.grad(generator_loss(kind, logits) * len(logits), logits)  # per-sample gradients
    ax.plot(torch.sigmoid(logits).detach(), grad.abs(), label=kind)
ax.set_xlabel("D(G(z))")
ax.set_ylabel("|d loss / d logit|")
ax.set_xscale("logit")
ax.legend()
display(fig)
plt.close(fig)

# %% [markdown]
# ## The two losses and $k$ on the same seed
#
# Shorter runs (200 iterations) from the same initial networks and noise, changing one thing each: the generator
# loss, and $k$, the number of $D$ steps per $G$ step. Each run's last probe measures how far $p_g$ is from
# $p_\text{data}$ (JSD, in nats; $\log 2 = 0.693$ is the most it can be) and how far $D$ is from
# $D^*_G$ (Proposition 1) where the data lie.

# %%
variants = {
    "non-saturating, k = 5": ("ns-k5", "train.k=5"),
    "minimax, k = 5": ("mm-k5", "train.k=5", "loss.generator=minimax"),
    "non-saturating, k = 1": ("ns-k1", "train.k=1"),
    "non-saturating, k = 25 (the preset)": ("ns-k25",),
}
print(f"{'variant':38s} {'JSD(p_data || p_g)':>19} {'sup |D - D*|':>13}")
for label, (name, *overrides) in variants.items():
    probe = last_probe(trained(name, "train.steps=200", *overrides))
    print(f"{label:38s} {probe['jsd']:19.4f} {probe['sup_gap']:13.3f}")

# %% [markdown]
# ## What was measured
#
# - Figure 1 drawn from a real run: its panels (a)-(d) with $p_g$, $D$ and $D^*$, and below them the JSD between
#   $p_\text{data}$ and $p_g$ and the largest gap between $D$ and $D^*$ over training; the animation shows the
#   same at every probe. Whether the last panel is at the equilibrium of the paper's panel (d) is written on it.
# - The minimax loss's gradient vanishes as $D(G(z)) \to 0$, where the non-saturating loss's does not: the
#   paper's reason for its advice.
# - On this seed and budget, the table compares the losses and $k$ by the distance they leave between $p_g$ and
#   $p_\text{data}$; one seed is an illustration, not a verdict (docs/theory.md measures them over seeds).
