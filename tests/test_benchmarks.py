"""The GPU benchmark keeps what it measured when a part fails or the time runs out (benchmarks/gpu.py
writes its rows after every part; benchmarks/train_step.py keeps its table when one implementation fails).
Checked on the CPU with parts and implementations that fail on purpose."""

import importlib.util
import json

import torch

from tests.conftest import REPO


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_part_is_written_as_it_ends_and_a_failing_part_is_a_row(tmp_path):
    gpu = _load("gpu")
    out, rows, seen = tmp_path / "gpu-benchmark.json", [], []

    def first():
        rows.append({"part": "first", "value": 1})

    def broken():
        try:
            raise RuntimeError("operation not permitted when stream is capturing")
        except RuntimeError:
            raise RuntimeError("capture_end failed")

    def third():
        seen.append(json.loads(out.read_text()))  # what a run cut short here would have kept
        rows.append({"part": "third", "value": 3})

    gpu.run_parts({"first": first, "broken": broken, "third": third}, rows, out, {"device": "cpu"})
    assert seen[0]["parts_done"] == ["first", "broken"] and seen[0]["rows"][0] == {"part": "first", "value": 1}
    final = json.loads(out.read_text())
    assert final["parts_done"] == ["first", "broken", "third"] and [r["part"] for r in final["rows"]] == \
        ["first", "broken", "third"]
    assert final["rows"][1]["status"] == "failed" and "capture_end failed" in final["rows"][1]["error"]


def test_one_failing_implementation_does_not_lose_the_table():
    step = _load("train_step")

    def fails_to_build():
        try:
            raise RuntimeError("operation not permitted when stream is capturing")
        except RuntimeError as e:
            raise RuntimeError("capture_end failed") from e

    calls = {"n": 0}

    def fails_later():
        calls["n"] += 1
        if calls["n"] > 3:
            raise RuntimeError("out of memory")

    made, failed = step.build_guarded({"ok": lambda: (lambda: None), "unbuildable": fails_to_build,
                                       "flaky": lambda: fails_later})
    assert set(made) == {"ok", "flaky"} and "caused by: operation not permitted" in failed["unbuildable"]
    rates = step.time_interleaved(made, torch.device("cpu"), steps=2, warmup=1, repeats=3, failed=failed)
    assert set(rates) == {"ok"} and rates["ok"] > 0 and "out of memory" in failed["flaky"]
