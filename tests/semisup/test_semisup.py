import math

import pytest
import torch
import torch.nn.functional as F

from advnets.cli import main
from advnets.semisup.kplus1 import ClassifierDiscriminator, discriminator_losses, train_kplus1
from advnets.semisup.labels import labelled_subset
from advnets.semisup.linear import linear_probe_error


def test_labelled_subsets_are_balanced_and_fixed_by_the_draw():
    labels = torch.arange(1000) % 10
    a, b, c = labelled_subset(labels, 10, 0), labelled_subset(labels, 10, 0), labelled_subset(labels, 10, 1)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert len(a.unique()) == 100 and torch.equal(torch.bincount(labels[a]), torch.full((10,), 10))
    with pytest.raises(ValueError):
        labelled_subset(labels, 101, 0)


def test_the_linear_probe_reads_linear_information_and_nothing_else():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 10, (2000,), generator=g)
    informative = F.one_hot(y, 10).float() + 0.1 * torch.randn(2000, 10, generator=g)  # classes 7 std apart
    noise = torch.randn(2000, 10, generator=g)
    chosen = labelled_subset(y[:1000], 10, 0)
    good = linear_probe_error(informative[:1000], informative[chosen], y[chosen], informative[1000:], y[1000:])
    bad = linear_probe_error(noise[:1000], noise[chosen], y[chosen], noise[1000:], y[1000:])
    assert good["test_error"] < 0.02 and bad["test_error"] > 0.8
    assert set(good["cv_errors"]) == {"0.0001", "0.001", "0.01", "0.1", "1.0"}


def test_the_k_plus_1_losses_are_the_gan_losses_with_d_real_equal_to_z_over_z_plus_1():
    torch.manual_seed(0)
    D = ClassifierDiscriminator(d_in=6, hidden=(8,), n_classes=3).eval()  # eval: no noise
    x_lab, x_unl, x_fake = torch.rand(4, 6), torch.rand(5, 6), torch.rand(7, 6)
    y = torch.tensor([0, 2, 1, 2])
    labelled, unlabelled = discriminator_losses(D, x_lab, y, x_unl, x_fake, None)
    d_real = lambda x: D(x).exp().sum(1) / (D(x).exp().sum(1) + 1)  # noqa: E731 - p(real | x)
    expected = -0.5 * d_real(x_unl).log().mean() - 0.5 * (1 - d_real(x_fake)).log().mean()
    assert unlabelled.item() == pytest.approx(expected.item(), rel=1e-5)
    assert labelled.item() == pytest.approx(F.cross_entropy(D(x_lab), y).item(), rel=1e-6)


def test_k_plus_1_training_runs_and_reports_every_epoch():
    g = torch.Generator().manual_seed(0)
    pool, test = torch.rand(400, 1, 28, 28, generator=g), torch.rand(100, 1, 28, 28, generator=g)
    y = torch.arange(400) % 10
    result = train_kplus1(pool, pool[:100], y[:100], test, torch.arange(100) % 10, epochs=2, log=lambda row: None)
    assert [r["epoch"] for r in result.curve] == [1, 2] and 0 <= result.test_error <= 1
    assert all(math.isfinite(r["loss_unlabelled"]) for r in result.curve)


@pytest.mark.parametrize("argv, message", [
    (["--method", "pixels", "--labels", "15"], "multiple of 10"),
    (["--method", "pixels", "--draws", "0"], "--draws must be >= 1"),
    (["--method", "d-features"], "needs --run RUN_DIR"),
])
def test_semisup_refuses_bad_arguments_in_one_line(argv, message, capsys):
    assert main(["semisup", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_e_features_need_a_fitted_inference_network(tiny_mnist_run, data_dir, capsys):
    assert main(["semisup", "--method", "e-features", "--run", str(tiny_mnist_run), "--data-dir", str(data_dir)]) == 2
    assert "fit the inference network first" in capsys.readouterr().err
