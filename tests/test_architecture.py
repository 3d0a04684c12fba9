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


# --------------------------------------------------------------------------- no re-read of an export

#: Calls that open or read a file (``open``, ``Path.read_bytes`` / ``read_text``, the readers' helpers).
FILE_READS = {"open", "read_bytes", "read_text", "parse_json", "read_file", "FileBytes", "memory_map"}


def source_reads(tree: ast.AST) -> list[int]:
    """Lines where a call in ``tree`` reads a file named by a dataset's ``sources``: the call is
    one of :data:`FILE_READS` and its arguments (or, for a method, its object) mention
    ``.sources`` or a name bound from it (an assignment, a loop or a comprehension over it)."""
    tainted: set[str] = set()

    def mentions(node: ast.AST) -> bool:
        return any((isinstance(n, ast.Attribute) and n.attr == "sources") or (isinstance(n, ast.Name) and n.id in tainted)
                   for n in ast.walk(node))

    def names(target: ast.AST) -> set[str]:
        return {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}

    for _ in range(3):  # names bound from names bound from `.sources`
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and mentions(node.value):
                tainted |= set().union(*(names(t) for t in node.targets))
            elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and node.value is not None and mentions(node.value):
                tainted |= names(node.target)
            elif isinstance(node, (ast.For, ast.comprehension)) and mentions(node.iter):
                tainted |= names(node.target)
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        parts = [*node.args, *(k.value for k in node.keywords), *([func.value] if isinstance(func, ast.Attribute) else [])]
        if name in FILE_READS and any(mentions(p) for p in parts):
            lines.append(node.lineno)
    return sorted(set(lines))


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("doc = parse_json(read_bytes(dataset.sources[0]), p, r)\n", [1]),
        ("sources = [s for s in dataset.sources if s.endswith('.json')]\n"
         "docs = [msgspec.json.decode(Path(s).read_bytes()) for s in sources]\n", [2]),
        ("path = ds.sources[0]\nwith open(path) as f:\n    pass\n", [2]),
        ("for source in dataset.sources:\n    text = Path(source).read_text()\n", [2]),
        # naming, listing or comparing the sources opens nothing
        ("names = ', '.join(Path(s).name for s in dataset.sources)\nfound = Path(dataset.sources[0]).is_file()\n", []),
        ("data = Path(other).read_bytes()\nsources = tuple(dataset.sources)\n", []),
    ],
)
def test_a_planted_re_read_of_the_sources_is_found(code, expected):
    assert source_reads(ast.parse(code)) == expected


def test_nothing_outside_io_opens_an_export_again():
    """What a reader parsed is all any analysis needs (``Dataset.records``, ``Dataset.origin``):
    outside ``imbal_core/io`` no module opens a file named by ``dataset.sources``."""
    offenders = {}
    for name, (path, _) in modules(ROOT, "imbal_core").items():
        if name == "imbal_core.io" or name.startswith("imbal_core.io."):
            continue
        lines = source_reads(ast.parse(path.read_text(encoding="utf-8")))
        if lines:
            offenders[name] = lines
    assert offenders == {}
