"""The CIFAR-10 presets end to end on small files in the official format (tests/cifar_files.py): the
paper's two models shrunk in width only, trained, resumed exactly, sampled, evaluated in the
contrast-normalised space, drawn (colour grids, Figure 2's neighbours), reported, and conditional."""

import numpy as np
import pytest
import torch
from PIL import Image

from advnets.cli import main
from advnets.config import load_config
from advnets.data import preprocess
from advnets.train.checkpoint import load_training_state
from advnets.train.loop import train
from tests.conftest import TINY_CONV

# The preset's every setting except widths: its kernels, paddings, pools, strides, dropout, optimizer.
NARROW = {"paper-cifar10-conv": TINY_CONV, "paper-cifar10-fc": ["generator.hidden=[32, 32]", "discriminator.hidden=[16, 16]"]}
SMALL_RUN = ["train.batch_size=32", "train.log_every=5", "train.sample_every=10", "train.checkpoint_every=5",
             "train.grid_size=16", "train.progress=false", "train.valid_every=5", "train.valid_samples=50",
             "device=cpu"]


def _config(preset, cifar_dir, *extra):
    return load_config(preset, [*NARROW[preset], *SMALL_RUN, f"data.dir={cifar_dir}", "data.download=false", *extra])


@pytest.mark.parametrize("preset", ["paper-cifar10-conv", "paper-cifar10-fc"])
def test_cifar_presets_train_and_resume_exactly(preset, cifar_dir, tmp_path):
    full = train(_config(preset, cifar_dir, "train.steps=10"), tmp_path / "full")
    train(_config(preset, cifar_dir, "train.steps=5"), tmp_path / "split")
    resumed = train(_config(preset, cifar_dir, "train.steps=10"), tmp_path / "split", resume=True)
    a, b = load_training_state(full.run_dir)[0], load_training_state(resumed.run_dir)[0]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)  # bit-identical
    grid = np.asarray(Image.open(tmp_path / "full" / "samples" / "step-00000010.png"))
    assert grid.ndim == 3 and grid.shape[2] == 3  # a colour grid
    assert (tmp_path / "full" / "network-best.safetensors").is_file()  # selected on validation


@pytest.fixture(scope="module")
def conv_run(cifar_dir, tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "conv"
    train(_config("paper-cifar10-conv", cifar_dir, "train.steps=10"), run)
    return run


def test_sampling_and_figures_show_pixels_and_neighbours_come_from_the_normalised_space(conv_run, cifar_dir, tmp_path):
    assert main(["sample", str(conv_run), "--n", "8", "--out", str(tmp_path / "s.npy")]) == 0
    values = np.load(tmp_path / "s.npy")
    assert values.dtype == np.float32 and values.shape == (8, 3, 32, 32)  # as modelled, not squeezed into pixels
    assert main(["sample", str(conv_run), "--n", "8", "--out", str(tmp_path / "s.png")]) == 0
    assert main(["figure", "fig2", str(conv_run), "--out", str(tmp_path / "fig2.png")]) == 0
    assert main(["figure", "fig3", str(conv_run), "--out", str(tmp_path / "fig3.png")]) == 0
    for name in ("s.png", "fig2.png", "fig3.png"):
        assert np.asarray(Image.open(tmp_path / name)).shape[2] in (3, 4)  # colour


def test_fig2_neighbour_is_the_nearest_in_the_normalised_space(conv_run, cifar_dir):
    """The neighbour fig2 shows is the nearest training image after GCN (what the model sees), which is
    not in general the nearest in raw pixels."""
    from advnets.metrics.nearest import nearest_rows
    from advnets.sampling import generate
    from advnets.snapshot import load_snapshot

    snap = load_snapshot(conv_run)
    train_x, _ = preprocess.load_images(snap.config.data, "train")
    pixels, _ = preprocess.load_images(load_config("paper-mnist", ["data.name=cifar10", f"data.dir={cifar_dir}"]).data,
                                       "train")
    x = generate(snap.generator, 20, seed=0)
    in_model_space = nearest_rows(x.reshape(20, -1), train_x.reshape(len(train_x), -1))[0]
    in_pixels = nearest_rows(preprocess.Preprocessing("gcn").to_display(x).reshape(20, -1),
                             pixels.reshape(len(pixels), -1))[0]
    assert not torch.equal(in_model_space, in_pixels)


def test_parzen_and_report_on_a_cifar_model(conv_run, tmp_path, capsys):
    assert main(["evaluate", str(conv_run), "--metric", "parzen", "--n-samples", "50"]) == 0
    out = capsys.readouterr().out
    assert "parzen" in out
    assert main(["report", str(conv_run), "--out", str(tmp_path / "report.html")]) == 0
    assert "<img" in (tmp_path / "report.html").read_text()


def test_conditional_conv_model_draws_one_row_per_class(cifar_dir, tmp_path):
    run = tmp_path / "cond"
    train(_config("paper-cifar10-conv", cifar_dir, "train.steps=5", "data.conditional=true"), run)
    assert main(["figure", "classes", str(run), "--out", str(tmp_path / "classes.png")]) == 0


def test_inpainting_conv_model_on_pixels(data_dir, tmp_path):
    """Inpainting with the convolutional networks (the mask enters D as channels), on MNIST pixels;
    with contrast normalisation it is refused (the observed pixels' values depend on the hidden ones)."""
    cfg = load_config("conv-mnist", [f"data.dir={data_dir}", "data.inpainting=true", "train.valid_every=0",
                                     "train.steps=3", "train.batch_size=20", "train.log_every=1", "train.progress=false",
                                     "train.sample_every=3", "train.checkpoint_every=3", "train.grid_size=4",
                                     "device=cpu"])
    run = train(cfg, tmp_path / "inpaint")
    assert main(["figure", "inpaint", str(run.run_dir), "--out", str(tmp_path / "inpaint.png"), "--rows", "2"]) == 0
    with pytest.raises(Exception, match="data.inpainting: must be false with data.preprocess gcn"):
        load_config("paper-cifar10-conv", ["data.inpainting=true"])
