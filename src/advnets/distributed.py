"""Training on several processes with PyTorch's own distributed engine (torch.distributed, launched
by torchrun): which rank this process is, its process group, and the few collectives a run needs.

    torchrun --nproc-per-node 2 -m advnets train paper-mnist --out runs/ddp     # one machine
    torchrun --nnodes 2 --node-rank R --rdzv-backend c10d --rdzv-endpoint HOST:PORT -m advnets train ...

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK (and MASTER_ADDR/PORT); without them a run is one
process and nothing here does anything. With them, :func:`process_group` starts the group (NCCL on
CUDA, each rank bound to GPU LOCAL_RANK; gloo on the CPU) and ends it when the run ends.

Why gradients are all-reduced here rather than by DistributedDataParallel: the released code's
simultaneous update takes D's and G's gradients from *one* dropped-out pass of D over G(z), with two
backward passes over that graph (``backward(inputs=...)`` for each network). DDP reduces in hooks
fired by one backward per forward and cannot express that; so each network's gradients are averaged
explicitly, one flattened all-reduce per network update, just before its optimizer step
(:meth:`Collectives.reduce_gradients`, which advnets.train.player's update calls). Every rank then
applies the same averaged gradient to the same weights, and the weights stay identical without ever
being broadcast after the start.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

import torch
import torch.distributed as dist

from advnets.errors import ConfigError, TrainingInterrupted


@dataclass(frozen=True)
class Ranks:
    """Where this process stands in the run: `rank` of `world_size` processes, `local_rank` on its machine."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes the run's files and prints."""
        return self.rank == 0


SINGLE = Ranks()


class RankLost(Exception):
    """A collective failed because another rank's process ended (killed, out of memory, its machine
    lost): the run cannot go on. `lost`: the ranks found dead on this machine ([] when the lost one ran
    elsewhere); `speak`: whether this rank is the lowest survivor known here, the one that says so."""

    def __init__(self, lost: list[int], ranks: Ranks, speak: bool, cause: str):
        who = (", ".join(f"rank {r}" for r in lost) + f" of {ranks.world_size}" if lost
               else f"a rank of {ranks.world_size} on another machine")
        super().__init__(f"{who} stopped (its process ended), and the run cannot go on without it ({cause})")
        self.lost, self.speak = lost, speak


# Every rank's (pid, host), gathered when the process group starts: which rank a failed collective lost.
_PEERS: list[tuple[int, str]] = []


def _alive(pid: int) -> bool:
    """Whether process `pid` of this machine still runs (a killed rank that torchrun has not reaped yet
    is a zombie: it exists, and has ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True  # no /proc: it exists


def _rank_lost(ranks: Ranks, error: BaseException) -> RankLost:
    """The RankLost a collective's failure means: which ranks on this machine have ended."""
    here = socket.gethostname()
    dead = [r for r, (pid, host) in enumerate(_PEERS) if r != ranks.rank and host == here and not _alive(pid)]
    survivors_here = [r for r, (pid, host) in enumerate(_PEERS) if host == here and r not in dead]
    speak = not survivors_here or ranks.rank == min(survivors_here)
    cause = (str(error).splitlines() or [type(error).__name__])[0]
    cause = re.sub(r"^\[[^\]]*\] ", "", cause).split(". This is typically")[0][:160]  # gloo's source location, advice
    return RankLost(dead, ranks, speak, cause)


@contextlib.contextmanager
def collective(ranks: Ranks) -> Iterator[None]:
    """Run a block of collectives; a failure (another rank's process gone) becomes RankLost."""
    try:
        yield
    except RuntimeError as e:  # gloo's and NCCL's errors (DistBackendError, DistNetworkError) are RuntimeErrors
        raise _rank_lost(ranks, e) from None


def ranks_from_environment(env: Mapping[str, str] | None = None) -> Ranks:
    """The Ranks torchrun's variables describe (RANK, WORLD_SIZE, LOCAL_RANK); one process without them."""
    env = os.environ if env is None else env
    if "WORLD_SIZE" not in env:
        return SINGLE
    try:
        ranks = Ranks(int(env.get("RANK", "0")), int(env["WORLD_SIZE"]), int(env.get("LOCAL_RANK", "0")))
    except ValueError:
        raise ConfigError(f"RANK / WORLD_SIZE / LOCAL_RANK must be integers (torchrun sets them), got "
                          f"{env.get('RANK')!r} / {env.get('WORLD_SIZE')!r} / {env.get('LOCAL_RANK')!r}") from None
    if ranks.world_size < 1 or not 0 <= ranks.rank < ranks.world_size or ranks.local_rank < 0:
        raise ConfigError(f"RANK {ranks.rank} of WORLD_SIZE {ranks.world_size} (LOCAL_RANK {ranks.local_rank}) is "
                          "not a valid place in a run")
    return ranks


def check_batch_size(batch_size: int, ranks: Ranks) -> int:
    """Each rank's share of the global minibatch train.batch_size; refused in one line when it does not divide."""
    if batch_size % ranks.world_size:
        raise ConfigError(f"train.batch_size {batch_size} is the global minibatch and must divide among the "
                          f"{ranks.world_size} ranks (e.g. {batch_size - batch_size % ranks.world_size or ranks.world_size})")
    return batch_size // ranks.world_size


def rank_device(device: torch.device, ranks: Ranks) -> torch.device:
    """This rank's device for a run on `device`: under torchrun on CUDA, GPU LOCAL_RANK (refused in one line
    where the machine has fewer GPUs); otherwise `device` itself."""
    if not ranks.distributed or device.type != "cuda":
        return device
    if ranks.local_rank >= torch.cuda.device_count():
        raise ConfigError(f"LOCAL_RANK {ranks.local_rank} needs GPU {ranks.local_rank}, but this machine shows "
                          f"{torch.cuda.device_count()}: start at most that many ranks per node (--nproc-per-node)")
    return torch.device("cuda", ranks.local_rank)


@contextlib.contextmanager
def process_group(ranks: Ranks, device: torch.device) -> Iterator[torch.device]:
    """The run's process group for the block (none for one process); yields this rank's device (on
    CUDA, GPU LOCAL_RANK: rank_device)."""
    if not ranks.distributed:
        yield device
        return
    device = rank_device(device, ranks)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend, rank=ranks.rank, world_size=ranks.world_size)
    try:
        with collective(ranks):
            _PEERS[:] = [None] * ranks.world_size
            dist.all_gather_object(_PEERS, (os.getpid(), socket.gethostname()))
        yield device
        with collective(ranks):
            dist.barrier()  # every rank leaves together: a rank that tears down while rank 0 still writes its last
    except TrainingInterrupted:  # checkpoint can abort gloo. (A stop is agreed by all ranks after the same
        with collective(ranks):  # iteration; an error on one rank is not, and torchrun ends the others.)
            dist.barrier()
        raise
    finally:
        dist.destroy_process_group()


def average_(tensors: list[torch.Tensor], ranks: Ranks) -> None:
    """Replace each tensor by its mean over the ranks, in place: one all-reduce of them all flattened."""
    if not ranks.distributed or not tensors:
        return
    flat = torch.cat([t.reshape(-1) for t in tensors])
    with collective(ranks):
        dist.all_reduce(flat)
    flat.div_(ranks.world_size)
    offset = 0
    for t in tensors:
        t.copy_(flat[offset : offset + t.numel()].view_as(t))
        offset += t.numel()


def any_rank(flag: bool, ranks: Ranks, device: torch.device) -> bool:
    """Whether `flag` is true on any rank (every rank gets the same answer)."""
    if not ranks.distributed:
        return flag
    value = torch.tensor([int(flag)], device=device)
    with collective(ranks):
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())


def gather_to_main(tensor: torch.Tensor, ranks: Ranks) -> list[torch.Tensor] | None:
    """Every rank's `tensor` (same shape and dtype on each), as a list on rank 0; None on the others."""
    if not ranks.distributed:
        return [tensor]
    on = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else tensor.device
    local = tensor.to(on)  # NCCL moves CUDA tensors only
    parts = [torch.empty_like(local) for _ in range(ranks.world_size)]
    with collective(ranks):
        dist.all_gather(parts, local)
    return [p.to(tensor.device) for p in parts] if ranks.is_main else None


class Collectives:
    """Every collective a training run makes, in one place (the seam between the run and its ranks). For
    one process each is what it would be without peers: gradients and statistics stay as they are, a
    flag is its own answer, a gather is the tensor alone."""

    def __init__(self, ranks: Ranks, device: torch.device):
        self.ranks, self.device = ranks, device

    def reduce_gradients(self, params: list[torch.Tensor]) -> None:
        """Each parameter's gradient replaced by its mean over the ranks: the global minibatch's gradient (a
        parameter without one counts as a zero gradient)."""
        if not self.ranks.distributed:
            return
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        average_([p.grad for p in params], self.ranks)

    def mean_(self, tensors: list[torch.Tensor]) -> None:
        """Each tensor replaced by its mean over the ranks, in place."""
        average_(tensors, self.ranks)

    def any(self, flag: bool) -> bool:
        """Whether `flag` is true on any rank (every rank gets the same answer)."""
        return any_rank(flag, self.ranks, self.device)

    def gather_to_main(self, tensor: torch.Tensor) -> list[torch.Tensor] | None:
        """Every rank's `tensor`, as a list on rank 0; None on the others."""
        return gather_to_main(tensor, self.ranks)
