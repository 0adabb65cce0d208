"""What every command shows the user, in one place: a failure as one line and its exit status (a training run's
with what was kept and how to go on), a metric row said and recorded, and the check that an output never lands
on a user's file or inside a training run.

(The quoting of a command printed for the user to copy is ``advnets.errors.shell_command``: the library's own
messages print commands too.)
"""

from __future__ import annotations

import errno
import json
import os
import sys
from pathlib import Path

from advnets.errors import (AdvnetsError, TrainingDiverged, TrainingInterrupted, describe_os_error,
                            shell_command)


def failure_status(e: BaseException) -> int | None:
    """Say a command's failure `e` in one line on standard error and return the exit status; None for an
    exception that is not the user's to read as a line (a bug: its traceback is what a report needs)."""
    if isinstance(e, AdvnetsError):
        print(f"advnets: error: {e}", file=sys.stderr)
        return e.exit_status
    if isinstance(e, TrainingInterrupted):
        if os.environ.get("RANK", "0") == "0":  # under torchrun, rank 0 says it for every rank
            print(f"advnets: {e}", file=sys.stderr)
        return e.exit_status
    if isinstance(e, TrainingDiverged):
        print(f"advnets: error: {e}", file=sys.stderr)
        return e.exit_status
    if isinstance(e, BrokenPipeError):  # the reader went away (advnets presets | head): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    if isinstance(e, OSError):  # a full or read-only disk, a missing folder, no permission: one line, no traceback
        print(f"advnets: error: {describe_os_error(e)}", file=sys.stderr)
        return 2
    if isinstance(e, KeyboardInterrupt):
        print("advnets: aborted", file=sys.stderr)
        return 130
    return None


def refuse_to_overwrite(out: Path, force: bool, folder: bool = False) -> None:
    """A user's existing file is replaced only when they pass --force; nothing is written into a run
    another process trains, nor over a run's own files (advnets.outputs)."""
    from advnets.outputs import check_output

    check_output(out, force, folder)


def say_and_record(snapshot_path, row: dict) -> None:
    """A metric row: said (say), then appended to metrics.jsonl beside the snapshot."""
    from advnets.metrics import registry as metrics

    say(row)
    metrics.append_metrics(snapshot_path, row)


def say(row: dict) -> None:
    """A metric row printed as one JSON line, and each of its warnings (a number not to trust as it stands: AIS
    that has not converged, FID on few images, sigma at its grid's edge) said as one line on standard error."""
    print(json.dumps(row))
    for warning in (row.get("warning") or "").splitlines():  # advnets.metrics.trust: one warning a line
        print(f"warning: {warning}", file=sys.stderr)


def training_failure(e: BaseException, run_dir: Path) -> BaseException:
    """What to raise for a training run that failed with `e`: a programming error as it is (its traceback is
    what a bug report needs); running out of memory or disk, one line saying what was kept and how to go on."""
    from advnets.train.checkpoint import TRAINING_STATE, read_training_header

    out_of_memory = isinstance(e, MemoryError) or is_out_of_memory(e)
    if isinstance(e, RuntimeError) and not out_of_memory:
        return e
    saved = (run_dir / TRAINING_STATE).is_file()
    if out_of_memory:  # what the budget check (advnets.train.budget) did not foresee
        what = f"out of memory ({str(e).splitlines()[0][:120] if str(e) else 'MemoryError'})"
        if not saved:
            return AdvnetsError(f"{what}; nothing was kept: make the networks or train.batch_size smaller, "
                                "or free memory")
        e = OSError(errno.ENOMEM, what)
    if isinstance(e, OSError) and saved:
        step = read_training_header(run_dir)["step"]
        return AdvnetsError(f"{describe_os_error(e)}; the run stopped, its last checkpoint (step {step}) is intact: "
                            f"continue it with {shell_command('advnets', 'train', '--resume', run_dir)}")
    return e
def is_out_of_memory(e: BaseException) -> bool:
    """Whether PyTorch's RuntimeError `e` is an allocation that failed (CPU or CUDA)."""
    text = str(e)
    return type(e).__name__ == "OutOfMemoryError" or "can't allocate memory" in text or "out of memory" in text
