"""House rules of the library's shape, enforced: no import cycles, no streamlit in imbal_core.

Every import counts, including those inside functions and under ``TYPE_CHECKING``: an import
moved into a function to dodge a cycle still leaves the two modules leaning on each other.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def modules(root: Path, package: str) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package) for every module under ``root / package``."""
    found = {}
    for path in (root / package).rglob("*.py"):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports (``from . import x`` names the submodule x)."""
    mods = modules(root, package)
    graph: dict[str, set[str]] = {name: set() for name in mods}
    for name, (path, is_package) in mods.items():
        here = name.split(".") if is_package else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = ".".join(here[: len(here) - node.level + 1] + ([node.module] if node.module else [])) \
                    if node.level else (node.module or "")
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            for target in targets:
                while target and target not in mods:  # `imbal_core.io.coco.x` -> the module that defines x
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_imbal_core_has_no_import_cycle():
    assert cycles(import_graph(ROOT, "imbal_core")) == []


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        # a cycle hidden in a function and under TYPE_CHECKING is still a cycle
        ({"pkg/__init__.py": "", "pkg/a.py": "def f():\n    from .b import g\n",
          "pkg/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import f\n"},
         [["pkg.a", "pkg.b"]]),
        # a package and its submodule importing each other (`from . import X` of the package)
        ({"pkg/__init__.py": "from .sniff import sniff\nX = 1\n", "pkg/sniff.py": "def sniff():\n    from . import X\n"},
         [["pkg", "pkg.sniff"]]),
        # a three-module ring through absolute imports
        ({"pkg/__init__.py": "", "pkg/a.py": "import pkg.b\n", "pkg/b.py": "from pkg.c import x\n",
          "pkg/c.py": "from pkg import a\nx = 1\n"},
         [["pkg.a", "pkg.b", "pkg.c"]]),
        # a package importing its submodules is no cycle
        ({"pkg/__init__.py": "from .a import f\nfrom . import b\n", "pkg/a.py": "def f(): pass\n",
          "pkg/b.py": "from .a import f\n"},
         []),
    ],
)
def test_a_planted_cycle_is_found(tmp_path, files, expected):
    _write(tmp_path, files)
    assert cycles(import_graph(tmp_path, "pkg")) == expected


def test_imbal_core_never_imports_streamlit():
    graph_sources = modules(ROOT, "imbal_core")
    offenders = []
    for name, (path, _) in graph_sources.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            if any(n == "streamlit" or n.startswith("streamlit.") for n in names):
                offenders.append(name)
    assert offenders == []
