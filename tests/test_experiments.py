"""The CPU recipe search (experiments/cpu_recipe.py) stays within what issue 30 allows, its tables follow
from its results, and the shipped fast-mnist preset is the recipe its results chose. The evaluation table
(experiments/evaluation_table.py) says which cells a former protocol measured, and the docs and the reference
rows are its results file's."""

import importlib.util
import json

import pytest

from advnets.config import flatten, load_config, to_dict
from tests.conftest import REPO

RESULTS = REPO / "experiments" / "results" / "cpu_recipe.json"
# What only bookkeeping changes (when to log, sample, checkpoint, validate): never the weights' trajectory.
BOOKKEEPING = {"name", "train.progress", "train.log_every", "train.sample_every", "train.checkpoint_every",
               "train.snapshot_every", "train.valid_every", "train.valid_samples"}


def _experiment(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "experiments" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def recipe():
    return _experiment("cpu_recipe")


@pytest.fixture(scope="module")
def table():
    return _experiment("evaluation_table")


def test_every_candidate_keeps_the_papers_model_family(recipe):
    paper = load_config("paper-mnist")
    for name, (overrides, _) in recipe.CANDIDATES.items():
        cfg = load_config("paper-mnist", overrides)
        assert cfg.generator.activation == paper.generator.activation, name  # a ReLU MLP G
        assert cfg.generator.z_prior == paper.generator.z_prior == "uniform", name
        assert cfg.generator.arch == paper.generator.arch and cfg.discriminator.arch == paper.discriminator.arch, name
        assert cfg.discriminator.pieces == paper.discriminator.pieces, name  # maxout
        loss, paper_loss = flatten(to_dict(cfg.loss)), flatten(to_dict(paper.loss))
        stabilisers = {"r1_gamma", "label_smoothing", "instance_noise", "instance_noise_steps"}
        assert {k for k in loss if loss[k] != paper_loss[k]} <= stabilisers, name  # stabilisers only


def test_the_tables_rank_by_the_validation_fid_and_confirm_only_complete_candidates(recipe, capsys):
    def row(fid, seed, threads, name):
        return {"fid_mnistclf": fid, "precision": 0.7, "recall": 0.5, "coverage": 0.5, "class_kl_uniform": 0.01,
                "class_histogram": [0.1] * 10, "seed": seed, "threads": threads, "candidate": name}

    a, b = list(recipe.CANDIDATES)[:2]
    results = {"calibration": {n: {"relative_speed": 1.0, "steps": 5000} for n in (a, b)}, "runs": {
        recipe.run_key(a, 0, 2): row(50.0, 0, 2, a), recipe.run_key(b, 0, 2): row(20.0, 0, 2, b)}}
    assert recipe.ranked(results) == [b, a]
    assert recipe.confirmed(results) == []  # one run of 6 is a screen, not a confirmation
    for seed in recipe.SEEDS:
        for threads in recipe.THREADS:
            results["runs"][recipe.run_key(a, seed, threads)] = row(30.0 + seed + threads, seed, threads, a)
    assert recipe.confirmed(results) == [(a, 32.5, 34.0)]
    for seed in recipe.SEEDS:  # b: a better median, a worse worst run
        for threads in recipe.THREADS:
            results["runs"][recipe.run_key(b, seed, threads)] = row(40.0 if seed == 1 else 20.0, seed, threads, b)
    assert [name for name, *_ in recipe.confirmed(results)] == [a, b]  # the worst run decides first
    recipe.print_tables(results)
    out = capsys.readouterr().out
    assert f"| {b} |" in out and "32.5 [34.0]" in out


def test_fast_mnist_is_the_recipe_the_search_chose(recipe):
    """The preset the main job trains equals its candidate in the search (paper-mnist with the candidate's
    overrides and its number of updates) in every key that changes the weights."""
    results = json.loads(RESULTS.read_text())
    chosen = results["chosen"]
    overrides, _ = recipe.CANDIDATES[chosen]
    searched = flatten(to_dict(load_config("paper-mnist", [*overrides, f"train.steps={results['calibration'][chosen]['steps']}"])))
    shipped = flatten(to_dict(load_config("fast-mnist")))
    differ = {key for key in shipped if shipped[key] != searched[key]}
    assert differ <= BOOKKEEPING, f"fast-mnist differs from the search's {chosen} in {sorted(differ - BOOKKEEPING)}"


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
