"""Every data set by name. Adding one = a module that defines its :class:`DatasetSpec` (and its
loader), plus its line in ``_BUILT_IN`` below; nothing else names data sets.

    spec = get("mnist")
    x, y = spec.load_images("test")          # float [10000, 1, 28, 28] in [0, 1], int64 [10000]
    names(kind=IMAGE)                         # ('mnist', 'fashion-mnist', 'tfd')
"""

from __future__ import annotations

from typing import Any

from advnets.data import cifar10, images, mnist, stacked, tfd, toy
from advnets.data.spec import IMAGE, TOY, DatasetSpec
from advnets.errors import ConfigError

__all__ = ["IMAGE", "TOY", "DatasetSpec", "for_config", "get", "names", "register"]

_BUILT_IN = (*mnist.DATASETS, *tfd.DATASETS, *toy.DATASETS, *stacked.DATASETS, *cifar10.DATASETS, *images.DATASETS)
_REGISTRY: dict[str, DatasetSpec] = {}


def register(spec: DatasetSpec) -> DatasetSpec:
    """Make `spec` known by its name (a second spec of the same name is a programming error)."""
    assert spec.name not in _REGISTRY, f"data set {spec.name!r} registered twice"
    assert spec.kind in (IMAGE, TOY), spec.kind
    _REGISTRY[spec.name] = spec
    return spec


for _spec in _BUILT_IN:
    register(_spec)


def _include_plugins() -> None:
    """The data sets registered through advnets.plugins (register_dataset, entry points), once each."""
    from advnets import plugins

    for spec in plugins.datasets():
        if spec.name not in _REGISTRY:
            register(spec)


def get(name: str) -> DatasetSpec:
    """The spec of data set `name`; one error line naming the known ones otherwise."""
    if name not in _REGISTRY:
        _include_plugins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown data set '{name}' (known: {', '.join(_REGISTRY)})") from None


def for_config(data: Any) -> DatasetSpec:
    """The data set a data config describes: its name's spec, or, for a data set whose content the config
    decides (data.name images), the spec made from the config (its files read, or found in the cache)."""
    spec = get(data.name)
    return spec.from_config(data) if spec.from_config is not None else spec


def names(kind: str | None = None, labelled: bool = False) -> tuple[str, ...]:
    """Registered names, in registration order; only those of `kind`, or only those with class labels."""
    _include_plugins()
    return tuple(s.name for s in _REGISTRY.values()
                 if (kind is None or s.kind == kind) and (not labelled or s.n_classes > 0))
