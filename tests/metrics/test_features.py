"""--metric features: the classifier-feature metrics in a registered feature network's features, on any data."""

import json
import shutil

import pytest
import torch

import advnets
from advnets import plugins
from advnets.cli import main
from advnets.train.loop import train
from advnets.config import load_config
from tests.conftest import TINY
from tests.image_files import write_shapes


def test_the_shipped_classifier_registered_as_features_gives_mnistclf_features_numbers(tmp_path, data_dir, capsys):
    shipped = tmp_path / "shipped"
    shutil.copytree("pretrained/mnist-paper", shipped)
    common = ["--n-samples", "1000", "--data-dir", str(data_dir)]
    assert main(["evaluate", str(shipped), "--metric", "mnistclf-features", *common]) == 0
    mnistclf = json.loads(capsys.readouterr().out)
    assert main(["evaluate", str(shipped), "--metric", "features", "--features", "mnistclf", *common]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["features"] == "mnistclf" and row["features_module"] == "advnets.metrics.feature_networks"
    for key in ("fid", "kid", "precision", "recall", "density", "coverage"):
        suffix = "_mnistclf" if key in ("fid", "kid") else ""
        assert row[key] == pytest.approx(mnistclf[key + suffix], rel=1e-9), key  # the same features, samples, seed


class Pooled(torch.nn.Module):
    """A fixed random feature network for small RGB images: a convolution, ReLU, a global average."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 16, 3)
        torch.nn.init.normal_(self.conv.weight, generator=torch.Generator().manual_seed(0))

    def forward(self, x):
        return torch.relu(self.conv(x)).mean(dim=(2, 3))


def test_any_image_data_with_its_own_feature_network(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder, _ = write_shapes(tmp_path)
    run = train(load_config("paper-mnist", [*TINY, "data.name=images", f"data.path={folder}", "train.steps=10",
                                            "train.valid_every=0"]), tmp_path / "run").run_dir
    advnets.register_features("pooled", Pooled)
    try:
        assert main(["evaluate", str(run), "--metric", "features", "--features", "pooled", "--n-samples", "100"]) == 0
        row = json.loads(capsys.readouterr().out)
        assert row["fid"] > 0 and 0 <= row["recall"] <= 1 and row["features"] == "pooled" and row["n_test"] == 20
        for argv, message in ((["--features", "mnistclf"], "--features mnistclf does not read these images"),
                              (["--features", "nowhere"], "--features nowhere: no such feature network"),
                              ([], "--metric features needs --features NAME")):
            assert main(["evaluate", str(run), "--metric", "features", "--n-samples", "100", *argv]) == 2
            err = capsys.readouterr().err
            assert message in err and len(err.strip().splitlines()) == 1
    finally:
        plugins._FEATURES.pop("pooled")
