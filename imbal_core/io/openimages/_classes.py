"""Open Images classes: machine ids (``/m/0k4j``) -> display names, and the label hierarchy.

- Class descriptions: ``LabelName,DisplayName`` rows (V6 / V7 have that header, V5 none). A row
  with fewer than two fields or an empty id is reported and skipped; an id described twice keeps
  its first name (reported when the names differ).
- Names: a display name used by several ids (Open Images has a few) is made unique as
  ``Name (/m/id)`` for each of them, reported once per name.
- Hierarchy (``bbox_labels_600_hierarchy.json``): each node's ``Subcategory`` children have the
  node as parent; the root (``Entity``) is no one's parent, so top-level classes have none.
  ``Part`` lists (parts, not kinds) are not read. A class under several parents keeps the first
  met (depth first, in file order) and the others are reported (``second_parent``).
"""
from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path
from typing import Any

from ...report import LoadError, LoadReport, excerpt
from ..files import parse_json, read_bytes, read_text


def read_descriptions(path: Path, report: LoadReport) -> dict[str, str]:
    """Class id -> display name, in file order."""
    text = read_text(path, report)
    names: dict[str, str] = {}
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            cells = [c.strip() for c in row]
            if not any(cells) or (number == 1 and cells[:2] == ["LabelName", "DisplayName"]):
                continue
            if len(cells) < 2 or not cells[0] or not cells[1]:
                report.add(path, f"{path.name}:{number}", "bad_line",
                           f"row {excerpt(','.join(row))} is not `class id,display name`", "skipped")
                continue
            label, name = cells[0], cells[1]
            if label in names:
                if names[label] != name:
                    report.add(path, f"{path.name}:{number}", "duplicate_class",
                               f"class {excerpt(label)} is described again as {excerpt(name)}",
                               f"kept {excerpt(names[label])}")
                continue
            names[label] = name
    except csv.Error as exc:
        raise LoadError(f"{path}: not a readable CSV file ({exc}).", report, str(path)) from None
    return names


def unique_names(ids: list[str], described: dict[str, str], path: str, report: LoadReport) -> list[str]:
    """A display name per id (the id itself when undescribed), made unique as ``Name (id)``."""
    names = [described.get(i, i) for i in ids]
    repeated = {n for n, count in Counter(names).items() if count > 1}
    for name in sorted(repeated):
        report.add(path, name, "duplicate_name", f"display name {excerpt(name)} is given to several classes",
                   "each named `name (class id)`")
    return [f"{n} ({i})" if n in repeated else n for n, i in zip(names, ids)]


def read_hierarchy(path: Path, report: LoadReport) -> dict[str, str]:
    """Class id -> parent id, from the hierarchy JSON."""
    doc = parse_json(read_bytes(path), path, report)
    if not isinstance(doc, dict) or not isinstance(doc.get("LabelName"), str):
        raise LoadError(f"{path}: not an Open Images hierarchy — the top level is not an object with a LabelName.",
                        report, str(path))
    parents: dict[str, str] = {}
    second: Counter[str] = Counter()
    stack: list[tuple[Any, str | None]] = [(c, None) for c in reversed(_children(doc, path, report))]
    while stack:
        node, parent = stack.pop()
        label = node.get("LabelName") if isinstance(node, dict) else None
        if not isinstance(label, str) or not label:
            report.add(path, "Subcategory", "bad_record", f"node {excerpt(node)} has no LabelName", "skipped")
            continue
        if parent is not None and label != parent:
            if label in parents:
                if parents[label] != parent:
                    second[label] += 1
            elif _is_ancestor(label, parent, parents):
                report.add(path, label, "second_parent", f"{excerpt(label)} under {excerpt(parent)} would make a cycle",
                           "ignored")
            else:
                parents[label] = parent
        stack += [(c, label) for c in reversed(_children(node, path, report))]
    for label, count in second.items():
        report.add(path, label, "second_parent", f"class {excerpt(label)} appears under {count + 1} parents",
                   f"kept the first, {excerpt(parents[label])}")
    return parents


def _children(node: dict, path: Path, report: LoadReport) -> list[Any]:
    children = node.get("Subcategory", [])
    if isinstance(children, list):
        return children
    report.add(path, str(node.get("LabelName")), "bad_record", f"Subcategory is {excerpt(children)}, not a list",
               "ignored")
    return []


def _is_ancestor(label: str, node: str, parents: dict[str, str]) -> bool:
    seen = set()
    while node is not None and node not in seen:
        if node == label:
            return True
        seen.add(node)
        node = parents.get(node)
    return False
