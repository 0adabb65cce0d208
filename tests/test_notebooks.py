"""The paper as notebooks (notebooks/): each stored notebook is its source's current code, runs top to bottom
without an error, and its stored outputs are what that run makes (in structure: the same outputs, of the same
kinds, cell by cell; `python notebooks/build.py` stores them again). Time is not a test's to check: the budget
(build.BUDGET_S, on an idle 2-core CPU) is enforced where the notebooks are stored, by build.py; here a run
is stopped only as hung, at HUNG_S, since a loaded machine (another job on the cores) is slower."""

import importlib.util
import json

import pytest

from tests.conftest import REPO

NOTEBOOKS = REPO / "notebooks"
spec = importlib.util.spec_from_file_location("notebook_build", NOTEBOOKS / "build.py")
build = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build)
SOURCES = sorted(build.SOURCES.glob("*.py"))
HUNG_S = 4 * build.BUDGET_S


def shape_of(book) -> list[list[tuple]]:
    """Per code cell, what it output: (stream name) or (output type, its MIME types); consecutive pieces of one
    stream count once (how a stream is cut into outputs depends on when it was flushed)."""
    shapes = []
    for cell in (c for c in book["cells"] if c["cell_type"] == "code"):
        kinds = [(o["name"],) if o["output_type"] == "stream" else (o["output_type"], tuple(sorted(o.get("data", {}))))
                 for o in cell.get("outputs", [])]
        shapes.append([kind for i, kind in enumerate(kinds) if i == 0 or kind != kinds[i - 1]])
    return shapes


def _text(source) -> str:
    return "".join(source) if isinstance(source, list) else source  # stored .ipynb: a list of lines


def test_every_source_has_its_stored_notebook_and_no_other():
    assert SOURCES, "no notebook sources"
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == [p.stem for p in SOURCES]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_the_notebook_runs_and_its_stored_outputs_are_its_own(source, data_dir, monkeypatch,
                                                                tmp_path):
    monkeypatch.setenv("ADVNETS_DATA", str(data_dir))
    monkeypatch.setenv("ADVNETS_NOTEBOOK_RUNS", str(tmp_path))  # where a notebook trains its runs
    stored = json.loads((NOTEBOOKS / f"{source.stem}.ipynb").read_text())
    fresh = build.notebook_of(source)
    assert [_text(c["source"]) for c in stored["cells"]] == [c["source"] for c in fresh.cells], \
        f"notebooks/{source.stem}.ipynb is not its source's current code: python notebooks/build.py {source.stem}"
    outputs = [o for c in stored["cells"] for o in c.get("outputs", [])]
    assert not any(o["output_type"] == "error" for o in outputs)
    assert not any(o["output_type"] == "display_data" and set(o["data"]) == {"text/plain"} for o in outputs), \
        "a figure was stored as its text, not its picture"
    ran, _ = build.execute(fresh, NOTEBOOKS, timeout=HUNG_S)  # fails loudly on any cell's error, or hung
    assert shape_of(ran) == shape_of(stored), f"its stored outputs are stale: python notebooks/build.py {source.stem}"
