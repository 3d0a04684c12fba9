"""The label hierarchy: parents of classes, roll-up, merge suggestions, what-if and merged exports.

Parents come from the export's ``supercategory`` (COCO, LVIS, TACO) or from a user mapping: a
CSV with ``child,parent`` rows or a YAML ``{child: parent}`` / ``{parent: [children]}``.

**Merging** a class into its parent relabels its annotations. The parent receives them: when a
class has the parent's name (ignoring case, as COCO's ``person`` / ``person``), that class;
otherwise a new class named after the parent (so merging Motorcycle and Bus into ``vehicle``
makes a class ``vehicle`` holding both, while Car stays Car). A merge can also name any other
class as its target (``Stroller -> Person``). Chains resolve (A -> B, B -> C puts A in C);
cycles are refused.

**Suggestions** (:func:`suggest_merges`): every class below ``min_instances`` whose parent would
pass: the parent's own class (if any) plus all its children below the minimum, merged together,
reach ``min_instances``.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .cube import class_totals
from .dataset import Dataset, validate
from .exports import csv_bytes, json_bytes
from .longtail import DEFAULT_HEAD_SHARE, LongTail, Unit, available_units, long_tail


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


# --------------------------------------------------------------------------- roll-up and suggestions


def _target_of(parent: str, names: Sequence[str]) -> str:
    """The class a parent stands for: a class of the same name (ignoring case), or the parent."""
    if parent in names:
        return parent
    folded = {n.casefold(): n for n in names}
    return folded.get(parent.casefold(), parent)


def roll_up(dataset: Dataset, hierarchy: Hierarchy, unit: Unit = "instances") -> pa.Table:
    """One row per class with its parent: ``parent`` (null when it has none), ``category``, ``count``.

    Counts are in ``unit``; ``images`` for a parent is not the sum of its children (an image may
    hold several), so use :func:`parent_images` for the parent's distinct images.
    """
    lt = long_tail(dataset, unit) if unit in available_units(dataset) else long_tail(dataset, "instances")
    names = lt.classes.column("category").to_pylist()
    counts = lt.classes.column("count").to_pylist()
    return pa.table({
        "parent": pa.array([hierarchy.parents.get(n) for n in names], pa.string()),
        "category": pa.array(names, pa.string()),
        "count": pa.array(counts, pa.float64()),
    })


def parent_images(dataset: Dataset, hierarchy: Hierarchy) -> dict[str, int]:
    """Parent -> distinct images holding any of its children."""
    ic = dataset.image_classes
    names = np.array(dataset.class_names, dtype=object)
    parent_of = np.array([hierarchy.parents.get(n) for n in names], dtype=object)
    if ic.num_rows == 0:
        return {}
    parents = parent_of[ic.column("category_id").to_numpy()]
    images = ic.column("image_id").to_numpy()
    out: dict[str, int] = {}
    for p in set(v for v in parent_of if v is not None):
        out[p] = int(len(np.unique(images[parents == p])))
    return out


@dataclass(frozen=True)
class MergeSuggestions:
    """Every class with a parent: ``category``, ``parent``, ``target`` (the class it would join),
    ``instances``, ``target_instances`` (the target's own, 0 when it is a new class),
    ``merged_instances`` (for a class below the minimum: the target's own plus every sparse
    sibling, merged; null otherwise), ``below`` (under the minimum),
    ``suggested`` and ``reason``."""

    min_instances: int
    table: pa.Table

    def merges(self) -> dict[str, str]:
        """The suggested merges: child -> parent."""
        rows = self.table.filter(self.table.column("suggested")).to_pylist()
        return {r["category"]: r["parent"] for r in rows}

    def to_arrow(self) -> pa.Table:
        return self.table

    def to_pandas(self):
        return self.table.to_pandas()

    def to_dict(self) -> dict[str, Any]:
        return {"min_instances": self.min_instances, "suggestions": self.table.to_pylist(), "merges": self.merges()}


def suggest_merges(dataset: Dataset, hierarchy: Hierarchy, min_instances: int = 50,
                   critical: Sequence[str] | None = None) -> MergeSuggestions:
    """Classes below ``min_instances`` (50) instances whose parent would pass (module docstring).

    ``critical`` (None: the export's flags): classes never suggested — a rare class flagged as
    important is to be collected, not merged away."""
    if isinstance(min_instances, bool) or not isinstance(min_instances, (int, np.integer)) or min_instances < 1:
        raise ValueError(f"`min_instances` must be a whole number of at least 1. Got {min_instances!r} instead.")
    totals = class_totals(dataset)
    count = dict(zip(totals.column("category").to_pylist(), totals.column("instances").to_pylist()))
    names = dataset.class_names
    keep = set(dataset.critical_classes if critical is None else critical)
    sparse_by_target: dict[str, list[str]] = {}
    for child, parent in hierarchy.parents.items():
        target = _target_of(parent, names)
        if count[child] < min_instances and target != child and child not in keep:
            sparse_by_target.setdefault(target, []).append(child)
    rows: dict[str, list] = {k: [] for k in ("category", "parent", "target", "instances", "target_instances",
                                            "merged_instances", "below", "suggested", "reason")}
    for child in sorted(hierarchy.parents, key=lambda n: (count[n], n)):
        parent = hierarchy.parents[child]
        target = _target_of(parent, names)
        own = count.get(target, 0)
        merged = own + sum(count[c] for c in sparse_by_target.get(target, []))
        below = count[child] < min_instances
        if target == child:
            suggested, reason = False, "it is the parent's own class"
        elif not below:
            suggested, reason = False, f"has {count[child]:,} instances (at least {min_instances:,})"
        elif child in keep:
            suggested, reason = False, "flagged critical: collect more instead of merging it away"
        elif count[child] == 0:
            suggested, reason = False, "has no instances: nothing to merge"
        elif merged >= min_instances:
            joins = "joins the class" if target in names else "joins the new class"
            suggested, reason = True, f"{joins} {target!r}: {merged:,} instances with its sparse siblings"
        else:
            suggested, reason = False, f"{target!r} would still have only {merged:,} instances"
        for key, value in (("category", child), ("parent", parent), ("target", target), ("instances", count[child]),
                           ("target_instances", own), ("merged_instances", merged if below and target != child else None),
                           ("below", below),
                           ("suggested", suggested), ("reason", reason)):
            rows[key].append(value)
    table = pa.table({
        "category": pa.array(rows["category"], pa.string()), "parent": pa.array(rows["parent"], pa.string()),
        "target": pa.array(rows["target"], pa.string()), "instances": pa.array(rows["instances"], pa.int64()),
        "target_instances": pa.array(rows["target_instances"], pa.int64()),
        "merged_instances": pa.array(rows["merged_instances"], pa.int64()),
        "below": pa.array(rows["below"], pa.bool_()), "suggested": pa.array(rows["suggested"], pa.bool_()),
        "reason": pa.array(rows["reason"], pa.string()),
    })
    return MergeSuggestions(int(min_instances), table)


# --------------------------------------------------------------------------- applying merges


def resolve_merges(dataset: Dataset, merges: Mapping[str, str]) -> dict[str, str]:
    """Child -> the class it ends in (parents resolved to same-named classes, chains followed).

    Raises ``ValueError`` for a child the dataset does not have, or a cycle.
    """
    names = dataset.class_names
    unknown = sorted(set(merges) - set(names))
    if unknown:
        raise ValueError(f"`merges` names classes the dataset does not have: {unknown}. Known: {sorted(names)}.")
    direct = {c: _target_of(p, names) for c, p in merges.items() if _target_of(p, names) != c}
    out = {}
    for child in direct:
        seen, target = [child], direct[child]
        while target in direct:
            if target in seen:
                raise ValueError(f"`merges` has a cycle: {' -> '.join(seen + [target])}.")
            seen.append(target)
            target = direct[target]
        out[child] = target
    return out


def apply_merges(dataset: Dataset, merges: Mapping[str, str]) -> Dataset:
    """A copy of ``dataset`` with each merged class's annotations relabelled to its target.

    Merged classes disappear; a target that is not a class yet is appended (``supercategory`` =
    the parent's name, ``critical`` when a merged class was). Images are unchanged.
    """
    resolved = resolve_merges(dataset, merges)
    if not resolved:
        return dataset
    cats = dataset.categories
    names = cats.column("name").to_pylist()
    supers = cats.column("supercategory").to_pylist()
    sources = cats.column("source_id").to_pylist()
    critical = cats.column("critical").to_pylist()
    keep = [i for i, n in enumerate(names) if n not in resolved]
    new_names = [names[i] for i in keep]
    new_supers = [supers[i] for i in keep]
    new_sources = [sources[i] for i in keep]
    new_critical = [critical[i] for i in keep]
    parent_name = {c: merges.get(c, t) for c, t in resolved.items()}
    for child, target in resolved.items():
        if target not in new_names:
            new_names.append(target)
            new_supers.append(parent_name[child])
            new_sources.append(target)
            new_critical.append(False)
    row = {n: i for i, n in enumerate(new_names)}
    for child, target in resolved.items():
        if critical[names.index(child)]:
            new_critical[row[target]] = True
    remap = np.array([row[resolved.get(n, n)] for n in names], dtype=np.int32)
    categories = pa.table({
        "category_id": pa.array(np.arange(len(new_names), dtype=np.int32)),
        "source_id": pa.array(new_sources, pa.string()),
        "name": pa.array(new_names, pa.string()),
        "supercategory": pa.array(new_supers, pa.string()),
        "critical": pa.array(new_critical, pa.bool_()),
    }, schema=cats.schema)
    anns = dataset.annotations
    old = anns.column("category_id").to_numpy()
    idx = anns.schema.get_field_index("category_id")
    anns = anns.set_column(idx, anns.schema.field(idx), pa.array(remap[old] if len(old) else old.astype(np.int32)))
    validate(dataset.images, anns, categories)
    return replace(dataset, categories=categories, annotations=anns, key=None)


@dataclass(frozen=True)
class WhatIf:
    """Counts and long-tail metrics before and after a set of merges.

    ``changes``: one row per class of either side: ``category``, ``before``, ``after`` (0 when the
    class is gone or new) and ``merged_into`` (its target, for a merged class).
    """

    merges: dict[str, str]
    before: LongTail
    after: LongTail
    changes: pa.Table

    def to_arrow(self) -> pa.Table:
        return self.changes

    def to_pandas(self):
        return self.changes.to_pandas()

    def to_dict(self) -> dict[str, Any]:
        return {"merges": dict(self.merges), "before": self.before.metrics.to_dict(),
                "after": self.after.metrics.to_dict(), "changes": self.changes.to_pylist()}


def what_if(dataset: Dataset, merges: Mapping[str, str], unit: Unit = "instances",
            head_share: float = DEFAULT_HEAD_SHARE) -> WhatIf:
    """Counts and metrics in ``unit`` before and after applying ``merges`` (child -> parent)."""
    resolved = resolve_merges(dataset, merges)
    merged = apply_merges(dataset, merges)
    before = long_tail(dataset, unit, head_share=head_share)
    after = long_tail(merged, unit, head_share=head_share)
    b = dict(zip(before.classes.column("category").to_pylist(), before.classes.column("count").to_pylist()))
    a = dict(zip(after.classes.column("category").to_pylist(), after.classes.column("count").to_pylist()))
    order = list(dict.fromkeys([*after.classes.column("category").to_pylist(), *b]))
    changes = pa.table({
        "category": pa.array(order, pa.string()),
        "before": pa.array([b.get(n, 0.0) for n in order], pa.float64()),
        "after": pa.array([a.get(n, 0.0) for n in order], pa.float64()),
        "merged_into": pa.array([resolved.get(n) for n in order], pa.string()),
    })
    return WhatIf(dict(merges), before, after, changes)


# --------------------------------------------------------------------------- exports


def mapping_json(merges: Mapping[str, str], resolved: Mapping[str, str] | None = None) -> bytes:
    """``{"merges": {child: parent}, "resolved": {child: class it ends in}}`` as JSON."""
    return json_bytes({"merges": dict(merges), "resolved": dict(resolved or merges)})


def mapping_csv(merges: Mapping[str, str]) -> bytes:
    """``child,parent`` rows (readable by :func:`read_mapping`), spreadsheet-safe."""
    return csv_bytes(pa.table({"child": pa.array(list(merges), pa.string()),
                               "parent": pa.array(list(merges.values()), pa.string())}))


def merged_coco(dataset: Dataset, merges: Mapping[str, str]) -> bytes:
    """The export as COCO JSON with the merges applied.

    A dataset read from one COCO file is rewritten from that file, so everything in it
    (segmentations, extra fields, the records the reader reported) is kept and only categories
    change. Any other dataset is written from its tables: images (with ``split`` and conditions as
    fields), boxes, areas and ``iscrowd`` — masks of non-COCO formats are not carried over.
    """
    resolved = resolve_merges(dataset, merges)
    if dataset.format == "coco" and len(dataset.sources) == 1 and Path(dataset.sources[0]).is_file():
        return _rewrite_coco(dataset, merges, resolved)
    merged = apply_merges(dataset, merges)
    return json_bytes(_coco_from_tables(merged), indent=None)


def _rewrite_coco(dataset: Dataset, merges: Mapping[str, str], resolved: dict[str, str]) -> bytes:
    from .io._files import parse_json, read_bytes
    from .report import LoadReport

    path = dataset.sources[0]
    doc = parse_json(read_bytes(path), path, LoadReport())
    names = dataset.class_names
    source_of = dict(zip(names, dataset.categories.column("source_id").to_pylist()))
    categories = [c for c in doc.get("categories") or [] if isinstance(c, dict)]
    by_name = {str(c.get("name")): c for c in categories}
    ids = [c.get("id") for c in categories if isinstance(c.get("id"), (int, float))]
    next_id = int(max(ids, default=0)) + 1
    target_id: dict[str, Any] = {}
    for child, target in resolved.items():
        if target in target_id:
            continue
        if target not in by_name:  # a parent that is not a class yet
            by_name[target] = {"id": next_id, "name": target, "supercategory": merges.get(child, target)}
            categories.append(by_name[target])
            next_id += 1
        target_id[target] = by_name[target].get("id")
    old_ids = {}
    for child, target in resolved.items():
        for c in categories:
            if str(c.get("id")) == str(source_of[child]) and str(c.get("name")) == child:
                old_ids[c.get("id")] = target_id[target]
    doc["categories"] = [c for c in categories if str(c.get("name")) not in resolved]
    for ann in doc.get("annotations") or []:
        if isinstance(ann, dict) and ann.get("category_id") in old_ids:
            ann["category_id"] = old_ids[ann["category_id"]]
    return json_bytes(doc, indent=None)


def _coco_from_tables(dataset: Dataset) -> dict[str, Any]:
    images = dataset.images
    image_ids = list(range(1, images.num_rows + 1))
    cols = {name: images.column(name).to_pylist() for name in ("file_name", "width", "height")}
    split = images.column("split").combine_chunks().dictionary_decode().to_pylist()
    conditions = {c: images.column(c).combine_chunks().dictionary_decode().to_pylist() for c in dataset.conditions}
    image_records = []
    for i in range(images.num_rows):
        rec = {"id": image_ids[i], "file_name": cols["file_name"][i], "width": cols["width"][i],
               "height": cols["height"][i], "split": split[i]}
        rec.update({c: v[i] for c, v in conditions.items() if v[i] is not None})
        image_records.append(rec)
    anns = dataset.annotations
    a = {k: anns.column(k).to_pylist() for k in ("image_id", "category_id", "x", "y", "w", "h", "area", "iscrowd")}
    ann_records = []
    for i in range(anns.num_rows):
        rec = {"id": i + 1, "image_id": a["image_id"][i] + 1, "category_id": a["category_id"][i] + 1,
               "iscrowd": int(bool(a["iscrowd"][i]))}
        if a["x"][i] is not None:
            rec["bbox"] = [a["x"][i], a["y"][i], a["w"][i], a["h"][i]]
        if a["area"][i] is not None:
            rec["area"] = a["area"][i]
        ann_records.append(rec)
    cats = dataset.categories
    categories = [{"id": i + 1, "name": n, "supercategory": s}
                  for i, (n, s) in enumerate(zip(cats.column("name").to_pylist(), cats.column("supercategory").to_pylist()))]
    return {"images": image_records, "annotations": ann_records, "categories": categories}


def merged_yolo_zip(dataset: Dataset, merges: Mapping[str, str]) -> bytes:
    """A zip of a YOLO export with the merges applied: ``data.yaml`` (the remapped ``names``
    list and one folder per split) and ``labels/<split>/<image stem>.txt`` for every image
    (``class x_center y_center width height``, normalised). Boxes of images of unknown size are
    already normalised and written as they are. Classification data has no boxes: ``ValueError``."""
    import yaml

    if dataset.task == "classification":
        raise ValueError("A YOLO export needs boxes; this is a classification dataset (download the merged labels CSV).")
    merged = apply_merges(dataset, merges)
    images = merged.images
    split = images.column("split").combine_chunks().dictionary_decode().to_pylist()
    files = images.column("file_name").to_pylist()
    widths = images.column("width").to_pylist()
    heights = images.column("height").to_pylist()
    anns = merged.annotations
    a = {k: anns.column(k).to_pylist() for k in ("image_id", "category_id", "x", "y", "w", "h")}
    lines: dict[int, list[str]] = {i: [] for i in range(images.num_rows)}
    for i in range(anns.num_rows):
        if a["x"][i] is None:
            continue
        img = a["image_id"][i]
        w, h = widths[img], heights[img]
        sx, sy = (1.0 / w, 1.0 / h) if w and h else (1.0, 1.0)
        cx, cy = (a["x"][i] + a["w"][i] / 2) * sx, (a["y"][i] + a["h"][i] / 2) * sy
        lines[img].append(f"{a['category_id'][i]} {cx:.6f} {cy:.6f} {a['w'][i] * sx:.6f} {a['h'][i] * sy:.6f}")
    buffer = io.BytesIO()
    used: set[str] = set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for img in range(images.num_rows):
            stem = PurePosixPath(str(files[img] or img)).stem
            name = f"labels/{split[img]}/{stem}.txt"
            if name in used:
                name = f"labels/{split[img]}/{stem}_{img}.txt"
            used.add(name)
            zf.writestr(name, "\n".join(lines[img]) + ("\n" if lines[img] else ""))
        data = {"path": ".", "names": merged.class_names, "nc": len(merged.class_names)}
        data.update({s: f"images/{s}" for s in merged.splits})
        zf.writestr("data.yaml", yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return buffer.getvalue()


def merged_labels_csv(dataset: Dataset, merges: Mapping[str, str]) -> bytes:
    """For classification: ``image,label,split`` with the merges applied (spreadsheet-safe CSV)."""
    merged = apply_merges(dataset, merges)
    anns = merged.annotations
    image = anns.column("image_id")
    return csv_bytes(pa.table({
        "image": pc.take(merged.images.column("file_name"), image),
        "label": pc.take(merged.categories.column("name"), anns.column("category_id")),
        "split": pc.take(merged.images.column("split").combine_chunks().dictionary_decode(), image),
    }))
