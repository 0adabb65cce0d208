"""A run resolved once (train/plan.py): what the plan holds, that a command resolves the data set once and reads
your images once, and that every refusal comes before anything is created."""

import dataclasses

import numpy as np
import pytest
import torch

from advnets.cli import main
from advnets.config import load_config
from advnets.data import images as own
from advnets.data import registry
from advnets.errors import ConfigError
from advnets.train import plan_training
from advnets.train.budget import choose_threads
from advnets.train.rules import StepRules
from tests.conftest import TINY
from tests.image_files import write_shapes


def test_the_plan_holds_the_resolved_run_and_leaves_the_config_as_given(tiny_mnist):
    cfg = tiny_mnist("data.conditional=true", "train.ema_decay=0.9")
    plan = plan_training(cfg)
    assert plan.cfg == cfg and not plan.resume  # MNIST: nothing recorded in the config
    assert plan.data.x_shape == (1, 28, 28) and plan.data.n_classes == 10 and plan.data.n_train == 50_000
    assert plan.data.title == "MNIST" and plan.data.config is cfg.data
    assert plan.device == torch.device("cpu") and plan.local_batch == cfg.train.batch_size
    assert plan.condition.kind == "class" and plan.condition.n_classes == 10
    assert plan.rules == StepRules.from_config(cfg, cfg.train.batch_size)
    assert plan.threads == choose_threads(cfg)
    assert plan.sizes.weights > plan.sizes.trained > 0  # G's average is kept, not trained
    # frozen, and free of tensors and arrays (pixels go straight to the training source)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.device = torch.device("meta")
    values = [getattr(plan, f.name) for f in dataclasses.fields(plan)] + [plan.data.n_train, plan.data.spec]
    assert not any(isinstance(v, (torch.Tensor, np.ndarray)) for v in values)


@pytest.fixture
def shapes(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    own._DECODED.clear()
    return write_shapes(tmp_path, per_class=10)[0]


def test_one_train_command_resolves_the_data_set_once_and_walks_your_images_once(shapes, tmp_path, monkeypatch):
    calls = {"for_config": 0, "image_files": 0}

    def counted(name, real):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(registry, "for_config", counted("for_config", registry.for_config))
    monkeypatch.setattr(own, "image_files", counted("image_files", own.image_files))
    argv = ["train", "paper-mnist", "--out", str(tmp_path / "run"), "--set", *TINY, "data.name=images",
            f"data.path={shapes}", "data.conditional=true", "train.steps=2", "train.valid_every=5",
            "train.valid_samples=20", "train.log_every=5"]
    assert main(argv) == 0
    assert calls == {"for_config": 1, "image_files": 1}  # the training and validation splits from one read
    calls.update(for_config=0, image_files=0)
    assert main(["train", "--resume", str(tmp_path / "run"), "--set", "train.steps=4"]) == 0
    # a resumed run checks its images once; the training state's file is checked against the networks of the
    # config in its own header (advnets.snapshot.file_ceiling: their sizes), which resolves that config's data set
    assert calls == {"for_config": 2, "image_files": 1}


def test_a_new_run_reads_your_images_afresh_and_a_resumed_one_keeps_its_record(shapes):
    cfg = load_config("paper-mnist", [*TINY, "data.name=images", f"data.path={shapes}"])
    plan = plan_training(cfg)
    assert plan.cfg.data.found.files == 40 and plan.data.x_shape == (3, 16, 16)
    stale = dataclasses.replace(cfg, data=dataclasses.replace(plan.cfg.data, found=dataclasses.replace(
        plan.cfg.data.found, files=7, sha256="0" * 64)))  # another run's record, copied in with its config.yaml
    assert plan_training(stale).cfg.data.found == plan.cfg.data.found  # a new run: read afresh
    resumed = plan_training(plan.cfg, resume=True)
    assert resumed.cfg.data.found == plan.cfg.data.found and resumed.resume  # a resumed run keeps its record ...
    with pytest.raises(ConfigError, match="not those this run was trained on"):  # ... and its images must match it
        plan_training(stale, resume=True)


@pytest.mark.parametrize("extra, message", [
    (["device=cuda"], "PyTorch sees no CUDA device"),
    (["generator.init_from=required"], "generator.init_from: this config starts from a trained generator"),
    (["train.batch_size=50001"], "exceeds the 50000 examples of MNIST's training split"),
    (["generator.hidden=[100000,100000]"], "this run needs about"),
])
def test_every_refusal_comes_from_the_plan_before_anything_is_created(extra, message, tiny_mnist, tmp_path):
    if extra == ["device=cuda"] and torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    cfg = tiny_mnist(*extra)
    with pytest.raises(ConfigError, match=message):
        plan_training(cfg)
    assert main(["train", "paper-mnist", "--out", str(tmp_path / "run"), "--set", *TINY,
                 f"data.dir={cfg.data.dir}", *extra]) == 2
    assert not (tmp_path / "run").exists()
