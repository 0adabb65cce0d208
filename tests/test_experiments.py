"""The CPU recipe search, as two studies (experiments/studies/cpu-recipe-*.yaml), stays within what issue 30
allows, its results carried into the studies give the tables of docs/reproduction.md, and the shipped fast-mnist
preset is the setting the studies chose. The evaluation table (experiments/evaluation_table.py) says which cells a
former protocol measured, and the docs and the reference rows are its results file's."""

import importlib.util
import json

import pytest

from advnets.config import flatten, load_config, to_dict
from tests.conftest import REPO

# What only bookkeeping changes (when to log, sample, checkpoint, validate): never the weights' trajectory.
BOOKKEEPING = {"name", "train.progress", "train.log_every", "train.sample_every", "train.checkpoint_every",
               "train.snapshot_every", "train.valid_every", "train.valid_samples", "train.valid_metric"}


def _experiment(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "experiments" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def recipe():
    return _experiment("recipe_studies")


@pytest.fixture(scope="module")
def table():
    return _experiment("evaluation_table")


@pytest.fixture(scope="module")
def recipe_studies(recipe, tmp_path_factory):
    """The two studies, the search's results carried in (nothing trained)."""
    out = tmp_path_factory.mktemp("studies")
    recipe.carry(out)
    return out


def test_every_candidate_keeps_the_papers_model_family(recipe):
    from advnets.studies.spec import read_spec

    paper = load_config("paper-mnist")
    for path in recipe.SPECS.values():
        for name, overrides in read_spec(path).settings.items():
            cfg = load_config("paper-mnist", list(overrides))
            assert cfg.generator.activation == paper.generator.activation, name  # a ReLU MLP G
            assert cfg.generator.z_prior == paper.generator.z_prior == "uniform", name
            assert cfg.generator.arch == paper.generator.arch and cfg.discriminator.arch == paper.discriminator.arch
            assert cfg.discriminator.pieces == paper.discriminator.pieces, name  # maxout
            loss, paper_loss = flatten(to_dict(cfg.loss)), flatten(to_dict(paper.loss))
            stabilisers = {"r1_gamma", "label_smoothing", "instance_noise", "instance_noise_steps"}
            assert {k for k in loss if loss[k] != paper_loss[k]} <= stabilisers, name  # stabilisers only


def test_the_studies_carry_every_run_and_give_the_docs_tables(recipe, recipe_studies, capsys):
    from advnets.studies.storage import load_study, read_folder, units

    for name, trials in (("cpu-recipe-screen", 29), ("cpu-recipe-confirm", 12)):
        opened = load_study(read_folder(recipe_studies / name))
        assert len(units(opened.study)) == trials and all(t.state.name == "COMPLETE" for t in units(opened.study))
    recipe.tables(recipe_studies)
    printed = [line for line in capsys.readouterr().out.splitlines()
               if line.startswith("| ") or line.startswith("fid_mnistclf: median")]
    docs = (REPO / "docs" / "reproduction.md").read_text()
    missing = [line for line in printed if line not in docs]
    assert len(printed) == 34 and not missing, missing  # headers, 29 + 2 rows, the test


def test_a_run_is_carried_only_where_the_study_would_train_the_same_weights(recipe):
    from advnets.studies.spec import read_spec

    spec = read_spec(recipe.SPECS["screen"])
    results = json.loads(recipe.RESULTS.read_text())
    run = results["runs"]["faster-r1-nodrop/seed0/threads2"]
    overrides = list(spec.settings["faster-r1-nodrop"])
    assert recipe.same_run(spec, "faster-r1-nodrop", 0, 4500, run, overrides)
    assert not recipe.same_run(spec, "faster-r1-nodrop", 0, 4600, run, overrides)  # another number of updates
    assert not recipe.same_run(spec, "faster-r1-nodrop", 0, 4500, run, [*overrides, "loss.r1_gamma=2.0"])


def test_fast_mnist_is_the_recipe_the_studies_chose(recipe, recipe_studies, capsys):
    """The preset the main job trains equals the chosen setting of the confirm study (its overrides and its
    updates) in every key that changes the weights (its thread count apart: the preset takes the machine's)."""
    from advnets.studies.storage import load_study, read_folder

    recipe.tables(recipe_studies)
    chosen = capsys.readouterr().out.split("chosen: ")[1].split()[0]
    opened = load_study(read_folder(recipe_studies / "cpu-recipe-confirm"))
    setting = f"{chosen}-t2"
    searched = flatten(to_dict(load_config(opened.spec.base, opened.spec.trial_overrides(
        setting, 0, opened.updates(setting)))))
    shipped = flatten(to_dict(load_config("fast-mnist")))
    differ = {key for key in shipped if shipped[key] != searched[key]} - {"seed", "threads"}
    assert differ <= BOOKKEEPING, f"fast-mnist differs from the study's {setting} in {sorted(differ - BOOKKEEPING)}"


def _set_cell(table, kid: float, all_pairs: bool) -> dict:
    cell = {key: 1.0 for key in ("parzen", *table.FEATURE_KEYS)} | {"kid_mnistclf": kid}
    return cell | ({"kid_mnistclf_se": 0.5, "kid_estimator": "all-pairs"} if all_pairs else {})


def _ais_row(table, steps: int, gap: float) -> dict:
    return {**table.current_ais_settings(), "steps": steps, "log_likelihood": 500.0, "se": 20.0, "bdmc_gap": gap}


def test_cells_of_a_former_protocol_say_so_in_the_table(table):
    current = table.current_ais_settings()["steps"]
    results = {"sets": {"shipped": {"0": _set_cell(table, 5.0, True), "1": _set_cell(table, 6.0, False)},
                        "train": {"0": _set_cell(table, 1.0, True), "1": _set_cell(table, 1.0, True)}},
               "ais": {"shipped": _ais_row(table, 1000, 5.5), "recipe": _ais_row(table, current, 0.4)},
               "dates": {"shipped": "2026-11-29"}}
    text = table.table(results, [0, 1])
    shipped, train = (next(line for line in text.splitlines() if label in line)
                      for label in (table.GENERATOR_LABELS["shipped"], table.ANCHORS["train"]))
    assert "5.50 ± 0.50 (subsets)" in shipped and "(subsets)" not in train  # one set of two scored by subsets
    assert "500.0 ± 20.0 [5.5; 1,000 distributions; not converged]" in shipped and "2026-11-29" in shipped
    assert table.ais_cell(results["ais"]["recipe"], brackets=True) == "500.0 ± 20.0 [0.4]"
    assert table.ais_cell(_ais_row(table, current, 3.0), brackets=False) == "500.0 ± 20.0 (gap 3.0; not converged)"
    assert not table.set_is_current(results["sets"]["shipped"]["1"]) and table.set_is_current(results["sets"]["train"]["0"])


def test_an_ais_row_is_reused_only_for_the_same_weights_at_the_current_settings(table, tmp_path):
    from types import SimpleNamespace

    from advnets.fileio import file_sha256

    weights = tmp_path / "network-best.safetensors"
    weights.write_bytes(b"weights")
    snap = SimpleNamespace(path=weights, variant="live")
    assert table.ais_row_from_metrics(snap) is None  # no metrics.jsonl yet
    sha, current = file_sha256(weights), table.current_ais_settings()["steps"]
    rows = [{"metric": "ais", "snapshot_sha256": sha, "generator": "live", **_ais_row(table, current, 0.3), "mark": 1},
            {"metric": "ais", "snapshot_sha256": sha, "generator": "live", **_ais_row(table, 1000, 0.3)},  # former T
            {"metric": "ais", "snapshot_sha256": "other", "generator": "live", **_ais_row(table, current, 0.3)},
            {"metric": "ais", "snapshot_sha256": sha, "generator": "ema", **_ais_row(table, current, 0.3)},
            {"metric": "parzen", "snapshot_sha256": sha, "generator": "live", "mean": 1.0}]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert table.ais_row_from_metrics(snap)["mark"] == 1
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[1:]))
    assert table.ais_row_from_metrics(snap) is None


def test_the_docs_and_the_reference_rows_are_the_results_files(table):
    from advnets.metrics import references

    results = json.loads((REPO / "experiments" / "results" / "evaluation_table.json").read_text())
    seeds = [0, 1, 2, 3, 4]
    assert table.table(results, seeds) in (REPO / "docs" / "evaluation.md").read_text()
    assert table.reference_rows(results, seeds) == references.measured_references()


def test_a_row_whose_run_now_holds_other_weights_is_measured_again(table, tmp_path, monkeypatch):
    weights = tmp_path / "generator.safetensors"
    weights.write_bytes(b"new weights")
    monkeypatch.setattr(table, "resolve_snapshot_path", lambda path: weights)
    results = {"sets": {"shipped": {"0": {}}, "collapsed": {"0": {}}, "train": {"0": {}}},
               "ais": {"shipped": {"snapshot_sha256": "the former weights' hash"}}}
    table.forget_other_weights(results, {"shipped": "pretrained/mnist-paper"})
    assert set(results["sets"]) == {"train"} and results["ais"] == {}  # its collapse anchor is its samples: gone too
    results["sets"]["shipped"] = {"0": {}}
    table.forget_other_weights(results, {"shipped": "pretrained/mnist-paper"})  # the same weights: kept
    assert "shipped" in results["sets"]
