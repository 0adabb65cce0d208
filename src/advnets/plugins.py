"""Your own networks and data sets, without editing advnets: the plugin registry.

From Python (a script, a notebook):

    import advnets
    advnets.register_generator("tiny-conv", make_generator)          # then generator.arch: tiny-conv
    advnets.register_discriminator("tiny-conv", make_discriminator)  # then discriminator.arch: tiny-conv
    advnets.register_features("shapes-net", make_features)           # then evaluate --features shapes-net
    advnets.register_dataset(spec)                                   # then data.name: spec.name

or from an installed package, through the entry-point group ``advnets.plugins`` (its pyproject.toml:
``[project.entry-points."advnets.plugins"] shapes = "my_package:register"``): advnets calls each entry point's
function, which registers what it brings, once per process, the first time it looks networks, feature networks
or data sets up by name (checking a config, loading a snapshot, listing presets), so that the command line
(``--set generator.arch=NAME``, ``advnets sample RUN``, ``advnets presets``) sees them.

A factory is called with one :class:`NetworkRequest` and returns a ``torch.nn.Module``; what the module must
do is checked when it is built, in one line (advnets.models.plugin):

    G: forward(z [m, z_dim]) -> x [m, *x_shape]; forward(z, c) with c the labels [m] for a conditional model
    D: forward(x [m, *x_shape]) -> logits [m] or [m, 1]; forward(x, c) for a conditional model

advnets gives G its prior (``generator.z_prior``) and ``sample_z``; everything else (the loss, the updates,
checkpoints and exact resume, G's moving average, the metrics, the figures) is the same as for the built-in
networks. Randomness inside a plugin network (dropout) draws from PyTorch's global generator, which a training
state does not hold: such a run resumes, but not bit-identically.

Only registered factories build networks: a snapshot names its networks' arch and the package that registered
them, and loading one whose arch is not registered here says which package to install; nothing named inside a
file is ever imported.

This module is the registry alone (names to factories, no PyTorch); the networks are built in
advnets.models, data sets are looked up in advnets.data.registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

ENTRY_POINTS = "advnets.plugins"
BUILT_IN_GENERATORS = ("mlp", "deconv")
BUILT_IN_DISCRIMINATORS = ("maxout", "mlp", "conv-maxout")


@dataclass(frozen=True)
class NetworkRequest:
    """What a network factory is given: the data's example shape, G's latent size, the classes of a
    conditional model (0: unconditional), and the config's section of that network (generator or
    discriminator: its hidden widths and the other keys)."""

    x_shape: tuple[int, ...]
    z_dim: int
    n_classes: int
    config: Any


@dataclass
class Registered:
    """A registered factory and where it came from (written into every snapshot that uses it)."""

    factory: Callable[..., Any]
    provenance: dict[str, str] = field(default_factory=dict)


_GENERATORS: dict[str, Registered] = {}
_DISCRIMINATORS: dict[str, Registered] = {}
_DATASETS: list[Any] = []
_FEATURES: dict[str, Registered] = {}
_loading: dict[str, str] = {}  # while an entry point runs: the package it belongs to
_entry_points_loaded = False


def _provenance(factory: Callable[..., Any]) -> dict[str, str]:
    where = {"module": getattr(factory, "__module__", "") or ""}
    return {**where, **_loading} if _loading else where


def register_generator(name: str, factory: Callable[[NetworkRequest], Any]) -> None:
    """Make `factory` the generator of ``generator.arch: name`` (see the module docstring)."""
    _register(_GENERATORS, BUILT_IN_GENERATORS, "generator", name, factory, "(NetworkRequest) -> torch.nn.Module")


def register_discriminator(name: str, factory: Callable[[NetworkRequest], Any]) -> None:
    """Make `factory` the discriminator of ``discriminator.arch: name`` (see the module docstring)."""
    _register(_DISCRIMINATORS, BUILT_IN_DISCRIMINATORS, "discriminator", name, factory,
              "(NetworkRequest) -> torch.nn.Module")


def register_features(name: str, factory: Callable[[], Any]) -> None:
    """Make `factory` the feature network ``advnets evaluate --metric features --features NAME`` reads: a function
    of no arguments returning a ``torch.nn.Module`` that maps images [N, C, H, W] with pixels in [0, 1] to
    features [N, d] (the classifier-feature metrics: FID, KID, precision/recall, density/coverage)."""
    _register(_FEATURES, (), "feature network", name, factory, "() -> torch.nn.Module")


def features() -> dict[str, Registered]:
    load_entry_points()
    return dict(_FEATURES)


def register_dataset(spec: Any) -> Any:
    """Make a :class:`advnets.data.spec.DatasetSpec` known by its name (``data.name``)."""
    if any(s.name == spec.name for s in _DATASETS):
        raise ValueError(f"data set {spec.name!r} is registered already")
    _DATASETS.append(spec)
    return spec


def _register(table: dict[str, Registered], built_in: tuple[str, ...], what: str, name: str,
              factory: Callable[..., Any], signature: str) -> None:
    if not isinstance(name, str) or not name or name in built_in:
        raise ValueError(f"{what} name {name!r}: choose a name that is not a built-in one ({', '.join(built_in)})")
    if not callable(factory):
        raise TypeError(f"the {what} {name!r} needs a factory: a function {signature}")
    table[name] = Registered(factory, _provenance(factory))


def generators() -> dict[str, Registered]:
    load_entry_points()
    return dict(_GENERATORS)


def discriminators() -> dict[str, Registered]:
    load_entry_points()
    return dict(_DISCRIMINATORS)


def datasets() -> list[Any]:
    load_entry_points()
    return list(_DATASETS)


def load_entry_points() -> None:
    """Run every installed package's ``advnets.plugins`` entry point, once per process."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    from advnets.errors import ConfigError

    for point in entry_points(group=ENTRY_POINTS):
        package = point.dist.name if point.dist is not None else point.module
        version = point.dist.version if point.dist is not None else ""
        _loading.update({"distribution": package, "version": version})
        try:
            point.load()()
        except Exception as e:  # noqa: BLE001 - a broken plugin is the user's to fix: one line naming it
            raise ConfigError(f"the advnets plugin {point.name!r} of {package} {version} failed to load "
                              f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); fix or "
                              "uninstall it") from None
        finally:
            _loading.clear()


def provenance(kind: str, name: str) -> dict[str, str] | None:
    """Where the registered `kind` ("generator" or "discriminator") `name` came from; None for a built-in."""
    table = _GENERATORS if kind == "generator" else _DISCRIMINATORS
    return dict(table[name].provenance) if name in table else None
