"""A members folder: what `advnets train --members` (and :func:`advnets.members.train_seeds`) writes.

    FOLDER/members.json     {"seeds": [0, 1, ...]}: the members trained together (and resumed together)
    FOLDER/s<seed>/         each member's ordinary run folder (sample, evaluate, report, resume it alone)
"""

from __future__ import annotations

import json
from pathlib import Path

from advnets.errors import CheckpointError
from advnets.fileio import atomic_write_bytes

MEMBERS_FILE = "members.json"


def is_members_folder(path: str | Path | None) -> bool:
    return path is not None and (Path(path) / MEMBERS_FILE).is_file()


def member_dir(folder: Path, seed: int) -> Path:
    return Path(folder) / f"s{seed}"


def write_members(folder: Path, seeds: list[int]) -> None:
    atomic_write_bytes(Path(folder) / MEMBERS_FILE, (json.dumps({"seeds": list(seeds)}) + "\n").encode())


def read_members(folder: Path) -> list[int]:
    """The seeds a members folder was made for (members.json), refused in one line when unreadable."""
    try:
        seeds = json.loads((Path(folder) / MEMBERS_FILE).read_text())["seeds"]
        if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and s >= 0 for s in seeds):
            raise ValueError("seeds must be a list of integers >= 0")
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"{Path(folder) / MEMBERS_FILE} is damaged ({e}); it lists the members' seeds, as "
                              '{"seeds": [0, 1, 2]}') from None
    return seeds
