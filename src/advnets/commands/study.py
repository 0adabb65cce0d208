"""advnets study: many runs as one experiment, over seeds and settings (advnets.studies)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from advnets.commands.options import output_file, positive_int
from advnets.errors import TrainingInterrupted, shell_command

DESCRIPTION = ("Compare settings over seeds: a study (a YAML spec) trains every setting on every seed as ordinary "
               "run folders, scores each on the validation split, and tabulates the settings with their spread "
               "and paired differences. Its storage is Optuna's: an SQLite file in the study folder, or a "
               "PostgreSQL URL that several machines share (docs/studies.md).")

EXAMPLES = """examples:
  advnets study create experiments/studies/ring-k.yaml --out runs/studies/ring-k
  advnets study run runs/studies/ring-k --workers 2      # until every trial is done; run it again after a stop
  advnets study status runs/studies/ring-k
  advnets study table runs/studies/ring-k --csv ring-k.csv
  advnets study test runs/studies/ring-k --setting k2   # the test split, once, for the setting chosen
  advnets study report runs/studies/ring-k             # runs/studies/ring-k/report.html

Several machines: a PostgreSQL storage (pip install 'psycopg[binary]'), the same create on each machine,
then run on each:
  advnets study create SPEC --out runs/s --storage postgresql://user:password@host/db
  advnets study run runs/s"""

def add_arguments(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="make a study from a spec (or join it: the same spec, storage)")
    create.add_argument("spec", metavar="SPEC.yaml", help="the study's spec (docs/studies.md)")
    create.add_argument("--out", type=Path, required=True, metavar="DIR", help="the study folder (new or empty)")
    create.add_argument("--extend", action="store_true", help="add the spec's new settings or seeds to the study of "
                        "the same name (its base, overrides, budget and objective unchanged)")
    create.add_argument("--heartbeat", type=positive_int, metavar="S", help="seconds between a worker's heartbeats "
                        "(default 20); a trial silent for 3 of them is taken up by another worker")
    run = actions.add_parser("run", help="train and score queued trials until none is left")
    run.add_argument("--workers", type=positive_int, default=1, help="worker processes on this machine, sharing "
                     "its cores (default 1)")
    run.add_argument("--members", type=positive_int, default=1, metavar="K", help="train up to K queued seeds of a "
                     "setting side by side in one process (advnets train --members; default 1: one trial at a time)")
    status = actions.add_parser("status", help="where the study stands")
    table = actions.add_parser("table", help="the settings compared over seeds")
    table.add_argument("--csv", type=output_file(".csv"), metavar="FILE.csv", help="also write each trial's value")
    table.add_argument("--json", type=output_file(".json"), metavar="FILE.json", help="also write the table")
    table.add_argument("--force", action="store_true", help="overwrite --csv / --json files")
    test = actions.add_parser("test", help="score one setting on the test split (once)")
    test.add_argument("--setting", required=True, help="the setting chosen on the validation split")
    test.add_argument("--again", action="store_true", help="score the test split again (recorded beside the first)")
    report = actions.add_parser("report", help="write DIR/report.html")
    report.add_argument("--no-trial-reports", action="store_true", help="do not make the trials' own report.html")
    for sub in (create, run, status, table, test, report):
        if sub is not create:
            sub.add_argument("dir", metavar="DIR", type=Path, help="the study folder")
        sub.add_argument("--storage", metavar="URL", help="the study's storage (default: DIR/study.db, or the one "
                         "it was created with)")


def run(args: argparse.Namespace) -> int:
    return {"create": _create, "run": _run, "status": _status, "table": _table, "test": _test,
            "report": _report}[args.action](args)


def _create(args: argparse.Namespace) -> int:
    from advnets.studies import storage as stores
    from advnets.studies.create import create
    from advnets.studies.spec import read_spec

    spec = read_spec(args.spec)  # every setting's config checked before anything is written
    beat = args.heartbeat or stores.HEARTBEAT_S
    folder = create(spec, args.out, args.storage, args.extend, beat, 3 * beat)
    print(f"study folder: {folder.path} (next: {shell_command('advnets', 'study', 'run', folder.path)})")
    return 0


def _open(args: argparse.Namespace):
    from advnets.studies import storage as stores

    return stores.load_study(stores.read_folder(args.dir, args.storage))


def _run(args: argparse.Namespace) -> int:
    from advnets.studies import storage as stores
    from advnets.studies.worker import run_workers, work

    folder = stores.read_folder(args.dir, args.storage)
    if args.workers > 1:
        return run_workers(folder, args.workers, args.storage, args.members)
    label = f"worker {os.environ['ADVNETS_STUDY_WORKER']}: " if "ADVNETS_STUDY_WORKER" in os.environ else ""
    try:
        counts = work(folder, lambda line: print(f"{label}{line}", flush=True), args.members)
    except TrainingInterrupted as e:
        print(f"advnets: {label}stopped by {e.signal_name} at step {e.step}: the trial is saved and queued again; go "
              f"on with: {shell_command('advnets', 'study', 'run', args.dir)}", file=sys.stderr, flush=True)
        return e.exit_status
    print(f"{label}study {folder.name}: this worker finished {counts['finished']} trials"
          + (f", {counts['failed']} failed" if counts["failed"] else "") + "; nothing is left to run", flush=True)
    return 0


def _status(args: argparse.Namespace) -> int:
    from advnets.studies.status import status_text

    print(status_text(_open(args)))
    return 0


def _table(args: argparse.Namespace) -> int:
    from advnets.commands.presentation import refuse_to_overwrite
    from advnets.fileio import atomic_write_bytes
    from advnets.studies import storage as stores
    from advnets.studies.table import as_csv, as_json, format_table, summarize

    for out in (args.csv, args.json):
        if out is not None:
            refuse_to_overwrite(out, args.force)
    opened = _open(args)
    spec = opened.spec
    rows = summarize(stores.units(opened.study), spec.settings, spec.objective, spec.baseline)
    print(format_table(rows, spec.objective, spec.baseline))
    if args.csv:
        atomic_write_bytes(args.csv, as_csv(rows).encode())
    if args.json:
        atomic_write_bytes(args.json, as_json(rows, spec.objective, spec.baseline).encode())
    return 0


def _test(args: argparse.Namespace) -> int:
    from advnets.studies.holdout import test_setting

    opened = _open(args)
    record = test_setting(opened, args.setting, args.again)
    se = f" +- {record['se']:.3g}" if record["se"] is not None else ""
    print(f"{record['setting']} on the {record['split']}: {opened.spec.objective.label} median {record['median']:.6g}, "
          f"mean {record['mean']:.6g}{se} over {len(record['scores'])} seeds (recorded in the study's storage)")
    return 0


def _report(args: argparse.Namespace) -> int:
    from advnets.studies.report import build_study_report

    print(f"wrote {build_study_report(_open(args), trial_reports=not args.no_trial_reports)}")
    return 0

