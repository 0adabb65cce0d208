"""A study several machines share, on a real PostgreSQL server (the one scripts/test.sh starts on the loopback:
$ADVNETS_TEST_POSTGRES). Two study folders stand for two machines: each joins the study with the same create,
each runs a worker, and every trial is trained once. Skipped, saying why, where no server is given."""

import os
import subprocess
import sys
import uuid

import pytest
from optuna.trial import TrialState

from advnets.studies.storage import load_study, read_folder, units
from tests.studies.conftest import advnets, write_spec

URL = os.environ.get("ADVNETS_TEST_POSTGRES")
pytestmark = pytest.mark.skipif(not URL, reason="no PostgreSQL server given: set ADVNETS_TEST_POSTGRES (scripts/test.sh"
                                " starts one, scripts/test-postgres.sh, where Debian's server can be had)")


def test_two_machines_share_a_study_on_postgresql_and_train_every_trial_once(tmp_path):
    name = f"shared-{uuid.uuid4().hex[:8]}"  # a study of its own on a server other runs may use
    spec = write_spec(tmp_path, name)
    machines = [tmp_path / "machine-a", tmp_path / "machine-b"]
    created = [advnets("study", "create", spec, "--out", folder, "--storage", URL).stdout for folder in machines]
    assert "joined (4 trials in its storage)" in created[1]
    workers = [subprocess.Popen([sys.executable, "-m", "advnets", "study", "run", str(folder)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for folder in machines]
    outputs = [w.communicate(timeout=600)[0] for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs
    trials = units(load_study(read_folder(machines[0])).study)
    assert sorted((t.user_attrs["setting"], t.user_attrs["seed"]) for t in trials) == [
        ("k1", 0), ("k1", 1), ("k2", 0), ("k2", 1)] and all(t.state == TrialState.COMPLETE for t in trials)
    ran_here = [sorted(p.name for p in (folder / "trials").iterdir()) if (folder / "trials").exists() else []
                for folder in machines]
    assert sorted(ran_here[0] + ran_here[1]) == ["k1-s0", "k1-s1", "k2-s0", "k2-s1"]  # each trained on one machine
    table = advnets("study", "table", machines[1]).stdout
    assert "| k2 | 2 |" in table and "| k1 | 2 |" in table
    assert "postgresql+psycopg://postgres@" in advnets("study", "status", machines[0]).stdout
