# %% [markdown]
# # 5. The paper's future work, built
#
# Section 7 of the paper lists extensions of the framework. advnets implements each; this notebook shows four
# of them on MNIST, with the shipped generators and with models trained here for a few hundred updates (the
# fifth, better coordination of $G$ and $D$, is notebook 3's moving average):
#
# 1. a **conditional** model $p(x \mid c)$, "obtained by adding $c$ as input to both $G$ and $D$";
# 2. **learned approximate inference**, "an auxiliary network to predict $z$ given $x$ ... after the generator
#    net has finished training": $E$ fitted so that $E(G(z)) \approx z$, minimising
#    $\mathbb{E}_z \lVert E(G(z)) - z \rVert^2$;
# 3. **all conditionals** $p(x_S \mid x_{\not S})$ for every subset $S$ of the pixels, "a family of conditional
#    models that share parameters": one $G(z, x \odot m, m)$ that fills in the pixels a mask $m$ hides;
# 4. **semi-supervised learning**: "features from the discriminator or inference net could improve performance
#    of classifiers when limited labeled data is available".
#
# Needs MNIST in `$ADVNETS_DATA` (or the user cache).

# %%
import os
import shutil
import tempfile
from pathlib import Path

from IPython.display import Image, display

from advnets import figures
from advnets.config import load_config
from advnets.inference import infer
from advnets.metrics.registry import MetricRequest, evaluate
from advnets.semisup.run import run_semisup
from advnets.snapshot import load_snapshot
from advnets.train.loop import train

# this notebook's runs: in $ADVNETS_NOTEBOOK_RUNS (the tests' temporary folder) or a new temporary folder
runs = Path(os.environ.get("ADVNETS_NOTEBOOK_RUNS") or tempfile.mkdtemp(prefix="advnets-notebook-")) / "05"
BRIEF = ["train.progress=false", "train.steps=600", "train.sample_every=600", "train.checkpoint_every=600"]


def trained(name, *overrides):
    """fast-mnist (the main job's CPU recipe, seed 0) for 600 updates with these overrides, trained once."""
    run = runs / name
    if not (run / "training-state.safetensors").exists():
        train(load_config("fast-mnist", [*BRIEF, *overrides]), run)
    return run


# %% [markdown]
# ## 1. A conditional model $p(x \mid c)$
#
# `data.conditional=true` gives $G$ and $D$ the class as a one-hot input. Trained here for 600 updates
# (about a minute); row $c$ holds samples drawn for class $c$:

# %%
conditional = trained("conditional", "data.conditional=true")
print(figures.draw("classes", conditional, runs / "classes.png"))
display(Image(filename=runs / "classes.png"))
row = evaluate("classes", load_snapshot(conditional), MetricRequest(n_samples=10_000, seed=0))
print(f"the shipped classifier reads the asked class in {100 * row['agreement']:.1f}% of 10,000 samples "
      f"(1,000 per class; 10% would be chance)")

# %% [markdown]
# ## 2. An inference network $z \leftarrow x$ for the shipped generator
#
# $E$ (784 → 1200 → 1200 → 100) fitted for the finished generator of `pretrained/mnist-paper` on fresh pairs
# $(z, G(z))$, 600 Adam steps here (`advnets infer` defaults to 20,000). It is saved beside the snapshot, so
# the generator is copied into this notebook's folder first. Shown: test images $x$ and $G(E(x))$, then samples
# $G(z)$ and $G(E(G(z)))$.

# %%
shipped = runs / "mnist-paper"
shipped.mkdir(parents=True, exist_ok=True)
shutil.copy("../pretrained/mnist-paper/generator.safetensors", shipped)
row = infer(load_snapshot(shipped), steps=600, seed=0, n_test=2000, figure=runs / "inference.png")
display(Image(filename=runs / "inference.png"))
print(f"per-pixel MSE of G(E(x)) on the first 2,000 test images: {row['pixel_mse_test']:.4f}, against "
      f"{row['pixel_mse_mean_image']:.4f} for the mean training image and "
      f"{row['pixel_mse_best_of_random_samples']:.4f} for the best of 10,000 random samples of G")
print(f"per-dimension MSE of E(G(z)) against z: {row['z_mse_generated']:.3f} (predicting the prior's mean: "
      f"{row['z_mse_of_prior_mean']:.3f})")

# %% [markdown]
# ## 3. Every conditional $p(x_S \mid x_{\not S})$: one generator for any mask
#
# The shipped `pretrained/mnist-inpaint` (the `inpaint-mnist` preset, 20 epochs; its README) fills in whatever
# a mask hides. Each row: the test image, what $G$ is given (hidden pixels in blue), six completions:

# %%
inpainting = Path("../pretrained/mnist-inpaint")
for mask in ("right-half", "center"):
    print(figures.draw("inpaint", inpainting, runs / f"inpaint-{mask}.png", mask=mask, rows=4))
    display(Image(filename=runs / f"inpaint-{mask}.png"))
    row = evaluate("inpainting", load_snapshot(inpainting), MetricRequest(seed=0, mask=mask))
    print(f"{mask}: the classifier reads the original's class in {100 * row['class_kept']:.1f}% of the "
          f"completions, {100 * row['class_from_visible_only']:.1f}% from the visible pixels alone "
          f"({100 * row['class_of_originals']:.2f}% from the originals); completions differ "
          f"{row['spread_ratio']:.2f} times as much as two real digits of the class")

# %% [markdown]
# ## 4. Classifying with 100 labels, from $D$'s features
#
# 10 labelled images per class from the 50,000 training images; a logistic regression (its penalty chosen by
# cross-validation on those 100 alone) on raw pixels, and on the hidden layers of the discriminator of an
# unconditional model trained here for 600 updates without any label. Test error on the 10,000 test images, over
# three label draws:

# %%
unconditional = trained("unconditional")
results = {method: run_semisup(method, per_class=10, draws=[0, 1, 2], data_dir=None, run=str(unconditional),
                               log=lambda line: None)
           for method in ("pixels", "d-features")}
for method, r in results.items():
    draws = ", ".join(f"{e:.1f}" for e in r["test_errors"])
    print(f"{method:10s}: test error {r['test_error_mean']:.1f} ± {r['test_error_se']:.1f}% (draws: {draws})")

# %% [markdown]
# ## What was measured
#
# Every number above is printed by this notebook's run (seed 0; sample seed 0):
#
# - a conditional model after 600 updates draws the class it is asked for in the share printed above, far above
#   chance though far from the classifier's 98.75% on real digits;
# - an inference network fitted in 600 steps reconstructs test digits with about half the pixel error of the
#   mean image, while recovering $z$ itself hardly at all: this generator maps many $z$ to nearly the same digit
#   (`docs/future-work.md` discusses why pixel error is the measure to read);
# - the shipped inpainting generator's completions keep the class more often than the visible pixels alone
#   tell it, and differ from each other (they are not one blurry mean);
# - with 100 labels, the features of a $D$ trained for 600 updates are no better than raw pixels beyond the
#   spread of the label draws: this is where a briefly trained model falls short.
#
# Trained longer, these models do better; `docs/future-work.md` has the full runs and their commands: the
# conditional model over 30 epochs, inpainting at 60 epochs (81.9% of right halves keep their class), and $D$'s
# features of a 60-epoch `paper-mnist` run (15.8 ± 0.6% test error with 100 labels, against 25.9 ± 1.1% for
# pixels, five draws).
