"""Figures 2 and 3 of the paper for image models (matplotlib figures outside pyplot, PNG out).

- fig2: random samples (not cherry-picked: the first n of a seed) in rows; the last column holds,
  for the sample beside it, its nearest training image in L2, framed in yellow as in the paper.
- fig3: rows of images along a path between two latent points, linear or spherical; the two
  endpoints of each row are framed.
- rows of images in general (e.g. one row per class of a conditional model).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from advnets.viz.grid import new_figure, save_figure


def _show(ax, image: np.ndarray, frame: str | None = None) -> None:
    """One image [C, H, W] uint8 on an axis without ticks; a coloured frame when asked."""
    picture = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
    ax.imshow(picture, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(frame is not None)
        if frame is not None:
            spine.set_edgecolor(frame)
            spine.set_linewidth(3)


def draw_fig2(samples: np.ndarray, neighbours: np.ndarray, out: Path, title: str) -> None:
    """samples [rows, cols, C, H, W] uint8; neighbours [rows, C, H, W]: the nearest training image of
    each row's last sample."""
    rows, cols = samples.shape[:2]
    fig = new_figure(figsize=(1.1 * (cols + 1) + 0.3, 1.1 * rows + 0.6), dpi=110)
    axes = fig.subplots(rows, cols + 1, gridspec_kw={"wspace": 0.08, "hspace": 0.08})
    axes = np.asarray(axes).reshape(rows, cols + 1)
    for r in range(rows):
        for c in range(cols):
            _show(axes[r, c], samples[r, c])
        _show(axes[r, cols], neighbours[r], frame="gold")
    axes[0, cols].set_title("nearest\ntraining\nimage", fontsize=7)
    fig.suptitle(title, fontsize=8)
    save_figure(fig, out, bbox_inches="tight")


def draw_rows(images: np.ndarray, out: Path, title: str, framed_columns: tuple[int, ...] = (),
              row_labels: list[str] | None = None, column_titles: list[str] | None = None) -> None:
    """images [rows, cols, C, H, W] uint8 as a grid; the given columns framed in red."""
    rows, cols = images.shape[:2]
    height = 1.0 * rows + 0.5  # one inch per (square) image, half an inch for the title
    fig = new_figure(figsize=(1.0 * cols + 0.3, height), dpi=110)
    axes = fig.subplots(rows, cols, gridspec_kw={"wspace": 0.06, "hspace": 0.08})
    fig.subplots_adjust(left=0.03, right=0.99, bottom=0.01, top=1 - 0.45 / height)
    axes = np.asarray(axes).reshape(rows, cols)
    for r in range(rows):
        for c in range(cols):
            _show(axes[r, c], images[r, c], frame="tab:red" if c in framed_columns else None)
        if row_labels:
            axes[r, 0].set_ylabel(row_labels[r], rotation=0, labelpad=12, fontsize=9, va="center", ha="right")
    for c, text in enumerate(column_titles or []):
        axes[0, c].set_title(text, fontsize=7)
    fig.suptitle(title, fontsize=8)
    save_figure(fig, out, bbox_inches="tight")


MISSING_RGB = (70, 110, 200)  # hidden pixels in an inpainting input: blue, unlike any digit's grey


def draw_inpainting(originals: np.ndarray, masks: np.ndarray, completions: np.ndarray, out: Path, title: str) -> None:
    """Per row: the original [C, H, W] uint8 (framed), the input G saw (hidden pixels in blue), then
    its completions [k, C, H, W]; originals [n, 1, H, W], masks [n, 1, H, W] (1 observed),
    completions [n, k, 1, H, W]."""
    rgb = lambda a: np.repeat(a, 3, axis=-3)  # noqa: E731 - grey [.., 1, H, W] -> [.., 3, H, W]
    masked = rgb(originals).copy()
    hidden = np.broadcast_to(masks == 0, masked.shape)
    masked[hidden] = np.broadcast_to(np.array(MISSING_RGB, dtype=np.uint8)[None, :, None, None], masked.shape)[hidden]
    grid = np.concatenate([rgb(originals)[:, None], masked[:, None], rgb(completions)], axis=1)  # [n, 2 + k, 3, H, W]
    k = completions.shape[1]
    draw_rows(grid, out, title, framed_columns=(0,),
              column_titles=["original", "G sees"] + [f"completion {j + 1}" for j in range(k)])


def draw_fig3(paths: np.ndarray, out: Path, title: str) -> None:
    """paths [rows, steps, C, H, W] uint8, each row from one latent endpoint to the other (framed)."""
    draw_rows(paths, out, title, framed_columns=(0, paths.shape[1] - 1))


def draw_class_histogram(shares: list[float], out: Path, title: str = "") -> None:
    """A bar per class: the share of the samples the classifier reads as it, beside the uniform share (a
    generator that drops modes shows tall and missing bars)."""
    fig = new_figure(figsize=(5, 3.6), dpi=110)
    ax = fig.subplots()
    classes = np.arange(len(shares))
    ax.bar(classes, 100 * np.asarray(shares), color="tab:blue")
    ax.axhline(100 / len(shares), color="tab:red", ls="--", lw=1, label=f"uniform ({100 / len(shares):.0f}%)")
    ax.set_xticks(classes)
    ax.set_xlabel("class read by the shipped classifier", fontsize=9)
    ax.set_ylabel("% of the samples", fontsize=9)
    ax.tick_params(labelsize=9)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=9)
    save_figure(fig, out, bbox_inches="tight")
