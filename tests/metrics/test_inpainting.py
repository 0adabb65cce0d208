import torch
from torch import nn

from advnets.data.masks import unpack_observed
from advnets.metrics.inpainting import inpainting_report
from advnets.models.conditions import Condition


class _Stub(nn.Module):
    """An 'inpainting model' for checking the metric: fills the hidden pixels with the original (an
    oracle), with one fixed image (ignores z and the input), or with one of several training
    images picked by z."""

    def __init__(self, mode, originals, bank):
        super().__init__()
        self.condition = Condition("mask", x_shape=(1, 28, 28))
        self.x_shape, self.z_dim, self.n_classes = (1, 28, 28), 4, 0
        self.mode, self.originals, self.bank = mode, originals, bank
        self.anchor = nn.Parameter(torch.zeros(1))

    def sample_z(self, n, generator=None, device="cpu"):
        return torch.rand(n, self.z_dim, generator=generator)

    def forward(self, z, c):
        observed, mask = unpack_observed(c)
        if self.mode == "oracle":  # find each input among the originals by its visible pixels
            index = ((observed[:, None] - self.originals[None] * mask[:, None]).abs().flatten(2).sum(-1)).argmin(1)
            fill = self.originals[index]
        elif self.mode == "constant":
            fill = self.bank[:1].expand(len(z), -1, -1, -1)
        else:
            fill = self.bank[(z[:, 0] * len(self.bank)).long().clamp(max=len(self.bank) - 1)]
        return self.condition.compose(fill, c)


def test_the_metric_tells_an_oracle_a_constant_and_a_random_filler_apart(data_dir):
    from advnets.classifier import load_classifier
    from advnets.data.mnist import load_idx_split

    images, labels = load_idx_split("mnist", "test", data_dir)
    x = torch.from_numpy(images[:300]).float().div(255).unsqueeze(1)
    y = torch.from_numpy(labels[:300].astype("int64"))
    bank = torch.from_numpy(images[5000:5200]).float().div(255).unsqueeze(1)
    classifier = load_classifier()
    reports = {mode: inpainting_report(_Stub(mode, x, bank), x, y, "right-half", classifier, completions=4, n_spread=50)
               for mode in ("oracle", "constant", "random")}
    oracle, constant, random = reports["oracle"], reports["constant"], reports["random"]
    assert oracle["class_kept"] == oracle["class_of_originals"] > 0.97  # completions are the originals
    assert oracle["spread"] == 0 and oracle["l2_to_original"] == 0
    assert constant["spread"] == 0 and constant["class_kept"] < 0.6  # one image for every input: no spread
    assert 0.5 < random["spread_ratio"] < 2 and random["l2_to_original"] > random["l2_of_mean_completion_to_original"]
    assert random["missing_fraction"] == 0.5 and len(random["per_class"]) == 10
