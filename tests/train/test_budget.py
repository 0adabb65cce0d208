"""A run that cannot fit its data or its device is refused before anything is created: one line, exit
status 2, no run folder (sizes that used to end in an allocation traceback, some after the step-0
checkpoint was written)."""

import pytest

from advnets.cli import main
from advnets.errors import ConfigError
from advnets.train import plan_training
from advnets.train.loop import train
from tests.train.test_faults import one_error_line


@pytest.mark.parametrize("preset, overrides, message", [
    ("toy-ring", ["train.batch_size=1000000000"], r"this run needs about \d+\.\d TB of memory \(activations"),
    ("paper-mnist", ["generator.hidden=[100000,100000]"], r"this run needs about \d+\.\d GB of memory"),
    ("paper-mnist", ["generator.z_dim=1000000000"], r"this run needs about \d+\.\d TB of memory"),
    ("quick-mnist", ["train.batch_size=50001"], "train.batch_size 50001 exceeds the 50000 examples of MNIST's "
                                               "training split; choose at most 50000"),
])
def test_sizes_beyond_the_data_or_the_memory_are_refused_before_anything_is_created(
        preset, overrides, message, tmp_path, data_dir, capsys):
    import re

    out = tmp_path / "run"
    assert main(["train", preset, "--out", str(out), "--data-dir", str(data_dir), "--set", *overrides]) == 2
    assert re.search(message, one_error_line(capsys))
    assert not out.exists()
    cfg_args = [preset, [*overrides, f"data.dir={data_dir}"]]
    from advnets.config import load_config

    with pytest.raises(ConfigError):  # the library refuses it as early
        train(load_config(*cfg_args), tmp_path / "lib")
    assert not (tmp_path / "lib").exists()


def test_what_fits_trains_and_the_parts_add_up(tiny_mnist, monkeypatch):
    import advnets.train.budget as budget

    cfg = tiny_mnist()
    plan = plan_training(cfg)  # fits: planned
    parts = plan.budget.parts
    assert set(parts) == {"weights", "gradients and optimizer buffers", "activations", "data"}
    assert parts["data"] == 50_000 * (784 + 24) and parts["gradients and optimizer buffers"] == 2 * parts["weights"]
    assert plan.data.n_train == 50_000 and plan.budget.need == sum(parts.values())
    monkeypatch.setattr(budget, "available_memory", lambda device: sum(parts.values()) - 1)
    with pytest.raises(ConfigError, match="and cpu has .* available"):
        plan_training(cfg)
