import pytest

from advnets.train.rules import StepRules


@pytest.mark.parametrize("extra, condition", [([], "none"), (["data.conditional=true"], "class"),
                                              (["data.inpainting=true", "train.valid_every=0"], "mask")])
def test_the_step_gets_the_configs_values(tiny_mnist, extra, condition):
    cfg = tiny_mnist(*extra, "train.schedule=alternating", "train.k=3", "loss.generator=minimax",
                     "loss.r1_gamma=2", "loss.instance_noise=0.1", "train.g_sees_dropout=false", "train.steps=40")
    rules = StepRules.from_config(cfg, local_batch_size=7)
    assert (rules.schedule, rules.k, rules.generator_loss, rules.r1_gamma) == ("alternating", 3, "minimax", 2.0)
    assert rules.condition == condition and rules.masks == tuple(cfg.data.masks)
    assert rules.instance_noise == 0.1 and rules.instance_noise_steps == 40  # annealed over train.steps by default
    assert not rules.g_sees_dropout and not rules.bf16 and rules.local_batch_size == 7
    assert StepRules.from_config(tiny_mnist("loss.instance_noise_steps=5"), 1).instance_noise_steps == 5
