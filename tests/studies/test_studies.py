"""Studies run end to end on SQLite (advnets study ...): workers share the queue and train every trial once; a
worker killed mid-trial loses nothing (its trial resumes, bit-identical); a trial that fails says why and is not
run again; the spec cannot change under a study; the test split is scored once; the report and the table are
the trial folders' numbers."""

import json
import signal
import subprocess
import sys
import time

import pytest
import torch
from optuna.trial import TrialState

from advnets.cli import main
from advnets.studies.storage import UPDATES_ATTR, load_study, read_folder, units
from advnets.train.checkpoint import read_training_header
from tests.studies.conftest import QUICK, advnets, write_spec
from tests.train.test_faults import one_error_line


def _trials(study_dir):
    return units(load_study(read_folder(study_dir)).study)


def _last_row(run_dir):
    return json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])


def test_two_workers_train_every_trial_once_and_the_table_is_the_trial_folders(tiny_spec, tmp_path):
    study = tmp_path / "study"
    advnets("study", "create", tiny_spec, "--out", study)
    out = advnets("study", "run", study, "--workers", "2").stdout
    assert "2 workers x" in out and "worker 0:" in out and "worker 1:" in out
    trials = _trials(study)
    assert sorted((t.user_attrs["setting"], t.user_attrs["seed"]) for t in trials) == [
        ("k1", 0), ("k1", 1), ("k2", 0), ("k2", 1)]  # one trial each, none run twice
    assert all(t.state == TrialState.COMPLETE for t in trials)
    for t in trials:  # an ordinary run folder, trained once to the budget, its objective its own metrics row
        run = study / t.user_attrs["run"]
        assert read_training_header(run)["step"] == 200
        assert sum('"start"' in line for line in (run / "sessions.jsonl").read_text().splitlines()) == 1
        row = _last_row(run)
        assert row["metric"] == "modes" and t.value == row["high_quality"]
    advnets("study", "table", study, "--json", tmp_path / "table.json", "--csv", tmp_path / "table.csv")
    table = json.loads((tmp_path / "table.json").read_text())
    for row in table["settings"]:
        values = [_last_row(study / "trials" / f"{row['setting']}-s{seed}")["high_quality"] for seed in (0, 1)]
        assert row["values"] == {"0": values[0], "1": values[1]} and row["mean"] == pytest.approx(sum(values) / 2)
    assert (tmp_path / "table.csv").read_text().count("\n") == 5  # a header and a line per trial


def test_a_killed_worker_loses_nothing_and_its_trial_ends_bit_identical(tmp_path):
    spec = write_spec(tmp_path, "long", settings={"only": []}, baseline=None, seeds=[0], budget={"updates": 2000},
                      set=QUICK)
    study = tmp_path / "study"
    advnets("study", "create", spec, "--out", study, "--heartbeat", "1")
    run = study / "trials" / "only-s0"
    worker = subprocess.Popen([sys.executable, "-m", "advnets", "study", "run", str(study)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # killed once a checkpoint past step 300 exists, mid-trial
        if (run / "training-state.safetensors").exists() and read_training_header(run)["step"] >= 300:
            break
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    stopped_at = read_training_header(run)["step"]
    assert 300 <= stopped_at < 2000, "the worker was not killed mid-trial"
    advnets("study", "run", study)  # waits until the dead worker's trial is stale, then takes it up
    trials = _trials(study)
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.COMPLETE]  # the stale attempt, its retry
    starts = [json.loads(line)["step"] for line in (run / "sessions.jsonl").read_text().splitlines()
              if '"start"' in line]
    assert starts == [0, stopped_at]  # resumed from the last checkpoint, not trained again
    from advnets.config import load_config
    from advnets.tensorfile import load_tensors
    from advnets.train import train

    reference = train(load_config("toy-ring", [*QUICK, "seed=0", "train.steps=2000"]), tmp_path / "uninterrupted")
    for name in ("network-latest.safetensors", "training-state.safetensors"):
        a, b = load_tensors(run / name)[0], load_tensors(reference.run_dir / name)[0]
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name


def test_a_stop_signal_saves_the_trial_and_queues_it_again(tmp_path):
    spec = write_spec(tmp_path, "stopped", settings={"only": []}, baseline=None, seeds=[0], budget={"updates": 2000},
                      set=QUICK)
    study = tmp_path / "study"
    advnets("study", "create", spec, "--out", study)
    run = study / "trials" / "only-s0"
    worker = subprocess.Popen([sys.executable, "-m", "advnets", "study", "run", str(study)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (run / "training-state.safetensors").exists():
        time.sleep(0.05)
    worker.send_signal(signal.SIGINT)
    out = worker.communicate(timeout=120)[0]
    assert worker.returncode == 128 + signal.SIGINT, out
    assert "the trial is saved and queued again; go on with: advnets study run" in out
    trials = _trials(study)
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.WAITING]
    assert trials[0].user_attrs["reason"] == "interrupted (queued again)"
    stopped_at = read_training_header(run)["step"]
    advnets("study", "run", study)
    assert [t.state for t in _trials(study)] == [TrialState.FAIL, TrialState.COMPLETE]
    starts = [json.loads(line)["step"] for line in (run / "sessions.jsonl").read_text().splitlines()
              if '"start"' in line]
    assert starts == [0, stopped_at] and read_training_header(run)["step"] == 2000


def test_a_failing_trial_says_why_and_is_not_run_again_and_the_spec_cannot_change(tmp_path, capsys):
    spec = write_spec(tmp_path, "boom", settings={"ok": [], "boom": ["optim.lr=1e10"]}, baseline="ok", seeds=[0],
                      set=[*QUICK, "optim.name=momentum-sgd", "optim.lr_decay=1.0"])
    study = tmp_path / "study"
    assert main(["study", "create", str(spec), "--out", str(study)]) == 0
    assert main(["study", "run", str(study)]) == 0
    assert main(["study", "run", str(study)]) == 0  # nothing left: the failed trial is not run again
    states = {t.user_attrs["setting"]: t for t in _trials(study)}
    assert len(_trials(study)) == 2 and states["ok"].state == TrialState.COMPLETE
    assert states["boom"].state == TrialState.FAIL and "not finite" in states["boom"].user_attrs["reason"]
    capsys.readouterr()
    assert main(["study", "status", str(study)]) == 0
    assert "failed: boom, seed 0" in capsys.readouterr().out
    # the spec cannot change under the study: refused, the storage untouched
    changed = write_spec(tmp_path, "boom", settings={"ok": ["train.k=1"], "boom": ["optim.lr=1e10"]}, baseline="ok",
                         seeds=[0], set=[*QUICK, "optim.name=momentum-sgd", "optim.lr_decay=1.0"])
    assert main(["study", "create", str(changed), "--out", str(study)]) == 2
    assert "made from another spec (it differs in: settings)" in one_error_line(capsys)
    assert main(["study", "create", str(changed), "--out", str(study), "--extend"]) == 2
    assert "changes setting ok" in one_error_line(capsys) and len(_trials(study)) == 2
    more = write_spec(tmp_path, "boom", settings={"ok": [], "boom": ["optim.lr=1e10"]}, baseline="ok", seeds=[0, 1],
                      set=[*QUICK, "optim.name=momentum-sgd", "optim.lr_decay=1.0"])
    assert main(["study", "create", str(more), "--out", str(study), "--extend"]) == 0  # a seed more: queued
    assert sorted(t.state.name for t in _trials(study)) == ["COMPLETE", "FAIL", "WAITING", "WAITING"]


def test_the_test_split_is_scored_once_and_the_report_shows_the_study(tmp_path, capsys):
    spec = write_spec(tmp_path, seeds=[0], settings={"k1": ["train.k=1"], "k2": ["train.k=2"]})
    study = tmp_path / "study"
    assert main(["study", "create", str(spec), "--out", str(study)]) == 0
    assert main(["study", "run", str(study)]) == 0
    assert main(["study", "test", str(study), "--setting", "k3"]) == 2
    assert "setting 'k3' is not one of the study's" in one_error_line(capsys)
    assert main(["study", "test", str(study), "--setting", "k2"]) == 0
    assert "k2 on the fresh samples" in capsys.readouterr().out  # synthetic data: no split, fresh samples
    assert main(["study", "test", str(study), "--setting", "k1"]) == 2
    assert "was tested already (k2" in one_error_line(capsys)
    assert main(["study", "test", str(study), "--setting", "k1", "--again"]) == 0
    tested = load_study(read_folder(study)).study.user_attrs["advnets_test"]
    assert [r["setting"] for r in tested] == ["k2", "k1"]
    assert _last_row(study / "trials" / "k2-s0")["seed"] == 1  # scored on sample seed 1, beside seed 0's objective
    assert main(["study", "report", str(study)]) == 0
    page = (study / "report.html").read_text()
    assert page.count("data:image/png;base64") == 2 and "<table>" in page and "k2 on the fresh samples" in page
    assert 'href="trials/k1-s0/report.html"' in page and (study / "trials" / "k1-s0" / "report.html").is_file()


def test_tpe_draws_its_settings_while_the_study_runs(tmp_path, capsys):
    spec = write_spec(tmp_path, "tpe", settings=None, baseline=None, space={"optim.lr": {"log_uniform": [1e-4, 1e-3]}},
                      sampler="tpe", n_settings=2, seeds=[0, 1], budget={"updates": 100})
    study = tmp_path / "study"
    assert main(["study", "create", str(spec), "--out", str(study)]) == 0
    assert main(["study", "run", str(study)]) == 0
    trials = _trials(study)
    settings = {t.user_attrs["setting"] for t in trials}
    assert len(settings) == 2 and len(trials) == 4 and all(t.state == TrialState.COMPLETE for t in trials)
    opened = load_study(read_folder(study))
    assert set(opened.spec.settings) == settings  # recorded in the storage, for every worker and the table
    assert all(0.0001 <= float(o[0].split("=")[1]) <= 0.001 for o in opened.spec.settings.values())


def test_a_wall_clock_budget_is_calibrated_once_per_cost(tmp_path):
    spec = write_spec(tmp_path, settings={"k1": ["train.k=1"], "k2": ["train.k=2"], "k1-fast": ["train.k=1",
                      "optim.lr=0.0004"]}, budget={"seconds": 1.0, "threads": 1})
    study = tmp_path / "study"
    assert main(["study", "create", str(spec), "--out", str(study)]) == 0
    updates = load_study(read_folder(study)).study.user_attrs[UPDATES_ATTR]
    assert set(updates) == {"k1", "k2", "k1-fast"} and updates["k1-fast"]["same_cost_as"] == "k1"
    assert all(u["updates"] >= 100 and u["updates"] % 100 == 0 and u["threads"] == 1 for u in updates.values())
    assert updates["k2"]["updates_per_s"] < updates["k1"]["updates_per_s"]  # two D updates per G update cost more


def test_an_unreachable_or_unreadable_storage_is_one_line_and_writes_nothing(tiny_spec, tmp_path, capsys):
    (tmp_path / "text.db").write_text("not a database\n")
    for url, message in (("postgresql+psycopg://nobody@127.0.0.1:9/none", "cannot open it (connection"),
                         (f"sqlite:///{tmp_path / 'text.db'}", "cannot open it (file is not a database)")):
        assert main(["study", "create", str(tiny_spec), "--out", str(tmp_path / "study"), "--storage", url]) == 2
        assert message in one_error_line(capsys) and not (tmp_path / "study").exists()
    assert main(["study", "status", str(tmp_path / "nowhere")]) == 2
    assert "is not a study folder" in one_error_line(capsys)



def test_a_worker_trains_a_settings_seeds_side_by_side_as_members(tmp_path):
    """`study run --members K`: each setting's queued seeds trained in one process (advnets.members), every trial
    still its own run folder and its own score; a setting that cannot be stacked is trained one trial at a time."""
    spec = write_spec(tmp_path, "members", seeds=[0, 1, 2],
                      settings={"k1": ["train.k=1"], "bn": ["train.k=1", "generator.batch_norm=true"]})
    study = tmp_path / "study"
    advnets("study", "create", spec, "--out", study)
    out = advnets("study", "run", study, "--members", "3").stdout
    assert "setting bn: its 3 seeds trained one at a time, not side by side" in out
    trials = _trials(study)
    assert len(trials) == 6 and all(t.state == TrialState.COMPLETE for t in trials)
    for t in trials:
        run = study / t.user_attrs["run"]
        assert read_training_header(run)["step"] == 200 and t.value == _last_row(run)["high_quality"]
        log = (run / "sessions.jsonl").read_text()
        assert ('"threads_why": "3 members' in log) == (t.user_attrs["setting"] == "k1")
