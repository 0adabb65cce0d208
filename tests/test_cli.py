import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from advnets.cli import main
from tests.conftest import TINY


@pytest.fixture
def trained(tiny_mnist_run):
    return tiny_mnist_run


@pytest.mark.parametrize("command", [[], ["train"], ["sample"], ["evaluate"], ["figure"], ["presets"]])
def test_help_explains_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "usage: advnets" in out and "example" in out


def test_console_script_runs():
    result = subprocess.run([sys.executable, "-m", "advnets.cli", "presets"], capture_output=True, text=True)
    assert result.returncode == 0 and "paper-mnist" in result.stdout


def test_dry_run_prints_the_resolved_config_and_writes_nothing(tmp_path, capsys):
    assert main(["train", "paper-mnist", "--dry-run", "--out", str(tmp_path / "r"), "--set", "train.k=1", "seed=5"]) == 0
    out = capsys.readouterr().out
    assert "seed: 5" in out and "lr_decay: 1.000004" in out
    assert not (tmp_path / "r").exists()


def test_train_writes_a_complete_run_directory(trained, capsys):
    names = {p.name for p in trained.iterdir()}
    assert {"config.yaml", "stats.jsonl", "samples", "network-latest.safetensors",
            "training-state.safetensors", "sessions.jsonl"} <= names
    assert (trained / "samples" / "step-00000010.png").is_file()
    import json

    start, end = (json.loads(line) for line in (trained / "sessions.jsonl").read_text().splitlines())
    assert start["event"] == "start" and start["command"] and start["torch"] and start["cpu"] and start["threads"] >= 1
    assert end["event"] == "end" and end["how"] == "finished" and end["step"] == 10 and end["training_s"] > 0


def test_the_end_of_run_line_gives_the_average_speed_and_the_times(tmp_path, capsys):
    assert main(["train", "toy-ring", "--out", str(tmp_path / "r"), "--set", "train.steps=300", "train.log_every=200",
                 "train.progress=false"]) == 0
    import re

    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("done:"))
    match = re.search(r"; ([\d.]+) s of training \(([\d.]+) steps/s on average\), ([\d.]+) s for this command", line)
    assert match, line
    training, rate, command = map(float, match.groups())
    assert training > 0 and abs(rate - 300 / training) < 0.1 * rate + 1 and command >= training


def test_threads_auto_picks_one_for_small_updates_and_all_for_images(tmp_path, tiny_mnist, tiny_ring):
    import torch

    from advnets.config import load_config
    from advnets.train.budget import choose_threads

    assert choose_threads(load_config("toy-ring"), available=2) == (1, choose_threads(load_config("toy-ring"))[1])
    assert choose_threads(load_config("toy-1d"), available=2)[0] == 1
    assert choose_threads(load_config("paper-mnist"), available=2)[0] == 2
    assert choose_threads(load_config("paper-mnist", ["threads=1"]), available=2) == (1, "threads set in the config")
    assert load_config("paper-mnist", ["threads=auto"]).threads == 0
    before = torch.get_num_threads()
    assert main(["train", "toy-ring", "--out", str(tmp_path / "r"), "--set", "train.steps=5",
                 "train.progress=false"]) == 0
    assert torch.get_num_threads() == before  # put back after the run
    assert "1 thread (auto:" in (tmp_path / "r" / "log.txt").read_text()


def test_sample_npy_is_uint8_and_seeded_per_sample(trained, tmp_path, capsys):
    assert main(["sample", str(trained), "--n", "50", "--seed", "3", "--out", str(tmp_path / "a.npy")]) == 0
    assert main(["sample", str(trained), "--n", "7", "--seed", "3", "--out", str(tmp_path / "b.npy")]) == 0
    assert main(["sample", str(trained), "--n", "7", "--seed", "4", "--out", str(tmp_path / "c.npy")]) == 0
    a, b, c = (np.load(tmp_path / f"{x}.npy") for x in "abc")
    assert a.shape == (50, 1, 28, 28) and a.dtype == np.uint8
    np.testing.assert_array_equal(a[:7], b)  # sample i depends on (seed, i) only
    assert not np.array_equal(b, c)
    assert main(["sample", str(trained), "--n", "16", "--out", str(tmp_path / "g.png")]) == 0
    from PIL import Image

    assert Image.open(tmp_path / "g.png").size[0] > 4 * 28


@pytest.mark.parametrize("argv, message", [
    (["train", "paper-mnist", "--set", "train.stpes=3"], "unknown config key 'train.stpes'"),
    (["train", "paper-mnist", "--set", "optim.lr=fast"], "optim.lr: expected float, got str 'fast'"),
    (["train", "nonexistent-preset"], "neither a YAML file nor a preset"),
    (["train"], "give a preset or YAML file"),
    (["train", "--set", "train.steps=10", "quick-mnist"],  # --set took the preset: say so, and how to write it
     "--set took 'quick-mnist' as an override, but it has no '=': name the preset before --set, e.g. advnets train "
     "quick-mnist --set train.steps=10"),
    (["train", "--resume", "/nonexistent/run"], "is not a run directory"),
    (["sample", "/nonexistent/run", "--n", "3", "--out", "x.npy"], "does not exist"),
    (["train", "paper-mnist", "--set", "device=cuda:0"], None),  # no CUDA here, or trains: see below
])
def test_bad_input_is_one_line_and_status_2(argv, message, capsys, tmp_path):
    if message is None:
        import torch

        if torch.cuda.is_available():
            return
        argv, message = argv + ["--out", str(tmp_path / "r")], "PyTorch sees no CUDA device"
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("advnets: error: ") and message in err and err.count("\n") == 1


def test_sample_bad_inputs(trained, tmp_path, capsys):
    existing = tmp_path / "keep.npy"
    existing.write_bytes(b"user results")
    cases = [
        (["--n", "3", "--out", str(existing)], "already exists"),
        (["--n", "3", "--out", str(tmp_path / "x.jpg")], "must end in .npy or .png"),
        (["--n", "0", "--out", str(tmp_path / "x.npy")], "--n must be >= 1"),
    ]
    for extra, message in cases:
        assert main(["sample", str(trained), *extra]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    assert existing.read_bytes() == b"user results"
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\x00" * 100)
    assert main(["sample", str(corrupt), "--n", "3", "--out", str(tmp_path / "y.npy")]) == 2
    assert "not an advnets checkpoint" in capsys.readouterr().err


def test_missing_data_without_network_is_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    argv = ["train", "paper-mnist", "--out", str(tmp_path / "r"), "--data-dir", str(tmp_path / "empty"),
            "--set", "data.download=false", *TINY]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "MNIST file train-images-idx3-ubyte.gz not found" in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()  # the failed run leaves no empty run directory behind


def test_corrupt_data_file_exits_2(tmp_path, mnist_copy, capsys):
    (mnist_copy / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b\x08\x00truncated")
    argv = ["train", "paper-mnist", "--out", str(tmp_path / "r"), "--data-dir", str(mnist_copy), "--set", *TINY]
    assert main(argv) == 2
    assert "corrupt or truncated gzip" in capsys.readouterr().err


def test_evaluate_parzen_prints_and_appends_one_json_line(trained, capsys, data_dir):
    import json

    assert main(["evaluate", str(trained), "--metric", "parzen", "--n-samples", "50", "--seed", "1"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert {"mean", "se", "sigma", "valid_scores", "n_samples", "n_valid", "n_test", "dataset", "seed",
            "snapshot_sha256", "seconds"} <= set(row)
    assert (row["n_samples"], row["n_valid"], row["n_test"], row["dataset"]) == (50, 1000, 10000, "mnist")
    assert len(row["valid_scores"]) == 10 and row["se"] > 0
    assert f"{row['sigma']:.4f}" == max(row["valid_scores"], key=row["valid_scores"].get)  # chosen on validation
    lines = (trained / "metrics.jsonl").read_text().splitlines()
    assert json.loads(lines[-1]) == row
    assert main(["evaluate", str(trained), "--metric", "parzen", "--n-samples", "0"]) == 2


def test_evaluate_kmeans_baseline_runs_through_the_same_protocol(trained, capsys):
    import json

    assert main(["evaluate", str(trained), "--metric", "parzen", "--baseline", "kmeans", "--n-samples", "20"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["baseline"] == "kmeans" and row["n_samples"] == 20 and row["n_test"] == 10000
    assert 1 <= row["kmeans_iterations"] <= 20 and row["kmeans_inertia"] > 0
    assert main(["evaluate", str(trained), "--metric", "parzen", "--baseline", "train", "--n-samples", "60000"]) == 2
    assert "exceeds the 50000 training images" in capsys.readouterr().err


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("ring") / "run"
    assert main(["train", "toy-ring", "--out", str(run), "--set", "train.steps=40", "train.log_every=20",
                 "train.sample_every=40", "train.checkpoint_every=40", "train.progress=false", "device=cpu"]) == 0
    return run


def test_evaluate_modes_and_its_figure(ring_run, capsys, tmp_path):
    import json

    from PIL import Image

    assert main(["evaluate", str(ring_run), "--metric", "modes"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["metric"] == "modes" and row["n_samples"] == 2500 and row["total_modes"] == 8
    assert 0 <= row["modes"] <= 8 and 0 <= row["high_quality"] <= 100 and len(row["counts"]) == 8
    out = tmp_path / "modes.png"
    assert main(["figure", "modes", str(ring_run), "--out", str(out)]) == 0
    assert Image.open(out).size[0] > 300
    said = capsys.readouterr().out
    assert f"{row['modes']} of 8 modes captured" in said  # the figure's title says it too, and which are missed
    assert main(["figure", "modes", str(ring_run), "--out", str(out)]) == 2  # never overwritten silently
    assert "already exists" in capsys.readouterr().err
    assert main(["evaluate", str(ring_run), "--metric", "parzen"]) == 2
    assert "needs an image data set" in capsys.readouterr().err


def test_fig1_from_a_1d_run(tmp_path, capsys):
    from PIL import Image

    from advnets.train.rundir import PROBES_FILE, read_stats

    run = tmp_path / "t1"
    assert main(["train", "toy-1d", "--out", str(run), "--set", "train.steps=20", "train.k=2", "train.log_every=5",
                 "train.sample_every=5", "train.checkpoint_every=20", "train.progress=false", "device=cpu"]) == 0
    probes = read_stats(run, PROBES_FILE)
    assert [p["step"] for p in probes] == [5, 10, 15, 20]
    p = probes[-1]
    assert len(p["x"]) == len(p["p_g"]) == len(p["d"]) == len(p["d_star"]) and 0 <= p["jsd"] <= 0.6932
    assert 0 <= p["sup_gap"] <= 1 and len(p["z_lines"]) == len(p["x_lines"])
    out = tmp_path / "fig1.png"
    assert main(["figure", "fig1", str(run), "--out", str(out)]) == 0
    assert Image.open(out).size[0] > 600
    assert main(["figure", "fig1", str(run), "--steps", "5", "10", "15", "99", "--out", str(tmp_path / "b.png")]) == 2
    assert "no probe at step 99" in capsys.readouterr().err
    assert main(["figure", "fig1", str(tmp_path), "--out", str(tmp_path / "c.png")]) == 2
    assert "holds no probes.jsonl" in capsys.readouterr().err


def test_conditional_model_sample_evaluate_and_figure(tmp_path, data_dir, capsys, trained):
    import json

    run = tmp_path / "cond"
    assert main(["train", "cond-mnist", "--out", str(run), "--data-dir", str(data_dir),
                 "--set", *TINY, "train.steps=10", "train.valid_every=0"]) == 0
    out = tmp_path / "sevens.npy"
    assert main(["sample", str(run), "--n", "8", "--label", "7", "--out", str(out)]) == 0
    assert np.load(out).shape == (8, 1, 28, 28)
    assert main(["evaluate", str(run), "--metric", "classes", "--n-samples", "200"]) == 0
    row = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert row["metric"] == "classes" and len(row["per_class"]) == 10 and 0 <= row["agreement"] <= 1
    assert main(["figure", "classes", str(run), "--cols", "3", "--out", str(tmp_path / "c.png")]) == 0
    # bad requests: one line each
    assert main(["sample", str(run), "--n", "8", "--label", "10", "--out", str(tmp_path / "x.npy")]) == 2
    assert main(["sample", str(trained), "--n", "8", "--label", "1", "--out", str(tmp_path / "y.npy")]) == 2
    assert "unconditional generator" in capsys.readouterr().err
    assert main(["evaluate", str(trained), "--metric", "classes"]) == 2
    assert "needs a conditional model" in capsys.readouterr().err


def test_inpainting_commands_refuse_the_wrong_model_or_mask(trained, tmp_path, data_dir, capsys):
    run = tmp_path / "inpaint"
    assert main(["train", "inpaint-mnist", "--out", str(run), "--data-dir", str(data_dir), "--set", *TINY,
                 "train.steps=10"]) == 0
    assert main(["inpaint", str(run), "--mask", "right-half", "--n", "2", "--completions", "3",
                 "--out", str(tmp_path / "ok.png")]) == 0
    assert (tmp_path / "ok.png").is_file()
    capsys.readouterr()
    for argv, message in [
        (["inpaint", str(run), "--mask", "diagonal", "--out", str(tmp_path / "a.png")], "is not one of"),
        (["inpaint", str(run), "--mask", "random:0", "--out", str(tmp_path / "a.png")], "random:P needs"),
        (["inpaint", str(run), "--first", "9999", "--out", str(tmp_path / "a.png")], "--first 9999"),
        (["inpaint", str(trained), "--out", str(tmp_path / "a.png")], "needs an inpainting model"),
        (["sample", str(run), "--n", "4", "--out", str(tmp_path / "a.npy")], "is an inpainting model"),
        (["evaluate", str(run), "--metric", "parzen"], "is an inpainting model"),
        (["figure", "fig2", str(run), "--out", str(tmp_path / "a.png")], "is an inpainting model"),
        (["evaluate", str(trained), "--metric", "inpainting"], "needs an inpainting model"),
    ]:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (argv, err)
    assert not (tmp_path / "a.png").exists() and not (tmp_path / "a.npy").exists()


@pytest.mark.parametrize("argv, message", [
    (["sample", "RUN", "--n", "ten", "--out", "x.npy"], "--n must be a whole number, got 'ten'"),
    (["figure", "fig2", "RUN", "--rows", "0", "--out", "x.png"], "--rows must be >= 1, got 0"),
    (["figure", "fig2", "RUN", "--out", "x.jpg"], "--out must end in .png or .gif (got x.jpg)"),
    (["infer", "RUN", "--lr", "-1"], "--lr must be > 0, got -1"),
    (["inpaint", "RUN", "--first", "-2", "--out", "x.png"], "--first must be >= 0, got -2"),
    (["evaluate", "RUN", "--metric", "parzen", "--mask", "corner"], "--mask: 'corner' is not one of"),
    (["evaluate", "RUN"], "the following arguments are required: --metric"),
    (["report", "RUN", "--out", "r.txt"], "--out must end in .html (got r.txt)"),
])
def test_arguments_are_checked_before_anything_runs(argv, message, capsys):
    """Argument types refuse a bad value at parse time: one line naming the option, exit status 2,
    and nothing loaded (RUN does not exist) or written."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("advnets: error: ") and message in err and err.count("\n") == 1, err
    assert f"see advnets {argv[0]} --help" in err


def test_listing_commands_and_presets_does_not_load_pytorch():
    """Only the command being run has its arguments built, so `advnets --help` and `advnets presets`
    (and `import advnets.config`) answer without importing PyTorch."""
    code = ("import sys; from advnets.cli import main; import advnets.config; main(['presets']); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and "paper-mnist" in result.stdout, result.stderr


@pytest.mark.parametrize("argv, message", [
    (["train", "paper-mnist", "--set", "train.stpes=3"], "unknown config key 'train.stpes'"),
    (["train", "paper-mnist", "--set", "optim.lr=fast"], "optim.lr: expected float"),
    (["train", "--set", "train.steps=3", "paper-mnist"], "--set took 'paper-mnist' as an override"),
])
def test_a_config_typo_is_refused_before_pytorch_loads(argv, message):
    """Seconds on a busy machine: a typo in a key or a value needs no PyTorch to be found."""
    code = (f"import sys; from advnets.cli import main; status = main({argv!r}); "
            "assert 'torch' not in sys.modules, 'torch was imported'; sys.exit(status)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 2 and message in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_python_dash_m_advnets_is_the_same_command_line():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "advnets", "presets"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "paper-mnist" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "advnets", "train", "no-such-preset"], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_the_command_line_shortens_openmp_spinning_unless_the_user_chose(monkeypatch):
    """GOMP_SPINCOUNT before PyTorch loads (long-spinning threads fight other processes for the cores); a
    wait policy or spin count the user set is kept."""
    from advnets import cli

    for user_set in ({}, {"OMP_WAIT_POLICY": "ACTIVE"}, {"GOMP_SPINCOUNT": "INFINITY"}):
        monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
        monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
        for key, value in user_set.items():
            monkeypatch.setenv(key, value)
        cli.shorten_openmp_spinning()
        expected = user_set.get("GOMP_SPINCOUNT", None if user_set else cli.SHORT_OPENMP_SPIN)
        assert os.environ.get("GOMP_SPINCOUNT") == expected and os.environ.get("OMP_WAIT_POLICY") == \
            user_set.get("OMP_WAIT_POLICY")


def test_the_console_script_sets_the_spin_count_before_pytorch_loads():
    """`python -m advnets` (what the console script runs) has the spin count in its environment when torch is
    first imported."""
    code = ("import os, sys, runpy, builtins\n"
            "sys.argv = ['advnets', 'train', 'toy-1d', '--out', sys.argv[1], '--set', 'train.steps=1']\n"
            "real = builtins.__import__\n"
            "def spy(name, *a, **k):\n"
            "    if name == 'torch' and 'torch' not in sys.modules:\n"
            "        print('spin count at torch import:', os.environ.get('GOMP_SPINCOUNT'))\n"
            "    return real(name, *a, **k)\n"
            "builtins.__import__ = spy\n"
            "runpy.run_module('advnets', run_name='__main__')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", code, str(Path(tmp) / "run")], capture_output=True, text=True,
                             env=env)
    assert "spin count at torch import: 3000" in out.stdout, out.stdout + out.stderr
