"""One training iteration captured as a CUDA graph and replayed (``train.graph``).

On a GPU the paper's step is launch-bound: Python issues ~100 small kernels per iteration, and the
card finishes them long before the next arrives. A CUDA graph records the iteration's kernels once and
replays them with one launch. What is captured is :func:`advnets.train.algorithm.train_iteration`
itself, the function the eager path runs; it can be captured because it reads no tensor on the host:
the update counts, the data cursor, the learning rates and the momentum are device tensors
(advnets.train.game, advnets.data.sources, advnets.train.schedules), and its random numbers come
from the run's generators, registered with the graph so that each replay draws fresh ones.

How (PyTorch's rules for capture: fixed addresses, no host synchronisation, registered generators):

1. warm up: a few iterations on a side stream (lazy allocations, cuBLAS workspaces, optimizer
   buffers), from a copy of the game's state that is put back afterwards, so that every real
   iteration of the run is a replay, the same in a run that was stopped and resumed;
2. capture one iteration (the statistics summed into a buffer allocated before), with the game's
   generators registered;
3. per iteration: host work for the data (the next epoch's order, between replays), one replay, and
   the host's copies of the counts moved on by what one iteration adds.

Where the graph cannot serve a config, :func:`graph_blocker` says why in one line, and the run goes
eagerly (``train.graph: auto``) or is refused (``on``).

Everything a captured iteration requires, where it is met, and how it is enforced:

- no host reads inside the iteration: counts and the rate factor are device copies (advnets.mirrored), the
  rates and momentum are computed from them (train/player.py, train/schedules.py) -- tests/train/test_graph.py
  runs every schedule with host reads made to fail;
- rates as tensors: the optimizer must take them (our momentum SGD; torch's Adam takes Python numbers) --
  graph_blocker;
- fixed storages: whatever puts a state back (resume, rollback, the warm-up's undo) writes into the tensors of
  :func:`graph_tensors` in place (train/checkpoint.py) -- tests/train/test_graph.py checks every storage;
- registered random generators: every stream the iteration draws from (``Game.generators``) is registered;
- data ready in advance: the next epoch's order is host work, done by ``DataSource.prepare`` between replays
  (at most two epochs held) -- refused at capture when one iteration needs more;
- no cached casts under bf16 autocast (``Game.autocast``), which a replay would not redo;
- no joint inference network (its Adam reads Python rates) and no torchrun (the all-reduce is not captured
  yet) -- graph_blocker and the loop's graph_mode.
"""

from __future__ import annotations

from typing import Callable

import torch

from advnets.errors import ConfigError
from advnets.train.algorithm import train_iteration
from advnets.train.checkpoint import pack_training_state, restore_training_state
from advnets.train.game import Game
from advnets.train.optim import takes_tensor_rates

WARMUP_ITERATIONS = 3


class GraphUnavailable(Exception):
    """The graph cannot serve this run; the message says why in one line."""


def graph_blocker(game: Game) -> str | None:
    """Why the iteration of `game` cannot be captured, or None when it can."""
    if game.data.device.type != "cuda":
        return f"the run is on {game.data.device.type}, and CUDA graphs need a CUDA device"
    if not hasattr(torch.cuda.CUDAGraph, "register_generator_state"):
        return f"PyTorch {torch.__version__} cannot register the run's random generators with a graph (2.4 or later can)"
    for player in (game.d, game.g):
        if not takes_tensor_rates(player.opt):
            return (f"{player.name}'s optimizer ({type(player.opt).__name__}) takes its learning rate as a Python "
                    "number, which a graph would bake in (optim.name=momentum-sgd reads tensors)")
    if game.encoder is not None:
        return "inference.joint: the joint inference network's Adam takes a Python learning rate"
    return None


def graph_tensors(game: Game) -> dict[str, torch.Tensor]:
    """Every tensor a captured iteration reads or writes, by name: the networks' weights and buffers,
    the optimizers' buffers, G's moving average, the update counts and the rate factor, and the data
    source's device state. A graph replays on these very storages, so whatever puts a state back (a
    resume, a rollback, the warm-up's undo) must write into them in place (tests/train/test_graph.py)."""
    named: dict[str, torch.Tensor] = {}
    for prefix, module in (("generator", game.g.net), ("discriminator", game.d.net),
                           ("generator_ema", game.average_model)):
        if module is not None:
            named.update({f"{prefix}.{k}": v for k, v in module.state_dict(keep_vars=True).items()})
    for prefix, opt in (("opt_d", game.d.opt), ("opt_g", game.g.opt)):
        for i, state in enumerate(opt.state.values()):
            named.update({f"{prefix}.{i}.{k}": v for k, v in state.items() if isinstance(v, torch.Tensor)})
    named.update({"d_updates": game.d.updates.tensor, "g_updates": game.g.updates.tensor,
                  "lr_factor": game.lr_factor.tensor, "data.drawn": game.data.drawn.tensor})
    named.update({f"data.{k}": v for k, v in vars(game.data).items() if isinstance(v, torch.Tensor)})
    return named


class GameState:
    """A copy of the game's training state (advnets.train.checkpoint's layout, kept in memory) and of
    the statistics buffer, to put back after the warm-up as a resume would."""

    def __init__(self, game: Game, sums: torch.Tensor):
        tensors, self.header = pack_training_state(game, step=0)
        self.tensors = {key: tensor.clone() for key, tensor in tensors.items()}
        self.game, self.sums, self.sums_copy = game, sums, sums.clone()
        self.counts = (self.header["d_updates"], self.header["g_updates"])

    @torch.no_grad()
    def restore(self) -> None:
        restore_training_state(self.game, self.tensors, self.header)
        for opt in (self.game.d.opt, self.game.g.opt):
            if takes_tensor_rates(opt):
                opt.init_state()  # a state from before the first update has no velocity yet: a zero one
        self.sums.copy_(self.sums_copy)


def root_cause(error: BaseException) -> str:
    """One line for a failure and what caused it: PyTorch reports a failed capture as capture_end's
    error, with the operation that broke the capture in its __context__ (or __cause__)."""
    first = (str(error).splitlines() or [type(error).__name__])[0]
    cause, seen = error, {id(error)}
    while (nxt := cause.__cause__ or cause.__context__) is not None and id(nxt) not in seen:
        cause = nxt
        seen.add(id(cause))
    if cause is error:
        return first
    return f"{first}; caused by: {(str(cause).splitlines() or [type(cause).__name__])[0]}"


class CapturedIteration:
    """Algorithm 1's iteration as a CUDA graph: calling it runs one iteration (see the module docstring).
    A capture that fails leaves the game exactly as it found it, its random generators replaced by fresh
    ones in the same state (a generator registered with a failed capture may stay in capture mode), so
    the eager iteration can take over."""

    def __init__(self, game: Game, sums: torch.Tensor, warmup: int = WARMUP_ITERATIONS):
        reason = graph_blocker(game)
        if reason:
            raise GraphUnavailable(reason)
        self.game = game
        saved = GameState(game, sums)
        drawn_before = game.data.drawn.value
        try:
            self._capture(game, sums, warmup, saved, drawn_before)
        except GraphUnavailable:
            self._give_back(game, saved, drawn_before)
            raise
        except Exception as e:  # noqa: BLE001 - whatever breaks a capture, the run goes on eagerly or says why
            self._give_back(game, saved, drawn_before)
            raise GraphUnavailable(f"capture failed ({root_cause(e)})") from None

    def _capture(self, game: Game, sums: torch.Tensor, warmup: int, saved: GameState, drawn_before: int) -> None:
        side = torch.cuda.Stream(device=game.data.device)
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(warmup):
                sums += train_iteration(game)
        torch.cuda.current_stream().wait_stream(side)
        torch.cuda.synchronize(game.data.device)
        self.batches = (game.data.drawn.value - drawn_before) // warmup  # batches one iteration draws
        saved.restore()
        if not game.data.prepare(self.batches):
            raise GraphUnavailable(f"one iteration draws {self.batches} batches, more than the data source "
                                   "holds in advance (two epochs)")
        self.graph = torch.cuda.CUDAGraph()
        for generator in game.generators():
            self.graph.register_generator_state(generator)
        for opt in (game.d.opt, game.g.opt):
            opt.zero_grad(set_to_none=True)  # backward allocates the gradients in the graph's memory
        try:
            with torch.cuda.graph(self.graph):
                sums += train_iteration(game)
        finally:
            # Capturing ran the Python but no kernel: the host's counts moved on, the device's did not.
            self.d_updates, self.g_updates = game.d.updates.value - saved.counts[0], game.g.updates.value - saved.counts[1]
            game.set_update_counts(*saved.counts)
            game.data.drawn.set(drawn_before)

    @staticmethod
    def _give_back(game: Game, saved: GameState, drawn_before: int) -> None:
        """After a failed warm-up or capture: fresh generators, then the state from before (as a resume)."""
        game.replace_generators()
        game.data.drawn.set(drawn_before)
        saved.restore()

    def __call__(self) -> None:
        game = self.game
        game.data.prepare(self.batches)  # host work: the next epoch's order, before the replay needs it
        self.graph.replay()
        game.d.updates.replayed(self.d_updates)  # what the replay added on the device
        game.g.updates.replayed(self.g_updates)
        game.data.drawn.replayed(self.batches)


def iteration_runner(game: Game, sums: torch.Tensor, mode: str, say: Callable[[str], None]) -> Callable[[], None]:
    """A function that runs one iteration and adds its statistics into `sums`: a captured graph where
    train.graph (`mode`) and the config allow it, else the eager iteration. `say` gets one line when
    the run goes eagerly although a graph was possible to ask for (auto on a GPU), or why."""

    def eager() -> None:
        sums.add_(train_iteration(game))

    if mode == "off" or (mode == "auto" and game.data.device.type != "cuda"):
        return eager
    try:
        return CapturedIteration(game, sums)
    except GraphUnavailable as e:
        if mode == "on":
            raise ConfigError(f"train.graph=on: {e}") from None
        say(f"note: training eagerly, without a CUDA graph: {e}")
        return eager
