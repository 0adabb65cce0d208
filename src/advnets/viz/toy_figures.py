"""Figures of the synthetic runs, drawn from a run's files (matplotlib figures outside pyplot, PNG out).

- fig1: Figure 1 from a 1-D run's probes (``probes.jsonl``): in each of four panels p_data (black
  dots), p_g (green line), D (blue dashes), and below them the z -> x map (the lower line is z's
  domain, the upper one part of x's); then JSD(p_data || p_g) and sup |D - D*| over training.
- modes: samples of a 2-D run over the mixture's mode centres (3-std circles).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from advnets.viz.grid import new_figure, save_figure


def pick_probes(probes: list[dict], steps: list[int] | None = None) -> list[dict]:
    """Four probes for panels (a)-(d): the given steps, else the first, 1/3, 2/3 and last."""
    if steps:
        by_step = {p["step"]: p for p in probes}
        missing = [s for s in steps if s not in by_step]
        if missing:
            raise ValueError(f"no probe at step {missing[0]} (probes at: {', '.join(str(s) for s in sorted(by_step))})")
        return [by_step[s] for s in steps]
    n = len(probes)
    return [probes[i] for i in sorted({0, n // 3, (2 * n) // 3, n - 1})]


def draw_fig1(probes: list[dict], out: Path, steps: list[int] | None = None, title: str = "") -> None:
    chosen = pick_probes(probes, steps)
    fig = new_figure(figsize=(3.2 * len(chosen), 6.0), dpi=110)
    grid = fig.add_gridspec(2, len(chosen), height_ratios=[3, 1.4], hspace=0.35, top=0.86)
    for i, probe in enumerate(chosen):
        ax = fig.add_subplot(grid[0, i])
        x = np.asarray(probe["x"])
        scale = 0.8 / max(probe["p_data"])  # densities drawn with the data's peak at 0.8; p_g's spikes clipped
        every = max(1, len(x) // 60)
        ax.plot(x[::every], np.asarray(probe["p_data"])[::every] * scale, "k.", ms=3, label="p_data")
        ax.plot(x, np.minimum(np.asarray(probe["p_g"]) * scale, 1.05), "-", color="tab:green", lw=1.5, label="p_g")
        ax.plot(x, probe["d"], "--", color="tab:blue", lw=1.5, label="D")
        ax.plot(x, probe["d_star"], ":", color="tab:blue", lw=0.8, alpha=0.6, label="D*")
        # the z -> x map: z's domain drawn on the lower line, affinely onto x's plotted range
        z, gz = np.asarray(probe["z_lines"]), np.asarray(probe["x_lines"])
        lo, hi = x[0], x[-1]
        z_shown = lo + (z - z.min()) / max(np.ptp(z), 1e-12) * (hi - lo) * 0.6 + (hi - lo) * 0.2
        y_x, y_z = -0.15, -0.45
        ax.hlines([y_x, y_z], lo, hi, color="0.3", lw=1)
        for a, b in zip(z_shown, gz):
            ax.annotate("", xy=(b, y_x), xytext=(a, y_z), arrowprops={"arrowstyle": "->", "lw": 0.6, "color": "0.4"})
        ax.text(lo, y_x + 0.03, "x", fontsize=8)
        ax.text(lo, y_z + 0.03, "z", fontsize=8)
        ax.set_ylim(-0.55, 1.1)
        ax.set_xlim(lo, hi)
        ax.set_yticks([0, 0.5, 1])
        ax.set_xlabel("x", fontsize=8)
        if i == 0:
            ax.set_ylabel("density (scaled), D(x)", fontsize=8)
        # The paper's panel (d) is the game at its equilibrium (p_g = p_data, D = 1/2); a run's last probe
        # is that only when it got there, which the panel says rather than implies.
        state = ("" if i < len(chosen) - 1 else
                 "\nnear equilibrium" if probe["jsd"] < 0.01 and probe["sup_gap"] < 0.1 else "\nnot at equilibrium")
        ax.set_title(f"({'abcd'[i]}) step {probe['step']}\nJSD {probe['jsd']:.3f}, "
                     f"sup|D-D*| {probe['sup_gap']:.2f}{state}", fontsize=8)
        if i == 0:  # one legend for the four panels, above them: never over the densities
            fig.legend(*ax.get_legend_handles_labels(), loc="upper center", ncol=4, fontsize=8,
                       bbox_to_anchor=(0.5, 1.0), frameon=False)
    ax = fig.add_subplot(grid[1, :])
    steps_all = [p["step"] for p in probes]
    ax.plot(steps_all, [p["jsd"] for p in probes], "-o", ms=3, color="tab:red", label="JSD(p_data || p_g)")
    ax.plot(steps_all, [p["sup_gap"] for p in probes], "-s", ms=3, color="tab:blue", label="sup |D - D*| (data +-3 std)")
    ax.plot(steps_all, [p.get("sup_gap_common", np.nan) for p in probes], "--", ms=3, color="tab:cyan",
            label="the same where p_g > 0")
    ax.axhline(np.log(2), color="0.6", lw=0.8, ls=":", label="log 2: the largest JSD")
    ax.set_xlabel("generator updates")
    ax.set_ylabel("nats / |D - D*|", fontsize=8)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.005, 1.0), frameon=False)  # beside the lines, not on them
    if title:
        fig.suptitle(title, fontsize=10, y=1.03)
    save_figure(fig, out, bbox_inches="tight")


def draw_modes(samples: np.ndarray, centres: np.ndarray, std: float, out: Path, title: str = "",
               counts: list[int] | None = None) -> None:
    """Samples over the mode centres (3-std circles); with `counts` (high-quality samples per mode,
    metrics.modes), the modes G missed are marked and named, and the title says how many it captured."""
    from matplotlib.patches import Circle

    fig = new_figure(figsize=(5.5, 5.8), dpi=110)
    ax = fig.subplots()
    ax.scatter(samples[:, 0], samples[:, 1], s=3, color="tab:green", alpha=0.5, label="G(z)")
    missed = [k for k, n in enumerate(counts or []) if n == 0]
    kept = [k for k in range(len(centres)) if k not in missed]
    ax.scatter(centres[kept, 0], centres[kept, 1], marker="x", s=40, color="tab:red", label="modes")
    for k, c in enumerate(centres):
        ax.add_patch(Circle(tuple(c), 3 * std, fill=False, color="tab:red", lw=0.6, alpha=0.7))
    if missed:
        ax.scatter(centres[missed, 0], centres[missed, 1], marker="o", s=160, facecolors="none", edgecolors="black",
                   lw=1.5, label="missed")
        for k in missed:
            ax.annotate(f"missed: mode {k}", centres[k], textcoords="offset points", xytext=(6, 8), fontsize=9)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("x1", fontsize=9)
    ax.set_ylabel("x2", fontsize=9)
    ax.legend(fontsize=8, loc="upper right")
    if counts is not None:
        where = ", ".join(f"{k} at ({centres[k, 0]:.2f}, {centres[k, 1]:.2f})" for k in missed)
        title += (f"\n{len(centres) - len(missed)} of {len(centres)} modes captured"
                  + (f"; missed: mode {where}" if missed else ""))
    ax.set_title(title, fontsize=9)
    save_figure(fig, out, bbox_inches="tight")
