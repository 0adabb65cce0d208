"""Training curves from a run's files: stats.jsonl, metrics.jsonl and (1-D runs) probes.jsonl."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from advnets.viz.grid import save_figure


def _series(rows: list[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    kept = [(r["step"], r[key]) for r in rows if r.get(key) is not None]
    return (np.array([s for s, _ in kept]), np.array([v for _, v in kept], dtype=float)) if kept else (np.array([]), np.array([]))


def draw_curves(stats: list[dict], metrics: list[dict], probes: list[dict], out: Path, title: str,
                headlines: dict[str, tuple[str, str]]) -> None:
    """`headlines`: metric name -> (key of its headline number in a metrics.jsonl row, label)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(13, 6.5), dpi=100)
    ax = axes[0, 0]
    for key, label in (("loss_d", "D loss"), ("loss_g", "G loss")):
        ax.plot(*_series(stats, key), label=label)
    ax.set_title("losses (per-interval means)", fontsize=9)
    ax.legend(fontsize=7)

    ax = axes[0, 1]
    ax.plot(*_series(stats, "d_real"), label="D(x)")
    ax.plot(*_series(stats, "d_fake"), label="D(G(z))")
    ax.axhline(0.5, color="0.5", ls=":", lw=1, label="equilibrium 1/2")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("discriminator outputs", fontsize=9)
    ax.legend(fontsize=7)

    ax = axes[0, 2]
    ax.plot(*_series(stats, "lr"), label="lr (D)")
    ax.plot(*_series(stats, "lr_g"), ls="--", label="lr (G)")
    ax.set_yscale("log")
    ax.set_title("schedules", fontsize=9)
    twin = ax.twinx()
    twin.plot(*_series(stats, "momentum"), color="tab:green", label="momentum")
    twin.set_ylim(0, 1)
    lines = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=7)

    ax = axes[1, 0]
    ax.plot(*_series(stats, "diversity"), color="tab:purple")
    ax.axhline(0.1, color="tab:red", ls=":", lw=1, label="collapse threshold")
    ax.set_title("sample diversity (1 = like data)", fontsize=9)
    ax.legend(fontsize=7)

    ax = axes[1, 1]
    drawn = False
    for key, label in (("parzen_valid", "Parzen, validation"), ("parzen_valid_live", "Parzen, validation, live G")):
        steps, values = _series(stats, key)
        if len(steps):
            ax.plot(steps, values, "-o", ms=2, label=label)
            drawn = True
    for name in sorted({m.get("metric") for m in metrics if m.get("baseline") is None} & set(headlines)):
        key, what = headlines[name]
        points = [m for m in metrics if m.get("metric") == name and m.get("baseline") is None]
        ax.plot([m["step"] for m in points], [m[key] for m in points], "s", ms=6, label=f"{name} ({what}), evaluate")
        drawn = True
    if probes:
        ax.plot([p["step"] for p in probes], [p["jsd"] for p in probes], "-o", ms=2, label="JSD(p_data || p_g)")
        drawn = True
    ax.set_title("metrics over training", fontsize=9)
    if drawn:
        ax.legend(fontsize=7)
        last_step = max((r["step"] for r in stats), default=0)
        ax.set_xlim(0, max(last_step, 1) * 1.03)  # the run's whole span, also when one evaluation is the only point
    else:
        ax.text(0.5, 0.5, "no metric recorded", ha="center", va="center", transform=ax.transAxes, color="0.5")

    ax = axes[1, 2]
    ax.plot(*_series(stats, "steps_per_s"), color="tab:gray")
    ax.set_title("speed (steps/s)", fontsize=9)
    for a in axes.flat:
        a.set_xlabel("step", fontsize=8)
        a.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, out)
    plt.close(fig)
