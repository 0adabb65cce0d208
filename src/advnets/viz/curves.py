"""Training curves from a run's files: stats.jsonl, metrics.jsonl and (1-D runs) probes.jsonl."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from advnets.viz.grid import new_figure, save_figure

NATS = {"parzen", "ais"}  # metrics whose headline is a log-likelihood in nats


def _series(rows: list[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    kept = [(r["step"], r[key]) for r in rows if r.get(key) is not None]
    return (np.array([s for s, _ in kept]), np.array([v for _, v in kept], dtype=float)) if kept else (np.array([]), np.array([]))


def draw_curves(stats: list[dict], metrics: list[dict], probes: list[dict], out: Path, title: str,
                headlines: dict[str, tuple[str, str]]) -> None:
    """`headlines`: metric name -> (key of its headline number in a metrics.jsonl row, label)."""
    fig = new_figure(figsize=(14, 7.5), dpi=100)
    axes = fig.subplots(2, 3)
    ax = axes[0, 0]
    for key, label in (("loss_d", "D loss"), ("loss_g", "G loss")):
        ax.plot(*_series(stats, key), label=label)
    ax.set_title("losses (per-interval means)", fontsize=10)
    ax.set_ylabel("cross-entropy (nats)", fontsize=9)
    ax.legend(fontsize=8)

    ax = axes[0, 1]
    ax.plot(*_series(stats, "d_real"), label="D(x)")
    ax.plot(*_series(stats, "d_fake"), label="D(G(z))")
    ax.axhline(0.5, color="0.5", ls=":", lw=1, label="equilibrium 1/2")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("discriminator outputs", fontsize=10)
    ax.set_ylabel("mean D (probability of data)", fontsize=9)
    ax.legend(fontsize=8)

    ax = axes[0, 2]
    ax.plot(*_series(stats, "lr"), label="lr (D)")
    ax.plot(*_series(stats, "lr_g"), ls="--", label="lr (G)")
    ax.set_yscale("log")
    ax.set_title("schedules", fontsize=10)
    ax.set_ylabel("learning rate", fontsize=9)
    twin = ax.twinx()
    twin.plot(*_series(stats, "momentum"), color="tab:green", label="momentum")
    twin.set_ylim(0, 1)
    twin.set_ylabel("momentum", fontsize=9)
    twin.tick_params(labelsize=9)
    lines = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8)

    ax = axes[1, 0]
    ax.plot(*_series(stats, "diversity"), color="tab:purple")
    ax.axhline(0.1, color="tab:red", ls=":", lw=1, label="collapse threshold")
    ax.set_title("sample diversity (1 = like data)", fontsize=10)
    ax.set_ylabel("diversity", fontsize=9)
    ax.legend(fontsize=8)

    ax = axes[1, 1]
    # Numbers of different units never share an axis: log-likelihoods (Parzen, AIS; nats) on the left, the
    # other headline numbers (FID, modes, agreement ...) on the right, JSD (1-D runs) on the left alone.
    right = None
    drawn = False
    for key, label in (("parzen_valid", "Parzen, validation"), ("parzen_valid_live", "Parzen, validation, live G")):
        steps, values = _series(stats, key)
        if len(steps):
            ax.plot(steps, values, "-o", ms=2, label=label)
            ax.set_ylabel("log-likelihood (nats)", fontsize=9)
            drawn = True
    on_the_right = []
    for key, label in (("fid_valid", "FID, validation"), ("fid_valid_live", "FID, validation, live G")):
        steps, values = _series(stats, key)  # train.valid_metric fid: not nats, so on the right
        if len(steps):
            right = right or ax.twinx()
            right.plot(steps, values, "-o", ms=2, color="tab:brown" if key == "fid_valid" else "tab:olive",
                       label=label)
            on_the_right.append("FID (validation)")
            drawn = True
    for name in sorted({m.get("metric") for m in metrics if m.get("baseline") is None} & set(headlines)):
        key, what = headlines[name]
        points = [m for m in metrics if m.get("metric") == name and m.get("baseline") is None]
        if name in NATS:
            target = ax
            ax.set_ylabel("log-likelihood (nats)", fontsize=9)
        else:
            target = right = right or ax.twinx()
            on_the_right.append(what)
        target.plot([m["step"] for m in points], [m[key] for m in points], "s" if name in NATS else "D", ms=6,
                    label=f"{name} ({what}), evaluate")
        drawn = True
    if right is not None:
        right.set_ylabel(", ".join(on_the_right), fontsize=9)
        if not ax.lines:  # nothing in nats: the left axis would show an empty scale
            ax.set_yticks([])
    if probes:
        ax.plot([p["step"] for p in probes], [p["jsd"] for p in probes], "-o", ms=2, label="JSD(p_data || p_g)")
        ax.set_ylabel("JSD (nats)", fontsize=9)
        drawn = True
    ax.set_title("metrics over training", fontsize=10)
    if drawn:
        handles, labels = ax.get_legend_handles_labels()
        if right is not None:
            more = right.get_legend_handles_labels()
            handles, labels = handles + more[0], labels + more[1]
            right.tick_params(labelsize=9)
        ax.legend(handles, labels, fontsize=8)
        last_step = max((r["step"] for r in stats), default=0)
        ax.set_xlim(0, max(last_step, 1) * 1.03)  # the run's whole span, also when one evaluation is the only point
    else:
        ax.text(0.5, 0.5, "no metric recorded", ha="center", va="center", transform=ax.transAxes, color="0.5")

    ax = axes[1, 2]
    ax.plot(*_series(stats, "steps_per_s"), color="tab:gray")
    ax.set_title("speed", fontsize=10)
    ax.set_ylabel("steps per second", fontsize=9)
    for a in axes.flat:
        a.set_xlabel("step", fontsize=9)
        a.tick_params(labelsize=9)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    save_figure(fig, out)
