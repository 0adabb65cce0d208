"""A study's spec: what is compared (settings of config overrides), over which seeds, at which budget, by
which validation objective. Read from YAML, checked whole before anything runs (each refusal one line).

    name: ring-k                         # the study's name in its storage (default: the spec file's name)
    base: toy-ring                       # a preset or a YAML file (relative to the spec)
    set: [train.progress=false]          # overrides every trial gets
    settings:                            # named settings, each a list of overrides ...
      k1: [train.schedule=alternating, train.k=1]
      k2: [train.schedule=alternating, train.k=2]
    space:                               # ... or a space: a list is a grid dimension, a mapping a sampled range
      optim.lr: [0.0001, 0.0002]
      loss.r1_gamma: {log_uniform: [0.1, 10]}
      train.k: {choice: [1, 2]}
    sampler: grid                        # grid (every point of a space of lists), random or tpe (Optuna's)
    n_settings: 8                        # random / tpe: how many settings to try
    seeds: 0-2                           # the training seeds of every setting
    budget: {updates: 2000}              # or {seconds: 240}: turned into updates once, per setting (calibrate.py)
    objective: {metric: modes, key: high_quality, direction: maximize}   # on the validation split
    baseline: k1                         # the setting the others are compared with (paired over seeds)
    notes: {k2: two D updates per G update}   # what a setting tries, for people (the report shows it)

A setting's trial config is: base, then ``set``, then the setting's overrides, then ``seed`` and
``train.steps`` (the budget). Every setting a grid or a list names, and both ends of every sampled range,
are loaded as configs before the study is created, so that a typo or a refused value is found first.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advnets.errors import ConfigError

SAMPLERS = ("grid", "random", "tpe")
RANGES = ("uniform", "log_uniform", "choice")
DIRECTIONS = ("minimize", "maximize")
SPEC_KEYS = ("name", "base", "set", "settings", "space", "sampler", "n_settings", "seeds", "budget", "objective",
             "baseline", "notes")
MAX_SETTINGS = 10_000


@dataclass(frozen=True)
class Objective:
    metric: str  # a registered metric (advnets evaluate --metric)
    key: str  # the number of its row that is compared
    direction: str  # minimize or maximize
    n_samples: int | None = None  # the metric's default when None
    sample_seed: int = 0

    @property
    def label(self) -> str:
        return f"{self.metric}:{self.key}"

    def better(self, a: float, b: float) -> bool:
        return a < b if self.direction == "minimize" else a > b


@dataclass(frozen=True)
class Budget:
    updates: int | None = None  # a fixed number of updates (train.steps) for every setting
    seconds: float | None = None  # or a wall-clock budget, turned into updates per setting once
    threads: int | None = None  # the threads the calibration times (default: PyTorch's)


@dataclass(frozen=True)
class StudySpec:
    name: str
    base: str  # a preset name or a YAML file's absolute path
    common: tuple[str, ...]  # the overrides every trial gets (`set`)
    settings: dict[str, tuple[str, ...]]  # named settings (from `settings`, or a grid or random draw of `space`)
    space: dict[str, Any] = field(default_factory=dict)  # the raw space (tpe draws from it while the study runs)
    sampler: str = "grid"
    n_settings: int = 0  # random / tpe
    seeds: tuple[int, ...] = (0,)
    budget: Budget = Budget(updates=1000)
    objective: Objective = Objective("modes", "modes", "maximize")
    baseline: str | None = None
    notes: dict[str, str] = field(default_factory=dict)  # setting -> what it tries, for people (tables, report)

    def trial_overrides(self, setting: str, seed: int, updates: int) -> list[str]:
        """The overrides of `base` that make the trial of `setting` and `seed`."""
        return [*self.common, *self.settings[setting], f"seed={seed}", f"train.steps={updates}"]

    def to_record(self) -> dict[str, Any]:
        """What the storage keeps (JSON): enough for any worker, on any machine, to run the study."""
        return {"name": self.name, "base": self.base, "set": list(self.common),
                "settings": {k: list(v) for k, v in self.settings.items()}, "space": self.space,
                "sampler": self.sampler, "n_settings": self.n_settings, "seeds": list(self.seeds),
                "budget": {k: v for k, v in vars(self.budget).items() if v is not None},
                "objective": vars(self.objective), "baseline": self.baseline, "notes": dict(self.notes)}


def read_spec(path: Path | str) -> StudySpec:
    """The spec in the YAML file `path`, checked (keys, types, every setting's config); ConfigError otherwise."""
    from advnets.config import read_yaml

    path = Path(path)
    data = read_yaml(path)
    where = f"study spec {path}"
    return from_mapping(data, where, default_name=path.stem, relative_to=path.parent)


def from_record(record: dict[str, Any]) -> StudySpec:
    """A spec as the storage keeps it (to_record: checked when the study was made), read back."""
    try:
        budget, objective = record["budget"], record["objective"]
        return StudySpec(record["name"], record["base"], tuple(record["set"]),
                         {name: tuple(overrides) for name, overrides in record["settings"].items()},
                         dict(record["space"]), record["sampler"], int(record["n_settings"]), tuple(record["seeds"]),
                         Budget(budget.get("updates"), budget.get("seconds"), budget.get("threads")),
                         Objective(**objective), record["baseline"], dict(record.get("notes") or {}))
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ConfigError(f"the study's stored spec is damaged or from another version ({e!r})") from None


def from_mapping(data: Any, where: str, default_name: str, relative_to: Path) -> StudySpec:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of keys")
    unknown = sorted(set(data) - set(SPEC_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key '{unknown[0]}' (known: {', '.join(SPEC_KEYS)})")
    name = _text(data.get("name", default_name), f"{where}: name")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", name):
        raise ConfigError(f"{where}: name must be letters, digits, '.', '_' or '-' (at most 100), got {name!r}")
    base = _base(data.get("base"), where, relative_to)
    common = tuple(_overrides(data.get("set", []), f"{where}: set"))
    space = data.get("space") or {}
    named = data.get("settings")
    if (named is None) == (not space):
        raise ConfigError(f"{where}: give either settings (named lists of overrides) or a space, not "
                          f"{'both' if named is not None else 'neither'}")
    sampler = _choice(data.get("sampler", _default_sampler(space)), SAMPLERS, f"{where}: sampler")
    n_settings = data.get("n_settings", 0)
    if named is not None:
        if "sampler" in data and sampler != "grid":
            raise ConfigError(f"{where}: sampler {sampler} draws from a space; named settings are run as listed")
        settings = _named_settings(named, where)
    else:
        _check_space(space, where)
        settings = _space_settings(space, sampler, n_settings, where)
    seeds = _seeds(data.get("seeds", [0]), f"{where}: seeds")
    budget = _budget(data.get("budget"), f"{where}: budget")
    objective = _objective(data.get("objective"), f"{where}: objective")
    baseline = data.get("baseline")
    if baseline is not None and _text(baseline, f"{where}: baseline") not in settings and sampler != "tpe":
        raise ConfigError(f"{where}: baseline '{baseline}' is not one of the settings ({', '.join(settings)})")
    notes = data.get("notes") or {}
    if not isinstance(notes, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in notes.items()):
        raise ConfigError(f"{where}: notes must map setting names to text")
    spec = StudySpec(name, base, common, settings, dict(space), sampler, int(n_settings or 0), seeds, budget,
                     objective, baseline, dict(notes))
    check_every_config(spec, where)
    return spec


def check_every_config(spec: StudySpec, where: str) -> None:
    """Load every setting's trial config (and both ends of every sampled range); one line for the first that the
    config refuses, naming the setting."""
    from advnets.config import load_config
    from advnets.metrics import registry as metrics

    metric = metrics.get(spec.objective.metric)  # an unknown metric: one line naming the known ones
    keys = (metric.headline[0], *metric.columns)
    if spec.objective.key not in keys:
        raise ConfigError(f"{where}: objective key '{spec.objective.key}' is not a number --metric "
                          f"{metric.name} reports (its numbers: {', '.join(dict.fromkeys(keys))})")
    checks: dict[str, tuple[str, ...]] = {}  # a range's ends first: a range that reaches refused values is the cause
    for key, values in spec.space.items():
        if isinstance(values, dict):
            kind, bounds = next(iter(values.items()))
            for i, value in enumerate(bounds if kind == "choice" else bounds[:2]):
                checks[f"{key}={_yaml(value)} (an end of the range)" if kind != "choice" else f"{key} choice {i}"] = (
                    f"{key}={_yaml(value)}",)
    checks.update(spec.settings)
    for setting, overrides in checks.items():
        try:
            load_config(spec.base, [*spec.common, *overrides, "seed=0", "train.steps=1"])
        except ConfigError as e:
            raise ConfigError(f"{where}: setting {setting}: {e}") from None


# ----------------------------------------------------------------------------------------------


def _default_sampler(space: Any) -> str:
    return "grid" if isinstance(space, dict) and all(isinstance(v, list) for v in space.values()) else "random"


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: expected a name (text), got {value!r}")
    return value


def _choice(value: Any, choices: tuple[str, ...], where: str) -> str:
    if value not in choices:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(choices)}")
    return value


def _base(value: Any, where: str, relative_to: Path) -> str:
    from advnets.config import preset_names

    base = _text(value, f"{where}: base (a preset or YAML file)")
    if base in preset_names():
        return base
    path = (relative_to / base).expanduser()
    if not path.is_file():
        raise ConfigError(f"{where}: base '{base}' is neither a preset nor a YAML file (presets: "
                          f"{', '.join(preset_names())})")
    return str(path.resolve())


def _overrides(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and "=" in v for v in value):
        raise ConfigError(f"{where}: expected a list of KEY=VALUE overrides, got {value!r}")
    for text in value:
        if text.split("=", 1)[0].strip() in ("seed", "train.steps"):
            raise ConfigError(f"{where}: {text.split('=', 1)[0]} is the study's (seeds, budget), not a setting's")
    return list(value)


def _named_settings(named: Any, where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(named, dict) or not named:
        raise ConfigError(f"{where}: settings must map names to lists of overrides")
    settings = {}
    for name, overrides in named.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._=-]{0,79}", name):
            raise ConfigError(f"{where}: setting name {name!r} must be letters, digits, '.', '_', '=' or '-'")
        settings[name] = tuple(_overrides(overrides or [], f"{where}: settings.{name}"))
    return settings


def _check_space(space: Any, where: str) -> None:
    if not isinstance(space, dict):
        raise ConfigError(f"{where}: space must map config keys to lists (a grid) or ranges")
    for key, values in space.items():
        if not isinstance(key, str) or key in ("seed", "train.steps"):
            raise ConfigError(f"{where}: space.{key}: not a key a setting may vary (seeds and budget are the study's)")
        if isinstance(values, list):
            if not values:
                raise ConfigError(f"{where}: space.{key}: an empty list")
            continue
        if not isinstance(values, dict) or len(values) != 1 or next(iter(values)) not in RANGES:
            raise ConfigError(f"{where}: space.{key}: expected a list or one of {{uniform: [low, high]}}, "
                              "{log_uniform: [low, high]}, {choice: [a, b, ...]}")
        kind, bounds = next(iter(values.items()))
        if kind == "choice":
            if not isinstance(bounds, list) or not bounds:
                raise ConfigError(f"{where}: space.{key}: choice needs a non-empty list")
        elif not (isinstance(bounds, list) and len(bounds) == 2 and all(isinstance(b, (int, float)) for b in bounds)
                  and bounds[0] < bounds[1] and (kind == "uniform" or bounds[0] > 0)):
            raise ConfigError(f"{where}: space.{key}: {kind} needs [low, high] with low < high"
                              + (" and low > 0" if kind == "log_uniform" else ""))


def _space_settings(space: dict, sampler: str, n_settings: Any, where: str) -> dict[str, tuple[str, ...]]:
    """Named settings of a space: every grid point, or `n_settings` random draws (Optuna's RandomSampler, seed 0);
    tpe draws its settings while the study runs (none here)."""
    if sampler == "grid":
        if not all(isinstance(v, list) for v in space.values()):
            raise ConfigError(f"{where}: sampler grid needs a list of values for every key of the space")
        points = list(itertools.product(*space.values()))
        if len(points) > MAX_SETTINGS:
            raise ConfigError(f"{where}: the grid has {len(points):,} settings; at most {MAX_SETTINGS:,}")
        return named_points([dict(zip(space, point)) for point in points])
    if not isinstance(n_settings, int) or isinstance(n_settings, bool) or not 1 <= n_settings <= MAX_SETTINGS:
        raise ConfigError(f"{where}: n_settings must be a number of settings, 1 to {MAX_SETTINGS:,}, with sampler "
                          f"{sampler}")
    if sampler == "tpe":
        return {}
    return named_points(draw_random(space, n_settings))


def draw_random(space: dict, n: int, seed: int = 0) -> list[dict[str, Any]]:
    """`n` points of `space` from Optuna's RandomSampler (seeded): the same settings on every machine."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    points = []
    for _ in range(n):
        trial = study.ask()
        points.append(suggest(trial, space))
        study.tell(trial, 0.0)
    return points


def suggest(trial, space: dict) -> dict[str, Any]:
    """One point of `space` from an Optuna trial (its sampler decides)."""
    point = {}
    for key, values in space.items():
        kind, bounds = ("choice", values) if isinstance(values, list) else next(iter(values.items()))
        if kind == "choice":  # values of any YAML type, offered to Optuna by their index
            point[key] = bounds[trial.suggest_categorical(key, list(range(len(bounds))))]
        else:
            point[key] = trial.suggest_float(key, float(bounds[0]), float(bounds[1]), log=kind == "log_uniform")
    return point


def named_points(points: list[dict[str, Any]]) -> dict[str, tuple[str, ...]]:
    """Each point as a named setting: its name from its values (`lr0.0002-k2`), made unique with an index."""
    settings: dict[str, tuple[str, ...]] = {}
    for point in points:
        name = point_name(point)
        if name in settings:
            name = f"{name}-{sum(n.startswith(name) for n in settings) + 1}"
        settings[name] = tuple(f"{key}={_yaml(value)}" for key, value in point.items())
    return settings


def point_name(point: dict[str, Any]) -> str:
    parts = []
    for key, value in point.items():
        shown = f"{value:.4g}" if isinstance(value, float) else _yaml(value)
        parts.append(key.split(".")[-1] + re.sub(r"[^A-Za-z0-9.=_-]+", "_", shown).strip("_"))
    return "-".join(parts)[:80] or "default"


def _yaml(value: Any) -> str:
    """A value as a --set override writes it (YAML flow style)."""
    import yaml

    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def _seeds(value: Any, where: str) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, str):  # "A-B": seeds A to B
        match = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", value)
        if not match or int(match[1]) > int(match[2]) or int(match[2]) - int(match[1]) >= MAX_SETTINGS:
            raise ConfigError(f"{where}: expected a list of seeds or A-B (A <= B), got {value!r}")
        value = list(range(int(match[1]), int(match[2]) + 1))
    if (not isinstance(value, list) or not value or len(set(value)) != len(value)
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in value)):
        raise ConfigError(f"{where}: expected distinct seeds >= 0, as a list or A-B, got {value!r}")
    return tuple(value)


def _budget(value: Any, where: str) -> Budget:
    if not isinstance(value, dict) or len(set(value) & {"updates", "seconds"}) != 1 or set(value) - {
            "updates", "seconds", "threads"}:
        raise ConfigError(f"{where}: expected {{updates: N}} or {{seconds: S}} (and optionally threads: T for the "
                          f"calibration), got {value!r}")
    updates, seconds, threads = value.get("updates"), value.get("seconds"), value.get("threads")
    if updates is not None and (not isinstance(updates, int) or isinstance(updates, bool) or updates < 1):
        raise ConfigError(f"{where}: updates must be a whole number >= 1, got {updates!r}")
    if seconds is not None and (not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds <= 0):
        raise ConfigError(f"{where}: seconds must be > 0, got {seconds!r}")
    if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool) or threads < 1):
        raise ConfigError(f"{where}: threads must be a whole number >= 1, got {threads!r}")
    return Budget(updates, None if seconds is None else float(seconds), threads)


def _objective(value: Any, where: str) -> Objective:
    if isinstance(value, str):  # "metric:key" with the direction the metric's key implies is not guessed
        raise ConfigError(f"{where}: give {{metric: NAME, key: KEY, direction: minimize|maximize}}")
    allowed = {"metric", "key", "direction", "n_samples", "sample_seed"}
    if not isinstance(value, dict) or not {"metric", "key", "direction"} <= set(value) or set(value) - allowed:
        raise ConfigError(f"{where}: expected {{metric: NAME, key: KEY, direction: minimize|maximize}} (and "
                          f"optionally n_samples, sample_seed), got {value!r}")
    n = value.get("n_samples")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
        raise ConfigError(f"{where}: n_samples must be a whole number >= 1, got {n!r}")
    sample_seed = value.get("sample_seed", 0)
    if not isinstance(sample_seed, int) or isinstance(sample_seed, bool):
        raise ConfigError(f"{where}: sample_seed must be a whole number, got {sample_seed!r}")
    return Objective(_text(value["metric"], f"{where}: metric"), _text(value["key"], f"{where}: key"),
                     _choice(value["direction"], DIRECTIONS, f"{where}: direction"), n, sample_seed)
