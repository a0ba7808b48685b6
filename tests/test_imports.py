"""The package's import graph: inference never imports training, and no module imports itself round a circle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import poselift

PACKAGE = Path(poselift.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_level_imports(path: Path) -> set[str]:
    """The poselift modules that ``path`` imports when it is loaded (imports inside functions
    run later and are left out), each with the packages whose ``__init__`` runs on the way."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:  # top-level statements only
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            target = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)  # `from . import estimate`
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    modules = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    edges = set()
    for target in found & modules | {t.rpartition(".")[0] for t in found} & modules:
        parts = target.split(".")
        for depth in range(1, len(parts) + 1):
            prefix = ".".join(parts[:depth])
            # a package being imported runs its __init__ first, unless it encloses this module (already running)
            if prefix in modules and not (name == prefix or name.startswith(prefix + ".")):
                edges.add(prefix)
    return edges


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every circle found by a depth-first search (each reported once per entry point)."""
    found, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for following in sorted(graph.get(node, ())):
            if state.get(following) == "open":
                found.append(path[path.index(following):] + [following])
            elif following not in state:
                visit(following, path + [following])
        state[node] = "done"

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    return found


def test_no_module_imports_itself_round_a_circle():
    graph = {_module_name(path): _module_level_imports(path) for path in PACKAGE.rglob("*.py")}
    assert len(graph) > 40 and graph["poselift.estimator"] >= {"poselift.lifting", "poselift.detectors.blazepose"}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c", "a"]]


def test_inference_never_imports_training():
    code = ("import sys, poselift, poselift.estimator, poselift.cli\n"
            "poselift.cli._parser()\n"  # every command's options, as a run builds them
            "from poselift.nn.models import SHIPPED_STAGES_PATH, load_stages\n"
            "load_stages(SHIPPED_STAGES_PATH, poselift.PosePrior.default())\n"
            "print(sorted(m for m in sys.modules if m.startswith('poselift.training')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
