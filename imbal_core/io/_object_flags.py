"""Per-object flags (occluded, truncated, visibility ...) carried to the image level.

Shared by the KITTI, MOT, Open Images and Scalabel readers. The canonical annotations table has
three per-object flags (``iscrowd``, ``difficult``, ``truncated``) and no column for any other,
and conditions are per image (the count cube groups images, so every count stays additive). So
each other flag a reader keeps becomes an image condition named after it:

- the flag's value when every object of the image that carries it agrees (``yes`` / ``no``, or a
  level such as ``partly occluded``);
- :data:`MIXED` when the image's objects differ;
- null when no object of the image carries it (no objects, or the flag unknown on all of them).

A flag unknown on every object (the export does not carry it) adds no condition and no row.
The per-object counts, which the condition cannot show, go in one report row per flag
(``object_flag``). Only annotations the dataset kept count (``build_dataset`` drops unusable boxes).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..dataset import DICT_STRING, Dataset, validate
from ..report import LoadReport

MIXED = "mixed"
YES, NO = "yes", "no"


def yes_no(value: bool | None) -> str | None:
    return None if value is None else (YES if value else NO)


def kept_positions(dataset: Dataset, source_ids: Sequence[str] | pa.Array) -> np.ndarray:
    """Positions, in the order a reader gave its annotations to ``build_dataset``, of the ones kept.

    ``build_dataset`` only drops rows (keeping order and ``source_id``), so the kept rows are a
    subsequence of the given ones.
    """
    kept = dataset.annotations.column("source_id").combine_chunks()
    if len(kept) == len(source_ids):
        return np.arange(len(source_ids), dtype=np.int64)
    given = _text_array(source_ids)
    if pc.count_distinct(given).as_py() == len(given):
        return pc.index_in(kept, value_set=given).to_numpy(zero_copy_only=False).astype(np.int64)
    out, j = np.empty(len(kept), np.int64), 0
    given_list = given.to_pylist()
    for i, sid in enumerate(kept.to_pylist()):  # repeated ids: match in order
        while given_list[j] != sid:
            j += 1
        out[i], j = j, j + 1
    return out


def _text_array(values: Sequence[str | None] | pa.Array) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values if isinstance(values, pa.Array) else pa.array(list(values), pa.string())


def per_image(image: np.ndarray, values: Sequence[str | None] | pa.Array, n_images: int) -> list[str | None]:
    """Each image's value: the one its objects share, :data:`MIXED`, or None (see the module doc)."""
    encoded = _text_array(values).dictionary_encode()
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    names = encoded.dictionary.to_pylist()
    known = codes >= 0
    low = np.full(n_images, np.iinfo(np.int64).max)
    high = np.full(n_images, -1, np.int64)
    np.minimum.at(low, image[known], codes[known])
    np.maximum.at(high, image[known], codes[known])
    return [None if h < 0 else (names[h] if lo == h else MIXED) for lo, h in zip(low.tolist(), high.tolist())]


def _counts(values: pa.Array) -> str:
    counts = Counter({("unknown" if v is None else v): n for v, n in
                      ((c["values"], c["counts"]) for c in pc.value_counts(values).to_pylist())})
    return ", ".join(f"{k} {n:,}" for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def add_flag_conditions(
    dataset: Dataset,
    flags: Mapping[str, Sequence[str | None] | pa.Array],
    source_ids: Sequence[str] | pa.Array,
    report: LoadReport,
    file: str,
    as_conditions: bool = True,
) -> Dataset:
    """``dataset`` with one image condition per flag (see the module doc) and one report row each.

    ``flags`` maps a flag name to one value per annotation (a list or an Arrow array; None is
    unknown), in the order the annotations were given to ``build_dataset``, as ``source_ids``.
    ``as_conditions`` False only reports the counts. No annotations: nothing to say, no change.
    """
    if not flags or not dataset.num_annotations:
        return dataset
    positions = kept_positions(dataset, source_ids)
    image = dataset.annotations.column("image_id").to_numpy()
    images, conditions = dataset.images, list(dataset.conditions)
    for name, all_values in flags.items():
        values = _text_array(all_values).take(pa.array(positions))
        if not as_conditions:
            report.add(file, name, "object_flag", f"`{name}` is per object ({_counts(values)})",
                       "counted here only (flag_conditions=False)")
            continue
        if name in images.schema.names:
            report.add(file, name, "condition_ignored",
                       f"per-object flag `{name}` has the name of an image column already there", "ignored")
            continue
        column = per_image(image, values, dataset.num_images)
        if all(v is None for v in column):  # the export does not carry the flag: nothing kept, nothing lost
            continue
        mixed = sum(1 for v in column if v == MIXED)
        with_value = sum(1 for v in column if v is not None)
        report.add(file, name, "object_flag",
                   f"`{name}` is per object ({_counts(values)}) and conditions per image: the objects of "
                   f"{mixed:,} of {with_value:,} images differ",
                   f"kept as an image condition: the value the image's objects share, else `{MIXED}`")
        images = images.append_column(pa.field(name, DICT_STRING),
                                      pa.array(column, pa.string()).dictionary_encode().cast(DICT_STRING))
        conditions.append(name)
    validate(images, dataset.annotations, dataset.categories)
    return replace(dataset, images=images, conditions=tuple(conditions))
