import copy

import pytest
import torch

from advnets.losses import discriminator_loss, g_loss_nonsaturating
from advnets.train.algorithm import alternating_update, simultaneous_update
from advnets.train import build_game, plan_training
from advnets.train.loop import train


def test_simultaneous_update_applies_both_gradients_from_one_pass(tiny_mnist):
    game = build_game(plan_training(tiny_mnist()))
    G0, D0 = copy.deepcopy(game.g.net), copy.deepcopy(game.d.net)
    rng_state = game.rng.get_state()
    stats = simultaneous_update(game)

    # Replay by hand: same batch, same noise and masks, grads of each loss for its own network.
    game.data.drawn.set(0)
    x = game.data.next_batch()
    rng = torch.Generator().set_state(rng_state)
    fake = G0(G0.sample_z(len(x), rng))
    real_logits, fake_logits = D0(x, rng), D0(fake, rng)
    loss_d = discriminator_loss(real_logits, fake_logits)
    loss_g = g_loss_nonsaturating(fake_logits).mean()
    grads_d = torch.autograd.grad(loss_d, list(D0.parameters()), retain_graph=True)
    grads_g = torch.autograd.grad(loss_g, list(G0.parameters()))
    lr = 0.1  # first update: no decay yet; momentum buffer starts at 0, so theta <- theta - lr g
    for p0, g, p1 in zip(D0.parameters(), grads_d, game.d.net.parameters()):
        assert torch.allclose(p0 - lr * g, p1, atol=1e-7)
    for p0, g, p1 in zip(G0.parameters(), grads_g, game.g.net.parameters()):
        assert torch.allclose(p0 - lr * g, p1, atol=1e-7)
    assert torch.allclose(stats, torch.stack([loss_d, loss_g, torch.sigmoid(real_logits).mean(),
                                              torch.sigmoid(fake_logits).mean()]).detach())
    assert (game.d.updates.value, game.g.updates.value) == (1, 1)


def test_alternating_update_makes_k_discriminator_updates(tiny_mnist):
    game = build_game(plan_training(tiny_mnist("train.schedule=alternating", "train.k=3")))
    G0 = copy.deepcopy(game.g.net)
    alternating_update(game)
    alternating_update(game)
    assert (game.d.updates.value, game.g.updates.value, game.data.drawn.value) == (6, 2, 6)
    lr_decay = game.d.schedule.lr_decay
    assert game.d.rate(game.lr_factor) == 0.1 / lr_decay**6 and game.g.rate(game.lr_factor) == 0.1 / lr_decay**2
    assert any(not torch.equal(a, b) for a, b in zip(G0.parameters(), game.g.net.parameters()))
    assert game.d.net.training  # G's phase switches D's dropout mode only temporarily


def test_iterations_clock_decays_both_rates_per_generator_update(tiny_mnist):
    cfg = tiny_mnist("train.schedule=alternating", "train.k=3", "optim.lr_decay=1.01", "optim.lr_decay_clock=iterations")
    game = build_game(plan_training(cfg))
    seen = []
    update = game.update
    game.update = lambda player: (seen.append((player.name, player.rate(game.lr_factor))), update(player))
    alternating_update(game)
    alternating_update(game)
    assert [lr for _, lr in seen] == [0.1] * 4 + [0.1 / 1.01] * 4  # D, D, D, G in each iteration
    assert game.d.rate(game.lr_factor) == game.g.rate(game.lr_factor) == 0.1 / 1.01**2


def test_a_d_rate_that_floors_early_is_announced(tiny_ring, capsys):
    from advnets.train.loop import warn_if_d_rate_floors_early

    cfg = tiny_ring("train.schedule=alternating", "train.k=5", "train.steps=20000", "optim.lr=1e-3",
                    "optim.lr_decay=1.00015", "optim.lr_min=1e-6")
    warn_if_d_rate_floors_early(cfg)
    assert "reaches optim.lr_min at generator update 9212 of 20000" in capsys.readouterr().out
    for quiet in (tiny_ring("train.schedule=alternating", "train.k=5", "train.steps=20000", "optim.lr=1e-3",
                            "optim.lr_decay=1.00015", "optim.lr_decay_clock=iterations"),
                  tiny_ring("train.schedule=alternating", "train.k=5", "train.steps=9000", "optim.lr=1e-3",
                            "optim.lr_decay=1.00015", "optim.lr_min=1e-6")):
        warn_if_d_rate_floors_early(quiet)
        assert "warning" not in capsys.readouterr().out


def test_minimax_loss_trains_too(tiny_ring, tmp_path):
    result = train(tiny_ring("loss.generator=minimax", "train.steps=10"), tmp_path)
    assert result.step == 10 and torch.isfinite(torch.tensor(result.last_stats["loss_g"]))


def test_short_mnist_run_discriminator_learns(data_dir, tmp_path):
    """The paper's networks and optimizer, 300 updates: D's loss falls from log 2 at the start."""
    from advnets.config import load_config

    cfg = load_config("paper-mnist", [f"data.dir={data_dir}", "device=cpu", "train.steps=300", "train.log_every=20",
                                      "train.sample_every=300", "train.checkpoint_every=300", "train.progress=false"])
    rows = [r for r in _stats(train(cfg, tmp_path).run_dir)]
    assert abs(rows[0]["loss_d"] - 0.693) < 0.01  # D(x) = D(G(z)) = 1/2 at the start
    assert rows[-1]["loss_d"] < rows[0]["loss_d"] - 0.1
    assert rows[-1]["d_real"] > rows[-1]["d_fake"]
    assert [r["step"] for r in rows] == list(range(20, 301, 20))
    assert {"epoch", "lr", "momentum", "diversity", "steps_per_s", "collapsed"} <= set(rows[-1])


def _stats(run_dir):
    from advnets.train.rundir import read_stats

    return read_stats(run_dir)


def test_bf16_mixed_precision_tracks_fp32(tiny_mnist):
    """train.precision=bf16 runs the matmuls in bfloat16 (8 mantissa bits): over 20 updates from
    the same seed its statistics stay within bf16 rounding of the float32 run, weights stay float32."""
    runs = {}
    for precision in ("fp32", "bf16"):
        game = build_game(plan_training(tiny_mnist(f"train.precision={precision}")))
        runs[precision] = torch.stack([simultaneous_update(game) for _ in range(20)])  # [20, 4]
        assert all(p.dtype == torch.float32 for p in game.g.net.parameters())
    assert not torch.equal(runs["fp32"], runs["bf16"])  # bf16 really ran
    assert torch.allclose(runs["fp32"], runs["bf16"], rtol=0.05, atol=0.02), (runs["fp32"] - runs["bf16"]).abs().max()


@pytest.mark.parametrize("schedule", [[], ["train.schedule=alternating", "train.k=2"]])
def test_stabilisers_change_ds_update_only_as_asked(tiny_mnist, schedule):
    """loss.label_smoothing, loss.r1_gamma and loss.instance_noise at 0 leave the released update bit for bit;
    on, they (and discriminator.spectral_norm) change D's update (R1 through a second backward pass)."""
    from advnets.train.algorithm import train_iteration
    from advnets.train import build_game, plan_training

    def first_update(*extra):
        game = build_game(plan_training(tiny_mnist(*schedule, *extra)))
        stats = train_iteration(game)
        return stats, [p.detach().clone() for p in game.d.net.parameters()]

    plain, d_plain = first_update()
    zero, d_zero = first_update("loss.label_smoothing=0", "loss.r1_gamma=0", "loss.instance_noise=0",
                                "discriminator.spectral_norm=false")
    assert torch.equal(plain, zero) and all(torch.equal(a, b) for a, b in zip(d_plain, d_zero))
    for extra in (["loss.label_smoothing=0.1"], ["loss.r1_gamma=10"], ["loss.instance_noise=0.1"],
                  ["discriminator.spectral_norm=true"]):
        stats, d_after = first_update(*extra)
        assert torch.isfinite(stats).all()
        assert any(not torch.equal(a, b) for a, b in zip(d_plain, d_after)), extra


def test_stabiliser_settings_are_checked(tiny_mnist):
    from advnets.errors import ConfigError

    for bad, message in (("loss.label_smoothing=0.5", "loss.label_smoothing: must be in"),
                         ("loss.r1_gamma=-1", "loss.r1_gamma: must be >= 0"),
                         ("loss.instance_noise=-0.1", "loss.instance_noise: must be >= 0"),
                         ("loss.instance_noise_steps=0", "loss.instance_noise_steps: must be >= 1"),
                         ("discriminator.max_col_norm=1.9 discriminator.spectral_norm=true",
                          "discriminator.spectral_norm: must be false when discriminator.max_col_norm is set")):
        with pytest.raises(ConfigError, match=message):
            tiny_mnist(*bad.split())


def test_instance_noise_anneals_linearly_to_nothing(tiny_mnist):
    """D reads x + sigma_t N(0, I), sigma_t = sigma (1 - t / T): the full sigma at the start, half of it half
    way, and x itself from T on; drawn from the game's stream, so a run replays exactly."""
    from advnets.train.algorithm import with_instance_noise

    game = build_game(plan_training(tiny_mnist("loss.instance_noise=0.5", "loss.instance_noise_steps=100")))
    x = torch.full((2000, 1, 28, 28), 0.25)
    for t, sigma in ((0, 0.5), (50, 0.25), (100, 0.0), (250, 0.0)):
        game.set_update_counts(t, t)
        noise = with_instance_noise(game, x) - x
        assert abs(noise.std().item() - sigma) < 0.01 * sigma + 1e-7, (t, noise.std())
        assert abs(noise.mean().item()) < 0.01
    game.set_update_counts(0, 0)
    state = game.rng.get_state()
    first = with_instance_noise(game, x)
    game.rng.set_state(state)
    assert torch.equal(first, with_instance_noise(game, x))


def test_spectral_norm_keeps_every_weight_of_d_at_unit_spectral_norm(tiny_mnist):
    """discriminator.spectral_norm: D's effective weights have largest singular value 1 (to the power
    iteration's accuracy) before and after updates; the estimate's vectors travel with D's weights."""
    cfg = tiny_mnist("discriminator.spectral_norm=true", "discriminator.hidden=[32, 32]")
    game = build_game(plan_training(cfg))

    def largest_singular_values():
        D = game.d.net
        return [torch.linalg.matrix_norm(m.weight.detach(), 2).item() for m in D.modules()
                if isinstance(m, torch.nn.Linear)]

    assert all(abs(s - 1) < 0.05 for s in largest_singular_values())
    for _ in range(20):
        simultaneous_update(game)
    assert all(abs(s - 1) < 0.05 for s in largest_singular_values())
    assert any(k.endswith("_u") for k in game.d.net.state_dict())
