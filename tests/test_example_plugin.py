"""examples/plugin, installed as a user would (pip, its entry point), used from the command line alone: a
conditional model of coloured shapes from a folder with one sub-folder per class trains, resumes exactly,
samples, is evaluated (Parzen, and FID & co. in the plugin's features), drawn and reported; the same images
as an .npz train too."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from advnets.tensorfile import load_tensors, read_header
from tests.conftest import REPO
from tests.image_files import write_shapes


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The example package pip-installed into a folder of its own (offline: the build backend is the
    environment's setuptools); an environment whose Python finds it and advnets."""
    site, source = tmp_path_factory.mktemp("site"), tmp_path_factory.mktemp("source") / "plugin"
    shutil.copytree(REPO / "examples" / "plugin", source)  # (a build writes beside its sources: not in the repository)
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-build-isolation", "--no-deps",
                           "--disable-pip-version-check", "--target", str(site), str(source)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    cache = tmp_path_factory.mktemp("cache")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO / "src")]), "XDG_CACHE_HOME": str(cache)}


def advnets(env, *argv):
    done = subprocess.run([sys.executable, "-m", "advnets", *map(str, argv)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_example_plugin_from_the_command_line(installed, tmp_path):
    folder, npz = write_shapes(tmp_path, per_class=60, size=32)
    settings = ["data.name=images", f"data.path={folder}", "data.conditional=true", "generator.arch=shapes-conv",
                "discriminator.arch=shapes-conv", "optim.name=adam", "optim.lr=0.0002", "train.batch_size=48",
                "train.valid_samples=48", "train.log_every=25", "train.checkpoint_every=50", "train.progress=false"]
    full, split = tmp_path / "full", tmp_path / "split"
    advnets(installed, "train", "paper-mnist", "--out", full, "--set", *settings, "train.steps=100")
    advnets(installed, "train", "paper-mnist", "--out", split, "--set", *settings, "train.steps=50")
    advnets(installed, "train", "--resume", split, "--set", "train.steps=100")
    a, _ = load_tensors(full / "training-state.safetensors")  # (this process has not the plugin: the raw tensors)
    b, _ = load_tensors(split / "training-state.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)  # resumed exactly
    plugin = read_header(full / "network-latest.safetensors")["plugins"]["discriminator"]
    assert (plugin["distribution"], plugin["version"]) == ("advnets-shapes-plugin", "0.1.0")
    advnets(installed, "sample", full, "--n", "16", "--out", tmp_path / "samples.png")
    parzen = json.loads(advnets(installed, "evaluate", full, "--metric", "parzen", "--n-samples", "500"))
    features = json.loads(advnets(installed, "evaluate", full, "--metric", "features", "--features",
                                  "shapes-random-conv", "--n-samples", "500"))
    assert parzen["n_test"] == 24 and features["features"] == "shapes-random-conv" and features["fid"] > 0
    assert features["features_distribution"] == "advnets-shapes-plugin"
    for kind in ("fig2", "fig3", "classes"):
        advnets(installed, "figure", kind, full, "--out", tmp_path / f"{kind}.png")
    advnets(installed, "report", full)
    assert "shapes-random-conv" in (full / "report.html").read_text()
    advnets(installed, "train", "paper-mnist", "--out", tmp_path / "npz", "--set", *settings[2:], "data.name=images",
            f"data.path={npz}", "train.steps=20")  # the same images as one array, classes from its labels
    listed = advnets(installed, "presets")  # what the installed plugin brings, listed with the presets
    assert "generator.arch shapes-conv" in listed and "advnets-shapes-plugin 0.1.0" in listed
