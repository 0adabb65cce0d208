import pytest

from advnets.errors import CheckpointError
from advnets.train.rundir import TRAINING_STATE, RunClaim, RunLock


def test_a_folder_made_for_a_run_goes_again_unless_it_holds_a_training_state(tmp_path):
    with RunClaim.folder(tmp_path / "failed") as claim:
        with pytest.raises(CheckpointError, match="being trained"):
            RunLock(claim.path).acquire()  # held while the claim is
    assert not (tmp_path / "failed").exists()  # made here, nothing worth keeping in it
    with RunClaim.folder(tmp_path / "kept") as claim:
        (claim.path / TRAINING_STATE).write_bytes(b"state")
    assert (tmp_path / "kept" / TRAINING_STATE).exists()
    (tmp_path / "mine").mkdir()
    with RunClaim.folder(tmp_path / "mine"):
        pass
    assert (tmp_path / "mine").is_dir()  # the user's own folder is never removed
    RunLock(tmp_path / "mine").acquire().release()  # and is free again


def test_a_run_to_resume_must_exist_and_is_locked_while_held(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        RunClaim.existing(tmp_path / "missing")
    (tmp_path / "run").mkdir()
    claim = RunClaim.existing(tmp_path / "run")
    with pytest.raises(CheckpointError, match="being trained"):
        RunClaim.existing(tmp_path / "run")
    claim.close()
    claim.close()  # closing twice is harmless
    RunClaim.existing(tmp_path / "run").close()
    assert (tmp_path / "run").is_dir()


def test_a_new_run_takes_the_next_numbered_folder_or_refuses_a_full_one(tmp_path):
    with RunClaim.new(None, "paper mnist", tmp_path) as first, RunClaim.new(None, "paper mnist", tmp_path) as second:
        assert (first.path.name, second.path.name) == ("00000-paper-mnist", "00001-paper-mnist")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    with pytest.raises(CheckpointError, match="already exists and is not empty"):
        RunClaim.new(tmp_path / "full", "x")
    assert (tmp_path / "full" / "notes.txt").read_text() == "mine"
