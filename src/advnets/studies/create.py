"""`advnets study create`: a spec made into a study, in its storage and its folder.

A new study: the Optuna study (direction from the objective), the spec stored with it, the wall-clock budget
calibrated into updates, and one queued trial per (setting, seed). The same spec created again against the
same storage joins the study (another machine's folder, on a shared PostgreSQL storage); another spec under
the same name is refused, unless --extend asks to add its new settings or seeds to the study (its base,
overrides, budget and objective unchanged). Nothing is written when anything is refused.
"""

from __future__ import annotations

from pathlib import Path

from advnets.errors import ConfigError
from advnets.studies import storage as stores
from advnets.studies.calibrate import calibrate
from advnets.studies.spec import StudySpec, from_record

# What an extension may not change (the trials already run would not be comparable)
FIXED_ON_EXTEND = ("base", "set", "budget", "objective", "sampler", "space")


def create(spec: StudySpec, out: Path, storage_url: str | None = None, extend: bool = False,
           heartbeat_s: int = stores.HEARTBEAT_S, grace_s: int = stores.GRACE_S, say=print,
           calibrated: dict | None = None, carried: list[dict] = ()) -> stores.StudyFolder:
    """Make (or join, or extend) the study of `spec` with its folder `out`; returns the folder. A new study may
    start from results made before it existed: `calibrated` (setting -> its updates record, instead of timing
    it here) and `carried` (finished trials, each {setting, seed, value, user_attrs}: not trained again)."""
    import shutil

    import optuna

    out = Path(out)
    _check_folder(out, spec.name)
    check_plans(spec)
    url = storage_url or stores.default_storage(out)
    folder = stores.StudyFolder(out, spec.name, url, heartbeat_s, grace_s)
    made = not out.exists()
    out.mkdir(parents=True, exist_ok=True)  # (an SQLite storage's file goes in it)
    try:
        storage = stores.open_storage(url, heartbeat_s, grace_s)
        try:
            existing = optuna.load_study(study_name=spec.name, storage=storage)
        except KeyError:
            existing = None
        if existing is None:
            updates = _calibrated(spec, list(spec.settings), dict(calibrated or {}), say)  # (before the study exists)
            study = optuna.create_study(study_name=spec.name, storage=storage, direction=spec.objective.direction)
            study.set_user_attr(stores.SPEC_ATTR, spec.to_record())
            for trial in carried:
                carry(study, **trial)
            _queue(study, spec, list(spec.settings), updates)
            say(f"study {spec.name}: {len(spec.settings) or spec.n_settings} settings x {len(spec.seeds)} seeds, "
                f"in {stores.shown(url)}")
        else:
            _join_or_extend(existing, spec, extend, say)
        folder.write()
    except BaseException:
        if made:  # a refused study leaves no folder behind
            shutil.rmtree(out, ignore_errors=True)
        raise
    return folder


def check_plans(spec: StudySpec) -> None:
    """Plan one trial of every setting (advnets.train.plan: the data found, the batch against the split, the
    memory against this machine's), so that a setting that cannot train is refused before the study exists."""
    from advnets.config import load_config
    from advnets.train import plan_training

    for setting in spec.settings:
        try:
            plan_training(load_config(spec.base, spec.trial_overrides(setting, spec.seeds[0], 1)))
        except ConfigError as e:
            raise ConfigError(f"setting {setting}: {e}") from None


def _check_folder(out: Path, name: str) -> None:
    """`out` is new, empty, or this study's own folder (never another's files)."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder for the study")
    if (out / stores.STUDY_FILE).is_file():
        recorded = stores.read_folder(out)
        if recorded.name != name:
            raise ConfigError(f"{out} is the folder of study {recorded.name}; choose another --out for {name}")
    elif out.is_dir() and any(out.iterdir()):
        raise ConfigError(f"{out} already exists and is not empty; choose a new --out for the study")


def carry(study, setting: str, seed: int, value: float, user_attrs: dict) -> None:
    """A finished trial made before the study existed (its result carried over, not trained again)."""
    import optuna

    study.add_trial(optuna.trial.create_trial(value=float(value), user_attrs={**user_attrs, "setting": setting,
                                                                              "seed": seed}))


def _calibrated(spec: StudySpec, settings: list[str], known: dict, say) -> dict | None:
    """Each setting's updates where the budget is in seconds (calibrated here, once; `known` kept); None otherwise."""
    if spec.budget.seconds is None or not settings:
        return None
    say(f"calibrating the budget ({spec.budget.seconds:g} s a trial) into updates:")
    return calibrate(spec, settings, known, say)


def _queue(study, spec: StudySpec, settings: list[str], updates: dict | None) -> None:
    """The calibrated budget recorded, and one trial of each setting and seed queued (those not queued yet)."""
    if updates is not None:
        study.set_user_attr(stores.UPDATES_ATTR, updates)
    queued = {(t.user_attrs["setting"], t.user_attrs["seed"]) for t in stores.units(study)}
    for setting in settings:
        for seed in spec.seeds:
            if (setting, seed) not in queued:
                stores.enqueue(study, setting, seed)


def _join_or_extend(study, spec: StudySpec, extend: bool, say) -> None:
    stored = from_record(study.user_attrs[stores.SPEC_ATTR])
    new, old = spec.to_record(), stored.to_record()
    if new == old:
        say(f"study {spec.name}: joined ({len(stores.units(study))} trials in its storage)")
        return
    changed = sorted(key for key in new if new[key] != old.get(key))
    if not extend:
        raise ConfigError(f"the storage holds a study {spec.name} made from another spec (it differs in: "
                          f"{', '.join(changed)}); name this one differently for a new study, or pass --extend to add "
                          "settings or seeds to it")
    fixed = [key for key in changed if key in FIXED_ON_EXTEND]
    dropped = [name for name in stored.settings if name not in spec.settings]
    redefined = [name for name in stored.settings if name in spec.settings and spec.settings[name] !=
                 stored.settings[name]]
    lost_seeds = [seed for seed in stored.seeds if seed not in spec.seeds]
    if fixed or dropped or redefined or lost_seeds:
        what = (fixed and f"changes {', '.join(fixed)}") or (dropped and f"drops setting {dropped[0]}") or (
            redefined and f"changes setting {redefined[0]}") or f"drops seed {lost_seeds[0]}"
        raise ConfigError(f"--extend adds settings or seeds to study {spec.name}; this spec {what}, which would make "
                          "the trials already run incomparable: make a new study")
    added = [name for name in spec.settings if name not in stored.settings]
    updates = _calibrated(spec, list(spec.settings), study.user_attrs.get(stores.UPDATES_ATTR, {}), say)
    study.set_user_attr(stores.SPEC_ATTR, {**spec.to_record(), "settings": {**old["settings"], **new["settings"]}})
    _queue(study, spec, list(spec.settings), updates)
    say(f"study {spec.name}: extended by {len(added)} settings and {len(set(spec.seeds) - set(stored.seeds))} seeds")
