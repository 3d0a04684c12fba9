"""Parents of classes: a :class:`Hierarchy` from the export's ``supercategory`` or a user mapping file.

Parents come from the export's ``supercategory`` (COCO, LVIS, TACO) or from a user mapping: a
CSV with ``child,parent`` rows or a YAML ``{child: parent}`` / ``{parent: [children]}``.
Children the dataset does not have, or a child with two parents, are refused with ``ValueError``.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Mapping, Sequence

from ..dataset import Dataset
from ..report import excerpt


@dataclass(frozen=True)
class Hierarchy:
    """Child class -> parent name; ``source`` says where it came from (``supercategory`` or a file)."""

    parents: dict[str, str]
    source: str = "supercategory"

    def children(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for child, parent in self.parents.items():
            out.setdefault(parent, []).append(child)
        return out

    def __bool__(self) -> bool:
        return bool(self.parents)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "parents": dict(self.parents)}


def from_supercategories(dataset: Dataset) -> Hierarchy:
    """Parents from the ``supercategory`` column (classes without one have no parent)."""
    names = dataset.class_names
    supers = dataset.categories.column("supercategory").to_pylist()
    return Hierarchy({n: str(s) for n, s in zip(names, supers) if s not in (None, "")}, "supercategory")


def read_mapping(source: str | Path | bytes, dataset: Dataset, name: str | None = None) -> Hierarchy:
    """A user mapping as a :class:`Hierarchy` of ``dataset``'s classes.

    ``source`` is a path, or the file's bytes with its ``name`` (for the extension): ``.csv`` /
    ``.txt`` rows ``child,parent`` (a header row ``child,parent`` is skipped), ``.yaml`` / ``.yml`` /
    ``.json`` either ``{child: parent}`` or ``{parent: [children]}``. Children the dataset does not
    have raise ``ValueError`` naming them.
    """
    from ..io.files import read_bytes

    if isinstance(source, (str, Path)):
        path = Path(source)
        data, name = read_bytes(path), name or str(path)
    else:
        data, name = source, name or "mapping.csv"
    suffix = PurePosixPath(name).suffix.lower()
    text = data.decode("utf-8-sig", errors="replace")
    if suffix in (".yaml", ".yml", ".json"):
        pairs = _yaml_pairs(text, name)
    elif suffix in (".csv", ".txt", ".tsv", ""):
        pairs = _csv_pairs(text, name)
    else:
        raise ValueError(f"`mapping` must be a .csv, .yaml, .yml or .json file. Got {excerpt(name)} instead.")
    return hierarchy_from_pairs(pairs, dataset, name)


def _csv_pairs(text: str, name: str) -> list[tuple[str, str]]:
    pairs = []
    rows = csv.reader(io.StringIO(text), delimiter="\t" if name.endswith(".tsv") else ",")
    for number, row in enumerate(_rows(rows, name), start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if len(cells) < 2 or not cells[0] or not cells[1]:
            raise ValueError(f"{name}:{number}: a mapping row must be `child,parent`. Got {excerpt(row)} instead.")
        if number == 1 and [c.lower() for c in cells[:2]] == ["child", "parent"]:
            continue
        pairs.append((cells[0], cells[1]))
    return pairs


def _rows(reader, name: str):
    try:
        yield from reader
    except csv.Error as exc:  # a NUL byte, a field past the csv module's limit ...
        raise ValueError(f"{name}:{reader.line_num}: not a readable CSV row ({exc}).") from None


def _yaml_pairs(text: str, name: str) -> list[tuple[str, str]]:
    from ..io.files import parse_yaml
    from ..report import LoadError

    try:
        doc = parse_yaml(text, name)  # bounded: an alias bomb or deep nesting is an error, not a crash
    except LoadError as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(doc, dict):
        raise ValueError(f"{name}: the mapping must be {{child: parent}} or {{parent: [children]}}. Got a {type(doc).__name__}.")
    pairs = []
    for key, value in doc.items():
        if not _is_name(key):
            raise ValueError(f"{name}: a class in the mapping must be a name. Got {excerpt(key)}.")
        if isinstance(value, list):
            for child in value:
                if not _is_name(child):
                    raise ValueError(f"{name}: the children of {excerpt(key)} must be names. Got {excerpt(child)}.")
                pairs.append((str(child), str(key)))
        elif _is_name(value):
            pairs.append((str(key), str(value)))
        else:
            raise ValueError(f"{name}: the parent of {excerpt(key)} must be a name or a list of children. Got {excerpt(value)}.")
    return pairs


def _is_name(value: Any) -> bool:
    """Text or a number (YAML reads ``7`` and ``1.5`` as numbers): what a class can be named."""
    return isinstance(value, (str, int, float)) and not isinstance(value, bool) and len(str(value)) <= 1000


def hierarchy_from_pairs(pairs: Sequence[tuple[str, str]] | Mapping[str, str], dataset: Dataset,
                         source: str = "mapping") -> Hierarchy:
    items = list(pairs.items()) if isinstance(pairs, Mapping) else list(pairs)
    known = set(dataset.class_names)
    unknown = sorted({c for c, _ in items if c not in known})
    where = "" if source == "mapping" else f"{source}: "
    if unknown:
        raise ValueError(f"{where}The mapping names classes the dataset does not have: {excerpt(unknown, 200)}. "
                         f"Known: {excerpt(sorted(known), 200)}.")
    parents: dict[str, str] = {}
    for child, parent in items:
        if child in parents and parents[child] != parent:
            raise ValueError(f"{where}The mapping gives {excerpt(child)} two parents: {excerpt(parents[child])} "
                             f"and {excerpt(parent)}.")
        if child != parent:
            parents[child] = parent
    return Hierarchy(parents, source)
