"""The layout keeps its promises: one package per stage whose pure modules import no Beam, public
composites exported by each stage package, and no import circle anywhere (function-level imports
included), with `pipelines.cli` imported by nothing but the scheduler's entry script."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

STAGES = ("read", "clean", "dedup", "write")
PACKAGES = ("transforms", "pipelines")


def project_modules() -> dict[str, Path]:
    """Dotted name -> file of every module of the two packages."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules a file imports anywhere in it (`from a.b import c` counts a.b.c when that is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name in modules}


def test_no_module_imports_itself_back_through_others():
    modules = project_modules()
    graph = {name: imports_of(path, modules) - {name} for name, path in modules.items()}
    # A package's __init__ is run by importing any module in it: count that edge too.
    for name in modules:
        parent = name.rpartition(".")[0]
        if parent in graph and parent != name:
            graph[name] = graph[name] | {parent}
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for other in sorted(graph[name]):
            if state.get(other) == 1:
                raise AssertionError("import circle: " + " -> ".join([*trail[trail.index(other) :], other]))
            if other not in state:
                visit(other, [*trail, other])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_only_the_scheduler_entry_script_imports_the_cli():
    modules = project_modules()
    importers = {name for name, path in modules.items() if "pipelines.cli" in imports_of(path, modules)}
    assert importers == {"pipelines.job"}


def test_the_pure_modules_of_every_stage_import_no_beam():
    pure = [
        name
        for name in project_modules()
        if name.startswith("transforms.") and name.split(".")[1] in STAGES and not name.endswith(".transform")
    ]
    assert len(pure) >= 20
    code = f"import sys\nfor m in {pure!r}: __import__(m)\nprint('apache_beam' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_package_exports_its_composites(stage):
    package = importlib.import_module(f"transforms.{stage}")
    transform = importlib.import_module(f"transforms.{stage}.transform")
    assert package.__all__ and all(getattr(package, name) is getattr(transform, name) for name in package.__all__)
    with pytest.raises(AttributeError):
        package.NoSuchComposite  # noqa: B018
