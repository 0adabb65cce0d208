"""A study's two figures (drawing only; advnets.studies.report composes them): the objective of every seed per
setting, and the best objective expected after trying k settings (Lucic et al. 2018)."""

from __future__ import annotations

from pathlib import Path

from advnets.viz.grid import new_figure, save_figure


def draw_seeds_per_setting(settings: list[tuple[str, list[float], float | None]], label: str, out: Path,
                           baseline: str | None = None) -> None:
    """One column per setting (best first): a dot per seed, a bar at the mean; `baseline`'s name in bold."""
    fig = new_figure(figsize=(max(4.0, 0.55 * len(settings) + 1.5), 3.6), dpi=100)
    ax = fig.add_subplot()
    for i, (name, values, mean) in enumerate(settings):
        ax.scatter([i] * len(values), values, s=18, color="tab:blue", alpha=0.8, zorder=3)
        if mean is not None:
            ax.plot([i - 0.3, i + 0.3], [mean, mean], color="black", linewidth=1.5, zorder=2)
    ax.set_xticks(range(len(settings)))
    ax.set_xticklabels([name for name, _, _ in settings], rotation=60, ha="right", fontsize=7)
    for tick, (name, _, _) in zip(ax.get_xticklabels(), settings):
        if name == baseline:
            tick.set_fontweight("bold")
    ax.set_ylabel(label)
    ax.set_title("each seed (dots) and the mean (bar), per setting", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    save_figure(fig, out)


def draw_best_after_k(points: list[tuple[int, float]], label: str, out: Path) -> None:
    """The expected best of k settings drawn at random, against k."""
    fig = new_figure(figsize=(4.2, 3.2), dpi=100)
    ax = fig.add_subplot()
    from matplotlib.ticker import MaxNLocator

    ax.plot([k for k, _ in points], [v for _, v in points], marker="o", markersize=3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("settings tried (drawn at random)")
    ax.set_ylabel(f"expected best {label}")
    ax.set_title("best objective against the number of settings tried", fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, out)
