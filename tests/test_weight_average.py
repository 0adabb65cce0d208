import pytest
import torch

from advnets.cli import main
from advnets.errors import CheckpointError
from advnets.snapshot import load_snapshot
from advnets.tensorfile import read_header
from advnets.train.loop import train
from advnets.weight_average import average_snapshots


@pytest.fixture(scope="module")
def run_with_snapshots(tmp_path_factory, data_dir):
    from advnets.config import load_config
    from tests.conftest import TINY

    cfg = load_config("paper-mnist", [*TINY, f"data.dir={data_dir}", "train.steps=20", "train.snapshot_every=10",
                                      "train.ema_decay=0.9"])
    return train(cfg, tmp_path_factory.mktemp("avg") / "run").run_dir


def _files(run):
    return [run / "network-00000010.safetensors", run / "network-00000020.safetensors"]


def test_the_average_is_the_mean_of_the_weights_and_names_its_sources(run_with_snapshots, tmp_path):
    files = _files(run_with_snapshots)
    out = tmp_path / "avg.safetensors"
    assert main(["average", *map(str, files), "--out", str(out), "--generator", "live"]) == 0
    a, b = (load_snapshot(f, variant="live").generator.state_dict() for f in files)
    averaged = load_snapshot(out)
    assert averaged.discriminator is None and averaged.variant == "live" and averaged.step == 20
    for name, tensor in averaged.generator.state_dict().items():
        torch.testing.assert_close(tensor, (a[name] + b[name]) / 2)
    sources = read_header(out)["averaged_from"]
    assert [s["step"] for s in sources] == [10, 20] and all(len(s["sha256"]) == 64 for s in sources)
    # auto picks the moving average, which differs from the live G's mean
    assert main(["average", *map(str, files), "--out", str(tmp_path / "ema.safetensors")]) == 0
    ema = load_snapshot(tmp_path / "ema.safetensors")
    assert ema.variant == "ema"
    assert not torch.equal(ema.generator.state_dict()[name], averaged.generator.state_dict()[name])


def test_bad_averages_are_one_line_errors_and_nothing_is_overwritten(run_with_snapshots, tmp_path, capsys):
    files = list(map(str, _files(run_with_snapshots)))
    out = tmp_path / "avg.safetensors"
    out.write_bytes(b"mine")
    assert main(["average", *files, "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err and out.read_bytes() == b"mine"
    assert main(["average", files[0], "--out", str(tmp_path / "one.safetensors")]) == 2
    assert "at least two snapshots" in capsys.readouterr().err
    assert main(["average", *files, "--out", str(tmp_path / "avg.npy")]) == 2
    assert "must end in .safetensors" in capsys.readouterr().err
    exported = tmp_path / "live.safetensors"
    assert main(["export", files[0], "--generator", "live", "--out", str(exported)]) == 0
    with pytest.raises(CheckpointError, match="average one kind"):
        average_snapshots([files[0], exported])  # the moving average of one, the live G of the other


def test_generators_of_different_shapes_are_refused(run_with_snapshots, tiny_mnist, tmp_path):
    narrower = train(tiny_mnist("generator.hidden=[16]", "train.steps=10"), tmp_path / "narrow").run_dir
    with pytest.raises(CheckpointError, match="different generators"):
        average_snapshots([_files(run_with_snapshots)[0], narrower], variant="live")


def test_validate_prints_the_validation_score_and_refuses_toy_data(run_with_snapshots, tiny_ring, tmp_path, capsys):
    files = list(map(str, _files(run_with_snapshots)))
    assert main(["average", *files, "--validate", "--out", str(tmp_path / "v.safetensors")]) == 0
    assert "validation Parzen: " in capsys.readouterr().out
    ring = train(tiny_ring("train.steps=10", "train.snapshot_every=5"), tmp_path / "ring").run_dir
    pair = [str(ring / "network-00000005.safetensors"), str(ring / "network-00000010.safetensors")]
    assert main(["average", *pair, "--validate", "--out", str(tmp_path / "r.safetensors")]) == 2
    assert "--validate needs an image data set" in capsys.readouterr().err
    assert not (tmp_path / "r.safetensors").exists()
