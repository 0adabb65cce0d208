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
from advnets.errors import AdvnetsError, ConfigError
from advnets.fileio import atomic_write_bytes
from advnets.metrics import references
from advnets.metrics.registry import METRICS_FILE, report_columns
from advnets.outputs import check_output
from advnets.train.rundir import CONFIG_FILE, read_stats

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
    return f'<img alt="{html.escape(alt)}"{size} src="data:image/png;base64,{data}">'


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


def applicable_config(config: dict) -> dict:
    """The config without the data keys its data set never reads (a ring's radius on MNIST, masks
    without inpainting, the data directory of a synthetic mixture)."""
    data = dict(config.get("data", {}))
    image = datasets.get(data.get("name", "mnist")).is_image
    for key in TOY_DATA_KEYS if image else IMAGE_DATA_KEYS:
        data.pop(key, None)
    if image and not data.get("inpainting"):
        data.pop("masks", None)
    return {**config, "data": data}


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
             f"{last.get('wall_s', 0):.0f} s of training.</p>"]
    headline = {"D(x)": last.get("d_real"), "D(G(z))": last.get("d_fake"), "diversity": last.get("diversity"),
                "collapsed": last.get("collapsed"), "best validation Parzen": last.get("best_valid"),
                "at step": last.get("best_step"), "steps/s": last.get("steps_per_s")}
    headline = {k: v for k, v in headline.items() if v is not None}  # no empty columns (runs without validation)
    parts.append(_table([headline], list(headline)))
    parts.append("<h2>Metrics (advnets evaluate)</h2>")
    if metrics:
        used = [k for k in report_columns() if any(k in m for m in metrics)]
        parts.append(_table(metrics, used))
    else:
        parts.append("<p>None yet: <code>advnets evaluate RUN_DIR --metric ...</code> adds them.</p>")
    if config.get("data", {}).get("name") == "mnist":
        parts.append(_standing(metrics))
    with tempfile.TemporaryDirectory() as tmp:
        kinds = ["curves", *_figure_kinds(config.get("data", {}))]
        titles = {"curves": "Training curves", "fig1": "Figure 1", "fig2": "Figure 2: samples and nearest "
                  "training images", "fig3": "Figure 3: interpolation in z", "modes": "Samples over the modes",
                  "classes": "One row per class", "inpaint": "Completions of test images (right half hidden)"}
        for kind in kinds:
            parts.append(f"<h2>{titles[kind]}</h2>")
            target = Path(tmp) / f"{kind}.png"
            options = {"data_dir": data_dir} if kind == "fig2" else {}
            try:
                figures.draw(kind, run, target, **options)
                parts.append(_img(target, kind))
            except AdvnetsError as e:
                parts.append(f'<p class="note">not drawn: {html.escape(str(e))}</p>')
        grids = sorted((run / "samples").glob("step-*.png"))
        if grids:
            parts.append(f"<h2>Latest progress grid ({html.escape(grids[-1].name)})</h2>")
            parts.append(_img(grids[-1], grids[-1].name, width=720))  # the grid's own 300 px are too small to read
    parts.append("<h2>Config</h2><p>The keys that apply to this run (all of them: config.yaml).</p>")
    parts.append(f"<pre>{html.escape(yaml.safe_dump(applicable_config(config), sort_keys=False))}</pre>")
    parts.append(f"<h2>Last statistics row</h2><pre>{html.escape(json.dumps(last, indent=1))}</pre>")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>advnets {html.escape(run.name)}</title>"
            f"<style>{STYLE}</style><script>{ON_LOAD}</script></head><body>{''.join(parts)}</body></html>")
    atomic_write_bytes(out, page.encode())
    return out
