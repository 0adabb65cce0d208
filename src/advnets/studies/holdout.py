"""`advnets study test`: the chosen setting on the test split, once.

A study chooses on the validation split; the test split is looked at once, at the end, for the one setting
chosen, so that the number reported was not itself chosen. Each of the setting's finished trials is scored by
the objective's metric on the test split (a metrics.jsonl row in its run folder); the scores are recorded in
the storage, and a second test of the study (any setting) is refused unless --again asks for it (then it is
recorded beside the first, not over it). A metric without data splits (synthetic data) is scored on fresh
samples instead: sample seed + 1, which the record says.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from advnets.errors import ConfigError
from advnets.studies import storage as stores


def test_setting(opened: stores.OpenStudy, setting: str, again: bool = False, say=print) -> dict[str, Any]:
    """Score `setting`'s finished trials on the test split, record it in the storage, return the record."""
    from optuna.trial import TrialState

    from advnets.metrics import registry as metrics
    from advnets.metrics.spec import MetricRequest
    from advnets.snapshot import load_snapshot

    study, objective = opened.study, opened.spec.objective
    history = study.user_attrs.get(stores.TEST_ATTR, [])
    if history and not again:
        first = history[0]
        raise ConfigError(f"study {opened.folder.name} was tested already ({first['setting']}, {first['date']}); the "
                          "test split is looked at once: pass --again to score it again (recorded beside the first)")
    if setting not in opened.spec.settings:
        raise ConfigError(f"setting '{setting}' is not one of the study's ({', '.join(opened.spec.settings)})")
    trials = [t for t in stores.units(study) if t.user_attrs["setting"] == setting and t.state == TrialState.COMPLETE]
    if not trials:
        raise ConfigError(f"setting {setting} has no finished trial to test yet (advnets study run)")
    splits = "split" in metrics.get(objective.metric).options
    request = MetricRequest(n_samples=objective.n_samples, seed=objective.sample_seed if splits else
                            objective.sample_seed + 1, split="test" if splits else None)
    scores = {}
    for trial in sorted(trials, key=lambda t: t.user_attrs["seed"]):
        run = opened.folder.path / trial.user_attrs["run"]
        if not run.is_dir():
            raise ConfigError(f"trial {trial.number}'s run folder {run} is not on this machine (it ran on "
                              f"{trial.user_attrs.get('machine', '?')}); test the study where its trials are")
        snap = load_snapshot(run)
        row = metrics.evaluate(objective.metric, snap, request)
        metrics.append_metrics(snap.path, row)
        scores[str(trial.user_attrs["seed"])] = row[objective.key]
        say(f"  {setting}, seed {trial.user_attrs['seed']}: {objective.label} = {row[objective.key]:.6g} ("
            f"{'the test split' if splits else 'fresh samples'})")
    values = list(scores.values())
    record = {"setting": setting, "date": time.strftime("%Y-%m-%d %H:%M"), "split": "test" if splits else
              "fresh samples (no data split)", "sample_seed": request.seed, "scores": scores,
              "median": statistics.median(values), "mean": statistics.fmean(values),
              "se": statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else None}
    study.set_user_attr(stores.TEST_ATTR, [*history, record])
    return record
