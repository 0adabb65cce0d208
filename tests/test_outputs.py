"""No command writes into a run folder while another process trains it, and none replaces a run's own
files (its training state, snapshots, config, statistics), --force or not (advnets.outputs)."""

import shutil
import subprocess
import sys

import pytest

from advnets.cli import main
from advnets.outputs import check_output, training_holder
from advnets.snapshot import LATEST_SNAPSHOT
from advnets.train.checkpoint import TRAINING_STATE
from advnets.train.rundir import RunLock
from tests.train.test_faults import one_error_line


@pytest.fixture
def run_copy(tiny_mnist_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_mnist_run, run)
    return run


@pytest.fixture
def held(run_copy):
    """The run locked by another process, as a training would hold it."""
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom advnets.train.rundir import RunLock\n"
                               f"RunLock({str(run_copy)!r}).acquire(); print('held', flush=True); time.sleep(120)"],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    yield run_copy, holder.pid
    holder.kill()
    holder.wait()


def test_no_command_writes_into_a_run_another_process_trains(held, tmp_path, data_dir, capsys):
    run, pid = held
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    argv_list = [
        ["export", str(run), "--out", str(run / TRAINING_STATE), "--force"],  # the reported case
        ["export", str(run), "--out", str(run / "g.safetensors")],
        ["export", str(run), "--out", str(run / "sub")],
        ["sample", str(run), "--n", "4", "--out", str(run / "s.png")],
        ["sample", str(run), "--seeds", "0-1", "--out", str(run / "samples" / "seeds")],
        ["figure", "curves", str(run), "--out", str(run / "c.png")],
        ["average", str(run / LATEST_SNAPSHOT), str(run / LATEST_SNAPSHOT), "--out", str(run / "avg.safetensors")],
        ["evaluate", str(run), "--metric", "parzen", "--n-samples", "10", "--data-dir", str(data_dir)],
        ["infer", str(run), "--steps", "2", "--n", "10", "--data-dir", str(data_dir)],
        ["report", str(run)],
    ]
    for argv in argv_list:
        assert main(argv) == 2, argv
        err = one_error_line(capsys)
        assert f"which pid {pid} on" in err and "is training; write elsewhere" in err, (argv, err)
    after = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    assert after == before and not (run / "sub").exists()
    # reading it is fine, and writing elsewhere
    assert main(["sample", str(run), "--n", "4", "--out", str(tmp_path / "s.png")]) == 0


def test_a_runs_own_files_are_never_replaced_even_with_force(run_copy, tmp_path, capsys):
    for name in (TRAINING_STATE, LATEST_SNAPSHOT, "network-00000010.safetensors", "config.yaml", "stats.jsonl"):
        target = run_copy / name
        out = str(target) if name.endswith(".safetensors") else str(target.with_suffix(".png"))
        if not name.endswith(".safetensors"):  # a figure named like a run file: config.yaml.png is fine
            assert main(["figure", "curves", str(run_copy), "--out", out]) == 0
            continue
        before = target.read_bytes() if target.exists() else None
        assert main(["export", str(run_copy), "--out", out, "--force"]) == 2
        assert "is one of the files the run in" in one_error_line(capsys)
        assert (target.read_bytes() if target.exists() else None) == before
    assert main(["export", str(run_copy), "--out", str(run_copy / "generator.safetensors")]) == 0  # a file of its own
    assert main(["report", str(run_copy)]) == 0  # nobody trains it: report.html goes in as before


def test_the_probe_does_not_take_the_lock_from_a_trainer(run_copy):
    """Asking who trains a folder holds a shared lock for an instant; a trainer starting then still gets it."""
    assert training_holder(run_copy) is None
    with RunLock(run_copy):
        assert "pid" in training_holder(run_copy)  # (held through another descriptor: flock tells them apart)
    for _ in range(50):
        training_holder(run_copy)
        with RunLock(run_copy):
            pass


def test_check_output_refuses_existing_files_without_force(tmp_path):
    from advnets.errors import ConfigError

    (tmp_path / "x.png").write_bytes(b"x")
    with pytest.raises(ConfigError, match="already exists"):
        check_output(tmp_path / "x.png")
    assert check_output(tmp_path / "x.png", force=True) == tmp_path / "x.png"
