import json

import pytest
import torch

from advnets.cli import main
from advnets.errors import ConfigError
from advnets.models import build_generator
from advnets.models.stacking import linear_layers
from advnets.train.init_from import initialise_from


def test_copies_the_trained_layers_into_the_last_ones(tiny_mnist, tiny_mnist_run):
    from advnets.snapshot import load_snapshot

    deeper = build_generator(tiny_mnist("generator.hidden=[8, 100, 32]"), (1, 28, 28))
    info = initialise_from(deeper, str(tiny_mnist_run))
    trained = linear_layers(load_snapshot(tiny_mnist_run).generator)
    for a, b in zip(linear_layers(deeper)[-2:], trained):
        assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
    assert (info["layers_copied"], info["layers_new"]) == (2, 2) and len(info["init_from_sha256"]) == 64


@pytest.mark.parametrize("hidden, activations", [
    ("[8, 64]", None),  # the trained G's hidden width is 32
    ("[8, 100, 32]", "[relu, relu, sigmoid]"),  # the trained G's hidden layer is a ReLU
    ("[32]", None),  # nothing new in front
])
def test_generators_that_do_not_line_up_are_refused(tiny_mnist, tiny_mnist_run, hidden, activations):
    overrides = [f"generator.hidden={hidden}"] + ([f"generator.hidden_activations={activations}"] if activations else [])
    deeper = build_generator(tiny_mnist(*overrides), (1, 28, 28))
    with pytest.raises(ConfigError, match="is not the end of this G"):
        initialise_from(deeper, str(tiny_mnist_run))


def test_cli_gives_one_line_and_leaves_no_run(tmp_path, data_dir, capsys):
    out = tmp_path / "stage2"
    args = ["train", "paper-tfd-stage2", "--out", str(out), "--set", f"data.dir={data_dir}", "device=cpu"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "generator.init_from" in err and err.count("\n") == 1 and not out.exists()
    assert main([*args, f"generator.init_from={tmp_path / 'missing'}"]) == 2
    assert "does not exist" in capsys.readouterr().err and not out.exists()
    assert main(["train", "paper-tfd-stage2", "--dry-run"]) == 0
    assert "init_from: required" in capsys.readouterr().out
