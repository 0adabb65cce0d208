import torch

from advnets.train import build_game, plan_training


def test_an_update_reduces_the_gradients_first_then_steps_counts_and_runs_what_follows(tiny_mnist):
    """Player.update: the gradients go through the reduce step (the collectives seam) before the optimizer
    reads them; the count moves on before what follows G's update (its moving average reads it)."""
    game = build_game(plan_training(tiny_mnist("train.ema_decay=0.9")))
    g = game.g
    seen = []
    g.reduce = lambda params: seen.append(("reduce", [p.grad is not None for p in params], g.updates.value))
    g.followers.insert(0, lambda: seen.append(("follow", g.updates.value)))
    for p in g.params:
        p.grad = torch.ones_like(p)
    before = [p.detach().clone() for p in g.params]
    game.update(g)
    assert seen == [("reduce", [True] * len(g.params), 0), ("follow", 1)]
    assert all(not torch.equal(a, b) for a, b in zip(before, g.params))
    assert (game.d.updates.value, g.updates.value) == (0, 1)


def test_each_player_has_its_own_rate_and_clock(tiny_mnist):
    game = build_game(plan_training(tiny_mnist("optim.d_lr=0.2", "optim.g_lr=0.05", "optim.lr_decay=2")))
    assert game.d.rate(game.lr_factor) == 0.2 and game.g.rate(game.lr_factor) == 0.05
    game.set_update_counts(3, 1)
    assert game.d.rate(game.lr_factor) == 0.2 / 8 and game.g.rate(game.lr_factor) == 0.05 / 2
    game.lr_factor.set(0.5)  # a rollback's halving
    assert game.d.rate(game.lr_factor) == 0.2 / 16
    clocked = build_game(plan_training(tiny_mnist("optim.lr_decay=2", "optim.lr_decay_clock=iterations")))
    clocked.set_update_counts(3, 1)
    assert clocked.d.clock is clocked.g.updates and clocked.d.rate(clocked.lr_factor) == 0.1 / 2
