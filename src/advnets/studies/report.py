"""`advnets study report`: one self-contained HTML page of a study (images embedded), STUDY_DIR/report.html.

The spec in short, the table (setting, n, median, mean +- SE, worst, the paired difference to the baseline),
the objective of every seed per setting as dots, the best objective expected after trying k settings (Lucic et
al. 2018), the test record if the study was tested, and every trial: its folder's report.html (made here when
missing and the folder is on this machine), or its failure's reason.
"""

from __future__ import annotations

import base64
import html
import tempfile
from pathlib import Path

from advnets.studies import storage as stores
from advnets.studies.table import SettingRow, best_after_k, format_table, scored_on, summarize

REPORT_FILE = "report.html"


def build_study_report(opened: stores.OpenStudy, trial_reports: bool = True, say=print) -> Path:
    from advnets.fileio import atomic_write_bytes
    from advnets.viz.study_figures import draw_best_after_k, draw_seeds_per_setting

    spec, folder = opened.spec, opened.folder
    trials = stores.units(opened.study)
    rows = summarize(trials, spec.settings, spec.objective, spec.baseline)
    label = spec.objective.label
    with tempfile.TemporaryDirectory() as tmp:
        dots, curve = Path(tmp) / "dots.png", Path(tmp) / "curve.png"
        draw_seeds_per_setting([(r.setting, [r.values[s] for s in sorted(r.values)], r.mean) for r in rows], label,
                               dots, spec.baseline)
        points = best_after_k(rows, spec.objective)
        figures = _img(dots, "each seed per setting")
        if len(points) > 1:
            draw_best_after_k(points, label, curve)
            figures += _img(curve, "best objective against settings tried")
    body = [f"<h1>Study {html.escape(spec.name)}</h1>", _summary(opened), "<h2>Settings</h2>",
            _table_html(rows, spec.baseline, spec.notes), figures, _tests(opened), "<h2>Trials</h2>",
            _trials(opened, trials, trial_reports, say)]
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>study {html.escape(spec.name)}</title>"
            f"<style>{STYLE}</style></head><body>{''.join(body)}<h2>As text</h2><pre>"
            f"{html.escape(format_table(rows, spec.objective, spec.baseline))}</pre></body></html>\n")
    out = folder.path / REPORT_FILE
    atomic_write_bytes(out, page.encode())
    return out


STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222} table{border-collapse:collapse}"
         "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:right} td:first-child{text-align:left}"
         "img{margin:8px 16px 8px 0} .bad{color:#a00} .kv td,td.text{text-align:left}")


def _img(path: Path, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}">'


def _summary(opened: stores.OpenStudy) -> str:
    spec = opened.spec
    budget = (f"{spec.budget.updates} updates" if spec.budget.updates else
              f"{spec.budget.seconds:g} s of training, calibrated into updates per setting")
    objective = f"{spec.objective.label}, {spec.objective.direction}d, on {scored_on(spec.objective)}"
    items = [("base", spec.base), ("every trial", " ".join(spec.common) or "-"),
             ("seeds", ", ".join(map(str, spec.seeds))), ("budget", budget), ("objective", objective),
             ("sampler", spec.sampler), ("baseline", spec.baseline or "-"),
             ("storage", stores.shown(opened.folder.storage))]
    return ("<table class='kv'>" + "".join(f"<tr><th>{k}</th><td>{html.escape(str(v))}</td></tr>" for k, v in items)
            + "</table>")


def _table_html(rows: list[SettingRow], baseline: str | None, notes: dict[str, str]) -> str:
    def cell(value) -> str:
        return "-" if value is None else f"{value:.4g}"

    head = ["setting", "n", "median", "mean", "SE", "worst"] + ([f"vs {baseline} (95% interval)"] if baseline else [])
    out = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "<th>what it tries</th></tr>"]
    for r in rows:
        cells = [html.escape(r.setting), str(r.n), cell(r.median), cell(r.mean), cell(r.se), cell(r.worst)]
        if baseline:
            d = r.vs_baseline
            cells.append("baseline" if r.setting == baseline else "-" if d is None else
                         f"{d['mean']:+.4g}" + ("" if d["low"] is None else f" [{d['low']:+.3g}, {d['high']:+.3g}]"))
        what = html.escape(notes.get(r.setting) or " ".join(r.overrides))
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + f"<td class='text'>{what}</td></tr>")
    return "".join(out) + "</table>"


def _tests(opened: stores.OpenStudy) -> str:
    records = opened.study.user_attrs.get(stores.TEST_ATTR, [])
    if not records:
        return ("<p>Not tested yet: <code>advnets study test DIR --setting NAME</code> scores the chosen setting on "
                "the test split, once.</p>")
    lines = [f"<li>{html.escape(r['date'])}: {html.escape(r['setting'])} on the {html.escape(r['split'])}: median "
             f"{r['median']:.4g}, mean {r['mean']:.4g} over seeds {', '.join(r['scores'])}</li>" for r in records]
    return "<h2>Test</h2><ul>" + "".join(lines) + "</ul>"


def _trials(opened: stores.OpenStudy, trials, trial_reports: bool, say) -> str:
    from optuna.trial import TrialState

    from advnets.report import build_report

    items = []
    for t in sorted(trials, key=lambda t: (t.user_attrs["setting"], t.user_attrs["seed"], t.number)):
        name = f"{t.user_attrs['setting']}, seed {t.user_attrs['seed']} (trial {t.number})"
        run = opened.folder.path / t.user_attrs["run"] if "run" in t.user_attrs else None
        if t.state == TrialState.COMPLETE and run is not None and run.is_dir():
            report = run / "report.html"
            if trial_reports and not report.exists():
                say(f"  writing {report}")
                build_report(run)
            link = f'<a href="{html.escape(str(report.relative_to(opened.folder.path)))}">{html.escape(name)}</a>'
            items.append(f"<li>{link}: {t.value:.6g}</li>" if report.exists() else f"<li>{html.escape(name)}: "
                         f"{t.value:.6g}</li>")
        elif t.state == TrialState.COMPLETE:
            items.append(f"<li>{html.escape(name)}: {t.value:.6g} (trained on {t.user_attrs.get('machine', '?')})</li>")
        else:
            why = t.user_attrs.get("reason", t.state.name.lower())
            items.append(f"<li>{html.escape(name)}: <span class='bad'>{html.escape(t.state.name.lower())}</span> "
                         f"{html.escape(why)}</li>")
    return "<ul>" + "".join(items) + "</ul>"
