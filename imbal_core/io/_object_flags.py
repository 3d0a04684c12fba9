"""Per-object flags and attributes carried to the image level: the one rule of six readers.

Used by the CVAT, Labelme (through :mod:`._objects`), KITTI, MOT, Open Images and Scalabel
readers. Conditions are per image (the count cube groups images, so every count stays additive),
while flags such as ``occluded`` / ``truncated`` / ``visibility`` and attributes such as CVAT's
``<attribute>`` or a Labelme shape flag describe objects. Each one a reader keeps becomes an
image condition named after it, whose value for an image is:

- the value every object of the image that carries it shares (``yes`` / ``no``, or a level such
  as ``partly occluded``, or an attribute's value);
- :data:`MIXED` when the image's objects differ, so a user filtering ``occluded`` images meets
  every image the flag describes, none silently dropped;
- null when no object of the image carries it (no objects, or the flag unknown on all of them).

A flag unknown on every object (the export does not carry it) adds no condition and no row. The
per-object counts, which the condition cannot show, go in one report row per flag
(``object_flag``). Only annotations the dataset kept count (``build_dataset`` drops unusable
boxes). The image columns then pass the rule every condition passes
(:func:`._conditions.pick_conditions`: short values, not an identifier ...). The per-object value
itself stays in the annotations where the canonical schema has a column for it (``occluded``,
``truncated``, ``difficult``, ``iscrowd``); flags that say how to evaluate an object
(``iscrowd``, ``difficult``) are columns only, not conditions.
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
from ._conditions import pick_conditions

MIXED = "mixed"
YES, NO = "yes", "no"
#: Values named in an ``object_flag`` row; the rest are counted together.
SHOWN_VALUES = 6


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
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{k if len(k) <= 30 else k[:29] + '…'} {n:,}" for k, n in ranked[:SHOWN_VALUES])
    rest = ranked[SHOWN_VALUES:]
    return text + (f" and {len(rest):,} more values ({sum(n for _, n in rest):,} objects)" if rest else "")


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
        if values.null_count == len(values):  # the export does not carry the flag: nothing kept, nothing lost
            continue
        if not as_conditions:
            report.add(file, name, "object_flag", f"`{name}` is per object ({_counts(values)})",
                       "counted here only (flag_conditions=False)")
            continue
        column = per_image(image, values, dataset.num_images)
        picked = pick_conditions({name: pa.array(column, pa.string())}, dataset.num_images, report, file)
        if not picked:  # free text, an identifier ...: reported there
            continue
        (column_name, text), = picked.items()
        if column_name in images.schema.names:
            report.add(file, name, "condition_ignored",
                       f"per-object flag `{name}` has the name of an image column already there", "ignored")
            continue
        mixed = sum(1 for v in column if v == MIXED)
        with_value = sum(1 for v in column if v is not None)
        report.add(file, name, "object_flag",
                   f"`{name}` is per object ({_counts(values)}) and conditions per image: the objects of "
                   f"{mixed:,} of {with_value:,} images differ",
                   f"kept as an image condition: the value the image's objects share, else `{MIXED}`")
        images = images.append_column(pa.field(column_name, DICT_STRING), text.dictionary_encode().cast(DICT_STRING))
        conditions.append(column_name)
    validate(images, dataset.annotations, dataset.categories)
    return replace(dataset, images=images, conditions=tuple(conditions))
