"""Parents of classes: a :class:`Hierarchy` from the export's ``supercategory`` or a user mapping file.

Parents come from the export's ``supercategory`` (COCO, LVIS, TACO) or from a user mapping: a
CSV with ``child,parent`` rows or a YAML ``{child: parent}`` / ``{parent: [children]}``.
Children the dataset does not have, or a child with two parents, are refused with ``ValueError``.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Mapping, Sequence

from ..dataset import Dataset


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
    if isinstance(source, (str, Path)):
        path = Path(source)
        data, name = path.read_bytes(), name or path.name
    else:
        data, name = source, name or "mapping.csv"
    suffix = PurePosixPath(name).suffix.lower()
    text = data.decode("utf-8-sig", errors="replace")
    if suffix in (".yaml", ".yml", ".json"):
        pairs = _yaml_pairs(text, name)
    elif suffix in (".csv", ".txt", ".tsv", ""):
        pairs = _csv_pairs(text, name)
    else:
        raise ValueError(f"`mapping` must be a .csv, .yaml, .yml or .json file. Got {name!r} instead.")
    return hierarchy_from_pairs(pairs, dataset, name)


def _csv_pairs(text: str, name: str) -> list[tuple[str, str]]:
    import csv

    pairs = []
    for number, row in enumerate(csv.reader(io.StringIO(text), delimiter="\t" if name.endswith(".tsv") else ","), start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if len(cells) < 2 or not cells[0] or not cells[1]:
            raise ValueError(f"{name}:{number}: a mapping row must be `child,parent`. Got {row!r} instead.")
        if number == 1 and [c.lower() for c in cells[:2]] == ["child", "parent"]:
            continue
        pairs.append((cells[0], cells[1]))
    return pairs


def _yaml_pairs(text: str, name: str) -> list[tuple[str, str]]:
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{name}: not valid YAML ({str(exc).splitlines()[0]}).") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{name}: the mapping must be {{child: parent}} or {{parent: [children]}}. Got a {type(doc).__name__}.")
    pairs = []
    for key, value in doc.items():
        if isinstance(value, list):
            pairs += [(str(child), str(key)) for child in value]
        elif isinstance(value, (str, int, float)):
            pairs.append((str(key), str(value)))
        else:
            raise ValueError(f"{name}: the parent of {key!r} must be a name or a list of children. Got {value!r}.")
    return pairs


def hierarchy_from_pairs(pairs: Sequence[tuple[str, str]] | Mapping[str, str], dataset: Dataset,
                         source: str = "mapping") -> Hierarchy:
    items = list(pairs.items()) if isinstance(pairs, Mapping) else list(pairs)
    known = set(dataset.class_names)
    unknown = sorted({c for c, _ in items if c not in known})
    if unknown:
        raise ValueError(f"The mapping names classes the dataset does not have: {unknown}. Known: {sorted(known)}.")
    parents: dict[str, str] = {}
    for child, parent in items:
        if child in parents and parents[child] != parent:
            raise ValueError(f"The mapping gives {child!r} two parents: {parents[child]!r} and {parent!r}.")
        if child != parent:
            parents[child] = parent
    return Hierarchy(parents, source)
