"""`advnets train --members`: one folder of ordinary run folders, resumed together; refusals in one line."""

from __future__ import annotations

import json

import pytest
import torch

from advnets.cli import main
from advnets.train.checkpoint import load_training_state, read_training_header
from tests.conftest import TINY

RING = ["toy-ring", "--set", *TINY, "train.batch_size=32", "train.steps=20"]


def test_members_write_ordinary_run_folders_that_resume_together(tmp_path, capsys):
    folder = tmp_path / "ring"
    assert main(["train", *RING[:1], "--members", "0-2", "--out", str(folder), *RING[1:]]) == 0
    out = capsys.readouterr().out
    assert "toy-ring x3 (seeds 0,1,2) in one process" in out and out.count("done: step 20") == 3
    assert json.loads((folder / "members.json").read_text()) == {"seeds": [0, 1, 2]}
    for seed in (0, 1, 2):
        run = folder / f"s{seed}"
        assert read_training_header(run)["config"]["seed"] == seed
        assert (run / "network-latest.safetensors").is_file() and (run / "stats.jsonl").is_file()
    assert main(["train", "--resume", str(folder), "--set", "train.steps=30"]) == 0
    assert capsys.readouterr().out.count("done: step 30") == 3
    assert main(["train", "--resume", str(folder), "--set", "train.steps=30"]) == 0
    assert "every member of" in capsys.readouterr().out
    # the member folders are ordinary runs: one resumes alone
    assert main(["train", "--resume", str(folder / "s1"), "--set", "train.steps=40"]) == 0
    assert read_training_header(folder / "s1")["step"] == 40


def test_a_member_equals_its_lone_run_with_one_member(tmp_path):
    assert main(["train", *RING[:1], "--members", "3", "--out", str(tmp_path / "m"), *RING[1:]]) == 0
    assert main(["train", *RING, "seed=3", "--out", str(tmp_path / "lone")]) == 0
    member, lone = load_training_state(tmp_path / "m" / "s3")[0], load_training_state(tmp_path / "lone")[0]
    assert set(member) == set(lone) and all(torch.equal(member[k], v) for k, v in lone.items())


@pytest.mark.parametrize("args, says", [
    (["--set", "seed=2"], "--members sets each member's seed"),
    (["--set", "generator.batch_norm=true"], "cannot train with generator.batch_norm"),
    (["--set", "train.graph=on"], "train.graph=on"),
])
def test_refusals_are_one_line_and_make_nothing(args, says, tmp_path, capsys):
    folder = tmp_path / "ring"
    assert main(["train", "toy-ring", "--members", "0-1", "--out", str(folder), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1 and not folder.exists()


def test_a_damaged_members_file_is_refused_in_one_line(tmp_path, capsys):
    folder = tmp_path / "ring"
    folder.mkdir()
    (folder / "members.json").write_text("{not json")
    assert main(["train", "--resume", str(folder)]) != 0
    err = capsys.readouterr().err.strip()
    assert "members.json is damaged" in err and len(err.splitlines()) == 1
