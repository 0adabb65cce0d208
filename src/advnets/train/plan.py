"""A run resolved once: what a config means for one process on this machine, before anything is created.

:func:`plan_training` is the one place where a training config meets its data set and its machine. It
resolves the data set's spec once (your images: the folder read once, what was read recorded as
``data.found``), checks what needs the data (class labels, convolution sizes), finds this process's
device, its share of the minibatch and its CPU threads, measures the networks once on the meta device,
and judges the budget (batch against the training split, memory against the device). Every refusal is
one line, raised before a run folder exists. What it returns, a frozen :class:`TrainPlan`, is handed
down: each builder takes the parts it needs, never the search again.

    plan = plan_training(load_config("paper-mnist"))   # resolve and check: nothing created yet
    plan.data.x_shape, plan.device, plan.threads        # (1, 28, 28), cpu, (2, "auto: 1505 M ...")
    train(plan, run_dir)                                 # build, iterate, finish (advnets.train.loop)

Derived facts stay out of the config (config.yaml records what the user chose and what was read of their
images, not this machine's device or threads, so that a run resumed elsewhere plans again); the log and
``sessions.jsonl`` record them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from advnets.config import Config, DataConfig, with_data_found
from advnets.data import registry as datasets
from advnets.data.spec import DatasetSpec
from advnets.distributed import SINGLE, Ranks, check_batch_size, rank_device
from advnets.errors import ConfigError
from advnets.models import Condition, condition_for
from advnets.models.footprint import NetworkSizes, network_sizes
from advnets.runtime import resolve_device
from advnets.train.budget import Budget, check_training_fits, choose_threads, training_budget
from advnets.train.init_from import check_init_source
from advnets.train.rules import StepRules
from advnets.train.validation import check_valid_metric


@dataclass(frozen=True)
class DataFacts:
    """The data set a run trains on, resolved: its config section, its spec, its training split's size."""

    config: DataConfig  # cfg.data (with data.found for your images)
    spec: DatasetSpec  # what advnets.data knows of it (your images: made from what was read)
    n_train: int | None  # examples in the training split; None for synthetic data (no files)

    @property
    def x_shape(self) -> tuple[int, ...]:
        return self.spec.x_shape

    @property
    def n_classes(self) -> int:
        return self.spec.n_classes

    @property
    def title(self) -> str:
        return self.spec.title


@dataclass(frozen=True)
class TrainPlan:
    """What one process of a run needs, resolved from its config once (see the module docstring)."""

    cfg: Config  # the config to train, with what was read of your images (data.found)
    resume: bool  # continues a run from its training state (else a new run)
    ranks: Ranks  # this process's place under torchrun (SINGLE: one process)
    data: DataFacts
    device: torch.device  # this rank's device (under torchrun on CUDA: GPU LOCAL_RANK)
    local_batch: int  # this rank's share of train.batch_size
    condition: Condition  # what G and D are given besides z and x
    sizes: NetworkSizes  # the networks measured on the meta device
    budget: Budget  # what the run keeps beside what the device has (judged: it fits)
    threads: tuple[int, str]  # PyTorch's CPU threads for the run, and why
    rules: StepRules  # what the step reads of the config (advnets.train.algorithm)


def plan_training(cfg: Config, ranks: Ranks = SINGLE, resume: bool = False) -> TrainPlan:
    """Resolve `cfg` for this process (`ranks`: its place under torchrun; `resume`: it continues a run) and
    check it, in the order a user meets the problems: the data set and what depends on its content, the
    device, the trained G it starts from, the ranks' shares, the data files, the memory. ConfigError (one
    line) for the first that refuses it; nothing is created."""
    cfg, spec = _resolve_data_set(cfg, resume)
    if cfg.train.valid_every:
        check_valid_metric(cfg.train.valid_metric, spec, cfg.data.preprocess)
    device = rank_device(resolve_device(cfg.device), ranks)
    if cfg.generator.init_from:
        check_init_source(cfg.generator.init_from)  # before any data is loaded
    local_batch = check_batch_size(cfg.train.batch_size, ranks)
    if ranks.distributed and cfg.inference.joint:
        raise ConfigError("inference.joint is not available under torchrun yet (its E would need its own "
                          "all-reduce); train without it, then fit E with advnets infer")
    data = DataFacts(cfg.data, spec, _training_split_size(cfg.data, spec))  # image data: its files read here
    condition = condition_for(cfg, data.x_shape, data.n_classes)
    sizes = network_sizes(cfg, data.x_shape, local_batch, condition)
    budget = training_budget(sizes, cfg.optim.name, data.x_shape, data.n_train, device)
    check_training_fits(cfg.train.batch_size, data.n_train, data.title, budget, device)
    return TrainPlan(cfg=cfg, resume=resume, ranks=ranks, data=data, device=device, local_batch=local_batch,
                     condition=condition, sizes=sizes, budget=budget,
                     threads=choose_threads(cfg, ranks, update_macs=sizes.update_macs),
                     rules=StepRules.from_config(cfg, local_batch))


def _resolve_data_set(cfg: Config, resume: bool) -> tuple[Config, DatasetSpec]:
    """The data set's spec, resolved once, and `cfg` with what was read of your images (data.name images:
    data.found, which config.yaml and every snapshot carry), checked against the networks (conditional
    labels, convolution sizes). A new run reads its images afresh (a record copied in with another run's
    config.yaml is not its own); a resumed one keeps its record, so that changed images are refused."""
    if not resume and cfg.data.found is not None:
        cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, found=None))
    spec = datasets.for_config(cfg.data)
    if spec.source is None:  # a data set the config only names
        return cfg, spec
    return with_data_found(cfg, spec), spec


def _training_split_size(data: DataConfig, spec: DatasetSpec) -> int | None:
    """Examples in an image data set's training split (its files found, checked, downloaded if need be, and
    decoded here: the run's source then reads them from the loaders' caches); None for synthetic data."""
    if not spec.is_image:
        return None
    images, _ = spec.load_pixels("train", data.dir, data.download)
    return len(images)
