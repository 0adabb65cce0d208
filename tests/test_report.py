"""The report renders in a real browser: headless Chromium (Debian's `chromium`, installed by .ci/run)."""

import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from advnets.cli import main


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.fail("headless Chromium not found: install Debian's chromium package (.ci/run does)")


def test_report_renders_with_all_images(tiny_mnist_run, data_dir, tmp_path):
    out = tmp_path / "report.html"
    assert main(["report", str(tiny_mnist_run), "--data-dir", str(data_dir), "--out", str(out)]) == 0
    page = out.read_text()
    assert page.count("data:image/png;base64,") >= 4  # curves, fig2, fig3, latest grid: all embedded
    assert "src=\"http" not in page and "<link" not in page  # self-contained
    browser = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run([*browser, "--dump-dom", out.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert 'data-images-loaded="all"' in dom  # every <img> decoded (set by the page on load)
    shot = tmp_path / "shot.png"
    subprocess.run([*browser, f"--screenshot={shot}", "--window-size=1200,3000", out.as_uri()],
                   capture_output=True, timeout=120, check=True)
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert pixels.std() > 20  # not a blank page
    # matplotlib's first line colour (tab:blue, the D loss and D(x) curves) is on screen: the figures drew
    blue = (np.abs(pixels - [31, 119, 180]).sum(-1) < 30).sum()
    assert blue > 100  # (a few hundred on a tiny run; none when the figures did not draw)


def test_report_of_a_non_run_is_one_error_line(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "is not a run directory" in capsys.readouterr().err


def test_the_report_lists_only_the_config_keys_that_apply():
    from advnets.config import load_config, to_dict
    from advnets.report import applicable_config

    mnist = applicable_config(to_dict(load_config("paper-mnist")))["data"]
    assert "radius" not in mnist and "masks" not in mnist and "dir" in mnist
    assert "masks" in applicable_config(to_dict(load_config("inpaint-mnist")))["data"]
    ring = applicable_config(to_dict(load_config("toy-ring")))["data"]
    assert "radius" in ring and "dir" not in ring and "masks" not in ring
    adam_mlp = applicable_config(to_dict(load_config("fast-mnist")))  # an Adam run of fully connected networks
    assert "momentum" not in adam_mlp["optim"] and "betas" in adam_mlp["optim"] and "inference" not in adam_mlp
    assert "kernel" not in adam_mlp["generator"] and "conv" not in adam_mlp["discriminator"]
    sgd = applicable_config(to_dict(load_config("paper-mnist")))
    assert "momentum" in sgd["optim"] and "betas" not in sgd["optim"] and "lr_min" in sgd["optim"]
    conv = applicable_config(to_dict(load_config("paper-cifar10-conv")))
    assert "kernel" in conv["generator"] and "conv" in conv["discriminator"]


def test_the_report_says_how_the_run_was_made_and_shows_the_classes_and_the_live_g(tiny_mnist_run, data_dir,
                                                                                tmp_path):
    """Command line, versions, CPU and threads, how each session ended; the class histogram beside the
    progress grid; Figure 2 for the live G beside its moving average."""
    run = tmp_path / "run"
    assert main(["train", "paper-mnist", "--out", str(run), "--data-dir", str(data_dir), "--set",
                 "generator.hidden=[32]", "discriminator.hidden=[16]", "discriminator.pieces=2", "train.batch_size=20",
                 "train.steps=10", "train.log_every=5", "train.progress=false", "train.ema_decay=0.9"]) == 0
    assert main(["evaluate", str(run), "--metric", "mnistclf-features", "--n-samples", "300",
                 "--data-dir", str(data_dir)]) == 0
    assert main(["report", str(run), "--data-dir", str(data_dir)]) == 0
    page = (run / "report.html").read_text()
    for text in ("Training sessions", "finished at step 10", "torch", "threads", "2.13" if "2.13" in
                 __import__("torch").__version__ else "torch", "Figure 2 for the live G", "alt=\"class histogram\"",
                 "the classes of G"):
        assert text in page, text


def test_an_mnist_report_puts_the_run_beside_the_reference_generators(tiny_mnist_run, data_dir, tmp_path):
    from advnets.metrics import references

    run = tmp_path / "run"
    shutil.copytree(tiny_mnist_run, run)
    assert main(["evaluate", str(run), "--metric", "parzen", "--n-samples", "200", "--data-dir", str(data_dir)]) == 0
    out = tmp_path / "report.html"
    assert main(["report", str(run), "--data-dir", str(data_dir), "--out", str(out)]) == 0
    page = out.read_text()
    assert "Where this run stands (MNIST)" in page and "this run (latest rows of metrics.jsonl, step 10)" in page
    for row in references.reference_rows():
        assert row["what"] in page.replace("&#x27;", "'")
    assert "225 ± 2" in page and "328.8 ± 5.5" in page
