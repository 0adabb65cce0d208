import pytest
import torch

from advnets.config import load_config
from advnets.train import schedules
from advnets.train.optim import MomentumSGD


def test_momentum_sgd_is_pylearn2s_rule_with_changing_lr():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = MomentumSGD([p], lr=0.1, momentum=0.5)
    theta, v = p.detach().clone(), torch.zeros(2)
    for lr, mu in [(0.1, 0.5), (0.05, 0.6), (0.01, 0.7)]:
        g = torch.randn(2)
        p.grad = g.clone()
        opt.param_groups[0].update(lr=lr, momentum=mu)
        opt.step()
        v = mu * v - lr * g  # v <- mu v - lr g
        theta = theta + v  # theta <- theta + v
        assert torch.allclose(p.detach(), theta)
    # torch.optim.SGD's form (v <- mu v + g; theta -= lr v) differs once lr changes
    assert "velocity" in opt.state[p]


def test_learning_rate_schedule():
    o = load_config("paper-mnist").optim
    assert schedules.learning_rate(o, 0.1, 0) == 0.1
    assert schedules.learning_rate(o, 0.1, 1) == pytest.approx(0.1 / 1.000004)
    assert schedules.learning_rate(o, 0.1, 500_000) == pytest.approx(0.1 / 1.000004**500_000)
    assert schedules.learning_rate(o, 0.1, 10_000_000) == 1e-6  # floored


def test_late_annealing_divides_the_rate_from_its_start_on():
    plain = load_config("paper-mnist").optim
    o = load_config("paper-mnist", ["optim.lr_anneal_from=1000", "optim.lr_anneal=1.001"]).optim
    for t in (0, 500, 1000):  # up to the start: exactly the released schedule
        assert schedules.learning_rate(o, 0.1, t) == schedules.learning_rate(plain, 0.1, t)
    assert schedules.learning_rate(o, 0.1, 3000) == pytest.approx(0.1 / 1.000004**3000 / 1.001**2000)
    assert schedules.learning_rate(o, 0.1, 10**6) == 1e-6  # the floor still holds


def test_momentum_schedule():
    o = load_config("paper-mnist").optim
    assert schedules.momentum(o, 1) == 0.5
    assert schedules.momentum(o, 250) == pytest.approx(0.7)
    assert schedules.momentum(o, 1000) == pytest.approx(0.7)
    assert schedules.momentum(o, 125.5) == pytest.approx(0.6)


def test_the_schedules_on_tensors_are_the_released_formulas_bit_for_bit():
    """The schedules run in float64 torch ops (on the device inside a step); they must give exactly
    what the released formulas give in Python floats."""
    o = load_config("paper-mnist", ["optim.lr_anneal_from=700", "optim.lr_anneal=1.0002"]).optim
    for t in [0, 1, 2, 3, 699, 700, 701, 5_000, 123_457, 500_000, 3_000_000, 10**9]:
        lr = 0.1 / o.lr_decay**t if t < 10**8 else 0.0
        if t > 700:
            lr = lr / o.lr_anneal ** (t - 700) if t < 10**8 else 0.0
        assert float(schedules.learning_rate(o, 0.1, t)) == max(lr, o.lr_min)
        assert float(schedules.learning_rate(o, 0.1, torch.tensor(t))) == max(lr, o.lr_min)
    for epoch in [1, 2, 100, 249, 250, 251, 1000]:
        alpha = min(max((epoch - 1) / 249, 0.0), 1.0)
        assert float(schedules.momentum(o, torch.tensor(epoch))) == 0.5 * (1 - alpha) + 0.7 * alpha
