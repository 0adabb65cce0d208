"""Write the notebooks from their cells (notebooks/sources/*.py) and run them, storing their outputs, so that a
reader on the code host sees every figure without running anything:

    python notebooks/build.py                 # every notebook (MNIST ones need $ADVNETS_DATA)
    python notebooks/build.py 01-value-function

A source file is a notebook written as Python: cells separated by lines `# %%` (code) or `# %% [markdown]`
(markdown, its lines commented with `# `), the format Jupytext and editors call "percent". tests/test_notebooks.py
runs each notebook again (stopping it only as hung, at 4x the budget: a loaded machine is slower) and checks that
its stored outputs are what its code makes; the budget itself is held here, where the notebooks are stored.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "sources"
BUDGET_S = 180  # each notebook runs top to bottom within this on the 2-core CPU


def cells_of(source: Path) -> list[tuple[str, str]]:
    """(kind, text) of each cell of a percent-format source."""
    cells: list[tuple[str, list[str]]] = []
    for line in source.read_text().splitlines():
        if line.startswith("# %%"):
            cells.append(("markdown" if "[markdown]" in line else "code", []))
        elif cells:
            cells[-1][1].append(line[2:] if cells[-1][0] == "markdown" and line.startswith("# ") else
                                "" if cells[-1][0] == "markdown" and line == "#" else line)
    return [(kind, "\n".join(lines).strip("\n")) for kind, lines in cells if "".join(lines).strip()]


def notebook_of(source: Path):
    import nbformat

    book = nbformat.v4.new_notebook()
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    book.cells = [nbformat.v4.new_markdown_cell(text) if kind == "markdown" else nbformat.v4.new_code_cell(text)
                  for kind, text in cells_of(source)]
    return book


def execute(book, cwd: Path, timeout: int = BUDGET_S):
    """Run a notebook top to bottom (the whole notebook within `timeout` seconds); returns it and the seconds."""
    from nbclient import NotebookClient

    started = time.perf_counter()
    NotebookClient(book, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    seconds = time.perf_counter() - started
    if seconds > timeout:
        raise TimeoutError(f"took {seconds:.0f} s, more than its budget of {timeout} s")
    return book, seconds


def main(names: list[str]) -> int:
    import nbformat

    sources = sorted(SOURCES.glob("*.py"))
    for source in sources:
        if names and source.stem not in names:
            continue
        book, seconds = execute(notebook_of(source), HERE)
        for cell in book.cells:
            cell.get("metadata", {}).pop("execution", None)  # timings: they change with every run
        nbformat.write(book, HERE / f"{source.stem}.ipynb")
        print(f"notebooks/{source.stem}.ipynb: ran in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
