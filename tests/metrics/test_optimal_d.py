import pytest
import torch

from advnets.config import load_config
from advnets.data.registry import get as dataset
from advnets.metrics.optimal_d import optimal_d_report
from advnets.models import build_discriminator, build_generator


@pytest.mark.parametrize("shift", [0.0, 0.5])
def test_d_trained_for_a_fixed_g_converges_to_d_star(shift):
    """G(z) = 2 + shift + 0.5 z with z ~ N(0, 1): p_g = N(2 + shift, 0.5^2) against p_data = N(2, 0.5^2),
    so D* = 1/2 (shift 0) or a logistic function of x. A D trained for this G must approach it, and
    V(G, D) may not exceed C(G) = V(G, D*) (Proposition 1)."""
    cfg = load_config("toy-1d-normal", ["generator.hidden=[]"])
    torch.manual_seed(0)
    G, D = build_generator(cfg, (1,)), build_discriminator(cfg, (1,))
    with torch.no_grad():
        G.out.weight.fill_(0.5)
        G.out.bias.fill_(2.0 + shift)
    report = optimal_d_report(G, D, dataset(cfg.data.name).mixture(cfg.data), steps=1500, batch_size=1024)
    assert report["sup_gap_converged"] < 0.02 < report["sup_gap_snapshot"]
    assert report["value_converged"] <= report["virtual_criterion"] + 1e-4
    assert report["virtual_criterion"] == pytest.approx(-torch.log(torch.tensor(4.0)).item() + 2 * report["jsd"], abs=1e-6)
    expected_jsd = 0.0 if shift == 0 else 0.1114  # N(0,1) vs N(1,1) in units of the std: 0.111421
    assert report["jsd"] == pytest.approx(expected_jsd, abs=2e-3)
