"""Where a run computes, and where every random number it draws comes from.

Device: :func:`resolve_device` turns the config's ``device`` (auto, cpu, cuda, cuda:N) into a
``torch.device``, refusing CUDA in one line where PyTorch sees none.

Random streams: a run draws from a few independent generators, each seeded from the run's ``seed``
alone (plus an epoch or step where the table says so), so that any one of them can be replayed, saved
in the training state, or moved onto a device without disturbing the others. The whole list:

    stream        generator seed               generator on      draws
    init          seed                         CPU (global, forked)  G's and D's initial weights
    game          seed (+ rank * 2^32)         training device   z of every update, D's dropout masks,
                                                                  training masks (inpainting), the labels
                                                                  of G's samples (conditional models);
                                                                  rank r of a distributed run its own
    fixed-batch   seed + 1                     CPU               the fixed latent batch of the progress
                                                                  grids and of the diversity statistic
    validation    seed + 2                     CPU               the samples of G scored on validation data
    encoder       seed + 3                     CPU, then device  the joint inference network's initial
                                                                  weights and its (z, G(z)) pairs
    data-order    seed * 1_000_003 + epoch     CPU               each epoch's permutation of a training set
    data-stream   seed * 1_000_003 + 7         training device   the examples of a synthetic data set
                  (+ rank * 2^32)                                 (each rank of a distributed run its own)
    reference     12345 (every run alike)      CPU / device      the fixed real batch diversity compares with
    data-split    data.split_seed + 54321      CPU               your images' train / valid / test split
                  (not the run's seed)                            (data.name images: the same in every run)
    game-moved    seed + step                  training device   the game stream after a resume on another
                                                                  kind of device (a CUDA generator's state
                                                                  cannot seed a CPU one: not bit-identical)

Sampling commands have their own streams, fixed by the command's ``--seed`` and not the run's: sample
i of ``advnets sample --seed s`` is the i-th draw of a CPU generator seeded with s
(``advnets.sampling``).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch

from advnets.errors import ConfigError


@dataclass(frozen=True)
class Stream:
    """One named random stream: its generator's seed as a function of (run seed, index), where the
    index is the epoch (data-order) or the step (game-moved) and 0 elsewhere."""

    seed_of: Callable[[int, int], int]
    draws: str


RANK_OFFSET = 2**32  # rank r of a distributed run draws "game" and "data-stream" from seed + r * 2^32 (rank 0: seed)

STREAMS: dict[str, Stream] = {
    "init": Stream(lambda seed, _: seed, "G's and D's initial weights"),
    "game": Stream(lambda seed, rank: seed + rank * RANK_OFFSET, "z, dropout masks, training masks, conditional labels"),
    "fixed-batch": Stream(lambda seed, _: seed + 1, "the fixed latent batch of the progress grids"),
    "validation": Stream(lambda seed, _: seed + 2, "the samples of G scored on validation data"),
    "encoder": Stream(lambda seed, _: seed + 3, "the joint inference network's weights and pairs"),
    "data-order": Stream(lambda seed, epoch: seed * 1_000_003 + epoch, "each epoch's permutation"),
    "data-stream": Stream(lambda seed, rank: seed * 1_000_003 + 7 + rank * RANK_OFFSET, "a synthetic data set's examples"),
    "reference": Stream(lambda seed, _: 12345, "the fixed real batch (the same in every run)"),
    "data-split": Stream(lambda seed, _: seed + 54321, "your images' train / valid / test split (data.split_seed)"),
    "game-moved": Stream(lambda seed, step: seed + step, "the game stream after a change of device"),
}


def stream_seed(name: str, seed: int, index: int = 0) -> int:
    """The generator seed of stream `name` for a run seeded with `seed` (see the module table)."""
    return STREAMS[name].seed_of(seed, index)


def stream(name: str, seed: int, device: torch.device | str = "cpu", index: int = 0) -> torch.Generator:
    """A fresh generator of stream `name` on `device`."""
    return torch.Generator(device).manual_seed(stream_seed(name, seed, index))


@contextlib.contextmanager
def seeded(name: str, seed: int) -> Iterator[None]:
    """Run a block (building networks) with PyTorch's global CPU generator seeded from stream `name`,
    leaving the caller's global random state as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(stream_seed(name, seed))
        yield


def resolve_device(name: str) -> torch.device:
    """The torch device for a config's or command's ``device`` (auto: CUDA when there is one)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device: '{name}' was asked for but PyTorch sees no CUDA device (use device=cpu)")
    return torch.device(name)


def available_memory(device: torch.device | str = "cpu") -> int | None:
    """Bytes a new allocation can have on `device` now: on a GPU, its free memory; on the CPU, the
    kernel's estimate of memory available without swapping (Linux's MemAvailable, else the physical
    memory); None where neither can be asked."""
    device = torch.device(device)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    if device.type != "cpu":
        return None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def format_bytes(n: float) -> str:
    """1536 -> "1.5 kB", 4e10 -> "40.0 GB" (decimal units)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError  # pragma: no cover


def environment() -> dict[str, str | None]:
    """What a run's numbers depend on besides its config: advnets' version and commit (when it runs from a
    git checkout), Python's, PyTorch's, and the CPU's model and vector instructions."""
    import platform
    import subprocess

    import advnets

    commit = None
    try:
        found = subprocess.run(["git", "-C", str(Path(advnets.__file__).parent), "rev-parse", "--short", "HEAD"],
                               capture_output=True, text=True, timeout=5)
        commit = found.stdout.strip() or None if found.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        pass
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"advnets": advnets.__version__, "commit": commit, "python": platform.python_version(),
            "torch": torch.__version__, "cpu": cpu, "cpu_capability": torch.backends.cpu.get_cpu_capability()}


def cpu_has_bf16_units() -> bool:
    """Whether this CPU has bfloat16 matrix instructions (AVX512-BF16 or AMX); Linux only, else assume so."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return True
    return "avx512_bf16" in flags or "amx_bf16" in flags
