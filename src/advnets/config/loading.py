"""Configs from presets, YAML files and dotted overrides, and back to YAML.

A preset YAML file lists only the keys it sets; anything else keeps its default. Unknown keys, wrong types
and out-of-range values raise :class:`ConfigError` naming the dotted key, so a typo never silently trains
the wrong model. Renamed keys (RENAMED_KEYS) still load under their new names.
"""

from __future__ import annotations

import dataclasses
import math
import re
import reprlib
import types
import typing
from importlib import resources
from pathlib import Path
from typing import Any, Union

import yaml

from advnets.config.checks import validate
from advnets.config.schema import Config
from advnets.errors import ConfigError


def to_dict(cfg: Any) -> dict:
    return dataclasses.asdict(cfg)


# Keys renamed since a version that wrote configs (into run directories and checkpoints): old -> new.
# Such a config still loads, under the new name.
RENAMED_KEYS = {"data.weights": "data.mixture_weights"}  # 0.1.0: the mixture's weights, not a network's


def _renamed(data: dict, prefix: str) -> dict:
    """`data`, the mapping at dotted `prefix`, with its keys under their current names."""
    out = {}
    for key, value in data.items():
        new = RENAMED_KEYS.get(prefix + key, prefix + key)[len(prefix):]
        if new != key and new in data:
            raise ConfigError(f"{prefix}{key} was renamed {prefix}{new}; give only {prefix}{new}")
        out[new] = value
    return out


def from_dict(cls: type, data: Any, prefix: str = "", static: bool = False) -> Any:
    """Build dataclass `cls` from a (partial) dict, checking keys, types and choices. `static`: only what
    needs no data registry (keys, types, fixed choices), so that the command line can refuse a typo before
    it loads PyTorch; the returned config is then not validated."""
    where = prefix.rstrip(".") or "config"
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of keys, got {_show(data)}")
    data = _renamed(data, prefix)
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown config key '{prefix}{unknown[0]}' (known in {where}: {', '.join(known)})"
        )
    values = {}
    for name, value in data.items():
        key = prefix + name
        choices = known[name].metadata.get("choices")
        if callable(choices):
            choices = None if static else choices()
        if isinstance(value, bool) and choices and {"on", "off"} <= set(choices):
            value = "on" if value else "off"  # YAML 1.1 reads a bare on / off as true / false
        if value == "auto" and "auto" in known[name].metadata:
            value = known[name].metadata["auto"]  # a number field whose "auto" has a number (threads: 0)
        values[name] = _coerce(hints[name], value, key, static)
        if choices and values[name] not in choices:
            raise ConfigError(f"{key}: {_show(value)} is not one of {', '.join(choices)}")
    cfg = cls(**values)
    if cls is Config and not static:
        validate(cfg)
    return cfg


_FLOAT_WITHOUT_DOT = re.compile(r"[-+]?\d+[eE][-+]?\d+")


def _coerce(tp: Any, value: Any, key: str, static: bool = False) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _coerce(args[0], value, key, static)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, key + ".", static)
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {_show(value)}")
        return [_coerce(item, v, f"{key}[{i}]", static) for i, v in enumerate(value)]
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, str) and _FLOAT_WITHOUT_DOT.fullmatch(value.strip()):
            value = float(value)  # YAML 1.1 reads 1e-3 (no dot) as a string
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    else:  # pragma: no cover - a new field type needs a branch here
        raise TypeError(f"unsupported config type {tp} for {key}")
    raise ConfigError(f"{key}: expected {tp.__name__}, got {_show(value)}")


# A value quoted in an error message is shortened (a few items, a few levels, 60 characters a string), so
# that no value, however large or deeply nested, makes the message itself expensive.
_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxtuple, _SHORT.maxdict = 3, 6, 6, 6
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlong = 60, 60, 40


def _show(value: Any) -> str:
    return f"{type(value).__name__} {_SHORT.repr(value)}"


# ----------------------------------------------------------------------------------------------
# presets, YAML files and dotted overrides


def preset_names() -> list[str]:
    folder = resources.files("advnets") / "configs"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


# The most values a config may hold once YAML's aliases (*name) are expanded: a config has about a hundred,
# and an "alias bomb" (nine levels of nine aliases, in 300 characters) expands to hundreds of millions.
MAX_YAML_VALUES = 10_000


def safe_yaml(text: str, where: str) -> Any:
    """`text` read as YAML (safe: no Python objects are built), with its aliases' expansion bounded by
    MAX_YAML_VALUES and no alias that contains itself; ConfigError naming `where` otherwise. (yaml.YAMLError
    passes to the caller, which knows how to describe the file.)"""
    value = yaml.safe_load(text)
    _count_values(value, where)
    return value


def _count_values(value: Any, where: str) -> int:
    """How many values `value` holds with every alias expanded, counted without expanding anything (a
    shared list is counted once and its size reused)."""
    sizes: dict[int, int] = {}
    open_ids: set[int] = set()

    def size(v: Any, depth: int) -> int:
        if not isinstance(v, (list, dict)):
            return 1
        if id(v) in sizes:
            return sizes[id(v)]
        if id(v) in open_ids or depth > 64:
            raise ConfigError(f"{where}: a YAML alias contains itself (or the values nest over 64 levels); "
                              "write the values out")
        open_ids.add(id(v))
        items = [x for pair in v.items() for x in pair] if isinstance(v, dict) else v
        n = 1
        for item in items:
            n += size(item, depth + 1)
            if n > MAX_YAML_VALUES:
                raise ConfigError(f"{where}: its YAML aliases (*name) expand to more than {MAX_YAML_VALUES:,} "
                                  "values; a config holds about a hundred: write the values out")
        open_ids.discard(id(v))
        sizes[id(v)] = n
        return n

    return size(value, 0)


def read_yaml(path: Path | str) -> dict:
    path = Path(path)
    try:
        data = safe_yaml(path.read_text(), f"config file {path}")
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not valid YAML (not UTF-8 text)") from None
    except (yaml.YAMLError, ValueError, RecursionError) as e:  # ValueError: a date YAML parses and Python refuses
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise ConfigError(f"config file {path} is not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys at the top level")
    return data


def preset_path(preset_or_yaml: str) -> Path:
    path = Path(preset_or_yaml)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        return path
    if preset_or_yaml in preset_names():
        return Path(str(resources.files("advnets") / "configs" / f"{preset_or_yaml}.yaml"))
    raise ConfigError(
        f"'{preset_or_yaml}' is neither a YAML file nor a preset (presets: {', '.join(preset_names())})"
    )


def parse_override(text: str) -> tuple[str, Any]:
    """'train.steps=2000' -> ('train.steps', 2000). Values are read as YAML scalars or lists."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"override '{text}' is not of the form KEY=VALUE (e.g. train.steps=2000)")
    try:
        value = safe_yaml(raw, f"--set {key}") if raw.strip() else None
    except (yaml.YAMLError, ValueError, RecursionError):
        value = raw  # a plain string such as a path with odd characters
    return key, value


def set_dotted(data: dict, key: str, value: Any) -> None:
    """Set `a.b.c` in nested dict `data`, checking every part against Config's fields."""
    key = RENAMED_KEYS.get(key, key)
    parts = key.split(".")
    cls: Any = Config
    node = data
    for i, part in enumerate(parts):
        names = {f.name: f for f in dataclasses.fields(cls)}
        if part not in names:
            where = ".".join(parts[:i]) or "config"
            raise ConfigError(f"unknown config key '{key}' (known in {where}: {', '.join(names)})")
        if i == len(parts) - 1:
            node[part] = value
            return
        cls = typing.get_type_hints(cls)[part]
        if not dataclasses.is_dataclass(cls):
            raise ConfigError(f"unknown config key '{key}' ('{'.'.join(parts[: i + 1])}' has no sub-keys)")
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"config key '{'.'.join(parts[: i + 1])}' must be a mapping")


def load_config(preset_or_yaml: str | None = None, overrides: list[str] = (), base: dict | None = None,
                static: bool = False) -> Config:
    """Defaults <- preset or YAML file (or `base`) <- dotted overrides, validated (with `static`: only the
    checks that need no PyTorch, see from_dict)."""
    data: dict = dict(base or {})
    if preset_or_yaml is not None:
        data = read_yaml(preset_path(preset_or_yaml))
        if "name" not in data:
            data["name"] = Path(preset_or_yaml).stem
    for text in overrides:
        set_dotted(data, *parse_override(text))
    return from_dict(Config, data, static=static)


def to_yaml(cfg: Config) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False, default_flow_style=None)


def flatten(data: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def changed_keys(old: Config, new: Config) -> list[str]:
    """Dotted keys whose values differ between two configs."""
    a, b = flatten(to_dict(old)), flatten(to_dict(new))
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
