"""What clusters and disks do to runs (issue 19's list): each fault costs at most the work since the
last checkpoint, never a good checkpoint, and is reported in one line. experiments/faults.py injects
the same faults at random times, many times over (docs/reliability.md)."""

from __future__ import annotations

import errno
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from advnets.cli import main
from advnets.errors import CheckpointError, TrainingDiverged
from advnets.snapshot import BEST_SNAPSHOT, LATEST_SNAPSHOT, load_snapshot
from advnets.tensorfile import load_tensors, read_header, save_tensors
from advnets.train.checkpoint import TRAINING_STATE, load_training_state, read_training_header
from advnets.train.loop import train
from advnets.train.rundir import CONFIG_FILE, LOCK_FILE, STATS_FILE, RunLock, read_stats
from tests.conftest import TINY

RING = [*TINY, "train.batch_size=32"]
# toy-ring with the released code's momentum SGD at lr 2 turns NaN within its first 30 updates
# (lr 0.5 trains 200 updates without): a divergence on demand.
DIVERGING = [*RING, "optim.name=momentum-sgd", "optim.lr=2", "train.steps=200", "train.checkpoint_every=20"]


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("advnets: error: ") and err.count("\n") == 1, err
    return err


def all_finite(path: Path) -> bool:
    tensors, _ = load_tensors(path)
    return all(torch.isfinite(t).all() for t in tensors.values() if t.is_floating_point())


# --- 1. NaN/Inf ------------------------------------------------------------------------------------


def test_a_diverging_run_stops_and_keeps_its_last_finite_checkpoint(tmp_path, capsys):
    run = tmp_path / "n"
    assert main(["train", "toy-ring", "--out", str(run), "--set", *DIVERGING, "train.snapshot_every=10"]) == 3
    err = one_error_line(capsys)
    step = read_training_header(run)["step"]
    assert f"the last finite checkpoint, step {step}, is intact" in err and "not finite: loss_d" in err
    assert 0 < step < 200 and all_finite(run / TRAINING_STATE) and all_finite(run / LATEST_SNAPSHOT)
    assert all(all_finite(p) for p in run.glob("network-0*.safetensors"))
    rows = read_stats(run)
    assert rows and all(math.isfinite(r["loss_d"]) for r in rows) and rows[-1]["step"] <= step + 10
    assert main(["sample", str(run), "--n", "4", "--out", str(tmp_path / "s.npy")]) == 0  # the intact checkpoint


def test_rollback_halves_the_learning_rate_and_finishes(tmp_path, capsys):
    run = tmp_path / "r"
    assert main(["train", "toy-ring", "--out", str(run), "--set", *DIVERGING, "train.on_nonfinite=rollback"]) == 0
    header = read_training_header(run)
    assert header["step"] == 200 and 0 < header["rollbacks"] <= 3 and header["lr_scale"] == 0.5 ** header["rollbacks"]
    assert "rolled back to step" in capsys.readouterr().out and "rolled back to step" in (run / "log.txt").read_text()
    rows = read_stats(run)
    assert [r["step"] for r in rows] == list(range(5, 201, 5))  # rows after the checkpoint were dropped, re-logged
    assert rows[-1]["lr"] < 2 * header["lr_scale"] * 1.0001 and all(math.isfinite(r["loss_d"]) for r in rows)


def test_rollbacks_are_limited(tmp_path):
    from advnets.config import load_config

    with pytest.raises(TrainingDiverged, match=r"after 1 rollback\(s\)"):
        train(load_config("toy-ring", [*DIVERGING, "optim.lr=64", "train.on_nonfinite=rollback",
                                       "train.max_rollbacks=1"]), tmp_path / "r")
    assert all_finite(tmp_path / "r" / TRAINING_STATE)


def test_the_guard_names_what_is_not_finite(tiny_ring):
    from advnets.train import build_game, plan_training
    from advnets.train.guard import find_nonfinite

    game = build_game(plan_training(tiny_ring()))
    sums = torch.zeros(4)
    assert find_nonfinite(game, sums) == []
    sums[2] = float("inf")
    with torch.no_grad():
        next(game.g.net.parameters())[0, 0] = float("nan")
    assert find_nonfinite(game, sums) == ["d_real", "G's weights"]


def test_a_snapshot_with_nonfinite_weights_is_refused(tiny_mnist_run, tmp_path):
    tensors, header = load_tensors(tiny_mnist_run / LATEST_SNAPSHOT)
    name = next(k for k in tensors if k.startswith("generator."))
    tensors[name] = torch.full_like(tensors[name], float("nan"))
    save_tensors(tmp_path / "nan.safetensors", tensors, header)
    with pytest.raises(CheckpointError, match="non-finite"):
        load_snapshot(tmp_path / "nan.safetensors")


# --- 2. SIGTERM, 3. a run stopped before its first checkpoint -------------------------------------


def _start(run: Path, *extra: str) -> subprocess.Popen:
    argv = [sys.executable, "-m", "advnets.cli", "train", "toy-ring", "--out", str(run), "--set", *RING,
            "train.steps=1000000", "train.checkpoint_every=1000000", *extra]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while not path.exists():
        assert proc.poll() is None and time.time() < deadline, proc.communicate()
        time.sleep(0.05)


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGUSR1"])
def test_a_scheduler_signal_saves_the_state_and_says_how_to_resume(tmp_path, sig):
    run = tmp_path / "t"
    proc = _start(run)
    _wait_for(run / TRAINING_STATE, proc)  # step 0's checkpoint: the run is resumable from here on
    time.sleep(1.0)
    proc.send_signal(getattr(signal, sig))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + getattr(signal, sig), err
    assert f"interrupted by {sig} at step" in err and f"advnets train --resume {run}" in err
    step = read_training_header(run)["step"]
    assert step > 0, err  # saved after the iteration the signal interrupted
    assert main(["train", "--resume", str(run), "--set", f"train.steps={step + 5}"]) == 0
    assert read_training_header(run)["step"] == step + 5


def test_kill_9_leaves_a_resumable_run_and_a_free_lock(tmp_path):
    run = tmp_path / "k"
    proc = _start(run)
    _wait_for(run / TRAINING_STATE, proc)
    proc.kill()
    proc.wait()
    assert main(["train", "--resume", str(run), "--set", "train.steps=10"]) == 0  # the lock died with its process


def test_leftovers_of_an_interrupted_start_do_not_block_the_folder(tmp_path, capsys):
    run = tmp_path / "a"
    run.mkdir()
    (run / ".config.yaml.x1y2.tmp").write_text("half")  # killed while writing its config
    (run / LOCK_FILE).write_text("pid 999999 on nowhere")
    assert main(["train", "toy-ring", "--out", str(run), "--set", *RING, "train.steps=10"]) == 0
    assert not list(run.glob(".*.tmp"))


def test_a_run_stopped_before_its_first_checkpoint_starts_again_on_resume(tmp_path, capsys):
    run = tmp_path / "b"
    assert main(["train", "toy-ring", "--out", str(run), "--set", *RING, "train.steps=10"]) == 0
    for name in (TRAINING_STATE, LATEST_SNAPSHOT):
        (run / name).unlink()  # as if stopped between its config and its first checkpoint
    assert main(["train", "toy-ring", "--out", str(run), "--set", *RING]) == 2
    assert "start it again with advnets train --resume" in one_error_line(capsys)
    assert main(["train", "--resume", str(run)]) == 0
    assert "stopped before its first checkpoint" in capsys.readouterr().out
    assert read_training_header(run)["step"] == 10 and [r["step"] for r in read_stats(run)] == [5, 10]
    empty = tmp_path / "c"
    empty.mkdir()
    assert main(["train", "--resume", str(empty)]) == 2
    assert "holds neither a training state nor a config.yaml" in one_error_line(capsys)


# --- 4. operating-system errors ---------------------------------------------------------------------


def test_a_full_disk_is_one_line_and_keeps_the_last_checkpoint(tmp_path, capsys, monkeypatch):
    import advnets.tensorfile as tensorfile

    real, calls = tensorfile.atomic_write_bytes, []

    def fill_up(path, data):
        calls.append(path)
        if len(calls) > 4 and Path(path).name == TRAINING_STATE:  # step 0 and 10 fit; then the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(path, data)

    monkeypatch.setattr(tensorfile, "atomic_write_bytes", fill_up)
    run = tmp_path / "f"
    assert main(["train", "toy-ring", "--out", str(run), "--set", *RING, "train.steps=30"]) == 2
    err = one_error_line(capsys)
    assert "No space left on device" in err and "last checkpoint (step 10) is intact" in err
    monkeypatch.setattr(tensorfile, "atomic_write_bytes", real)
    assert main(["train", "--resume", str(run)]) == 0


def test_a_disk_error_before_the_first_checkpoint_leaves_no_folder(tmp_path, capsys, monkeypatch):
    import advnets.tensorfile as tensorfile

    def full(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(tensorfile, "atomic_write_bytes", full)
    assert main(["train", "toy-ring", "--out", str(tmp_path / "g"), "--set", *RING]) == 2
    assert "the disk is full" in one_error_line(capsys) and not (tmp_path / "g").exists()


def test_output_paths_that_cannot_be_written_are_one_line(tiny_mnist_run, tmp_path, capsys):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for argv in (["sample", str(tiny_mnist_run), "--n", "4", "--out", "/proc/nope/x.png"],
                 ["sample", str(tiny_mnist_run), "--n", "4", "--out", str(a_file / "x.npy")],
                 ["figure", "curves", str(tiny_mnist_run), "--out", str(a_file / "c.png")],
                 ["report", str(tiny_mnist_run), "--out", str(a_file / "r.html")],
                 ["train", "toy-ring", "--out", str(a_file / "run"), "--set", *RING]):
        assert main(argv) == 2, argv
        one_error_line(capsys)
    assert main(["train", "toy-ring", "--out", str(a_file), "--set", *RING]) == 2
    assert "is not a directory" in one_error_line(capsys)


# --- 5. a torn last line, 7. leftover temporaries, 11. the same rows after a resume ---------------


def test_a_torn_stats_line_is_dropped_on_resume_and_ignored_by_readers(tmp_path, capsys):
    run = tmp_path / "s"
    assert main(["train", "toy-ring", "--out", str(run), "--set", *RING, "train.steps=10"]) == 0
    with (run / STATS_FILE).open("a") as f:
        f.write('{"step": 508, "e')  # what a full disk leaves
    leftovers = [run / ".network-latest.safetensors.abc.tmp", run / ".training-state.safetensors.def.tmp",
                 run / "samples" / ".step-00000010.png.ghi.tmp.png"]
    for path in leftovers:
        path.write_bytes(b"\0" * 100)
    assert [r["step"] for r in read_stats(run)] == [5, 10]
    assert main(["figure", "curves", str(run), "--out", str(tmp_path / "c.png")]) == 0
    assert main(["train", "--resume", str(run), "--set", "train.steps=20"]) == 0
    assert [r["step"] for r in read_stats(run)] == [5, 10, 15, 20]
    assert not any(p.exists() for p in leftovers)
    (run / STATS_FILE).write_text('{"step": 5}\nnot json\n{"step": 10}\n')  # damage inside: said, not hidden
    assert main(["figure", "curves", str(run), "--out", str(tmp_path / "d.png")]) == 2
    assert "line 2 is not a JSON object" in one_error_line(capsys)


def test_stats_rows_are_the_same_when_a_run_stops_inside_a_log_interval(tiny_mnist, tmp_path):
    full = train(tiny_mnist("train.steps=20"), tmp_path / "full")
    train(tiny_mnist("train.steps=12"), tmp_path / "split")  # stops 2 steps into the interval 11-15
    train(tiny_mnist("train.steps=20"), tmp_path / "split", resume=True)
    keys = ("step", "loss_d", "loss_g", "d_real", "d_fake", "lr", "momentum", "diversity")
    assert ([[r[k] for k in keys] for r in read_stats(full.run_dir)]
            == [[r[k] for k in keys] for r in read_stats(tmp_path / "split")])


# --- 6. one process per run -------------------------------------------------------------------------


def test_a_run_being_trained_cannot_be_started_or_resumed_again(tmp_path, capsys):
    run = tmp_path / "l"
    assert main(["train", "toy-ring", "--out", str(run), "--set", *RING, "train.steps=10"]) == 0
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom advnets.train.rundir import RunLock\n"
                               f"RunLock({str(run)!r}).acquire(); print('held', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main(["train", "--resume", str(run), "--set", "train.steps=20"]) == 2
        assert f"is being trained by pid {holder.pid}" in one_error_line(capsys)
        empty = tmp_path / "m"
        empty.mkdir()
        with RunLock(empty):
            assert main(["train", "toy-ring", "--out", str(empty), "--set", *RING]) == 2
            assert "is being trained by" in one_error_line(capsys)
            assert empty.exists()  # another process's folder is never removed
    finally:
        holder.kill()
        holder.wait()
    assert main(["train", "--resume", str(run), "--set", "train.steps=20"]) == 0


# --- 8. inconsistent states, 9. damaged bytes, 10. a damaged best snapshot ------------------------


@pytest.mark.parametrize("damage, message", [
    ("drop-tensor", "'opt_d.0.velocity' is missing|does not fit"),
    ("drop-field", "'d_updates' is missing"),
    ("wrong-shape", "does not fit this run"),
    ("wrong-dtype", "does not fit this run"),
])
def test_an_inconsistent_training_state_is_refused_in_one_line(tmp_path, capsys, damage, message):
    run = tmp_path / "i"
    assert main(["train", "toy-ring", "--out", str(run), "--set", *RING, "train.steps=10",
                 "optim.name=momentum-sgd"]) == 0
    tensors, header = load_training_state(run)
    if damage == "drop-tensor":
        tensors.pop(next(k for k in tensors if k.startswith("opt_d.")))
    elif damage == "drop-field":
        header.pop("d_updates")
    else:
        name = next(k for k, v in tensors.items() if k.startswith("discriminator.") and v.shape[0] > 1)
        tensors[name] = tensors[name][:1] if damage == "wrong-shape" else tensors[name].to(torch.int32)
    save_tensors(run / TRAINING_STATE, tensors, header)
    assert main(["train", "--resume", str(run), "--set", "train.steps=20"]) == 2
    import re

    assert re.search(message, one_error_line(capsys))


def test_a_snapshot_replaced_by_a_folder_is_refused_before_training(tmp_path, capsys):
    run = tmp_path / "d"
    assert main(["train", "toy-ring", "--out", str(run), "--set", *RING, "train.steps=10"]) == 0
    (run / LATEST_SNAPSHOT).unlink()
    (run / LATEST_SNAPSHOT).mkdir()
    assert main(["train", "--resume", str(run), "--set", "train.steps=20"]) == 2
    assert "is a folder, where the run writes" in one_error_line(capsys)


def test_one_flipped_byte_is_found_by_every_reader(tiny_mnist_run, tmp_path, capsys):
    data = bytearray((tiny_mnist_run / LATEST_SNAPSHOT).read_bytes())
    data[-100] ^= 0x01  # one bit of one weight
    damaged = tmp_path / "flipped.safetensors"
    damaged.write_bytes(bytes(data))
    assert read_header(damaged)["step"]  # the header is intact: only the tensors changed
    for argv in (["sample", str(damaged), "--n", "2", "--out", str(tmp_path / "x.npy")],
                 ["evaluate", str(damaged), "--metric", "parzen", "--n-samples", "10"]):
        assert main(argv) == 2
        assert "is damaged: its tensor bytes do not match the checksum" in one_error_line(capsys)


def test_a_damaged_best_snapshot_points_to_the_latest(tmp_path, data_dir, capsys):
    run = tmp_path / "v"
    assert main(["train", "paper-mnist", "--out", str(run), "--data-dir", str(data_dir), "--set", *TINY,
                 "train.steps=10", "train.valid_every=5", "train.valid_samples=50"]) == 0
    data = bytearray((run / BEST_SNAPSHOT).read_bytes())
    data[-10] ^= 0xFF
    (run / BEST_SNAPSHOT).write_bytes(bytes(data))
    assert main(["sample", str(run), "--n", "2", "--out", str(tmp_path / "x.npy")]) == 2
    err = one_error_line(capsys)
    assert f"{BEST_SNAPSHOT} is damaged" in err and f"pass {run / LATEST_SNAPSHOT} (step 10) instead" in err
    assert main(["sample", str(run / LATEST_SNAPSHOT), "--n", "2", "--out", str(tmp_path / "x.npy")]) == 0


def test_checkpoints_carry_the_checksum_of_their_tensors(tiny_mnist_run):
    for name in (LATEST_SNAPSHOT, TRAINING_STATE):
        assert len(read_header(tiny_mnist_run / name)["tensors_sha256"]) == 64


# --- 12. an explicit data directory ------------------------------------------------------------------


def test_a_missing_explicit_data_dir_is_never_skipped(tmp_path, data_dir, monkeypatch, capsys):
    monkeypatch.setenv("ADVNETS_DATA", str(data_dir))  # the files are there: they must not be used instead
    typo = tmp_path / "dta"
    argv = ["train", "paper-mnist", "--out", str(tmp_path / "r"), "--data-dir", str(typo), "--set", *TINY,
            "data.download=false"]
    assert main(argv) == 2
    assert f"data directory {typo} (--data-dir / data.dir) does not exist" in one_error_line(capsys)
    assert not typo.exists() and not (tmp_path / "r").exists()
    from advnets.data.mnist import load_idx_split
    from advnets.errors import DataError

    with pytest.raises(DataError, match="could not be downloaded"):  # where downloads are allowed: only there
        load_idx_split("mnist", "test", typo, download=True, mirrors=((tmp_path / "no-mirror").as_uri() + "/",))
    assert not typo.exists()  # a failed download leaves no empty folder behind


def test_json_lines_readers_agree_on_what_a_torn_line_is(tmp_path):
    from advnets.fileio import read_json_lines

    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"step": 1}) + "\n" + '{"st')
    assert read_json_lines(path) == ([{"step": 1}], True)
    path.write_text(json.dumps({"step": 1}) + "\n")
    assert read_json_lines(path) == ([{"step": 1}], False)


def test_a_repeated_signal_at_once_is_one_stop_and_a_later_one_aborts(monkeypatch):
    """torchrun passes on the Ctrl-C every rank already got from the terminal: that echo is one request;
    a user's second Ctrl-C, later, still aborts."""
    import os
    import signal as signals

    from advnets.train import stopping

    with stopping.stop_requests() as stop:
        os.kill(os.getpid(), signals.SIGUSR1)
        os.kill(os.getpid(), signals.SIGUSR1)  # the launcher's echo, within REPEAT_GRACE_S
        assert stop.is_set() and stop.signal_name == "SIGUSR1"
        monkeypatch.setattr(stopping, "REPEAT_GRACE_S", 0.0)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signals.SIGUSR1)
            time.sleep(0.1)  # (a handler runs between bytecodes)


# --- issue 29: signals at the start, quoted commands, messages ------------------------------------


def test_a_signal_as_soon_as_the_lock_appears_is_caught_and_saved(tmp_path):
    """The handlers are in place before the lock is taken: a SIGTERM the moment the lock file appears (or
    two SIGINTs 10 ms apart) stops the run after its first iteration, saved, in one line."""
    for sigs in (["SIGTERM"], ["SIGINT", "SIGINT"]):
        run = tmp_path / sigs[0]
        proc = _start(run)
        deadline = time.time() + 60
        while not (run / LOCK_FILE).exists():  # polled each millisecond: the signal comes at once
            assert proc.poll() is None and time.time() < deadline, proc.communicate()
            time.sleep(0.001)
        for sig in sigs:
            proc.send_signal(getattr(signal, sig))
            time.sleep(0.01)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 128 + getattr(signal, sigs[0]), err
        assert err.count("\n") == 1 and "state saved, continue with: advnets train --resume" in err, err
        assert "Traceback" not in err and read_training_header(run)["step"] >= 0


def test_suggested_commands_quote_their_paths(tmp_path):
    """A folder named like a shell command stays one argument in every command advnets prints."""
    import shlex

    run = tmp_path / "x y;rm -rf z"
    proc = _start(run)
    _wait_for(run / TRAINING_STATE, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    command = err.strip().split("continue with: ", 1)[1]
    assert shlex.split(command) == ["advnets", "train", "--resume", str(run)]
    from advnets.errors import shell_command

    assert shlex.split(shell_command("advnets", "sample", run, "--out", "a b.png")) == [
        "advnets", "sample", str(run), "--out", "a b.png"]


def test_used_up_rollbacks_say_what_is_left(tmp_path, capsys):
    run = tmp_path / "r"
    assert main(["train", "toy-ring", "--out", str(run), "--set", *DIVERGING, "optim.lr=64",
                 "train.on_nonfinite=rollback", "train.max_rollbacks=1"]) == 3
    err = one_error_line(capsys)
    header = read_training_header(run)
    assert "(train.max_rollbacks=1) without writing it" in err  # (a space before "without")
    assert f"its learning rates x{header['lr_scale']:g} after {header['rollbacks']} rollback(s)" in err
    assert f"advnets train --resume {run} --set train.max_rollbacks=4" in err
    assert "train.on_nonfinite=rollback" not in err  # (advice that would change nothing)


def test_an_output_that_cannot_be_created_is_named_as_given(tiny_mnist_run, capsys):
    assert main(["sample", str(tiny_mnist_run), "--n", "4", "--out", "/proc/x.png"]) == 2
    err = one_error_line(capsys)
    assert "/proc/x.png:" in err and ".tmp" not in err


def test_a_process_that_exits_after_its_run_ignores_late_signals():
    """The command line as a whole process leaves stop signals ignored once its run has ended (a second
    Ctrl-C during the exit printed an atexit traceback); a library caller gets its own handlers back."""
    import signal as signals

    from advnets.train import stopping

    before = signals.getsignal(signals.SIGINT)
    try:
        with stopping.stop_requests():
            pass
        assert signals.getsignal(signals.SIGINT) is before
        with stopping.stop_requests(restore=False):
            pass
        assert all(signals.getsignal(s) == signals.SIG_IGN for s in stopping.STOP_SIGNALS)
    finally:
        for s in stopping.STOP_SIGNALS:
            signals.signal(s, before if s == signals.SIGINT else signals.SIG_DFL)


def test_the_library_leaves_no_folder_when_the_data_is_missing(tmp_path):
    """train() from Python, offline and without MNIST: one error line, and no lock-only folder left behind."""
    from advnets.config import load_config
    from advnets.errors import DataError

    cfg = load_config("fast-mnist", [f"data.dir={tmp_path / 'no-data'}", "data.download=false", "train.steps=5"])
    with pytest.raises(DataError) as err:
        train(cfg, tmp_path / "py-demo")
    assert "\n" not in str(err.value) and not (tmp_path / "py-demo").exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError):
        train(load_config("fast-mnist", [f"data.dir={tmp_path / 'empty'}", "data.download=false"]), tmp_path / "p2")
    assert not (tmp_path / "p2").exists()
