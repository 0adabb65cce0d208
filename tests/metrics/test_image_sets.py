"""Images from anywhere: advnets evaluate on folders and arrays, against data sets' splits, folders and saved
statistics (advnets reference-stats); the Python API; the warnings a number needs."""

import json

import numpy as np
import pytest
import torch

from advnets import metrics as api
from advnets.cli import main
from advnets.data import registry
from advnets.metrics import image_sets

FEATURE_KEYS = ("fid_mnistclf", "kid_mnistclf", "kid_mnistclf_se", "precision", "recall", "density", "coverage")


def _write_pngs(folder, pixels, labels=None):
    """PNGs written by Pillow, as another library's generator would save its samples (class sub-folders when
    labels are given)."""
    from PIL import Image

    for i, image in enumerate(pixels):
        where = folder / str(int(labels[i])) if labels is not None else folder
        where.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image[0]).save(where / f"{i:05d}.png")
    return folder


@pytest.fixture(scope="module")
def digits(data_dir):
    """2,000 MNIST training digits (uint8 [2000, 1, 28, 28]) and their labels: samples of a 'perfect generator'
    from outside advnets."""
    pixels, labels = registry.get("mnist").load_pixels("train", str(data_dir))
    return pixels[:2000], labels[:2000]


def _evaluate(capsys, *argv):
    status = main(["evaluate", *argv])
    out, err = capsys.readouterr()
    return status, (json.loads(out) if status == 0 else None), err


def test_a_folder_of_pngs_scores_the_same_against_the_test_split_and_its_saved_statistics(tmp_path, digits, data_dir,
                                                                                           capsys):
    folder = _write_pngs(tmp_path / "pngs", digits[0])
    stats = tmp_path / "mnist-test.npz"
    assert main(["reference-stats", "mnist:test", "--features", "mnistclf", "--out", str(stats),
                 "--data-dir", str(data_dir)]) == 0
    written = json.loads(capsys.readouterr().out)
    assert written["count"] == 10_000 and written["dim"] == 128 and stats.is_file()
    status, from_split, err = _evaluate(capsys, str(folder), "--metric", "mnistclf-features", "--reference",
                                        "mnist:test", "--data-dir", str(data_dir))
    assert status == 0 and err == ""  # 2,000 samples against 10,000: no warning
    status, from_stats, _ = _evaluate(capsys, str(folder), "--metric", "mnistclf-features", "--reference", str(stats))
    assert status == 0 and from_split["n_samples"] == 2000 and from_split["n_reference"] == 10_000
    for key in FEATURE_KEYS:
        assert from_stats[key] == pytest.approx(from_split[key], abs=1e-9), key
    assert from_split["reference"] == "mnist:test" and from_stats["reference"] == str(stats)
    assert from_stats["reference_sha256"] == from_split["reference_sha256"]  # the same images, hashed alike
    assert 0 < from_split["fid_mnistclf"] < 10 and from_split["precision"] > 0.8  # real digits score as such
    # the same images as an array file, the same numbers; and --metric features --features mnistclf alike
    array = tmp_path / "digits.npz"
    np.savez(array, images=digits[0][:, 0], labels=digits[1])
    status, from_array, _ = _evaluate(capsys, str(array), "--metric", "features", "--features", "mnistclf",
                                      "--reference", str(stats))
    assert from_array["source_sha256"] == from_split["source_sha256"]
    assert from_array["fid"] == pytest.approx(from_split["fid_mnistclf"], abs=1e-9)


def test_the_python_api_gives_the_command_lines_numbers(tmp_path, digits, data_dir, capsys):
    pixels, labels = digits
    folder = _write_pngs(tmp_path / "classes", pixels, labels)  # one sub-folder per class: the images' classes
    common = ["--reference", "mnist:test", "--data-dir", str(data_dir)]
    _, row, _ = _evaluate(capsys, str(folder), "--metric", "features", "--features", "mnistclf", *common)
    as_float = torch.from_numpy(pixels).float() / 255  # the same images as a float tensor in [0, 1]
    assert api.fid(as_float, "mnist:test", data_dir=str(data_dir)) == pytest.approx(row["fid"], abs=1e-9)
    assert api.kid(pixels, "mnist:test", data_dir=str(data_dir))["kid"] == pytest.approx(row["kid"], abs=1e-9)
    assert api.prdc(str(folder), "mnist:test", data_dir=str(data_dir)) == {
        key: row[key] for key in ("precision", "recall", "density", "coverage")}
    _, parzen_row, _ = _evaluate(capsys, str(folder), "--metric", "parzen", *common)
    parzen = api.parzen(pixels, "mnist:test", data_dir=str(data_dir))
    assert parzen["mean"] == pytest.approx(parzen_row["mean"], abs=1e-9) and parzen["sigma"] == parzen_row["sigma"]
    assert parzen["sigma_chosen_on"] == "mnist:valid[:1000]" and parzen["n_test"] == 10_000
    _, classes_row, _ = _evaluate(capsys, str(folder), "--metric", "classes", "--reference", "mnist",
                                  "--data-dir", str(data_dir))
    agreement = api.classes(pixels, labels, data_dir=str(data_dir))
    assert agreement["agreement"] == classes_row["agreement"] > 0.97  # the classifier reads real digits well
    assert agreement["per_class"] == classes_row["per_class"]


def test_few_images_and_a_small_reference_are_said_to_be_untrustworthy(tmp_path, digits, data_dir, capsys):
    few = _write_pngs(tmp_path / "few", digits[0][:300])
    status, row, err = _evaluate(capsys, str(few), "--metric", "mnistclf-features", "--reference", "mnist:test",
                                 "--data-dir", str(data_dir))
    assert status == 0 and "300 samples (under 2,000)" in row["warning"]
    assert err.count("warning: ") == 1 and err.startswith("warning: FID/KID/precision-recall")
    # 2,000 samples against 300 reference images: both the small reference and the factor are said
    status, row, err = _evaluate(capsys, str(_write_pngs(tmp_path / "many", digits[0])), "--metric",
                                 "mnistclf-features", "--reference", str(few))
    assert status == 0 and err.count("warning: ") == 2 and "300 reference images" in err and "over 5x fewer" in err
    with pytest.warns(UserWarning, match="300 samples"):  # the API says them as Python warnings
        api.fid(digits[0][:300], "mnist:test", data_dir=str(data_dir))


def test_parzen_says_when_sigma_is_at_the_edge_of_its_grid(tmp_path, digits, data_dir, capsys):
    from advnets.metrics.parzen_window import SIGMA_GRID

    # samples that hold the very images sigma is chosen on (a memorising generator): the smallest sigma wins
    valid, _ = registry.get("mnist").load_pixels("valid", str(data_dir))
    array = tmp_path / "memorised.npy"
    np.save(array, valid[:2000])
    status, row, err = _evaluate(capsys, str(array), "--metric", "parzen", "--reference", "mnist:test",
                                 "--data-dir", str(data_dir))
    assert status == 0 and row["sigma"] == min(SIGMA_GRID)
    assert "Parzen's sigma 0.1 is the smallest of its grid" in row["warning"]
    assert [line for line in err.splitlines() if line.startswith("warning")] == [f"warning: {row['warning']}"]
    # a folder reference: sigma chosen on part of it, the rest scored
    reference = _write_pngs(tmp_path / "ref", digits[0][:600])
    status, row, err = _evaluate(capsys, str(array), "--metric", "parzen", "--reference", str(reference))
    assert status == 0 and row["n_valid"] == 300 and row["n_test"] == 300 and "300 of the reference" in \
        row["sigma_chosen_on"]


def test_the_edge_of_ais_s2_grid_is_said(monkeypatch, tiny_mnist_run, capsys):
    from advnets.metrics import ais

    monkeypatch.setattr(ais, "choose_variance", lambda *a, **k: (ais.VARIANCE_GRID[0], {"0.005": -1.0}))
    status, row, err = _evaluate(capsys, str(tiny_mnist_run), "--metric", "ais", "--n-samples", "2",
                                 "--ais-steps", "2", "--chains", "1", "--leapfrog", "1")
    assert status == 0 and "s^2 (chosen on validation) 0.005 is the smallest of its grid" in row["warning"]
    assert "AIS has not converged" in row["warning"] and err.count("warning: ") == 2  # each its own line


def test_statistics_of_another_network_or_shape_are_refused(tmp_path, digits, data_dir, capsys, monkeypatch):
    from advnets import plugins

    class Mean(torch.nn.Module):  # features [N, 2]: each image's mean and spread
        def forward(self, x):
            return torch.stack([x.mean((1, 2, 3)), x.std((1, 2, 3))], 1)

    monkeypatch.setattr(plugins, "_FEATURES", dict(plugins._FEATURES))
    plugins.register_features("moments", Mean)
    array = tmp_path / "digits.npy"
    np.save(array, digits[0])
    theirs = tmp_path / "moments.npz"
    assert main(["reference-stats", str(array), "--features", "moments", "--out", str(theirs)]) == 0
    capsys.readouterr()
    status, _, err = _evaluate(capsys, str(array), "--metric", "mnistclf-features", "--reference", str(theirs))
    assert status == 2 and err.count("\n") == 1 and "holds features of 'moments'" in err
    assert "--features mnistclf" in err
    small = tmp_path / "small.npz"
    assert main(["reference-stats", str(array), "--features", "moments", "--size", "14", "--out", str(small)]) == 0
    capsys.readouterr()
    status, _, err = _evaluate(capsys, str(array), "--metric", "features", "--features", "moments", "--reference",
                               str(small))
    assert status == 2 and "made from images [1, 14, 14]" in err and err.count("\n") == 1
    # the statistics file is not overwritten without --force
    before = small.read_bytes()
    assert main(["reference-stats", str(array), "--features", "moments", "--out", str(small)]) == 2
    assert "exists" in capsys.readouterr().err and small.read_bytes() == before


@pytest.mark.parametrize(("argv", "says"), [
    (["--metric", "ais", "--reference", "mnist:test"], "needs the generator itself"),
    (["--metric", "parzen"], "give --reference"),
    (["--metric", "parzen", "--reference", "no-such-thing"], "nor a data set's split"),
    (["--metric", "parzen", "--reference", "mnist:holdout"], "mnist has the splits"),
    (["--metric", "classes", "--reference", "mnist:test"], "has none"),
    (["--metric", "classes", "--reference", "fashion-mnist:test"], "give --reference one of mnist"),
    (["--metric", "stacked-modes"], "reads stacked MNIST images [3, 28, 28]"),
    (["--metric", "mnistclf-features", "--reference", "mnist:test", "--seeds", "0-2"], "images are scored as given"),
    (["--metric", "parzen", "--reference", "mnist:test", "--baseline", "train"], "give the run, not images"),
])
def test_what_images_cannot_be_scored_by_is_refused_in_one_line(tmp_path, digits, data_dir, capsys, argv, says):
    array = tmp_path / "digits.npy"
    np.save(array, digits[0][:50])
    status, _, err = _evaluate(capsys, str(array), *argv, "--data-dir", str(data_dir))
    assert status == 2 and err.count("\n") == 1 and says in err, err


def test_stacked_modes_on_an_array_of_stacked_images_equal_the_functions(tmp_path, data_dir, capsys):
    from advnets.metrics.stacked_modes import mode_statistics, test_split_confusion

    pixels, _ = registry.get("stacked-mnist").load_pixels("test", str(data_dir))
    array = tmp_path / "stacked.npy"
    np.save(array, pixels[:3000])
    status, row, _ = _evaluate(capsys, str(array), "--metric", "stacked-modes", "--data-dir", str(data_dir))
    direct = mode_statistics(torch.from_numpy(pixels[:3000]).float() / 255, test_split_confusion(str(data_dir)))
    assert status == 0 and row["modes"] == direct["modes"] and row["modes_corrected"] == direct["modes_corrected"]


def test_a_run_can_be_scored_against_any_reference(tiny_mnist_run, tmp_path, digits, data_dir, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_mnist_run, run)
    stats = tmp_path / "ref.npz"
    assert main(["reference-stats", "mnist:test", "--features", "mnistclf", "--out", str(stats),
                 "--data-dir", str(data_dir)]) == 0
    capsys.readouterr()
    common = ["--metric", "mnistclf-features", "--n-samples", "500", "--data-dir", str(data_dir)]
    _, default, _ = _evaluate(capsys, str(run), *common)
    _, against_stats, _ = _evaluate(capsys, str(run), *common, "--reference", str(stats))
    assert default["reference"] == "test" and against_stats["reference"] == str(stats)
    assert against_stats["fid_mnistclf"] == pytest.approx(default["fid_mnistclf"], abs=1e-9)
    status, _, err = _evaluate(capsys, str(run), *common, "--reference", str(stats), "--split", "valid")
    assert status == 2 and "--split picks" in err
    status, _, err = _evaluate(capsys, str(run), *common, "--size", "14")  # nothing here is read from files
    assert status == 2 and "--size and --channels shape images read from a folder or array" in err


def test_tensors_are_checked_before_they_are_scored():
    with pytest.raises(Exception, match=r"pixels must lie in \[0, 1\]"):
        image_sets.from_tensor(torch.full((4, 1, 28, 28), 2.0))
    with pytest.raises(Exception, match=r"give images \[N, C, H, W\]"):
        image_sets.from_tensor(torch.zeros(4, 5, 28, 28))
    grey = image_sets.from_tensor(np.zeros((3, 28, 28), np.uint8))
    assert grey.x_shape == [1, 28, 28] and grey.count == 3 and grey.labels is None
