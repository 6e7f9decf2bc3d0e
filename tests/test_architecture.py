"""The layout's rules hold: no import cycles, and the import-linter contracts catch what they forbid.

`make lint` runs the contracts on the real tree; these tests show that the checks are not vacuous
by planting a violation in a copy of the tree and watching them fail.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("rlhf", "reward", "labeling_app")


def module_names(root: Path) -> dict[str, Path]:
    names = {}
    for package in PACKAGES:
        for path in (root / package).rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def _imported(node: ast.AST, package: str) -> list[str]:
    """The dotted names an import statement reaches: `from a import b` may name module a.b or a's attribute b."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
        return [f"{base}.{alias.name}" for alias in node.names]
    return []


def import_graph(root: Path) -> dict[str, set[str]]:
    """module -> project modules it imports, counting imports inside functions."""
    names = module_names(root)
    graph: dict[str, set[str]] = {name: set() for name in names}
    for name, path in names.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for target in _imported(node, package):
                while target and target not in names:  # an attribute of a module: the module itself
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def import_cycles(root: Path) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each a set of modules importing in a ring."""
    graph, index, low, stack, on_stack, cycles = import_graph(root), {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_no_import_cycles_in_the_project():
    assert import_cycles(ROOT) == []


@pytest.fixture
def tree_copy(tmp_path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.fail(f"{lint} is missing: `make install-test` installs import-linter")
    return subprocess.run([str(lint), "--no-cache"], cwd=root, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)})


def test_the_contracts_hold_on_an_unchanged_copy(tree_copy):
    result = lint_imports(tree_copy)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("planted, where, broken", [
    ("from rlhf.cli.output import log\n", "rlhf/run/planted.py", "Stages import only the layers below them"),
    ("def later():\n    from rlhf.pipeline import run_loop\n", "rlhf/labeling/planted.py", "Stages import only the layers below them"),
    ("import labeling_app.render\n", "rlhf/report/planted.py", "Stages import only the layers below them"),
    ("from rlhf.sft.train import train_sft\n", "rlhf/policy/planted.py", "Stages import only the layers below them"),
    ("import sqlalchemy\n", "rlhf/evaluation/planted.py", "Only the label store talks to the database"),
    ("from rlhf.labeling.store import LabelStore\n", "reward/planted.py", "The reward model knows nothing"),
])
def test_a_planted_violation_breaks_its_contract(tree_copy, planted, where, broken):
    (tree_copy / where).write_text(planted)
    result = lint_imports(tree_copy)
    assert result.returncode != 0
    assert f"{broken}" in result.stdout and "BROKEN" in result.stdout
    assert where.removesuffix(".py").replace("/", ".") in result.stdout


def test_a_planted_cycle_is_found(tree_copy):
    (tree_copy / "rlhf" / "errors.py").write_text((tree_copy / "rlhf" / "errors.py").read_text()
                                                  + "\n\ndef _late():\n    from rlhf.run.files import write_text\n")
    assert ["rlhf.errors", "rlhf.run.files"] in import_cycles(tree_copy)
