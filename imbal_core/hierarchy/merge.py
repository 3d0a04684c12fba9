"""Applying merges: where a merged class ends up, the relabelled dataset, and the what-if before / after.

**Merging** a class into its parent relabels its annotations. The parent receives them: when a
class has the parent's name (ignoring case, as COCO's ``person`` / ``person``), that class;
otherwise a new class named after the parent (so merging Motorcycle and Bus into ``vehicle``
makes a class ``vehicle`` holding both, while Car stays Car). A merge can also name any other
class as its target (``Stroller -> Person``). Chains resolve (A -> B, B -> C puts A in C);
cycles are refused.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

import numpy as np
import pyarrow as pa

from ..cube import is_count_source
from ..dataset import Dataset, validate
from ..longtail import DEFAULT_HEAD_SHARE, LongTail, Unit, long_tail


def _target_of(parent: str, names: Sequence[str]) -> str:
    """The class a parent stands for: a class of the same name (ignoring case), or the parent."""
    if parent in names:
        return parent
    folded = {n.casefold(): n for n in names}
    return folded.get(parent.casefold(), parent)


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
    the parent's name, ``critical`` when a merged class was). Images are unchanged. A lake
    gives a relabelled view of its image x class incidence (read into memory when it fits).
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
    if is_count_source(dataset):
        return dataset.relabelled(remap, categories)
    anns = _relabel(dataset.annotations, remap)
    # The boxes counting leaves out (read back for evaluation) are relabelled the same way.
    uncounted = None if dataset.uncounted is None else _relabel(dataset.uncounted, remap)
    validate(dataset.images, anns, categories)
    return replace(dataset, categories=categories, annotations=anns, uncounted=uncounted, key=None)


def _relabel(table: pa.Table, remap: np.ndarray) -> pa.Table:
    old = table.column("category_id").to_numpy()
    idx = table.schema.get_field_index("category_id")
    return table.set_column(idx, table.schema.field(idx), pa.array(remap[old] if len(old) else old.astype(np.int32)))


@dataclass(frozen=True)
class WhatIf:
    """Counts and long-tail metrics before and after a set of merges.

    ``changes``: one row per class of either side: ``class``, ``before``, ``after`` (0 when the
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
    b = dict(zip(before.classes.column("class").to_pylist(), before.classes.column("count").to_pylist()))
    a = dict(zip(after.classes.column("class").to_pylist(), after.classes.column("count").to_pylist()))
    order = list(dict.fromkeys([*after.classes.column("class").to_pylist(), *b]))
    changes = pa.table({
        "class": pa.array(order, pa.string()),
        "before": pa.array([b.get(n, 0.0) for n in order], pa.float64()),
        "after": pa.array([a.get(n, 0.0) for n in order], pa.float64()),
        "merged_into": pa.array([resolved.get(n) for n in order], pa.string()),
    })
    return WhatIf(dict(merges), before, after, changes)
