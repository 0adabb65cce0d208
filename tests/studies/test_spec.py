"""A study's spec (studies/spec.py): read whole and checked before anything is created; every refusal one line,
exit 2, no study folder and no storage written."""

import pytest

from advnets.cli import main
from advnets.errors import ConfigError
from advnets.studies.spec import read_spec
from tests.studies.conftest import write_spec
from tests.train.test_faults import one_error_line


def test_named_settings_seeds_and_the_trial_config(tiny_spec):
    spec = read_spec(tiny_spec)
    assert list(spec.settings) == ["k1", "k2"] and spec.seeds == (0, 1) and spec.budget.updates == 200
    assert spec.trial_overrides("k2", 1, 200)[-3:] == ["train.k=2", "seed=1", "train.steps=200"]


def test_a_grid_names_every_point_and_random_draws_the_same_settings_everywhere(tmp_path):
    grid = read_spec(write_spec(tmp_path, "grid", settings=None, baseline="lr0.001-k1",
                                space={"optim.lr": [0.001, 0.002], "train.k": [1, 2]}))
    assert grid.sampler == "grid" and len(grid.settings) == 4
    assert grid.settings["lr0.001-k2"] == ("optim.lr=0.001", "train.k=2")
    space = {"optim.lr": {"log_uniform": [0.0001, 0.01]}, "train.k": {"choice": [1, 2]}}
    drawn = [read_spec(write_spec(tmp_path, "random", settings=None, baseline=None, space=space, n_settings=3)).settings
             for _ in range(2)]
    assert drawn[0] == drawn[1] and len(drawn[0]) == 3  # Optuna's RandomSampler, seeded: the same on every machine
    for overrides in drawn[0].values():
        lr = float(overrides[0].split("=")[1])
        assert 0.0001 <= lr <= 0.01 and overrides[1] in ("train.k=1", "train.k=2")


@pytest.mark.parametrize("changes, message", [
    ({"sed": [0]}, "unknown key 'sed'"),
    ({"space": {"train.k": [1, 2]}}, "give either settings"),
    ({"settings": {"k1": ["train.k=1"], "k0": ["train.k=0"]}}, "setting k0: train.k: must be >= 1"),
    ({"settings": {"bad": ["train.kk=1"]}, "baseline": None}, "setting bad: unknown config key 'train.kk'"),
    ({"settings": {"s": ["seed=3"]}}, "seed is the study's"),
    ({"settings": None, "space": {"optim.lr": {"log_uniform": [0.0, 1.0]}}, "n_settings": 2}, "low > 0"),
    ({"settings": None, "baseline": None, "space": {"loss.label_smoothing": {"uniform": [0.0, 0.9]}}, "n_settings": 2},
     "setting loss.label_smoothing=0.9 (an end of the range): loss.label_smoothing: must be in [0, 0.5)"),
    ({"objective": {"metric": "modes", "key": "fid", "direction": "minimize"}}, "objective key 'fid' is not a number"),
    ({"objective": {"metric": "modez", "key": "modes", "direction": "maximize"}}, "unknown metric 'modez'"),
    ({"objective": {"metric": "modes", "key": "modes"}}, "expected {metric: NAME, key: KEY, direction"),
    ({"budget": {"updates": 0}}, "updates must be a whole number >= 1"),
    ({"budget": {"hours": 1}}, "expected {updates: N} or {seconds: S}"),
    ({"seeds": [0, 0]}, "distinct seeds"),
    ({"baseline": "k3"}, "baseline 'k3' is not one of the settings"),
    ({"base": "toy-rung"}, "base 'toy-rung' is neither a preset nor a YAML file"),
])
def test_a_bad_spec_is_one_line_and_creates_nothing(changes, message, tmp_path, capsys):
    path = write_spec(tmp_path, **changes)
    with pytest.raises(ConfigError) as refused:
        read_spec(path)
    assert message in str(refused.value)
    out = tmp_path / "study"
    assert main(["study", "create", str(path), "--out", str(out)]) == 2
    assert message in one_error_line(capsys) and not out.exists()


def test_a_setting_that_cannot_train_here_is_refused_before_the_study_exists(tmp_path, capsys):
    """Each setting's run is planned at create (advnets.train.plan: its data, batch and memory): a run far larger
    than this machine's memory is refused then, naming the setting."""
    path = write_spec(tmp_path, settings={"ok": [], "huge": ["generator.hidden=[100000, 100000, 100000]"]},
                      baseline="ok")
    out = tmp_path / "study"
    assert main(["study", "create", str(path), "--out", str(out)]) == 2
    assert "setting huge: this run needs about" in one_error_line(capsys) and not out.exists()
