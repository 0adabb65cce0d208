# %% [markdown]
# # 4. MNIST: the shipped generator, Figures 2 and 3, and Table 1's protocol under review
#
# The paper evaluates its generators by a Parzen-window estimate of the test log-likelihood (Table 1; MNIST:
# $225 \pm 2$ nats). Gaussian kernels of width $\sigma$ are placed on $n$ samples $\mu_j = G(z_j)$:
#
# $$\log \hat p(x) = \log \frac{1}{n} \sum_{j=1}^{n} \exp\left(-\frac{\lVert x - \mu_j \rVert^2}{2\sigma^2}\right)
#   - d \log\left(\sigma \sqrt{2\pi}\right),$$
#
# $\sigma$ is chosen by the best mean $\log \hat p$ of the validation images, and the number reported is the mean
# over the test images with its standard error. The paper itself warns that this estimate "has somewhat high
# variance and does not perform well in high dimensional spaces". This notebook runs the protocol on the
# generator advnets ships, then on image sets whose quality we know, beside metrics computed in the features of
# a classifier.
#
# Needs MNIST in `$ADVNETS_DATA` (or the user cache).

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from IPython.display import Image, display

from advnets import figures
from advnets.data import registry
from advnets.metrics import classifier_features, parzen_window
from advnets.sampling import generate
from advnets.snapshot import load_snapshot
from advnets.viz.grid import image_grid, to_uint8

shipped = Path("../pretrained/mnist-paper")  # paper-mnist's networks and training, 360 epochs (its README.md)
snap = load_snapshot(shipped)
print(f"{shipped}: step {snap.step}, {snap.variant} generator, "
      f"{sum(p.numel() for p in snap.generator.parameters()):,} weights")

mnist = registry.get("mnist")
train_images, train_labels = mnist.load_images("train")  # [50000, 1, 28, 28] in [0, 1]: train[0:50000]
valid = mnist.load_images("valid")[0][: parzen_window.N_VALID]  # sigma is chosen on the first 1,000 validation images
test = mnist.load_images("test")[0]  # [10000, 1, 28, 28]
print(f"train {tuple(train_images.shape)}, valid {tuple(valid.shape)}, test {tuple(test.shape)}")

# %% [markdown]
# ## Figure 2: samples, and the nearest training image of each row's last sample
#
# The rightmost column shows the training image nearest (in pixel space, over all 50,000) to the sample beside
# it: the samples are not copies of training images.

# %%
# this notebook's figures: in $ADVNETS_NOTEBOOK_RUNS (the tests' temporary folder) or a new temporary folder
runs = Path(os.environ.get("ADVNETS_NOTEBOOK_RUNS") or tempfile.mkdtemp(prefix="advnets-notebook-")) / "04"
print(figures.draw("fig2", shipped, runs / "fig2.png"))
display(Image(filename=runs / "fig2.png"))

# %% [markdown]
# ## Figure 3: walking the latent space
#
# Each row maps a straight line between two draws of $z$ through $G$: the digits change smoothly, which the
# paper reads as $G$ not having memorised its training set.

# %%
print(figures.draw("fig3", shipped, runs / "fig3.png"))
display(Image(filename=runs / "fig3.png"))

# %% [markdown]
# ## Table 1's protocol on 10,000 samples
#
# The protocol's two steps: the mean validation log-likelihood for each $\sigma$ of its grid, then the test
# images at the best one.

# %%
samples = generate(snap.generator, 10_000, seed=0)  # [10000, 1, 28, 28]


def rows(images):
    return images.reshape(len(images), -1).double()


result = parzen_window.parzen_protocol(rows(samples), rows(valid), rows(test))
for sigma, score in result.valid_scores.items():
    print(f"sigma {sigma}: validation {score:8.1f}{'   <- chosen' if float(sigma) == round(result.sigma, 4) else ''}")
print(f"\ntest log-likelihood: {result.mean:.1f} ± {result.se:.1f} nats (the paper's MNIST GAN: 225 ± 2)")

# %% [markdown]
# ## The critique: image sets of known quality
#
# Theis, van den Oord and Bethge (2016) showed that the Parzen estimate can rank models against their quality.
# Scored by the same code on the same test images: 10,000 real training images, the same images blurred by a
# 3x3 box filter, and the same images without the 9s (a generator that drops one of ten modes). Beside them,
# two metrics the field uses now, computed in the features of advnets' shipped MNIST classifier (its
# penultimate layer): FID, the Fréchet distance between Gaussians fitted to the features of the test images and
# of the set, and KID, an unbiased kernel estimate of their squared MMD over all pairs. Lower is better for
# both, higher for Parzen.

# %%
subset = torch.randperm(len(train_images), generator=torch.Generator().manual_seed(0))[:10_000]
real = train_images[subset]
sets = {
    "the shipped generator": samples,
    "real training images": real,
    "the same, blurred (3x3 box)": torch.nn.functional.avg_pool2d(real, 3, stride=1, padding=1),
    "the same, without the 9s": real[train_labels[subset] != 9],
}
test_features = classifier_features.reference_features("mnist", None)  # the test split's
print(f"{'image set':30s} {'images':>6} {'Parzen (nats)':>14} {'FID':>8} {'KID':>13}")
scores = {}
for name, images in sets.items():
    scores[name] = parzen_window.parzen_protocol(rows(images), rows(valid), rows(test)).mean
    features = classifier_features.classifier_features("mnist", images)
    fid = classifier_features.frechet_distance(test_features, features)
    kid = classifier_features.kid(test_features, features)  # over all pairs, with its standard error
    print(f"{name:30s} {len(images):6d} {scores[name]:14.1f} {fid:8.2f} {kid['kid']:6.2f} ± {kid['kid_se']:.2f}")

# %% [markdown]
# What blur does to the images, and why Parzen likes it: a kernel on a blurred digit is closer, in squared
# pixel distance, to the test digits around it.

# %%
fig, axes = plt.subplots(1, 2, figsize=(8, 2.2))
for ax, (name, images) in zip(axes, list(sets.items())[1:3]):
    ax.imshow(image_grid(to_uint8(images[:16]), ncol=8), cmap="gray")
    ax.set_title(name)
    ax.axis("off")
display(fig)
plt.close(fig)
blurred_wins = scores["the same, blurred (3x3 box)"] > scores["real training images"]
print(f"blurred images score {'above' if blurred_wins else 'below'} the real ones under Parzen")

# %% [markdown]
# ## What was measured
#
# - The shipped generator's Figures 2 and 3, and Table 1's protocol on its 10,000 samples (sample seed 0): the
#   $\sigma$ the validation images chose and the test log-likelihood, beside the paper's $225 \pm 2$.
# - The same protocol on real, blurred and nine-less training images: blurred images score *above* real ones,
#   so a higher Parzen number does not mean better samples. FID and KID order the same sets as their quality:
#   lowest for real images, raised by the missing 9s and far more by blur.
# - One sample seed and one subset each. `docs/evaluation.md` has the same table over five seeds, with
#   precision, recall, density and coverage beside it, for every generator advnets has trained
#   (`python experiments/evaluation_table.py`).
