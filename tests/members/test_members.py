"""Several seeds in one process (advnets.members): each member trains as its lone run would, alone."""

from __future__ import annotations

import json

import pytest
import torch

from advnets.errors import ConfigError, TrainingInterrupted
from advnets.members import train_members
from advnets.members.iteration import Members, members_iteration
from advnets.train import plan_training, train
from advnets.train.algorithm import train_iteration
from advnets.train.build import build_game
from advnets.train.checkpoint import load_training_state, read_training_header
from advnets.train.resume import resume_config
from advnets.train.stopping import StopRequest


class StopAfter(StopRequest):
    """A stop signal that arrives after the iteration `n` asks (as a Ctrl-C would)."""

    def __init__(self, n: int):
        super().__init__()
        self.asked, self.n = 0, n

    def is_set(self) -> bool:
        self.asked += 1
        return self.asked >= self.n or super().is_set()


def states(run_dir) -> dict[str, torch.Tensor]:
    return load_training_state(run_dir)[0]


def trained_members(cfgs, root, stop=None):
    dirs = [root / f"s{cfg.seed}" for cfg in cfgs]
    outcomes = train_members([plan_training(cfg) for cfg in cfgs], dirs, stop or StopRequest())
    return outcomes, dirs


def relative_gap(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b| over the largest magnitude of b."""
    return ((a.double() - b.double()).abs().max() / b.double().abs().max().clamp(min=1e-30)).item()


CASES = {  # (fixture, overrides): the schedules, optimizers and step rules members stack
    "released-sgd-dropout": ("tiny_mnist", []),
    "alternating-adam-k2": ("tiny_ring", ["train.k=2"]),
    "conditional": ("tiny_mnist", ["data.conditional=true", "train.schedule=alternating", "train.k=2"]),
    "inpainting": ("tiny_mnist", ["data.inpainting=true", "train.valid_every=0"]),
    "stabilisers": ("tiny_mnist", ["loss.label_smoothing=0.1", "loss.r1_gamma=1.0", "loss.instance_noise=0.1",
                                   "train.ema_decay=0.99", "discriminator.max_col_norm=0.5"]),
    "adam-rates-decay": ("tiny_ring", ["optim.lr_decay=1.01", "train.g_sees_dropout=false"]),
    "spectral-norm": ("tiny_mnist", ["discriminator.spectral_norm=true"]),  # per member, not over the stack
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_member_follows_its_lone_run(case, request):
    """Member i of K = 3 equals a lone run of seed i to float32 rounding over 10 updates (the stacked kernels sum
    in another order: bit-identity is not expected), for every schedule and rule members support."""
    fixture, overrides = CASES[case]
    make = request.getfixturevalue(fixture)
    plans = [plan_training(make(f"seed={seed}", *overrides)) for seed in (0, 1, 2)]
    members = Members([build_game(plan) for plan in plans])
    lone = [build_game(plan) for plan in plans]
    for _ in range(10):
        stats = members_iteration(members)
        for i, game in enumerate(lone):
            assert relative_gap(stats[i], train_iteration(game)) < 1e-4
    for i, game in enumerate(lone):
        for role in ("d", "g"):  # (the weights, and spectral normalisation's vectors where there are some)
            together = dict(getattr(members.games[i], role).net.state_dict())
            for name, tensor in getattr(game, role).net.state_dict().items():
                assert relative_gap(together[name], tensor) < 1e-4, (case, i, role, name)
        if game.average is not None:
            for a, b in zip(members.games[i].average.model.parameters(), game.average.model.parameters()):
                assert relative_gap(a, b) < 1e-4


def test_members_do_not_touch_each_other(tiny_mnist):
    """Member 2's data replaced by noise changes no other member's weights, bit for bit."""
    plans = [plan_training(tiny_mnist(f"seed={seed}")) for seed in range(4)]
    clean, corrupted = Members([build_game(p) for p in plans]), Members([build_game(p) for p in plans])
    source = corrupted.games[2].data
    real = source.next_batch
    source.next_batch = lambda: torch.rand_like(real())
    for _ in range(5):
        members_iteration(clean)
        members_iteration(corrupted)
    for i in range(4):
        same = all(torch.equal(a, b) for a, b in zip(clean.games[i].d.net.state_dict().values(),
                                                     corrupted.games[i].d.net.state_dict().values()))
        assert same == (i != 2), i


def test_one_member_is_the_lone_run_bit_for_bit(tiny_mnist, tmp_path):
    cfg = tiny_mnist("seed=5")
    outcomes, (member_dir,) = trained_members([cfg], tmp_path / "members")
    train(cfg, tmp_path / "lone")
    lone = states(tmp_path / "lone")
    assert outcomes[0].result.step == 20 and set(states(member_dir)) == set(lone)
    assert all(torch.equal(states(member_dir)[k], v) for k, v in lone.items())


def test_stopped_and_resumed_members_equal_uninterrupted_ones(tiny_ring, tmp_path):
    cfgs = [tiny_ring(f"seed={seed}", "train.steps=30") for seed in (0, 1, 2)]
    trained_members(cfgs, tmp_path / "whole")
    with pytest.raises(TrainingInterrupted, match="interrupted at step 13"):
        trained_members(cfgs, tmp_path / "parts", StopAfter(13))
    assert {read_training_header(tmp_path / "parts" / f"s{s}")["step"] for s in (0, 1, 2)} == {13}
    dirs = [tmp_path / "parts" / f"s{s}" for s in (0, 1, 2)]
    plans = [plan_training(resume_config(d)[0], resume=True) for d in dirs]
    outcomes = train_members(plans, dirs, StopRequest())
    assert [o.result.step for o in outcomes] == [30, 30, 30]
    for seed in (0, 1, 2):
        whole, parts = states(tmp_path / "whole" / f"s{seed}"), states(tmp_path / "parts" / f"s{seed}")
        assert set(whole) == set(parts) and all(torch.equal(parts[k], v) for k, v in whole.items())


def poison_member(monkeypatch, member: int, at_iteration: int) -> None:
    """Member `member`'s G turns NaN during iteration `at_iteration` (as a diverging run's would)."""
    from advnets.members import run

    real, calls = run.members_iteration, []

    def iteration(members):
        calls.append(1)
        stats = real(members)
        if len(calls) == at_iteration:
            with torch.no_grad():
                next(iter(members.games[member].g.net.parameters())).fill_(float("nan"))
        return stats

    monkeypatch.setattr(run, "members_iteration", iteration)


@pytest.mark.parametrize("on_nonfinite", ["stop", "rollback"])
def test_a_diverging_member_stops_or_rolls_back_alone(on_nonfinite, tiny_ring, tmp_path, monkeypatch):
    cfgs = [tiny_ring(f"seed={seed}", f"train.on_nonfinite={on_nonfinite}") for seed in (0, 1, 2)]
    trained_members(cfgs, tmp_path / "clean")
    poison_member(monkeypatch, 1, at_iteration=13)
    outcomes, dirs = trained_members(cfgs, tmp_path / "poisoned")
    for seed in (0, 2):  # the others never noticed
        clean, poisoned = states(tmp_path / "clean" / f"s{seed}"), states(dirs[seed])
        assert outcomes[seed].failure is None
        assert [k for k, v in clean.items() if not torch.equal(poisoned[k], v)] == []
    header = read_training_header(dirs[1])
    if on_nonfinite == "stop":
        assert "G's weights" in outcomes[1].failure and header["step"] == 10
        ends = [json.loads(line) for line in (dirs[1] / "sessions.jsonl").read_text().splitlines()]
        assert ends[-1]["how"] == "diverged"
    else:  # back to step 10 with halved rates, then on to the end
        assert outcomes[1].failure is None and header["step"] == 20 and header["lr_scale"] == 0.5
        assert "rolled back to step 10" in (dirs[1] / "log.txt").read_text()


def test_what_cannot_be_stacked_is_refused_in_one_line(tiny_mnist, tmp_path):
    for overrides, what in ((["generator.batch_norm=true"], "generator.batch_norm"),
                            (["inference.joint=true"], "inference.joint")):
        cfgs = [tiny_mnist(f"seed={seed}", *overrides) for seed in (0, 1)]
        with pytest.raises(ConfigError, match=what):
            trained_members(cfgs, tmp_path)
        assert not any(tmp_path.iterdir())


def test_a_network_drawing_from_the_global_generator_is_refused(tiny_ring):
    plans = [plan_training(tiny_ring(f"seed={seed}")) for seed in (0, 1)]
    members = Members([build_game(plan) for plan in plans])
    template = members.d.template
    forward = template.forward
    template.forward = lambda x, generator=None, c=None: forward(x + torch.rand(x.shape), generator, c)
    with pytest.raises(ConfigError, match="global generator"):
        members_iteration(members)


def test_a_network_vmap_cannot_run_is_refused_in_one_line(tiny_ring):
    """A plugin network that is not functional (here: it reads a number back from its input) cannot be stacked."""
    plans = [plan_training(tiny_ring(f"seed={seed}")) for seed in (0, 1)]
    members = Members([build_game(plan) for plan in plans])
    template = members.d.template
    forward = template.forward
    template.forward = lambda x, generator=None, c=None: forward(x * float(x.sum().item() > 0), generator, c)
    with pytest.raises(ConfigError, match="cannot run as stacked members under torch.func.vmap"):
        members_iteration(members)


def test_batch_normalisation_in_any_network_is_refused(tiny_ring):
    game = build_game(plan_training(tiny_ring()))
    game.d.net.blocks.insert(0, torch.nn.BatchNorm1d(2))
    with pytest.raises(ConfigError, match="D with batch normalisation's running statistics .*BatchNorm1d"):
        Members([game, game])


def test_memory_for_k_members_is_checked_before_anything_is_made(tiny_mnist, tmp_path):
    import dataclasses

    from advnets.members import check_members_fit

    plan = plan_training(tiny_mnist())
    tight = dataclasses.replace(plan, budget=dataclasses.replace(plan.budget, available=3 * plan.budget.need))
    check_members_fit([tight] * 3)
    with pytest.raises(ConfigError, match="4 members need about .* train at most 3 at once"):
        check_members_fit([tight] * 4)


def test_members_of_different_configs_are_refused(tiny_ring, tmp_path):
    cfgs = [tiny_ring("seed=0"), tiny_ring("seed=1", "optim.lr=0.01")]
    with pytest.raises(ConfigError, match="differ in more than the seed"):
        trained_members(cfgs, tmp_path)
