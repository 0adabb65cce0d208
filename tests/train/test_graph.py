"""The iteration that train.graph captures as a CUDA graph: on the CPU, what can be checked without a
GPU (it reads no tensor on the host, the warm-up leaves the game as it was, the configs it cannot
serve are named); on a GPU (tests marked `gpu`), graph against eager and resume with the graph."""

import contextlib

import pytest
import torch

from advnets.cli import main
from advnets.train.algorithm import train_iteration
from advnets.train.checkpoint import load_training_state
from advnets.train import build_game, plan_training
from advnets.train.graph import GameState, graph_blocker
from advnets.train.loop import train
from tests.conftest import TINY

CONFIGS = [
    ("tiny_mnist", []),  # the released simultaneous update
    ("tiny_mnist", ["train.schedule=alternating", "train.k=2", "train.ema_decay=0.9"]),
    ("tiny_mnist", ["data.conditional=true", "train.schedule=alternating", "train.k=2"]),
    ("tiny_mnist", ["data.inpainting=true", "train.valid_every=0", "train.schedule=alternating", "train.k=2"]),
    ("tiny_mnist", ["generator.max_col_norm=1.9", "discriminator.max_col_norm=1.9", "train.precision=bf16"]),
    ("tiny_ring", ["optim.name=momentum-sgd", "optim.lr=0.01"]),
    ("tiny_cifar_conv", []),  # the convolutional networks on contrast-normalised images
    ("tiny_cifar_conv", ["data.conditional=true"]),
    ("tiny_cifar_conv", ["generator.batch_norm=true", "train.ema_decay=0.9"]),  # conv-mnist's G
]


class HostRead(AssertionError):
    pass


@contextlib.contextmanager
def no_host_reads():
    """Make every way of reading a tensor's value into Python fail (what a CUDA graph cannot replay)."""
    def refuse(*args, **kwargs):
        raise HostRead("the step read a tensor on the host")

    names = ["item", "tolist", "__bool__", "__int__", "__float__", "__index__", "numpy", "cpu", "__array__"]
    saved = {name: getattr(torch.Tensor, name) for name in names}
    try:
        for name in names:
            setattr(torch.Tensor, name, refuse)
        yield
    finally:
        for name, method in saved.items():
            setattr(torch.Tensor, name, method)


@pytest.mark.parametrize("make, extra", CONFIGS)
def test_the_iteration_reads_no_tensor_on_the_host(request, make, extra):
    game = build_game(plan_training(request.getfixturevalue(make)(*extra)))
    train_iteration(game)  # buffers that are created once (optimizer state)
    with no_host_reads():
        for _ in range(3):
            train_iteration(game)
    assert (game.d.updates.tensor.item(), game.g.updates.tensor.item(), game.data.drawn.tensor.item()) == \
        (game.d.updates.value, game.g.updates.value, game.data.drawn.value)  # the host's copies kept pace


def _state(game):
    tensors = {f"g{i}": p.detach().clone() for i, p in enumerate(game.g.net.state_dict().values())}
    tensors.update({f"d{i}": p.detach().clone() for i, p in enumerate(game.d.net.state_dict().values())})
    if game.average is not None:
        tensors.update({f"a{i}": p.detach().clone() for i, p in enumerate(game.average.model.state_dict().values())})
    return tensors, game.rng.get_state(), (game.d.updates.value, game.g.updates.value, game.data.drawn.value)


@pytest.mark.parametrize("make, extra", [CONFIGS[1], CONFIGS[5], CONFIGS[6], CONFIGS[8]])
def test_the_warm_up_leaves_the_game_as_it_was(request, make, extra):
    """The graph's warm-up iterations run on the real game and are then undone: what follows equals
    a game that never warmed up, bit for bit."""
    make = request.getfixturevalue(make)
    fresh, warmed = (build_game(plan_training(make(*extra))) for _ in range(2))
    train_iteration(fresh), train_iteration(warmed)
    sums = torch.zeros(4)
    saved = GameState(warmed, sums)
    for _ in range(3):
        sums += train_iteration(warmed)
    saved.restore()
    assert not sums.any()
    for _ in range(5):
        a, b = train_iteration(fresh), train_iteration(warmed)
        assert torch.equal(a, b)
    (ta, ra, ca), (tb, rb, cb) = _state(fresh), _state(warmed)
    assert ca == cb and torch.equal(ra, rb) and all(torch.equal(ta[k], tb[k]) for k in ta)


def test_configs_the_graph_cannot_serve_are_named(tiny_mnist, tiny_ring, tmp_path, capsys):
    assert "CUDA graphs need a CUDA device" in graph_blocker(build_game(plan_training(tiny_mnist())))
    if not torch.cuda.is_available():
        assert main(["train", "toy-ring", "--out", str(tmp_path / "on"), "--set", *TINY, "train.steps=10", "train.graph=on"]) == 2
        err = capsys.readouterr().err
        assert "train.graph=on: the run is on cpu" in err and err.count("\n") == 1
        assert not (tmp_path / "on").exists()
        assert main(["train", "toy-ring", "--out", str(tmp_path / "auto"), "--set", *TINY, "train.steps=10"]) == 0  # auto: eager, quietly
        assert "note:" not in capsys.readouterr().out


gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (this machine has none)")


@gpu
@pytest.mark.gpu
@pytest.mark.parametrize("make, extra", [
    ("tiny_mnist", ["train.steps=1000"]),
    # the convolutional networks on contrast-normalised CIFAR-10 files, conv-mnist's batch-normalised G
    ("tiny_cifar_conv", ["train.steps=200", "train.valid_every=0", "generator.batch_norm=true", "train.ema_decay=0.9"]),
])
def test_graph_and_eager_agree_to_float_rounding(request, make, extra, tmp_path):
    make = request.getfixturevalue(make)
    rows = {}
    for mode in ("off", "on"):
        cfg = make("device=cuda", f"train.graph={mode}", "train.log_every=100", "train.checkpoint_every=1000",
                   "train.sample_every=1000", *extra)
        rows[mode] = train(cfg, tmp_path / mode).run_dir
    from advnets.train.rundir import read_stats

    eager, graph = read_stats(rows["off"]), read_stats(rows["on"])
    for a, b in zip(eager, graph):
        for key in ("loss_d", "loss_g", "d_real", "d_fake"):
            assert a[key] == pytest.approx(b[key], rel=1e-3, abs=1e-4), (a["step"], key)


@gpu
@pytest.mark.gpu
def test_resume_with_the_graph_is_exact(tiny_mnist, tmp_path):
    extra = ["device=cuda", "train.graph=on", "train.ema_decay=0.9"]
    full = train(tiny_mnist(*extra, "train.steps=40"), tmp_path / "full")
    train(tiny_mnist(*extra, "train.steps=20"), tmp_path / "split")
    resumed = train(tiny_mnist(*extra, "train.steps=40"), tmp_path / "split", resume=True)
    a, _ = load_training_state(full.run_dir)
    b, _ = load_training_state(resumed.run_dir)
    assert all(torch.equal(a[k], b[k]) for k in a)


@gpu
@pytest.mark.gpu
def test_a_rollback_restores_the_captured_graph_state_in_place(tiny_ring, tmp_path):
    """train.on_nonfinite=rollback puts the last checkpoint back into the tensors the graph replays:
    the graph run rolls back like the eager one and finishes finite."""
    diverging = ["device=cuda", "optim.name=momentum-sgd", "optim.lr=2", "train.steps=200",
                 "train.checkpoint_every=20", "train.on_nonfinite=rollback"]
    headers = {}
    for mode in ("off", "on"):
        run = train(tiny_ring(*diverging, f"train.graph={mode}"), tmp_path / mode).run_dir
        tensors, headers[mode] = load_training_state(run)
        assert all(torch.isfinite(t).all() for t in tensors.values() if t.is_floating_point())
    assert headers["on"]["rollbacks"] >= 1 and headers["off"]["rollbacks"] >= 1  # where NaN comes may differ by rounding
    assert headers["on"]["step"] == headers["off"]["step"] == 200


# --- issue 29: what a captured graph replays on survives a rollback; a failed capture leaves no trace -----


def _storages(game) -> dict[str, int]:
    from advnets.train.graph import graph_tensors

    return {name: t.untyped_storage().data_ptr() for name, t in graph_tensors(game).items()}


@pytest.mark.parametrize("make, extra", [
    ("tiny_mnist", ["train.ema_decay=0.9"]),
    ("tiny_ring", ["optim.name=momentum-sgd", "optim.lr=0.01"]),
])
def test_a_rollback_and_a_restore_keep_every_tensor_the_iteration_reads_in_place(request, make, extra, tmp_path):
    """A captured graph replays on fixed storages; restoring a training state (resume, rollback, the warm-up's
    undo) must write into them. PyTorch's optimizer load_state_dict puts new momentum tensors in place, which
    a graph would never see (it would go on reading the freed ones, which held the NaN)."""
    from advnets.train.checkpoint import LogInterval, restore_training_state, save_training_state
    from advnets.train.graph import graph_tensors
    from advnets.train.loop import recover_from_nonfinite

    cfg = request.getfixturevalue(make)(*extra, "train.on_nonfinite=rollback")
    game = build_game(plan_training(cfg))
    for _ in range(3):
        train_iteration(game)
    interval = LogInterval(torch.zeros(4))
    save_training_state(game, cfg, tmp_path, 3, 0.0, interval=interval)
    saved_values = {k: v.clone() for k, v in graph_tensors(game).items()}
    before = _storages(game)
    assert any(k.startswith("opt_d.") for k in before) and "data.drawn" in before
    for _ in range(2):
        train_iteration(game)
    restore_training_state(game, *load_training_state(tmp_path), interval)
    assert _storages(game) == before
    assert all(torch.equal(graph_tensors(game)[k], v) for k, v in saved_values.items() if not k.startswith("data."))
    for _ in range(2):
        train_iteration(game)
    with torch.no_grad():
        next(game.d.net.parameters()).fill_(float("nan"))
    step, _ = recover_from_nonfinite(game, cfg.train, tmp_path, 5, ["D's weights"], interval, None, say=lambda text: None)
    assert step == 3 and game.rollbacks == 1 and _storages(game) == before
    GameState(game, interval.sums).restore()  # the warm-up's undo
    assert _storages(game) == before


def test_the_eager_iteration_takes_over_after_a_failed_capture(tiny_ring, monkeypatch):
    """Simulated on the CPU: a capture that fails in capture_end (its cause in __context__) is reported with
    that cause, and the game is left as it was, with fresh random generators (a failed capture may leave the
    registered ones in capture mode): the eager iteration then equals a game that never tried, bit for bit."""
    import advnets.train.graph as graph_module
    from advnets.train.graph import CapturedIteration, GraphUnavailable, iteration_runner

    registered = []

    class FakeGraph:
        def register_generator_state(self, generator):
            registered.append(generator)

    class FakeStream:
        def __init__(self, *args, **kwargs):
            pass

        def wait_stream(self, other):
            pass

    @contextlib.contextmanager
    def failing_capture(graph):
        yield  # the iteration's Python runs (here on the CPU, really updating the game)
        try:
            raise RuntimeError("operation not permitted when stream is capturing")
        except RuntimeError:
            raise RuntimeError("CUDA error: operation failed due to a previous error during capture")

    monkeypatch.setattr(graph_module, "graph_blocker", lambda game: None)
    for name, value in (("Stream", FakeStream), ("stream", lambda s: contextlib.nullcontext()),
                        ("current_stream", lambda *a: FakeStream()), ("synchronize", lambda *a: None),
                        ("CUDAGraph", FakeGraph), ("graph", failing_capture)):
        monkeypatch.setattr(torch.cuda, name, value)
    cfg = tiny_ring("optim.name=momentum-sgd", "optim.lr=0.01")
    tried, never = build_game(plan_training(cfg)), build_game(plan_training(cfg))
    train_iteration(tried), train_iteration(never)
    sums = torch.zeros(4)
    with pytest.raises(GraphUnavailable, match="capture failed \\(CUDA error: operation failed due to a previous "
                                               "error during capture; caused by: operation not permitted when "
                                               "stream is capturing\\)"):
        CapturedIteration(tried, sums)
    assert registered and not any(g is tried.rng or g is tried.data.rng for g in registered)  # fresh generators
    assert not sums.any()
    for _ in range(5):
        assert torch.equal(train_iteration(tried), train_iteration(never))
    (ta, ra, ca), (tb, rb, cb) = _state(tried), _state(never)
    assert ca == cb and torch.equal(ra, rb) and all(torch.equal(ta[k], tb[k]) for k in ta)
    from advnets.errors import ConfigError

    with pytest.raises(ConfigError, match="train.graph=on: capture failed .*caused by: operation not permitted"):
        iteration_runner(tried, sums, "on", say=lambda text: None)
