"""A tiny study (the 2-D ring, 200 updates a trial) and ways to run the command line on it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

QUICK = ["train.progress=false", "train.batch_size=64", "train.log_every=50", "train.checkpoint_every=100",
         "train.sample_every=100000"]


def write_spec(folder: Path, name: str = "tiny", **changes) -> Path:
    """A spec file: two settings (k = 1 and 2) x seeds 0-1 x 200 updates of toy-ring, scored by modes."""
    spec = {"name": name, "base": "toy-ring", "set": [*QUICK, "train.schedule=alternating"],
            "settings": {"k1": ["train.k=1"], "k2": ["train.k=2"]}, "seeds": [0, 1], "budget": {"updates": 200},
            "objective": {"metric": "modes", "key": "high_quality", "direction": "maximize"}, "baseline": "k1"}
    spec.update(changes)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def advnets(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """The command line in a process of its own (as a user runs it; the workers are processes too)."""
    result = subprocess.run([sys.executable, "-m", "advnets", *map(str, args)], capture_output=True, text=True)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture
def tiny_spec(tmp_path) -> Path:
    return write_spec(tmp_path)
