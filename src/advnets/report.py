"""A run judged at a glance: one self-contained ``report.html`` (every image embedded as base64).

Sections: the run's headline numbers, its metrics (every `advnets evaluate` row), the training
curves, the figures that fit its data (image models: Figures 2 and 3; 1-D runs: Figure 1; 2-D runs:
the modes plot), the latest progress grid, and the resolved config. A figure that cannot be drawn
(for example Figure 2 without the training images) is replaced by a line saying why.
"""

from __future__ import annotations

import base64
import html
import json
import tempfile
from pathlib import Path

import yaml

from advnets import figures
from advnets.config import read_yaml
from advnets.data import registry as datasets
from advnets.errors import AdvnetsError, ConfigError, shell_command
from advnets.fileio import atomic_write_bytes, read_json_lines
from advnets.metrics import references
from advnets.metrics.registry import METRICS_FILE, report_columns
from advnets.outputs import check_output
from advnets.train.rundir import CONFIG_FILE, SESSIONS_FILE, read_stats
from advnets.train.validation import label

REPORT_FILE = "report.html"

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9em; display: block; max-width: 100%; overflow-x: auto; } td, th { padding: 3px 10px; border: 1px solid #ddd; }
th { background: #f4f4f4; text-align: left; } img { max-width: 100%; border: 1px solid #eee; }
pre { background: #f7f7f7; padding: 1em; font-size: 0.8em; overflow-x: auto; } .note { color: #a33; }
"""

# Marks the page once every image has decoded, so that a headless browser can check it.
ON_LOAD = """
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var ok = images.length > 0 && images.every(function (i) { return i.complete && i.naturalWidth > 0; });
  document.body.setAttribute("data-images-loaded", ok ? "all" : "missing");
});
"""


def _img(path: Path, alt: str, width: int | None = None) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    size = f' style="width: {width}px; image-rendering: pixelated"' if width else ""
    kind = "gif" if path.suffix == ".gif" else "png"
    return f'<img alt="{html.escape(alt)}"{size} src="data:image/{kind};base64,{data}">'


def _table(rows: list[dict], keys: list[str]) -> str:
    head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(k)))}</td>" for k in keys) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _standing(metrics: list[dict]) -> str:
    """This run beside the reference generators and anchors under every metric (docs/evaluation.md's table)."""
    own = [m for m in metrics if m.get("baseline") is None]
    step = own[-1]["step"] if own else None
    row = references.run_row(metrics, f"this run (latest rows of metrics.jsonl, step {step})")
    rows = ([row] if row else []) + references.reference_rows()
    heads = references.headings()
    keys = [k for k in heads if any(r.get(k) for r in rows)]
    table = _table([{heads[k]: r.get(k, "") for k in keys} for r in rows], [heads[k] for k in keys])
    hint = "" if row else ("<p>This run has no such numbers yet: <code>advnets evaluate RUN_DIR --metric parzen</code>, "
                           "<code>--metric mnistclf-features</code>, <code>--metric ais</code> add them.</p>")
    return ("<h2>Where this run stands (MNIST)</h2><p>Parzen: Table 1's protocol, test log-likelihood in nats "
            "(higher is better; real images score above every GAN, so it measures closeness to the training set "
            "as much as quality). fid/kid_mnistclf (lower is better), precision, recall, density, coverage: the "
            "shipped classifier's features against the test images (not Inception's). AIS: log-likelihood with "
            "a Gaussian observation model (nats). Reference rows: mean ± SE over sets of 10,000 samples; "
            "commands and machine in docs/evaluation.md.</p>" + hint + table)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _figure_kinds(data: dict) -> list[str]:
    """The figures that fit a run on `data` (its config's data section)."""
    spec = datasets.get(data.get("name", "mnist"))
    if not spec.is_image:
        return ["fig1"] if spec.dim == 1 else ["modes"]
    if data.get("inpainting"):
        return ["inpaint"]
    return ["fig2", "fig3", *(["classes"] if data.get("conditional") else [])]


# data keys that only some kinds of data sets read
TOY_DATA_KEYS = ("modes", "radius", "std", "means", "stds", "mixture_weights")
IMAGE_DATA_KEYS = ("dir", "download", "conditional", "inpainting", "masks")
OWN_IMAGES_KEYS = ("path", "size", "resize_filter", "channels", "split_fractions", "split_seed", "found")


def applicable_config(config: dict) -> dict:
    """The config without the keys the run never reads: the data keys of other kinds of data sets (a ring's
    radius on MNIST, masks without inpainting), the other optimizer's keys (momentum for Adam, betas for
    momentum SGD), the convolutional keys of fully connected networks, the schedule's unused knobs, and the
    inference network's keys unless it is trained alongside."""
    data = dict(config.get("data", {}))
    image = datasets.get(data.get("name", "mnist")).is_image
    for key in TOY_DATA_KEYS if image else IMAGE_DATA_KEYS:
        data.pop(key, None)
    for key in () if data.get("name") == "images" else OWN_IMAGES_KEYS:
        data.pop(key, None)
    if image and not data.get("inpainting"):
        data.pop("masks", None)
    if data.get("preprocess", "none") == "none":
        data.pop("gcn_scale", None)
    out = {**config, "data": data}
    optim = dict(config.get("optim", {}))
    unused = MOMENTUM_KEYS if optim.get("name") == "adam" else ("betas",)
    if optim.get("lr_anneal_from") is None:
        unused += ("lr_anneal",)
    if optim.get("lr_decay") == 1:
        unused += ("lr_min", "lr_decay_clock")
    out["optim"] = {k: v for k, v in optim.items() if k not in unused}
    generator = dict(config.get("generator", {}))
    if generator.get("arch", "mlp") == "mlp":
        for key in ("feature_shape", "kernel", "stride"):
            generator.pop(key, None)
    out["generator"] = generator
    discriminator = dict(config.get("discriminator", {}))
    if discriminator.get("arch", "maxout") != "conv-maxout":
        discriminator.pop("conv", None)
        discriminator.pop("pad_to", None)
    if discriminator.get("arch", "maxout") != "mlp":
        discriminator.pop("activation", None)
    out["discriminator"] = discriminator
    if not config.get("inference", {}).get("joint"):
        out.pop("inference", None)
    return out


MOMENTUM_KEYS = ("momentum", "momentum_final", "momentum_start_epoch", "momentum_saturate_epoch")


def _sessions(run: Path) -> str:
    """The run's training sessions: what started each (command line), on what (versions, CPU, threads), how it
    ended and how long it took."""
    try:
        rows, _ = read_json_lines(run / SESSIONS_FILE)
    except (OSError, ValueError):
        return "<p>No record of the training sessions (sessions.jsonl: runs of advnets 0.2 and later).</p>"
    sessions, ends = [row for row in rows if row.get("event") == "start"], [r for r in rows if r.get("event") == "end"]
    shown = []
    for start in sessions:
        end = next((e for e in ends if e["time"] >= start["time"]), {})
        command = " ".join(shell_command(word) for word in [Path(start.get("command", ["?"])[0]).name,
                                                            *start.get("command", [])[1:]])
        shown.append({"started": start.get("time"), "command": command, "from step": start.get("step"),
                      "advnets": f"{start.get('advnets')} ({start.get('commit') or 'no git commit'})",
                      "torch": start.get("torch"), "device": start.get("device"),
                      "CPU": f"{start.get('cpu')} ({start.get('cpu_capability')})",
                      "threads": f"{start.get('threads')} ({start.get('threads_why', '')})",
                      "ended": f"{end.get('how', 'no record (killed?)')} at step {end.get('step', '?')}",
                      "training s": end.get("training_s"), "session s": end.get("session_s")})
    return "<h2>Training sessions</h2>" + _table(shown, list(shown[0])) if shown else ""


def _class_histogram(metrics: list[dict], tmp: Path) -> str:
    """The latest class histogram of G's samples (--metric mnistclf-features) as a bar chart, or ''."""
    rows = [m for m in metrics if isinstance(m.get("class_histogram"), list) and m.get("baseline") is None]
    if not rows:
        return ""
    from advnets.viz.image_figures import draw_class_histogram

    row = rows[-1]
    target = tmp / "classes-histogram.png"
    draw_class_histogram(row["class_histogram"], target, f"classes of {row.get('n_samples', '?')} samples (step "
                         f"{row.get('step')}); KL to uniform {row.get('class_kl_uniform', 0):.3f}")
    return _img(target, "class histogram")


def _validation(config: dict) -> str:
    """What the run's validation score is called (train.valid_metric: Parzen by default)."""
    return label((config.get("train") or {}).get("valid_metric", "parzen"))


def build_report(run_dir: str | Path, out: str | Path | None = None, data_dir: str | None = None) -> Path:
    """Write the report of `run_dir` (default: RUN_DIR/report.html, replaced if present)."""
    run = Path(run_dir)
    if not (run / CONFIG_FILE).is_file():
        raise ConfigError(f"{run} is not a run directory (no {CONFIG_FILE})")
    out = check_output(Path(out) if out is not None else run / REPORT_FILE, force=True)  # (replaced if present)
    stats = read_stats(run)
    if not stats:
        raise ConfigError(f"{run} has no statistics yet (stats.jsonl); report it after its first log interval")
    config = read_yaml(run / CONFIG_FILE)
    metrics = read_stats(run, METRICS_FILE)
    last = stats[-1]
    parts = [f"<h1>advnets run {html.escape(run.name)}</h1>",
             f"<p>{html.escape(config.get('name', ''))}: step {last['step']}, epoch {last.get('epoch', 0):.2f}, "
             f"{last.get('wall_s', 0):.0f} s of training.</p>", _sessions(run)]
    headline = {"D(x)": last.get("d_real"), "D(G(z))": last.get("d_fake"), "diversity": last.get("diversity"),
                "collapsed": last.get("collapsed"), f"best {_validation(config)}": last.get("best_valid"),
                "at step": last.get("best_step"), "steps/s": last.get("steps_per_s")}
    headline = {k: v for k, v in headline.items() if v is not None}  # no empty columns (runs without validation)
    parts.append(_table([headline], list(headline)))
    parts.append("<h2>Metrics (advnets evaluate)</h2>")
    if metrics:
        used = [k for k in report_columns() if any(k in m for m in metrics)]
        parts.append(_table(metrics, used))
    else:
        parts.append("<p>None yet: <code>advnets evaluate RUN_DIR --metric ...</code> adds them.</p>")
    if datasets.get(config.get("data", {}).get("name", "mnist")).has_references:
        parts.append(_standing(metrics))
    with tempfile.TemporaryDirectory() as tmp:
        averaged = float(config.get("train", {}).get("ema_decay", 0) or 0) > 0
        kinds = ["curves", *_figure_kinds(config.get("data", {}))]
        if averaged and "fig2" in kinds:
            kinds.insert(kinds.index("fig2") + 1, "fig2-live")  # the live G beside its moving average
        titles = {"curves": "Training curves", "fig1": "Figure 1", "fig2": "Figure 2: samples and nearest "
                  f"training images{' (G’s moving average)' if averaged else ''}", "fig2-live": "Figure 2 for the "
                  "live G (the weights as trained, without the average)", "fig3": "Figure 3: interpolation in z",
                  "modes": "Samples over the modes", "classes": "One row per class",
                  "inpaint": "Completions of test images (right half hidden)"}
        for kind in kinds:
            parts.append(f"<h2>{titles[kind]}</h2>")
            target = Path(tmp) / f"{kind}.png"
            options = {"data_dir": data_dir} if kind.startswith("fig2") else {}
            if kind == "fig2-live":
                options["variant"] = "live"
            try:
                figures.draw(kind.removesuffix("-live"), run, target, **options)
                parts.append(_img(target, kind))
                if kind in figures.ANIMATIONS:  # the same over training, one frame per probe or progress plot
                    moving = target.with_suffix(".gif")
                    figures.draw(kind, run, moving, animate=True)
                    parts.append(f"<p>Over training:</p>{_img(moving, f'{kind} over training')}")
            except AdvnetsError as e:
                parts.append(f'<p class="note">not drawn: {html.escape(str(e))}</p>')
        grids = sorted((run / "samples").glob("step-*.png"))
        histogram = _class_histogram(metrics, Path(tmp))
        if grids or histogram:
            parts.append(f"<h2>Latest progress grid{' and the classes of G’s samples' if histogram else ''}</h2>"
                         "<div style='display: flex; gap: 1em; align-items: flex-start; flex-wrap: wrap'>")
            if grids:  # the grid's own 300 px are too small to read
                parts.append(f"<figure>{_img(grids[-1], grids[-1].name, width=560)}<figcaption>"
                             f"{html.escape(grids[-1].name)}</figcaption></figure>")
            parts.append(f"<figure>{histogram}</figure></div>" if histogram else "</div>")
    parts.append("<h2>Config</h2><p>The keys that apply to this run (all of them: config.yaml).</p>")
    parts.append(f"<pre>{html.escape(yaml.safe_dump(applicable_config(config), sort_keys=False))}</pre>")
    parts.append(f"<h2>Last statistics row</h2><pre>{html.escape(json.dumps(last, indent=1))}</pre>")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>advnets {html.escape(run.name)}</title>"
            f"<style>{STYLE}</style><script>{ON_LOAD}</script></head><body>{''.join(parts)}</body></html>")
    atomic_write_bytes(out, page.encode())
    return out
