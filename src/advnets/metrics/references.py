"""Where an MNIST generator's numbers stand: the reference rows that `advnets report` and the main job
show beside a run's own (docs/evaluation.md holds the same table, with its commands).

Measured rows come from ``mnist_references.json`` beside this module, which
``experiments/evaluation_table.py --write-references`` writes from its results (mean ± SE over sets of
10,000 samples, each row naming its seeds, machine and command); published rows are quoted with
their source. Columns are a run's metrics.jsonl keys:

    parzen        --metric parzen (test mean, nats)          ais        --metric ais (nats)
    fid_mnistclf, kid_mnistclf, precision, recall, density, coverage     --metric mnistclf-features
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REFERENCES_FILE = Path(__file__).with_name("mnist_references.json")
# (column, heading, metrics.jsonl metric, key in its row, scale, digits)
COLUMNS = (
    ("parzen", "Parzen (nats)", "parzen", "mean", 1.0, 1),
    ("fid_mnistclf", "fid_mnistclf", "mnistclf-features", "fid_mnistclf", 1.0, 2),
    ("kid_mnistclf", "kid_mnistclf", "mnistclf-features", "kid_mnistclf", 1.0, 2),
    ("precision", "precision", "mnistclf-features", "precision", 1.0, 3),
    ("recall", "recall", "mnistclf-features", "recall", 1.0, 3),
    ("density", "density", "mnistclf-features", "density", 1.0, 3),
    ("coverage", "coverage", "mnistclf-features", "coverage", 1.0, 3),
    ("ais", "AIS (nats)", "ais", "log_likelihood", 1.0, 1),
)
PUBLISHED = (
    {"what": "the paper (Goodfellow et al. 2014, Table 1)", "parzen": "225 ± 2", "source": "published"},
    {"what": "GAN-10, an MLP GAN (Wu et al. 2017, Table 1)", "parzen": "", "ais": "328.8 ± 5.5",
     "source": "published"},
)


def measured_references() -> list[dict[str, str]]:
    """The measured rows (one dict per row: what, a formatted cell per column, source); none when the
    file is missing."""
    if not REFERENCES_FILE.is_file():
        return []
    return json.loads(REFERENCES_FILE.read_text())["rows"]


def reference_rows() -> list[dict[str, str]]:
    return [*PUBLISHED, *measured_references()]


def _cell(row: dict[str, Any], key: str, scale: float, digits: int) -> str:
    value = row.get(key)
    if not isinstance(value, (int, float)):
        return ""
    se = row.get("se") if key in ("mean", "log_likelihood") else row.get(f"{key}_se_seeds")
    text = f"{value * scale:.{digits}f}"
    return f"{text} ± {se * scale:.{digits}f}" if isinstance(se, (int, float)) else text


def run_row(metrics: list[dict[str, Any]], what: str) -> dict[str, str] | None:
    """A run's own row from its metrics.jsonl rows: each column from the latest row of its metric
    (Parzen of G's samples, not a baseline); None when it has none of them."""
    row: dict[str, str] = {"what": what, "source": "metrics.jsonl"}
    for column, _, metric, key, scale, digits in COLUMNS:
        rows = [m for m in metrics if m.get("metric") == metric and m.get("baseline") is None]
        if rows:
            row[column] = _cell(rows[-1], key, scale, digits)
    return row if len(row) > 2 else None


def headings() -> dict[str, str]:
    return {"what": "generator", **{column: heading for column, heading, *_ in COLUMNS}, "source": "source"}
