"""What a training step needs to know of the config, and nothing more.

The step (advnets.train.algorithm) reads these values, never the config: which schedule and k, which
generator loss and stabilisers, what the networks are conditioned on, whether G's update sees D with
dropout, the precision, and this process's share of the minibatch. :meth:`StepRules.from_config` is the
one place they are read out of a config.
"""

from __future__ import annotations

from dataclasses import dataclass

from advnets.config import Config


@dataclass(frozen=True)
class StepRules:
    schedule: str  # train.schedule: "simultaneous" (the released code) or "alternating" (Algorithm 1 as printed)
    k: int  # train.k: D's updates per G update (alternating)
    generator_loss: str  # loss.generator: "non-saturating" or "minimax"
    label_smoothing: float = 0.0  # loss.label_smoothing: D's target on data is 1 - this
    r1_gamma: float = 0.0  # loss.r1_gamma: weight of the R1 penalty on D
    instance_noise: float = 0.0  # loss.instance_noise: sigma of the noise on D's inputs at the start ...
    instance_noise_steps: int = 1  # ... annealed linearly to 0 over this many iterations
    condition: str = "none"  # what G and D are given besides z and x: "none", "class" labels, "mask"ed pixels
    masks: tuple[str, ...] = ()  # data.masks: the mask families of inpainting's training masks
    g_sees_dropout: bool = True  # train.g_sees_dropout: G's update reads D with dropout on
    bf16: bool = False  # train.precision == "bf16": the forward passes in bfloat16
    local_batch_size: int = 1  # this rank's share of the minibatch train.batch_size

    @classmethod
    def from_config(cls, cfg: Config, local_batch_size: int) -> "StepRules":
        loss, t, d = cfg.loss, cfg.train, cfg.data
        return cls(schedule=t.schedule, k=t.k, generator_loss=loss.generator, label_smoothing=loss.label_smoothing,
                   r1_gamma=loss.r1_gamma, instance_noise=loss.instance_noise,
                   instance_noise_steps=loss.instance_noise_steps or t.steps,
                   condition="class" if d.conditional else "mask" if d.inpainting else "none",
                   masks=tuple(d.masks), g_sees_dropout=t.g_sees_dropout, bf16=t.precision == "bf16",
                   local_batch_size=local_batch_size)
