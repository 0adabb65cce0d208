"""TFD is not openly available: the tests write small files in its format (MATLAB v5, as read by
pylearn2's TFD class) and read them back through the loader and a training run."""

import numpy as np
import pytest
import scipy.io
import torch

from advnets.config import load_config
from advnets.data.registry import get as dataset
from advnets.data.tfd import _read
from advnets.errors import DataError
from advnets.train.loop import train


def write_tfd(folder, n=60, seed=0, **overrides):
    rng = np.random.default_rng(seed)
    folds = np.zeros((n, 5), dtype=np.int32)
    folds[:, 0] = np.tile([0, 0, 0, 1, 2, 3], n // 6)  # fold 0: half unlabeled, then train, valid, test
    content = {"images": rng.integers(0, 256, (n, 48, 48), dtype=np.uint8), "folds": folds,
               "labs_ex": np.where(folds[:, :1] == 0, -1, rng.integers(1, 8, (n, 1))).astype(np.int32),
               **overrides}
    (folder / "tfd").mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(folder / "tfd" / "TFD_48x48.mat", content)
    _read.cache_clear()
    return content


def test_splits_follow_fold_0(tmp_path):
    content = write_tfd(tmp_path)
    train_x, train_y = dataset("tfd").load_pixels("train", str(tmp_path))
    valid_x, _ = dataset("tfd").load_pixels("valid", str(tmp_path))
    test_x, test_y = dataset("tfd").load_pixels("test", str(tmp_path))
    assert (len(train_x), len(valid_x), len(test_x)) == (30, 10, 10)
    assert train_x.dtype == np.uint8 and train_x.shape[1:] == (1, 48, 48)
    assert np.array_equal(train_x[:, 0], content["images"][content["folds"][:, 0] == 0])
    assert (train_y == -1).all() and ((1 <= test_y) & (test_y <= 7)).all()


@pytest.mark.parametrize("overrides, message", [
    ({"images": np.zeros((60, 32, 32), dtype=np.uint8)}, "images must be uint8 [N, 48, 48]"),
    ({"folds": np.zeros((59, 5))}, "folds must be [N, 5]"),
])
def test_wrong_contents_are_one_clear_error(tmp_path, overrides, message):
    write_tfd(tmp_path, **overrides)
    with pytest.raises(DataError, match=message.replace("[", r"\[").replace("]", r"\]")):
        dataset("tfd").load_pixels("train", str(tmp_path))


def test_missing_or_corrupt_file(tmp_path):
    with pytest.raises(DataError, match="never downloaded"):
        dataset("tfd").load_pixels("train", str(tmp_path))
    (tmp_path / "TFD_48x48.mat").write_bytes(b"not a matlab file")
    _read.cache_clear()
    with pytest.raises(DataError, match="not a readable MATLAB file"):
        dataset("tfd").load_pixels("train", str(tmp_path))


def test_paper_tfd_preset_trains_on_a_written_file(tmp_path):
    write_tfd(tmp_path / "data", n=120)
    cfg = load_config("paper-tfd", [f"data.dir={tmp_path / 'data'}", "generator.hidden=[64, 32]",
                                    "discriminator.hidden=[16, 16]", "train.batch_size=10", "train.steps=6",
                                    "train.log_every=3", "train.valid_every=3", "train.valid_samples=50",
                                    "train.sample_every=6", "train.checkpoint_every=6", "train.grid_size=4",
                                    "train.progress=false", "device=cpu"])
    result = train(cfg, tmp_path / "run")
    assert result.step == 6 and "parzen_valid" in result.last_stats
    from advnets.snapshot import load_snapshot

    snap = load_snapshot(result.run_dir)
    assert snap.generator.x_shape == (1, 48, 48)
    assert isinstance(snap.generator.hidden[3], torch.nn.Sigmoid)  # ReLU 8000, then sigmoid 8000 (bias -2 at start)
    for layer in [*snap.generator.modules(), *snap.discriminator.modules()]:  # max column norm held
        if isinstance(layer, torch.nn.Linear):
            assert layer.weight.norm(dim=1).max() <= 1.9365 + 1e-5


def test_stage_2_starts_from_the_stage_1_generator(tmp_path):
    """paper-tfd-stage2: a new ReLU / sigmoid-100 block in front of the stage-1 G (widths shrunk here)."""
    write_tfd(tmp_path / "data", n=120)
    small = [f"data.dir={tmp_path / 'data'}", "discriminator.hidden=[16, 16]", "train.batch_size=10",
             "train.steps=6", "train.log_every=3", "train.valid_every=0", "train.sample_every=6",
             "train.checkpoint_every=6", "train.grid_size=4", "train.progress=false", "device=cpu"]
    stage1 = train(load_config("paper-tfd", [*small, "generator.hidden=[64, 32]"]), tmp_path / "stage1")
    stage2_cfg = load_config("paper-tfd-stage2", [*small, "generator.hidden=[48, 100, 64, 32]",
                                                  f"generator.init_from={stage1.run_dir}"])
    assert stage2_cfg.generator.hidden_activations == ["relu", "sigmoid", "relu", "sigmoid"]
    from advnets.snapshot import load_snapshot
    from advnets.train import build_game, plan_training

    trained = load_snapshot(stage1.run_dir).generator
    game = build_game(plan_training(stage2_cfg))
    new, old = game.g.net, trained
    for a, b in zip([new.hidden[4], new.hidden[6], new.out], [old.hidden[0], old.hidden[2], old.out]):
        assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
    assert new.hidden[2].bias.eq(-2.0).all()  # the new sigmoid-100 layer starts at bias -2
    assert game.initialised_from["layers_copied"] == 3 and game.initialised_from["layers_new"] == 2
    result = train(stage2_cfg, tmp_path / "stage2")
    assert result.step == 6 and (result.run_dir / "init-from.json").is_file()
