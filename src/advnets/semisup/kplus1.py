"""A GAN whose discriminator is the classifier: K real classes plus "generated" (Salimans et al.,
"Improved techniques for training GANs", 2016, section 5), with their MNIST networks.

D outputs K logits l_1..l_K; the "generated" class has logit 0, so with Z(x) = sum_k exp(l_k)

    p(y = k | x) = exp(l_k) / (Z(x) + 1),        D(x) = p(real | x) = Z(x) / (Z(x) + 1).

    L_D = L_labelled + L_unlabelled
    L_labelled   = -E_{(x, y) labelled} log p(y | x, real)               (cross-entropy over the K logits)
    L_unlabelled = -1/2 E_{x unlabelled} log D(x) - 1/2 E_z log(1 - D(G(z)))
                 =  1/2 E_x [softplus(lse(l(x))) - lse(l(x))] + 1/2 E_z softplus(lse(l(G(z))))
    L_G = || E_x f(x) - E_z f(G(z)) ||^2    (feature matching on D's last hidden layer f)

Networks (their MNIST code): G: z ~ U(0, 1)^100 -> 500 softplus + batch norm -> 500 softplus +
batch norm -> 784 sigmoid (weight-normalised); D: Gaussian noise (std 0.3) on the pixels, then
weight-normalised ReLU layers of 1000, 500, 250, 250, 250 units each followed by Gaussian noise
(std 0.5), then K weight-normalised logits. Adam (lr 0.003, beta1 0.5), batch 100; the labelled
examples are cycled to fill every labelled minibatch. Test error: argmax of the K logits, no noise.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from advnets.batching import apply_in_batches
from advnets.progress import Progress


class GaussianNoise(nn.Module):
    def __init__(self, std: float):
        super().__init__()
        self.std = std

    def forward(self, h: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if not self.training:
            return h
        return h + self.std * torch.randn(h.shape, generator=generator, device=h.device, dtype=h.dtype)


class ClassifierDiscriminator(nn.Module):
    """D with K class logits (see the module docstring)."""

    def __init__(self, d_in: int = 784, hidden: tuple[int, ...] = (1000, 500, 250, 250, 250), n_classes: int = 10):
        super().__init__()
        widths = [d_in, *hidden]
        self.noise = nn.ModuleList([GaussianNoise(0.3)] + [GaussianNoise(0.5) for _ in hidden])
        self.layers = nn.ModuleList(weight_norm(nn.Linear(a, b)) for a, b in zip(widths[:-1], widths[1:]))
        self.out = weight_norm(nn.Linear(widths[-1], n_classes))

    def features_and_logits(self, x: torch.Tensor, generator: torch.Generator | None = None):
        h = self.noise[0](x.reshape(len(x), -1), generator)
        for layer, noise in zip(self.layers, self.noise[1:]):
            f = F.relu(layer(h))  # the last one is f, the feature-matching layer
            h = noise(f, generator)
        return f, self.out(h)  # [m, 250], [m, K]

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.features_and_logits(x, generator)[1]


class FeatureMatchingGenerator(nn.Module):
    def __init__(self, z_dim: int = 100, hidden: tuple[int, ...] = (500, 500), x_shape: tuple[int, ...] = (1, 28, 28)):
        super().__init__()
        self.z_dim, self.x_shape = z_dim, tuple(x_shape)
        widths = [z_dim, *hidden]
        blocks: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:]):
            blocks += [nn.Linear(a, b), nn.Softplus(), nn.BatchNorm1d(b)]
        self.hidden = nn.Sequential(*blocks)
        self.out = weight_norm(nn.Linear(widths[-1], int(torch.tensor(x_shape).prod())))

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.rand(n, self.z_dim, generator=generator)  # U(0, 1)^100, as their code

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.out(self.hidden(z))).view(len(z), *self.x_shape)


def discriminator_losses(D: ClassifierDiscriminator, x_lab, y_lab, x_unl, x_fake, rng):
    """(L_labelled, L_unlabelled) of the module docstring."""
    logits_lab = D(x_lab, rng)
    l_unl = torch.logsumexp(D(x_unl, rng), dim=1)  # log Z(x)
    l_fake = torch.logsumexp(D(x_fake, rng), dim=1)
    labelled = F.cross_entropy(logits_lab, y_lab)
    unlabelled = 0.5 * (F.softplus(l_unl) - l_unl).mean() + 0.5 * F.softplus(l_fake).mean()
    return labelled, unlabelled


def feature_matching_loss(D: ClassifierDiscriminator, x_real, x_fake, rng) -> torch.Tensor:
    f_real, _ = D.features_and_logits(x_real, rng)
    f_fake, _ = D.features_and_logits(x_fake, rng)
    return ((f_real.detach().mean(0) - f_fake.mean(0)) ** 2).mean()


@torch.no_grad()
def test_error(D: ClassifierDiscriminator, x: torch.Tensor, y: torch.Tensor) -> float:
    D.eval()
    predicted = apply_in_batches(lambda batch: D(batch).argmax(1), x)
    D.train()
    return float((predicted != y).double().mean())


def cycled_batches(n: int, batch_size: int, rng: torch.Generator):
    """Endless minibatches of indices 0..n-1: consecutive random permutations, cut into batches."""
    buffer = torch.empty(0, dtype=torch.long)
    while True:
        while len(buffer) < batch_size:
            buffer = torch.cat([buffer, torch.randperm(n, generator=rng)])
        yield buffer[:batch_size]
        buffer = buffer[batch_size:]


@dataclass
class KPlusOneResult:
    test_error: float
    curve: list[dict] = field(default_factory=list)  # per epoch: losses, test error, seconds


def train_kplus1(pool: torch.Tensor, labelled_x: torch.Tensor, labelled_y: torch.Tensor, test_x: torch.Tensor,
                 test_y: torch.Tensor, epochs: int = 10, batch_size: int = 100, lr: float = 0.003, seed: int = 0,
                 log=print) -> KPlusOneResult:
    """pool [N, 1, 28, 28] unlabelled training images in [0, 1]; labelled_x [n, ...] with labels [n]."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        D, G = ClassifierDiscriminator(), FeatureMatchingGenerator()
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    rng = torch.Generator().manual_seed(seed)
    batches = len(pool) // batch_size
    labelled_batches = cycled_batches(len(labelled_x), batch_size, rng)
    curve, t0 = [], time.perf_counter()
    bar = Progress(epochs * batches, "(K+1)-class GAN", "batch")
    for epoch in range(1, epochs + 1):
        order, order_g = torch.randperm(len(pool), generator=rng), torch.randperm(len(pool), generator=rng)
        sums = torch.zeros(3)
        for b in range(batches):
            rows = slice(b * batch_size, (b + 1) * batch_size)
            lab = next(labelled_batches)
            x_unl = pool[order[rows]]
            with torch.no_grad():
                x_fake = G(G.sample_z(batch_size, rng))
            labelled, unlabelled = discriminator_losses(D, labelled_x[lab], labelled_y[lab], x_unl, x_fake, rng)
            opt_d.zero_grad(set_to_none=True)
            (labelled + unlabelled).backward()
            opt_d.step()
            fm = feature_matching_loss(D, pool[order_g[rows]], G(G.sample_z(batch_size, rng)), rng)
            opt_g.zero_grad(set_to_none=True)
            fm.backward()
            opt_g.step()
            sums += torch.stack([labelled.detach(), unlabelled.detach(), fm.detach()])
            bar.update(1)
        error = test_error(D, test_x, test_y)
        row = {"epoch": epoch, "loss_labelled": float(sums[0] / batches), "loss_unlabelled": float(sums[1] / batches),
               "loss_feature_matching": float(sums[2] / batches), "test_error": error,
               "seconds": round(time.perf_counter() - t0, 1)}
        curve.append(row)
        log(row)
    bar.close()
    return KPlusOneResult(curve[-1]["test_error"] if curve else test_error(D, test_x, test_y), curve)
