import dataclasses

import pytest

from advnets.config import (Config, changed_keys, from_dict, load_config, parse_override, preset_names, to_dict,
                            to_yaml)
from advnets.errors import ConfigError

import yaml


def test_defaults_are_the_released_mnist_setup():
    cfg = load_config("paper-mnist")
    assert cfg.generator.hidden == [1200, 1200] and cfg.generator.z_dim == 100
    assert cfg.generator.z_prior == "uniform" and cfg.generator.init_range == 0.05
    assert cfg.discriminator.hidden == [240, 240] and cfg.discriminator.pieces == 5
    assert cfg.discriminator.init_range == 0.005
    assert (cfg.discriminator.input_keep, cfg.discriminator.hidden_keep) == (0.8, 0.5)
    assert cfg.loss.generator == "non-saturating"
    assert (cfg.optim.name, cfg.optim.lr, cfg.optim.lr_decay, cfg.optim.lr_min) == ("momentum-sgd", 0.1, 1.000004, 1e-6)
    assert (cfg.optim.momentum, cfg.optim.momentum_final, cfg.optim.momentum_saturate_epoch) == (0.5, 0.7, 250)
    assert (cfg.train.batch_size, cfg.train.k, cfg.train.schedule) == (100, 1, "simultaneous")
    # the preset spells out exactly the defaults, apart from its name and run length/bookkeeping
    assert set(changed_keys(Config(), cfg)) <= {"name", "train.steps", "train.log_every", "train.sample_every",
                                                "train.checkpoint_every", "train.snapshot_every", "train.valid_every"}


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_loads_and_round_trips_through_yaml(name):
    cfg = load_config(name)
    assert from_dict(Config, yaml.safe_load(to_yaml(cfg))) == cfg


def test_dotted_overrides_are_typed():
    cfg = load_config("paper-mnist", ["train.steps=7", "optim.lr=1", "generator.hidden=[8, 9]", "data.dir=/x/y"])
    assert cfg.train.steps == 7 and cfg.optim.lr == 1.0 and isinstance(cfg.optim.lr, float)
    assert cfg.generator.hidden == [8, 9] and cfg.data.dir == "/x/y"
    assert parse_override("a.b=c=d") == ("a.b", "c=d")
    assert load_config("paper-mnist", ["optim.lr=1e-3", "optim.lr_min=2E-7"]).optim.lr == 1e-3  # YAML 1.1 reads these as str
    assert load_config("paper-mnist", ["optim.lr_min=2E-7"]).optim.lr_min == 2e-7


@pytest.mark.parametrize("override, message", [
    ("train.stpes=5", "unknown config key 'train.stpes'"),
    ("nosuch=1", "unknown config key 'nosuch'"),
    ("train.steps.x=1", "has no sub-keys"),
    ("train.steps=many", "train.steps: expected int, got str 'many'"),
    ("train.steps=1.5", "train.steps: expected int"),
    ("train.progress=3", "train.progress: expected bool"),
    ("loss.generator=wasserstein", "loss.generator: str 'wasserstein' is not one of non-saturating, minimax"),
    ("train.k=3", "train.k: must be 1 with the simultaneous schedule"),
    ("train.batch_size=0", "train.batch_size: must be >= 1"),
    ("discriminator.input_keep=1.5", "discriminator.input_keep: must be in (0, 1]"),
    ("optim.lr=-1", "optim.lr: must be > 0"),
    ("optim.lr=.nan", "optim.lr: expected float"),
    ("optim.lr=1e999", "optim.lr: expected float"),
    ("optim.lr_decay_clock=epochs", "optim.lr_decay_clock: str 'epochs' is not one of updates, iterations"),
    ("optim.lr_anneal=0.9", "optim.lr_anneal: must be >= 1"),
    ("optim.lr_anneal_from=-5", "optim.lr_anneal_from: must be >= 0"),
    ("generator.hidden=5", "generator.hidden: expected a list"),
    ("steps", "not of the form KEY=VALUE"),
])
def test_bad_overrides_name_the_key(override, message):
    with pytest.raises(ConfigError, match=None) as err:
        load_config("paper-mnist", [override])
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_yaml_files(tmp_path):
    good = tmp_path / "mine.yaml"
    good.write_text("train:\n  steps: 3\n  k: 2\n  schedule: alternating\n")
    cfg = load_config(str(good))
    assert cfg.name == "mine" and cfg.train.k == 2 and cfg.train.batch_size == 100
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(str(bad))
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("trian:\n  steps: 3\n")
    with pytest.raises(ConfigError, match="unknown config key 'trian'"):
        load_config(str(unknown))
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigError, match="neither a YAML file nor a preset"):
        load_config("no-such-preset")


def test_changed_keys():
    a = load_config("paper-mnist")
    b = dataclasses.replace(a, seed=4, train=dataclasses.replace(a.train, k=1, steps=9))
    assert changed_keys(a, b) == ["seed", "train.steps"]
    assert to_dict(a)["train"]["steps"] == a.train.steps


@pytest.mark.parametrize("overrides, message", [
    (["train.valid_every=30"], "train.valid_every: must be 0 (off) or a multiple of train.log_every"),
    (["train.valid_samples=0"], "train.valid_samples: must be >= 1"),
])
def test_validation_settings_are_checked(overrides, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config("quick-mnist", overrides)


def test_validation_needs_image_data():
    with pytest.raises(ConfigError, match="needs an image data set"):
        load_config("toy-ring", ["train.valid_every=100"])


def test_renamed_keys_still_load_under_their_new_names():
    """data.weights (0.1.0: a 1-D mixture's weights) is data.mixture_weights; saved configs keep loading."""
    old = to_dict(load_config("toy-1d", ["data.means=[0, 2]", "data.stds=[1, 1]"]))
    old["data"]["weights"] = old["data"].pop("mixture_weights")
    old["data"]["weights"] = [1.0, 3.0]
    assert from_dict(Config, old).data.mixture_weights == [1.0, 3.0]
    assert load_config("toy-1d", ["data.means=[0, 2]", "data.stds=[1, 1]", "data.weights=[1, 2]"]).data.mixture_weights == [1, 2]
    old["data"]["mixture_weights"] = [1.0, 1.0]
    with pytest.raises(ConfigError, match="data.weights was renamed data.mixture_weights; give only"):
        from_dict(Config, old)


def test_data_set_choices_come_from_the_registry():
    with pytest.raises(ConfigError, match="data.name: str 'cifar' is not one of mnist, fashion-mnist, tfd, ring, grid"):
        load_config("paper-mnist", ["data.name=cifar"])
    with pytest.raises(ConfigError, match=r"data.conditional: must be false unless the data set has class labels \(mnist, fashion-mnist, cifar10, or "
                       r"images in one sub-folder per class\)"):
        load_config("toy-ring", ["data.conditional=true"])


def _alias_bomb(levels: int = 9, width: int = 9) -> str:
    """YAML that expands to width**levels values through aliases, in about 300 characters."""
    names = [chr(ord("a") + i) for i in range(levels)]
    lists = [f"&{names[0]} [{','.join(['1'] * width)}]"]
    lists += [f"&{names[i]} [{','.join([f'*{names[i - 1]}'] * width)}]" for i in range(1, levels)]
    return "[" + ",".join(lists) + "]"


@pytest.mark.parametrize("key", ["name", "train.steps", "generator.hidden", "no.such_key", "data.means"])
def test_an_alias_bomb_is_refused_at_once_wherever_it_is(key, tmp_path):
    """Nine levels of nine aliases (9**9 values in 288 characters) used to hang `train` for minutes in the
    error message's rendering of the value: now refused while reading, before any type check."""
    import time

    bomb = _alias_bomb()
    assert len(bomb) < 300
    started = time.perf_counter()
    with pytest.raises(ConfigError, match=r"aliases \(\*name\) expand to more than 10,000 values"):
        load_config("toy-ring", [f"{key}={bomb}"])
    (tmp_path / "c.yaml").write_text(f"name: {bomb}\n")
    with pytest.raises(ConfigError, match="config file .*c.yaml: its YAML aliases"):
        load_config(str(tmp_path / "c.yaml"))
    assert time.perf_counter() - started < 5


def test_self_containing_aliases_and_deep_nesting_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="alias contains itself"):
        load_config("toy-ring", ["data.means=&a [*a]"])
    (tmp_path / "c.yaml").write_text("name: " + "[" * 100 + "]" * 100 + "\n")
    with pytest.raises(ConfigError, match="nest over 64 levels"):
        load_config(str(tmp_path / "c.yaml"))


def test_small_aliases_still_read():
    """An alias used for what it is for, a repeated value, loads as written out."""
    cfg = load_config("paper-mnist", ["generator.hidden=[&w 64, *w]"])
    assert cfg.generator.hidden == [64, 64]


def test_error_messages_show_a_value_shortened():
    long_list = "[" + ", ".join(str(i) for i in range(5000)) + "]"
    with pytest.raises(ConfigError) as err:
        load_config("toy-ring", [f"train.steps={long_list}"])
    assert len(str(err.value)) < 200 and "..." in str(err.value)
    with pytest.raises(ConfigError) as err:
        load_config("toy-ring", ["train.steps=" + "x" * 100_000])
    assert len(str(err.value)) < 200


def test_fast_mnist_names_everything_it_changes_from_the_paper():
    """The main job's CPU recipe keeps the paper's model family; every training choice it changes from
    paper-mnist is a config key written in the preset's comment as not the paper's."""
    from advnets.config import changed_keys, preset_path

    fast, paper = load_config("fast-mnist"), load_config("paper-mnist")
    assert to_dict(fast)["generator"] == to_dict(paper)["generator"]  # the paper's G, uniform z
    schedule = {"name", "train.steps", "train.log_every", "train.valid_every", "train.sample_every",
                "train.checkpoint_every", "train.snapshot_every", "train.valid_samples", "optim.lr"}
    comment = " ".join(line for line in preset_path("fast-mnist").read_text().splitlines() if line.startswith("#"))
    words = {  # key changed -> what the comment must say about it
        "optim.name": "Adam", "optim.betas": "betas 0.5 / 0.999", "optim.lr_decay": "no decay",
        "optim.momentum": "momentum SGD", "optim.final_momentum": "momentum SGD", "optim.momentum_saturate": "momentum SGD",
        "optim.g_lr": "G's 4e-4", "optim.d_lr": "D's rate 1.6e-3", "loss.r1_gamma": "R1 penalty on D, gamma 1",
        "discriminator.input_keep": "no dropout in D", "discriminator.hidden_keep": "no dropout in D",
        "train.ema_decay": "moving average of G's weights (decay 0.999)", "train.batch_size": "batch",
    }
    changed = [k for k in changed_keys(paper, fast) if k not in schedule]
    assert changed, "fast-mnist should differ from paper-mnist"
    for key in changed:
        assert key in words, f"fast-mnist changes {key}: name it in the preset's comment and in this test"
        assert words[key] in comment, f"fast-mnist changes {key}; its comment does not say {words[key]!r}"
