"""advnets report: write a self-contained report.html of a run."""

from __future__ import annotations

import argparse

from advnets.commands.options import output_file

DESCRIPTION = "Write one HTML page (images embedded) with a run's numbers, curves and figures."

EXAMPLES = """example:
  advnets report runs/00000-quick-mnist        # writes runs/00000-quick-mnist/report.html"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory")
    p.add_argument("--out", type=output_file(".html"), metavar="FILE.html",
                   help="output file (default RUN_DIR/report.html, replaced if present)")
    p.add_argument("--data-dir", metavar="DIR", help="data directory for Figure 2's nearest training images")


def run(args: argparse.Namespace) -> int:
    from advnets.report import build_report

    print(f"wrote {build_report(args.run_dir, args.out, args.data_dir)}")
    return 0
