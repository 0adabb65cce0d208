"""The study table's numbers (studies/table.py) against independent computations: the expected best of k
settings by enumerating every subset, the paired interval by scipy's paired t-test."""

import itertools
import statistics
from types import SimpleNamespace

import pytest
from optuna.trial import TrialState

from advnets.studies.spec import Objective
from advnets.studies.table import SettingRow, best_after_k, paired_difference, summarize

MAXIMIZE = Objective("modes", "high_quality", "maximize")
MINIMIZE = Objective("mnistclf-features", "fid_mnistclf", "minimize")


@pytest.mark.parametrize("objective", [MAXIMIZE, MINIMIZE])
def test_the_expected_best_of_k_settings_equals_the_mean_over_every_subset(objective):
    means = [3.0, 7.5, 1.0, 4.25, 9.0, 2.0]
    rows = [SettingRow(f"s{i}", [], {0: m}, mean=m) for i, m in enumerate(means)]
    best = max if objective.direction == "maximize" else min
    for k, value in best_after_k(rows, objective):
        subsets = list(itertools.combinations(means, k))
        assert value == pytest.approx(statistics.fmean(best(s) for s in subsets), rel=1e-12)
    assert best_after_k(rows, objective)[-1][1] == best(means)  # all settings tried: the best one


def test_the_paired_difference_and_its_interval_are_the_paired_t_tests():
    from scipy import stats

    setting, baseline = {0: 1.0, 1: 2.5, 2: 2.0, 3: 4.0}, {0: 0.5, 1: 1.0, 2: 2.5, 3: 2.0, 4: 9.0}
    d = paired_difference(setting, baseline)
    assert d["seeds"] == [0, 1, 2, 3] and d["mean"] == pytest.approx(0.875)  # seed 4 has no pair
    ci = stats.ttest_rel([setting[s] for s in range(4)], [baseline[s] for s in range(4)]).confidence_interval(0.95)
    assert (d["low"], d["high"]) == pytest.approx((ci.low, ci.high), rel=1e-12)
    assert paired_difference({0: 1.0}, {0: 0.0})["low"] is None  # one pair: no interval


def _trial(setting, seed, value=None, state=TrialState.COMPLETE, reason=None):
    attrs = {"setting": setting, "seed": seed, **({"reason": reason} if reason else {})}
    return SimpleNamespace(user_attrs=attrs, value=value, state=state)


def test_rows_per_setting_with_failures_and_retries():
    trials = [_trial("a", 0, 1.0), _trial("a", 1, 3.0), _trial("a", 2, 2.0),
              _trial("b", 0, state=TrialState.FAIL, reason="stopped"), _trial("b", 0, 5.0),  # a retry finished it
              _trial("b", 1, state=TrialState.FAIL, reason="diverged at step 300"),
              _trial("c", 0, state=TrialState.FAIL, reason="stale"), _trial("c", 0, state=TrialState.WAITING)]
    rows = {r.setting: r for r in summarize(trials, {"a": ("x=1",), "b": (), "c": ()}, MINIMIZE, baseline="a")}
    a, b, c = rows["a"], rows["b"], rows["c"]
    assert (a.n, a.median, a.mean, a.worst) == (3, 2.0, 2.0, 3.0) and a.se == pytest.approx(1 / 3 ** 0.5)
    assert b.values == {0: 5.0} and b.failed == {1: "diverged at step 300"} and b.vs_baseline["mean"] == 4.0
    assert c.n == 0 and c.failed == {}  # queued again: not (yet) a failure
    assert [r.setting for r in summarize(trials, {}, MINIMIZE)] == ["a", "b", "c"]  # best median first, then none
