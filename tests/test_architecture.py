"""The package's import graph: no cycles, and every import points down the layers of
docs/architecture.md (a module imports from its own layer or lower ones, never higher), which names
every module. Imports inside functions count; imports for type annotations only (under
``if TYPE_CHECKING:``) do not."""

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "src" / "advnets"

# Lowest first. A module belongs to the layer of the longest prefix that names it.
LAYERS = [
    ("foundation", ["advnets", "advnets.errors", "advnets.fileio", "advnets.outputs", "advnets.tensorfile", "advnets.progress", "advnets.batching",
                    "advnets.runtime", "advnets.plugins", "advnets.mirrored", "advnets.distributed", "advnets.theory", "advnets.losses", "advnets.viz",
                    "advnets.conv_shapes"]),
    ("data", ["advnets.data"]),
    ("config", ["advnets.config"]),
    ("models", ["advnets.models", "advnets.classifier"]),
    ("snapshots and sampling", ["advnets.snapshot", "advnets.sampling"]),
    ("metrics", ["advnets.metrics"]),
    ("training", ["advnets.train"]),
    ("applications", ["advnets.inference", "advnets.weight_average", "advnets.semisup", "advnets.figures",
                      "advnets.report", "advnets.studies", "advnets.members"]),
    ("command line", ["advnets.cli", "advnets.commands", "advnets.__main__"]),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def layer_of(module: str) -> int:
    matches = [(len(prefix), rank) for rank, (_, prefixes) in enumerate(LAYERS) for prefix in prefixes
               if module == prefix or (prefix != "advnets" and module.startswith(prefix + "."))]
    assert matches, f"{module} is in no layer: add it to LAYERS here and to docs/architecture.md"
    return max(matches)[1]


def _runtime_nodes(tree: ast.AST):
    """Every node except those under `if TYPE_CHECKING:`."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def imports_of(module: str) -> set[str]:
    """The advnets modules `module` imports, with the packages whose __init__ that runs."""
    tree = ast.parse(MODULES[module].read_text())
    found = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{module}: relative import"
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in MODULES)
    targets = set()
    for name in found:
        if name.split(".")[0] != "advnets":
            continue
        parts = name.split(".")
        for i in range(2, len(parts) + 1):  # importing a.b.c runs a.b's __init__ first
            target = ".".join(parts[:i])
            if target in MODULES and not module.startswith(target + "."):  # not its own package
                targets.add(target)
    targets.discard(module)
    return targets


GRAPH = {module: imports_of(module) for module in MODULES}


def test_every_import_points_down_the_layers():
    upward = [f"{m} ({LAYERS[layer_of(m)][0]}) imports {t} ({LAYERS[layer_of(t)][0]})"
              for m, targets in GRAPH.items() for t in targets if layer_of(t) > layer_of(m)]
    assert not upward, "\n".join(upward)


def test_there_is_no_import_cycle():
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(GRAPH[module]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[module] = 2
        return None

    for module in sorted(GRAPH):
        if module not in state:
            cycle = visit(module)
            assert cycle is None, " -> ".join(cycle)


def test_the_architecture_map_names_every_module():
    text = (REPO / "docs" / "architecture.md").read_text()
    missing = [str(p.relative_to(PACKAGE)) for p in sorted(PACKAGE.rglob("*.py"))
               if p.name != "__init__.py" and str(p.relative_to(PACKAGE)) not in text]
    assert not missing, f"docs/architecture.md does not name: {', '.join(missing)}"


def _functions(path: Path):
    return [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def test_no_function_of_the_training_core_or_of_a_command_is_longer_than_60_lines():
    long = [f"{p.parent.name}/{p.name}:{f.name} ({f.end_lineno - f.lineno + 1} lines)"
            for folder in ("train", "commands") for p in sorted((PACKAGE / folder).glob("*.py"))
            for f in _functions(p) if f.end_lineno - f.lineno + 1 > 60]
    assert not long, ", ".join(long)


def test_no_module_is_longer_than_400_lines():
    long = [f"{module} ({len(path.read_text().splitlines())} lines)" for module, path in sorted(MODULES.items())
            if len(path.read_text().splitlines()) > 400]
    assert not long, ", ".join(long)


def test_every_command_module_has_the_command_shape_and_imports_without_pytorch():
    """cli.COMMANDS names each module of advnets/commands/ that is a command, and each has DESCRIPTION, EXAMPLES,
    add_arguments and run; importing all of them (what `advnets --help` never needs) loads no PyTorch."""
    import subprocess
    import sys

    from advnets.cli import COMMANDS

    shared = {"__init__", "options", "presentation", "members", "training"}  # the train command's --members
    modules = sorted(p.stem for p in (PACKAGE / "commands").glob("*.py") if p.stem not in shared)
    assert sorted(module for module, _ in COMMANDS.values()) == modules
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n"
            "    m = importlib.import_module('advnets.commands.' + name)\n"
            "    assert all(hasattr(m, a) for a in ('DESCRIPTION', 'EXAMPLES', 'add_arguments', 'run')), name\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_training_loop_reads_in_under_50_lines():
    loop = next(f for f in _functions(PACKAGE / "train" / "loop.py") if f.name == "iterate")
    assert loop.end_lineno - loop.lineno + 1 < 50


def test_the_step_and_the_data_sources_never_read_the_config():
    """The step gets the values it needs (train/rules.py), not the config: no `.cfg` in the modules a training
    iteration runs."""
    reads = [f"{name}:{node.lineno}" for name in ("train/algorithm.py", "train/game.py", "train/player.py",
                                                  "data/sources.py")
             for node in ast.walk(ast.parse((PACKAGE / name).read_text()))
             if isinstance(node, ast.Attribute) and node.attr == "cfg"]
    assert not reads, ", ".join(reads)
