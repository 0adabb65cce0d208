"""Run directories: numbered, never overwritten, holding everything a run produced.

    runs/00003-paper-mnist/
        config.yaml                  the resolved config, written before step 0
        stats.jsonl                  one JSON line per log interval
        samples/step-00000500.png    progress images from a fixed latent batch
        network-latest.safetensors   network snapshot for sampling and evaluation
        training-state.safetensors   everything needed to resume exactly
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from advnets.config import Config, to_yaml
from advnets.errors import CheckpointError
from advnets.fileio import atomic_write_bytes

CONFIG_FILE = "config.yaml"
STATS_FILE = "stats.jsonl"
PROBES_FILE = "probes.jsonl"  # 1-D runs: the Figure-1 probes (metrics/probe_1d.py)
INIT_FROM_FILE = "init-from.json"  # generator.init_from: the trained G this run started from


def create_run_dir(out: str | Path | None, name: str, root: str | Path = "runs") -> Path:
    """A new, empty run directory: `out` itself, or the next numbered folder under `root`."""
    if out is not None:
        path = Path(out)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise CheckpointError(f"{path} already exists and is not empty; choose a new --out "
                                  f"(or continue it with --resume {path})")
        path.mkdir(parents=True, exist_ok=True)
        return path
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    numbers = [int(m.group(1)) for p in root.iterdir() if (m := re.match(r"(\d+)-", p.name))]
    safe_name = re.sub(r"[^A-Za-z0-9_.-]+", "-", name) or "run"
    number = max(numbers, default=-1) + 1
    while True:  # another process may take a number at the same moment
        path = root / f"{number:05d}-{safe_name}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            number += 1


def write_config(run_dir: Path, cfg: Config) -> None:
    atomic_write_bytes(run_dir / CONFIG_FILE, to_yaml(cfg).encode())


class StatsWriter:
    """Appends one JSON object per line to ``stats.jsonl`` (or another such file), flushed at once."""

    def __init__(self, run_dir: Path, name: str = STATS_FILE):
        self.path = run_dir / name

    def write(self, row: dict[str, Any]) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")

    def truncate_after(self, step: int) -> None:
        """Drop rows logged after `step` (a resumed run re-logs them, so none appear twice)."""
        if not self.path.exists():
            return
        kept = [line for line in self.path.read_text().splitlines()
                if line.strip() and json.loads(line).get("step", 0) <= step]
        atomic_write_bytes(self.path, "".join(line + "\n" for line in kept).encode())


def read_stats(run_dir: Path, name: str = STATS_FILE) -> list[dict[str, Any]]:
    path = Path(run_dir) / name
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
