import json

import pytest
import torch

from advnets.errors import CheckpointError
from advnets.fileio import atomic_write_bytes
from advnets.snapshot import LATEST_SNAPSHOT, load_snapshot
from advnets.tensorfile import read_header
from advnets.train.checkpoint import TRAINING_STATE
from advnets.train.loop import train


@pytest.fixture(scope="module")
def run(tmp_path_factory, data_dir):
    from advnets.config import load_config
    from tests.conftest import TINY

    cfg = load_config("paper-mnist", [*TINY, f"data.dir={data_dir}", "train.steps=10"])
    return train(cfg, tmp_path_factory.mktemp("run")).run_dir


def test_snapshot_round_trip(run):
    snap = load_snapshot(run)
    assert snap.step == 10 and snap.config.generator.hidden == [32]
    assert not snap.generator.training and not snap.discriminator.training
    from_file = load_snapshot(run / LATEST_SNAPSHOT)
    for a, b in zip(snap.generator.parameters(), from_file.generator.parameters()):
        assert torch.equal(a, b)
    # a training state holds the networks too, so it can be sampled from directly
    assert load_snapshot(run / TRAINING_STATE).step == 10


def test_checkpoints_are_safetensors_not_pickles(run):
    for name in (LATEST_SNAPSHOT, TRAINING_STATE):
        data = (run / name).read_bytes()
        n = int.from_bytes(data[:8], "little")
        header = json.loads(data[8 : 8 + n])  # plain JSON header, then raw tensor bytes
        assert "__metadata__" in header and b"\x80\x04" not in data[:2]  # no pickle protocol marker
    assert read_header(run / LATEST_SNAPSHOT)["format"] == "advnets-network-snapshot/1"


def test_bad_snapshots_give_clear_errors(tmp_path, run):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_snapshot(tmp_path / "nope.safetensors")
    with pytest.raises(CheckpointError, match="holds no network snapshot"):
        load_snapshot(tmp_path)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"garbage" * 10)
    with pytest.raises(CheckpointError, match="not an advnets checkpoint"):
        load_snapshot(bad)
    truncated = tmp_path / "trunc.safetensors"
    truncated.write_bytes((run / LATEST_SNAPSHOT).read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="not an advnets checkpoint"):
        load_snapshot(truncated)


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"old")

    with pytest.raises(TypeError):
        atomic_write_bytes(target, object())  # fails mid-write
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_numbered_snapshots_do_not_wait_for_a_checkpoint_step(tiny_ring, tmp_path):
    run = train(tiny_ring("train.steps=12", "train.checkpoint_every=10", "train.snapshot_every=4"), tmp_path / "r")
    names = sorted(p.name for p in run.run_dir.glob("network-0*.safetensors"))
    assert names == ["network-00000004.safetensors", "network-00000008.safetensors", "network-00000012.safetensors"]
    assert load_snapshot(run.run_dir / names[0]).step == 4


@pytest.mark.parametrize("field, value, message", [
    ("step", -5, "impossible step"),
    ("step", 10**30, "impossible step"),
    ("step", 11, "step 11 beyond train.steps=10"),
    ("data", {"batches_drawn": -1}, "data.batches_drawn -1"),
    ("lr_scale", 0, "lr_scale 0"),
    ("lr_scale", 2.0, "lr_scale 2.0"),
    ("x_shape", [3, 3], r"impossible example shape \(\[3, 3\]; its data set 'mnist' has \[1, 28, 28\]\)"),
    ("d_updates", -1, "update counts -1"),
    ("elapsed_s", -1.0, "elapsed_s -1.0"),
    ("rollbacks", -2, "rollbacks -2"),
])
def test_a_training_state_with_impossible_values_is_refused(run, tmp_path, capsys, field, value, message):
    """Values no run writes (crafted or damaged, with a valid checksum) are refused on load, in one line."""
    import shutil

    from advnets.cli import main
    from advnets.tensorfile import load_tensors, save_tensors

    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    tensors, header = load_tensors(copy / TRAINING_STATE)
    header[field] = value
    save_tensors(copy / TRAINING_STATE, tensors, header)
    assert main(["train", "--resume", str(copy), "--set", "train.steps=20"]) == 2
    err = capsys.readouterr().err
    import re

    assert err.count("\n") == 1 and re.search(message, err), err
    if field in ("step", "x_shape"):  # a snapshot's own header is checked the same way
        tensors, header = load_tensors(copy / LATEST_SNAPSHOT)
        header[field] = value
        save_tensors(copy / LATEST_SNAPSHOT, tensors, header)
        if field == "step" and value == 11:
            return  # (a snapshot carries no limit on its step)
        with pytest.raises(CheckpointError, match=message.split(" beyond")[0]):
            load_snapshot(copy / LATEST_SNAPSHOT)
