"""Follow the training config through the package while `advnets train` sets a run up, and count the walk.

Runs `advnets train` in this process (a tiny MNIST run, and a run on a folder of images) under a profiler
hook and records every call of an advnets function that is handed the config: an argument (``self``
included) that is the config or one of its sections (``advnets.config``'s dataclasses), the resolved plan
(``TrainPlan``), or an object holding either in an attribute. From the run's setup (the first call
of ``train.plan.plan_training`` or ``train.loop.train``) to the first iteration of Algorithm 1, those calls
form a tree; read depth first, each call enters its function's module and each return goes back to the
caller's. Counted twice, following the whole config (calls handed the Config or the plan), and following
any section of it too (a builder handed cfg.generator, an optimizer cfg.optim):

    rooms    modules entered
    stays    visits: each time the walk arrives in a module other than the one it is in
    climbs   arrivals in a higher layer than the one left (docs/architecture.md's layers, bottom up)

and over the whole command: how often the data set's spec was resolved (``data.registry.for_config``),
how often an image folder was walked (``data.images.image_files``), how often ``models/__init__.py`` was
entered. Compare two commits with the same command:

    python scripts/config_walk.py --data-dir ../shared/data
    PYTHONPATH=/tmp/before/src python scripts/config_walk.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # tests.test_architecture: the layers

TINY = ["generator.hidden=[32]", "discriminator.hidden=[16]", "discriminator.pieces=2", "train.batch_size=20",
        "train.steps=2", "train.log_every=1", "train.valid_every=1", "train.valid_samples=50", "train.grid_size=4",
        "train.progress=false", "device=cpu", "threads=1"]


# Where the walk begins: the first of these calls (a command plans the run and hands the plan to train(); a
# Config handed to train() is planned there; before advnets.train.plan existed, train() resolved it itself)
STARTS = {("advnets.train.plan", "plan_training"), ("advnets.train.loop", "train")}


class Walk:
    """The calls that carry the config, as a tree, and the counters over the whole command."""

    def __init__(self):
        from advnets import config

        self.config_types = tuple(c for c in vars(config).values()
                                  if isinstance(c, type) and dataclasses.is_dataclass(c))
        self.whole = config.Config
        self.stack: list[tuple[object, str, int]] = []  # (frame, module, what of the config it carries)
        self.recording = False
        self.events: list[tuple[str, str, int]] = []  # ("enter" | "leave", module, what it carries)
        self.counts = {"spec resolved (data.registry.for_config)": 0, "image folder walked (images.image_files)": 0,
                       "models/__init__.py entered": 0}

    def carries(self, value) -> int:
        """2: the whole config (a Config or a TrainPlan, or an object holding one in an attribute: a session's
        .cfg, a plan's); 1: a section of it only (DataConfig, OptimConfig, ..., or an object holding one: a
        player's schedule, the data facts' config); 0: neither."""
        try:
            held = list(vars(value).values()) if not isinstance(value, type) else []
        except TypeError:  # no __dict__ (numbers, tensors, slotted objects)
            held = []
        values = [value, *held]
        if any(isinstance(v, self.whole) or type(v).__name__ == "TrainPlan" for v in values):
            return 2
        return int(any(isinstance(v, self.config_types) for v in values))

    def hook(self, frame, event, arg):
        if event not in ("call", "return"):
            return
        module = frame.f_globals.get("__name__", "")
        if event == "return":
            if self.stack and self.stack[-1][0] is frame:
                _, name, carried = self.stack.pop()
                if carried and self.recording:
                    self.events.append(("leave", name, carried))
            return
        if not module.startswith("advnets"):
            return
        code = frame.f_code
        self.count(module, code.co_name)
        if (module, code.co_name) in STARTS and not self.events:
            self.recording = True
            self.root = frame.f_back.f_globals.get("__name__", "")  # the caller: where the walk starts and ends
        if code.co_name == "run_iteration":
            self.recording = False
        args = [frame.f_locals.get(name) for name in code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]]
        carried = max((self.carries(a) for a in args), default=0) if self.recording else 0
        self.stack.append((frame, module, carried))
        if carried:
            self.events.append(("enter", module, carried))

    def count(self, module: str, function: str) -> None:
        if (module, function) == ("advnets.data.registry", "for_config"):
            self.counts["spec resolved (data.registry.for_config)"] += 1
        elif (module, function) == ("advnets.data.images", "image_files"):
            self.counts["image folder walked (images.image_files)"] += 1
        elif module == "advnets.models" and function != "<module>":
            self.counts["models/__init__.py entered"] += 1

    def path(self, carried: int) -> list[str]:
        """The modules the walk is in, one entry per arrival (enter a callee, or return to the caller), over the
        calls that carry at least `carried` of the config (2: the whole config; 1: any section of it too)."""
        where: list[str] = []
        visits: list[str] = [self.root]
        for kind, module, level in self.events:
            if level < carried:
                continue
            if kind == "enter":
                where.append(module)
            else:
                where.pop()
            now = where[-1] if where else self.root
            if not visits or visits[-1] != now:
                visits.append(now)
        return visits


def measure(argv: list[str]) -> dict:
    from advnets.cli import main
    from tests.test_architecture import layer_of

    walk = Walk()
    sys.setprofile(walk.hook)
    try:
        status = main(argv)
    finally:
        sys.setprofile(None)
    assert status == 0, f"advnets {' '.join(argv)} exited with {status}"
    result = {}
    for carried, what in ((2, "the whole config"), (1, "the config or any section of it")):
        visits = walk.path(carried)
        climbs = sum(layer_of(b) > layer_of(a) for a, b in zip(visits, visits[1:]))
        result[what] = {"rooms": len(set(visits)), "stays": len(visits), "climbs": climbs, "path": visits}
    return {**result, **walk.counts}


def image_folder(where: Path) -> Path:
    """30 grey 8x8 images in two class folders."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(30):
        folder = where / f"class{i % 2}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(folder / f"{i}.png")
    return where


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", required=True, help="the folder holding mnist/*.gz")
    p.add_argument("--path", action="store_true", help="also print each walk's modules in order")
    args = p.parse_args()
    import advnets

    print(f"advnets from {Path(advnets.__file__).parent}")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_CACHE_HOME"] = f"{tmp}/cache"  # the decoded images' cache, not the user's
        images = image_folder(Path(tmp) / "my-images")
        cases = {
            "paper-mnist (tiny networks)": ["train", "paper-mnist", "--out", f"{tmp}/mnist", "--data-dir",
                                            args.data_dir, "--set", *TINY],
            "your images (data.name images, conditional)": [
                "train", "paper-mnist", "--out", f"{tmp}/images", "--set", *TINY, "data.name=images",
                f"data.path={images}", "data.conditional=true", "train.valid_every=0"],
        }
        for name, argv in cases.items():
            result = measure(argv)
            print(f"{name}:")
            for key, value in result.items():
                if isinstance(value, dict):
                    counts = f"{value['rooms']} rooms, {value['stays']} stays, {value['climbs']} climbs"
                    print(f"  following {key}: {counts}")
                    if args.path:
                        print("    path: " + " > ".join(m.removeprefix("advnets.") for m in value["path"]))
                else:
                    print(f"  {key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
