"""Your own networks without editing advnets (advnets.plugins, advnets.models.plugin): registered from Python
or by an installed package's entry point, trained, resumed exactly, sampled; snapshots say where they came from."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

import advnets
from advnets import plugins
from advnets.cli import main
from advnets.config import load_config
from advnets.errors import CheckpointError, ConfigError
from advnets.snapshot import load_snapshot
from advnets.tensorfile import read_header
from advnets.train.checkpoint import load_training_state
from advnets.train.loop import train
from tests.conftest import REPO, TINY
from tests.image_files import write_shapes


class TinyConvG(nn.Module):
    """z (and a class label) -> a 3 x 16 x 16 image: a linear layer to 8 x 4 x 4, two transposed convolutions."""

    def __init__(self, request: advnets.NetworkRequest):
        super().__init__()
        self.n_classes = request.n_classes
        self.embed = nn.Embedding(max(request.n_classes, 1), request.z_dim)
        self.start = nn.Linear(request.z_dim, 8 * 4 * 4)
        self.up = nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(8, 8, 4, 2, 1), nn.ReLU(),
                                nn.ConvTranspose2d(8, request.x_shape[0], 4, 2, 1), nn.Sigmoid())

    def forward(self, z, c=None):
        if c is not None:
            z = z + self.embed(c)
        return self.up(self.start(z).view(len(z), 8, 4, 4))


class TinyConvD(nn.Module):
    def __init__(self, request: advnets.NetworkRequest):
        super().__init__()
        self.embed = nn.Embedding(max(request.n_classes, 1), 16)
        self.features = nn.Sequential(nn.Conv2d(request.x_shape[0], 8, 4, 2, 1), nn.LeakyReLU(0.2),
                                      nn.Conv2d(8, 16, 4, 2, 1), nn.LeakyReLU(0.2), nn.AdaptiveAvgPool2d(1),
                                      nn.Flatten())
        self.out = nn.Linear(16, 1)

    def forward(self, x, c=None):
        h = self.features(x)
        return self.out(h + self.embed(c) if c is not None else h)


@pytest.fixture
def registered():
    """TinyConvG / TinyConvD registered as "tiny-conv" for the test, unregistered after it."""
    advnets.register_generator("tiny-conv", TinyConvG)
    advnets.register_discriminator("tiny-conv", TinyConvD)
    yield
    plugins._GENERATORS.pop("tiny-conv", None)
    plugins._DISCRIMINATORS.pop("tiny-conv", None)


@pytest.fixture
def shapes(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return write_shapes(tmp_path)[0]


def _config(folder, *extra):
    return load_config("paper-mnist", [*TINY, "data.name=images", f"data.path={folder}", "generator.arch=tiny-conv",
                                       "discriminator.arch=tiny-conv", "data.conditional=true", "optim.name=adam",
                                       "optim.lr=0.001", "train.valid_samples=40", "train.ema_decay=0.9", *extra])


def test_registered_networks_train_resume_exactly_sample_and_say_where_they_came_from(registered, shapes, tmp_path):
    full = train(_config(shapes, "train.steps=20"), tmp_path / "full")
    train(_config(shapes, "train.steps=10"), tmp_path / "split")
    train(_config(shapes, "train.steps=20"), tmp_path / "split", resume=True)
    a, _ = load_training_state(full.run_dir)
    b, _ = load_training_state(tmp_path / "split")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    header = read_header(full.run_dir / "network-latest.safetensors")
    assert header["plugins"]["generator"]["module"] == __name__ and header["config"]["generator"]["arch"] == "tiny-conv"
    run = str(full.run_dir)
    assert main(["sample", run, "--n", "8", "--out", str(tmp_path / "s.npy")]) == 0
    assert main(["evaluate", run, "--metric", "parzen", "--n-samples", "100"]) == 0
    for kind in ("fig2", "fig3"):
        assert main(["figure", kind, run, "--out", str(tmp_path / f"{kind}.png")]) == 0
    assert main(["report", run]) == 0
    plugins._GENERATORS.pop("tiny-conv")  # where it is not registered, the snapshot says what to do
    with pytest.raises(CheckpointError, match=rf"arch 'tiny-conv', registered by the module {__name__}, which is not "
                                              "registered here"):
        load_snapshot(full.run_dir)


@pytest.mark.parametrize("factory, message", [
    (lambda request: "not a network", "its factory returned str, not a torch.nn.Module"),
    (lambda request: nn.Linear(request.z_dim, 7), r"given z \[2, 100\] it returned torch.float32 \[2, 7\]; it must "
                                                  r"return x \[2, 3, 16, 16\]"),
    (lambda request: 1 / 0, "its factory failed .ZeroDivisionError"),
])
def test_a_network_that_breaks_the_contract_is_one_line_before_anything_is_written(shapes, tmp_path, capsys, factory,
                                                                                     message):
    advnets.register_generator("broken", factory)
    try:
        with pytest.raises(ConfigError, match=message):
            train(load_config("paper-mnist", [*TINY, "data.name=images", f"data.path={shapes}",
                                              "generator.arch=broken"]), tmp_path / "run")
        assert not (tmp_path / "run").exists()
    finally:
        plugins._GENERATORS.pop("broken")


def test_names_are_checked_when_registered():
    with pytest.raises(ValueError, match="not a built-in one"):
        advnets.register_generator("mlp", TinyConvG)
    with pytest.raises(TypeError, match="needs a factory"):
        advnets.register_discriminator("x", "not callable")
    with pytest.raises(ConfigError, match="generator.arch: str 'nowhere' is not one of mlp, deconv"):
        load_config("paper-mnist", ["generator.arch=nowhere"])


PLUGIN = '''
from torch import nn


class Line(nn.Module):
    def __init__(self, request):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(request.z_dim, 16), nn.ReLU(), nn.Linear(16, request.x_shape[0]))

    def forward(self, z):
        return self.net(z)


def register():
    import advnets
    advnets.register_generator("demo-line", Line)
'''


def test_an_installed_packages_entry_point_registers_its_networks_for_the_command_line(tmp_path):
    """A package with an ``advnets.plugins`` entry point (here: its metadata on PYTHONPATH, as pip would install
    it) is seen by `advnets train --set generator.arch=NAME`, and its name and version go into the snapshot."""
    site = tmp_path / "site"
    (site / "demo_plugin-1.2.dist-info").mkdir(parents=True)
    (site / "demo_plugin.py").write_text(PLUGIN)
    (site / "demo_plugin-1.2.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: demo-plugin\n"
                                                                   "Version: 1.2\n")
    (site / "demo_plugin-1.2.dist-info" / "entry_points.txt").write_text("[advnets.plugins]\ndemo = demo_plugin:register\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO / "src")])}
    run = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "advnets", "train", "toy-ring", "--out", str(run), "--set",
                           "generator.arch=demo-line", "train.steps=20", "train.progress=false"], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    plugin = read_header(run / "network-latest.safetensors")["plugins"]["generator"]
    assert (plugin["distribution"], plugin["version"], plugin["module"]) == ("demo-plugin", "1.2", "demo_plugin")
    sample = subprocess.run([sys.executable, "-m", "advnets", "sample", str(run), "--n", "5", "--out",
                             str(tmp_path / "s.npy")], env=env, capture_output=True, text=True)
    assert sample.returncode == 0, sample.stderr
    without = subprocess.run([sys.executable, "-m", "advnets", "sample", str(run), "--n", "5", "--out",
                              str(tmp_path / "t.npy")], capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert without.returncode == 2 and "pip install demo-plugin" in without.stderr
    assert len(without.stderr.strip().splitlines()) == 1
    assert json.loads((run / "sessions.jsonl").read_text().splitlines()[0])["event"] == "start"


def test_the_networks_file_of_the_docs_trains(shapes, tmp_path):
    """docs/own-data.md's "Your networks in one file", run as written, then 10 updates on images with it."""
    text = (REPO / "docs" / "own-data.md").read_text()
    code = text.split("# my_nets.py\n", 1)[1].split("```", 1)[0]
    exec(compile(code, "my_nets.py", "exec"), {"__name__": "my_nets"})
    try:
        cfg = load_config("paper-mnist", [*TINY, "data.name=images", f"data.path={shapes}", "generator.arch=my-mlp",
                                          "discriminator.arch=my-mlp", "train.steps=10", "train.valid_every=0"])
        assert train(cfg, tmp_path / "run").step == 10
    finally:
        plugins._GENERATORS.pop("my-mlp", None)
        plugins._DISCRIMINATORS.pop("my-mlp", None)
