"""The shape habits that ruff and mypy do not check, for ``make lint``.

* no module over :data:`MAX_MODULE_LINES` lines and no function over :data:`MAX_FUNCTION_LINES`
  (docstrings included), so that each reads in one sitting;
* the import graph of ``scd_core`` and ``training`` has no cycle, and no module imports one of a
  later layer of the flow (:data:`LAYERS`): labels and metrics know nothing of models, models
  nothing of rasters, the engine and training nothing of the command line.

    python scripts/check_structure.py        # prints each finding; exit 1 if there is one
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("scd_core", "training", "qgis_scd_plugin", "benchmarks", "scripts")
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
#: The packages whose import graph :data:`LAYERS` orders.
LAYERED = ("scd_core", "training")
#: The layers of ``scd_core`` and ``training``, first to last; a module may import its own layer and earlier ones.
#: A module is in the layer of the longest prefix of its dotted name listed here.
LAYERS = (
    (
        "scd_core.version",
        "scd_core.errors",
        "scd_core.tensors",
        "scd_core.legend",
        "scd_core.vocabulary",
        "scd_core.events",
        "scd_core.atomic",
        "scd_core.geopackage",
    ),
    ("scd_core.resources",),
    ("scd_core.labels", "scd_core.second_layout", "scd_core.metrics", "scd_core.evaluation"),
    ("scd_core.synth",),
    ("scd_core.models", "scd_core.cpu_memory", "scd_core.devices", "scd_core.checkpoint", "scd_core.export"),
    ("scd_core.normalise",),  # raw pixels to a checkpoint's inputs: the engine's and training's alike
    # what an analyst reports of a change map (gains and losses, zones, accuracy and areas from a sample,
    # report.html): below the engine, whose report stage writes them
    ("scd_core.accounting",),
    ("scd_core.geo",),
    ("scd_core.batch",),
    ("scd_core.cluster",),
    ("scd_core.series",),  # a series of dates run as pairs (batch's machinery, here or on the cluster)
    ("scd_core.trainer",),  # one trainer for every data source: the papers' folders and analysts' rasters
    ("scd_core.own_data",),  # an analyst's PAIRS.csv of rasters and labels as the trainer's data
    ("training",),  # reproduces the papers on the library, below the command line
    ("scd_core.cli", "scd_core.__main__"),
    ("scd_core",),  # the package itself: the public facade (scd_core.detect)
)


def python_files() -> Iterator[Path]:
    for source in SOURCES:
        yield from sorted((REPO / source).rglob("*.py"))


def size_findings(path: Path, tree: ast.Module, lines: int) -> Iterator[str]:
    name = path.relative_to(REPO)
    if lines > MAX_MODULE_LINES:
        yield f"{name}: {lines} lines (at most {MAX_MODULE_LINES})"
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                yield f"{name}:{node.lineno}: {node.name}() is {length} lines (at most {MAX_FUNCTION_LINES})"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(tree: ast.Module, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The ``scd_core`` and ``training`` modules ``module`` imports (relative imports resolved; ``from package import
    submodule`` counts as an import of the submodule, among the ``known`` modules)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {name for name in found if name.startswith(LAYERED)}


def layer_of(module: str) -> int:
    best, layer = -1, 0
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, layer = len(prefix), index
    return layer


def graph_findings(graph: dict[str, set[str]]) -> Iterator[str]:
    for module, targets in sorted(graph.items()):
        for target in sorted(targets & graph.keys()):
            if layer_of(target) > layer_of(module):
                yield f"{module} imports {target}, which stands later in the flow"
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> Iterator[str]:
        state[module] = 1
        for target in sorted(graph[module] & graph.keys()):
            if state.get(target) == 1:
                yield "import cycle: " + " → ".join([*path[path.index(target) :], target])
            elif target not in state:
                yield from visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            yield from visit(module, [module])


def main() -> int:
    findings: list[str] = []
    trees: dict[str, tuple[ast.Module, bool]] = {}
    for path in python_files():
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text, str(path))
        findings.extend(size_findings(path, tree, text.count("\n")))
        if module_name(path).startswith(LAYERED):
            trees[module_name(path)] = (tree, path.name == "__init__.py")
    known = set(trees)
    graph = {name: imports(tree, name, package, known) - {name} for name, (tree, package) in trees.items()}
    findings.extend(graph_findings(graph))
    for finding in findings:
        print(finding)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
