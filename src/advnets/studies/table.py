"""The answer to "is setting A better than B?" over seeds: one row per setting from the study's finished trials.

Per setting: n (seeds finished), the objective's median, mean +- standard error over seeds, the worst seed;
beside the baseline setting, the paired difference over the seeds both finished (setting - baseline), its
mean and 95% interval (Student's t, n - 1 degrees of freedom): the seed's own luck cancels in each pair.
And Lucic et al.'s curve (2018, "Are GANs Created Equal?"): the best setting's objective one can expect after
trying k settings drawn at random from the study's, for k = 1 .. K (the expected best of a random k-subset,
each setting scored by its mean over seeds).
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from advnets.studies.spec import Objective


@dataclass
class SettingRow:
    setting: str
    overrides: list[str]
    values: dict[int, float]  # seed -> objective
    failed: dict[int, str] = field(default_factory=dict)  # seed -> reason
    n: int = 0
    median: float | None = None
    mean: float | None = None
    se: float | None = None  # standard error of the mean over seeds (None below 2 seeds)
    worst: float | None = None
    vs_baseline: dict[str, Any] | None = None  # mean difference, 95% interval, seeds paired


def summarize(trials: list[Any], settings: dict[str, tuple[str, ...]], objective: Objective,
              baseline: str | None = None) -> list[SettingRow]:
    """The rows of the study's settings (best median first), from its trials (optuna FrozenTrials with user
    attributes setting and seed): COMPLETE ones give values, FAIL ones their reason (unless queued again)."""
    from optuna.trial import TrialState

    rows = {name: SettingRow(name, list(overrides), {}) for name, overrides in settings.items()}
    for trial in trials:
        name, seed = trial.user_attrs["setting"], trial.user_attrs["seed"]
        row = rows.setdefault(name, SettingRow(name, list(trial.user_attrs.get("overrides", [])), {}))
        if trial.state == TrialState.COMPLETE:
            row.values[seed] = float(trial.value)
            row.failed.pop(seed, None)
        elif trial.state == TrialState.FAIL and seed not in row.values:
            row.failed[seed] = trial.user_attrs.get("reason", "failed")
    worst = max if objective.direction == "minimize" else min
    for row in rows.values():
        values = [row.values[s] for s in sorted(row.values)]
        for seed in list(row.failed):
            if any(t.user_attrs["setting"] == row.setting and t.user_attrs["seed"] == seed and t.state in (
                    TrialState.WAITING, TrialState.RUNNING) for t in trials):
                del row.failed[seed]  # queued again: not (yet) a failure
        row.n = len(values)
        if values:
            row.median, row.mean, row.worst = statistics.median(values), statistics.fmean(values), worst(values)
            row.se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else None
    if baseline in rows:
        for row in rows.values():
            if row.setting != baseline:
                row.vs_baseline = paired_difference(row.values, rows[baseline].values)
    sign = 1 if objective.direction == "minimize" else -1
    return sorted(rows.values(), key=lambda r: (r.median is None, sign * (r.median or 0.0), r.setting))


def paired_difference(values: dict[int, float], baseline: dict[int, float]) -> dict[str, Any] | None:
    """setting - baseline over the seeds both have: mean, 95% interval (t with n - 1 degrees of freedom), n."""
    from scipy import stats

    seeds = sorted(set(values) & set(baseline))
    if not seeds:
        return None
    diffs = [values[s] - baseline[s] for s in seeds]
    mean = statistics.fmean(diffs)
    if len(diffs) < 2:
        return {"mean": mean, "low": None, "high": None, "seeds": seeds}
    half = stats.t.ppf(0.975, len(diffs) - 1) * statistics.stdev(diffs) / math.sqrt(len(diffs))
    return {"mean": mean, "low": mean - half, "high": mean + half, "seeds": seeds}


def best_after_k(rows: list[SettingRow], objective: Objective) -> list[tuple[int, float]]:
    """(k, the expected best mean over a random k-subset of the settings) for k = 1 .. K: with the K means sorted
    best first, E[best of k] = sum_i mean_(i) C(K - i, k - 1) / C(K, k) (the i-th best is the subset's best when
    it is drawn and the k - 1 others come from the K - i worse ones)."""
    means = sorted((r.mean for r in rows if r.mean is not None), reverse=objective.direction == "maximize")
    total = len(means)
    return [(k, sum(m * math.comb(total - i, k - 1) for i, m in enumerate(means, start=1)) / math.comb(total, k))
            for k in range(1, total + 1)]


def _number(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def scored_on(objective: Objective) -> str:
    """Where the objective's samples are compared: the validation split, or (synthetic data) fresh samples."""
    from advnets.metrics import registry as metrics

    return "the validation split" if "split" in metrics.get(objective.metric).options else "fresh samples"


def format_table(rows: list[SettingRow], objective: Objective, baseline: str | None) -> str:
    """The table as text (Markdown), for the terminal and the docs."""
    head = (f"| setting | n | median | mean +- SE | worst | vs {baseline} (95% interval) | failed |" if baseline else
            "| setting | n | median | mean +- SE | worst | failed |")
    lines = [f"{objective.label} ({objective.direction}) on {scored_on(objective)}; best median first", head,
             "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        mean = "-" if r.mean is None else _number(r.mean) + (f" +- {_number(r.se, 2)}" if r.se is not None else "")
        cells = [r.setting, str(r.n), _number(r.median), mean, _number(r.worst)]
        if baseline:
            d = r.vs_baseline
            cells.append("(baseline)" if r.setting == baseline else "-" if d is None else
                         f"{d['mean']:+.4g}" + ("" if d["low"] is None else f" [{d['low']:+.3g}, {d['high']:+.3g}]")
                         + f" n={len(d['seeds'])}")
        cells.append(str(len(r.failed)) if r.failed else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def as_json(rows: list[SettingRow], objective: Objective, baseline: str | None) -> str:
    return json.dumps({"objective": asdict(objective), "baseline": baseline, "settings": [asdict(r) for r in rows],
                       "best_after_k": best_after_k(rows, objective)}, indent=1) + "\n"


def as_csv(rows: list[SettingRow]) -> str:
    """One line per (setting, seed): the objective, or the failure's reason."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["setting", "seed", "objective", "failed", "overrides"])
    for r in rows:
        for seed in sorted(set(r.values) | set(r.failed)):
            writer.writerow([r.setting, seed, r.values.get(seed, ""), r.failed.get(seed, ""), " ".join(r.overrides)])
    return out.getvalue()
