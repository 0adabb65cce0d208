"""The ``advnets`` command line: the commands (advnets.commands, one module each) assembled into one parser.

User errors (bad config values, missing or corrupt files, existing outputs) print one line,
``advnets: error: ...``, and exit with status 2; no traceback (advnets.commands.presentation).

Only the command being run is imported (its module named by a string in COMMANDS), and the library is
imported inside its ``run``: ``advnets --help``, ``advnets presets`` and a config typo answer without PyTorch.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from typing import NoReturn

from advnets import __version__, commands
from advnets.errors import ConfigError

COMMANDS = {  # name -> (its module in advnets.commands, the line in `advnets --help`), in that list's order
    "train": ("train", "train a GAN from a preset or YAML config"),
    "sample": ("sample", "draw samples from a trained generator"),
    "evaluate": ("evaluate", "evaluate a trained generator (Parzen window, Table 1), or images from anywhere"),
    "reference-stats": ("reference_stats", "save a reference set's feature statistics once, to score against"),
    "figure": ("figure", "draw one of the paper's figures, or training curves, from a run"),
    "inpaint": ("inpaint", "complete test images with some pixels hidden (inpainting models)"),
    "infer": ("infer", "an inference network E: x -> z for a trained G (future work 2)"),
    "semisup": ("semisup", "semi-supervised MNIST with few labels, from a GAN (future work 4)"),
    "export": ("export", "write one generator alone (for sharing or shipping)"),
    "average": ("average", "average the generator weights of several snapshots (checkpoint averaging)"),
    "report": ("report", "write a self-contained report.html of a run"),
    "study": ("study", "compare settings over seeds: a study of many runs (create, run, status, table, test, report)"),
    "presets": ("presets", "list the built-in presets"),
}

EXAMPLES = """examples:
  advnets train quick-mnist --set data.dir=../shared/data     # a few minutes on a CPU
  advnets train paper-mnist --set device=cuda --out runs/mnist-s0
  advnets sample runs/mnist-s0 --n 100 --out samples.png
  advnets presets"""


class Parser(argparse.ArgumentParser):
    """argparse with advnets' error contract: a bad argument is a ConfigError, which main() prints as
    one line on stderr with exit status 2 (not argparse's usage block)."""

    def error(self, message: str) -> NoReturn:
        # "argument --n: must be >= 1, got 0" -> "--n must be >= 1, got 0" (advnets.commands.options' types say "must")
        match = re.fullmatch(r"argument ([^:]+): (.*)", message, flags=re.S)
        if match:
            name, reason = match.groups()
            message = f"{name} {reason}" if reason.startswith("must ") else f"{name}: {reason}"
        raise ConfigError(f"{' '.join(message.split())}; see {self.prog} --help")


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def command_module(name: str):
    """The module of command `name` (advnets.commands.NAME), imported now."""
    return importlib.import_module(f"advnets.commands.{COMMANDS[name][0]}")


def build_parser(command: str | None = "*") -> Parser:
    """The command line's parser, with the arguments of `command` only ("*": of every command). Listing
    the commands needs none of their modules, and some arguments' choices come from the library's
    registries (which import PyTorch): `advnets --help` and `advnets presets` stay fast."""
    parser = Parser(prog="advnets", formatter_class=_formatter, epilog=EXAMPLES,
                    description="Generative Adversarial Nets (Goodfellow et al., 2014): train, sample, evaluate.")
    parser.add_argument("--version", action="version", version=f"advnets {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, summary) in COMMANDS.items():
        if command not in ("*", name):
            sub.add_parser(name, help=summary, formatter_class=_formatter)
            continue
        module = command_module(name)
        p = sub.add_parser(name, help=summary, description=module.DESCRIPTION, epilog=module.EXAMPLES,
                           formatter_class=_formatter)
        module.add_arguments(p)
        p.set_defaults(func=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    from advnets.commands.presentation import failure_status

    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((word for word in argv if not word.startswith("-")), None)  # the subcommand, if any
    try:
        parser = build_parser(command)
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        return args.func(args)
    except (Exception, KeyboardInterrupt) as e:
        status = failure_status(e)  # one line, or None for a bug (its traceback is what a report needs)
        if status is None:
            raise
        return status


SHORT_OPENMP_SPIN = "3000"  # GNU OpenMP's turns of spinning before an idle thread sleeps (its default: 300,000)


def shorten_openmp_spinning() -> None:
    """Let OpenMP's idle threads spin only briefly before they sleep (GOMP_SPINCOUNT=3000, for the GNU OpenMP
    runtime of PyTorch's Linux builds) unless the user chose a wait policy or spin count. By default they
    spin for about 300,000 turns between operations and so fight any other busy process for the cores:
    beside one, 300 updates of paper-mnist's networks on 2 threads took 39.9 s with the default spin and
    21.8 s with this one, and the 1-D preset's 13.5 s instead of 39.9 s; idle, the difference was within the
    benchmark's spread (docs/benchmarks.md, "CPU threads"; benchmarks/threads.py). It changes when threads
    wait, not what they compute. It must be in the environment before PyTorch's OpenMP runtime loads, so
    the command line sets it first."""
    if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
        os.environ["GOMP_SPINCOUNT"] = SHORT_OPENMP_SPIN


def run() -> NoReturn:
    """The console script's entry point: the command line as a whole process."""
    commands.WHOLE_PROCESS = True
    shorten_openmp_spinning()
    sys.exit(main())


if __name__ == "__main__":
    run()
