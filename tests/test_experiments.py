"""The CPU recipe search (experiments/cpu_recipe.py) stays within what issue 30 allows, its tables follow
from its results, and the shipped fast-mnist preset is the recipe its results chose."""

import importlib.util
import json

import pytest

from advnets.config import flatten, load_config, to_dict
from tests.conftest import REPO

RESULTS = REPO / "experiments" / "results" / "cpu_recipe.json"
# What only bookkeeping changes (when to log, sample, checkpoint, validate): never the weights' trajectory.
BOOKKEEPING = {"name", "train.progress", "train.log_every", "train.sample_every", "train.checkpoint_every",
               "train.snapshot_every", "train.valid_every", "train.valid_samples"}


@pytest.fixture(scope="module")
def recipe():
    spec = importlib.util.spec_from_file_location("cpu_recipe", REPO / "experiments" / "cpu_recipe.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
