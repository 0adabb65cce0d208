"""User-facing errors, and the interruption of a run.

Anything a user can cause (a bad config value, a missing or corrupt file, a run directory that
already exists) raises an :class:`AdvnetsError`. The command line prints it as one line and exits
with status 2; library users catch it like any exception. A run stopped by Ctrl-C raises
:class:`TrainingInterrupted` once its state is saved (exit status 130).
"""

from __future__ import annotations

from pathlib import Path


class AdvnetsError(Exception):
    """An error caused by the user's input; the message is one self-contained line."""

    exit_status = 2


class ConfigError(AdvnetsError):
    """An unknown key, a value of the wrong type, or a value out of range."""


class DataError(AdvnetsError):
    """A data set that is missing, corrupt, truncated or of the wrong format."""


class CheckpointError(AdvnetsError):
    """A run directory or checkpoint that is missing, corrupt, or does not match the request."""


class TrainingInterrupted(Exception):
    """Raised after Ctrl-C, once the training state has been saved."""

    exit_status = 130

    def __init__(self, step: int, run_dir: Path):
        super().__init__(f"interrupted at step {step}; state saved, continue with: advnets train --resume {run_dir}")
        self.step = step
