"""Helpers shared by the classification readers (tables, lists, folders).

- :func:`class_sort_key`: classes are ordered by name, numbers by value (``2`` before ``10``),
  then other names case-insensitively, so the order does not depend on which row came first.
- :func:`first_rows`: images as the distinct (name, split) pairs of the rows, in order of first
  appearance. The same file in two splits is two images (it is counted in both) and a leakage
  signal, reported by :func:`report_split_overlaps`.
"""
from __future__ import annotations

import re
from collections import defaultdict
from typing import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..dataset import normalize_split, split_sort_key
from ..report import LoadReport

_INTEGER = re.compile(r"-?\d+")


def class_sort_key(name: str) -> tuple:
    """Whole numbers first, by value; then names, case-insensitively."""
    if _INTEGER.fullmatch(name):
        return (0, int(name), "")
    return (1, 0, name.casefold(), name)


def codes(values: pa.Array) -> tuple[np.ndarray, list]:
    """Dictionary codes (nulls -> -1) and the distinct values."""
    enc = pc.dictionary_encode(values)
    indices = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return indices, enc.dictionary.to_pylist()


def normalized_splits(split: pa.Array) -> pa.Array:
    """train / val / test spellings unified (:func:`normalize_split`); null -> ``unassigned``."""
    idx, names = codes(split)
    mapped = np.array([normalize_split(n) for n in names] + [normalize_split(None)], dtype=object)
    return pa.array(mapped[idx], pa.string())


def first_rows(names: pa.Array, splits: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Images as distinct (name, split) pairs, by first appearance.

    Returns ``image_of_row`` (the image row of every input row) and ``first`` (the first input
    row of every image).
    """
    n = len(names)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    name_idx, _ = codes(names)
    split_idx, split_names = codes(splits)
    key = name_idx * (len(split_names) + 1) + split_idx
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[inverse.ravel()], first[order]


def report_split_overlaps(
    names: pa.Array, splits: Sequence[str], record_of: Callable[[int], str], file_of: Callable[[int], str],
    report: LoadReport,
) -> int:
    """One ``image_in_two_splits`` row per file listed in more than one split; returns how many.

    ``names`` and ``splits`` have one value per image; ``record_of(i)`` / ``file_of(i)`` name
    where image ``i`` was first read.
    """
    if len(names) == 0:
        return 0
    idx, distinct = codes(names)
    repeated = np.flatnonzero(np.bincount(idx + 1)[idx + 1] > 1)
    by_name: dict[int, list[int]] = defaultdict(list)
    for i in repeated.tolist():
        by_name[int(idx[i])].append(i)
    for code, rows in by_name.items():
        rows = sorted(rows, key=lambda i: split_sort_key(str(splits[i])))
        where = ", ".join(f"{splits[i]} ({record_of(i)})" for i in rows)
        report.add(file_of(rows[0]), distinct[code], "image_in_two_splits",
                   f"the same file is listed in several splits: {where}", "kept once per split (a leak between splits)")
    return len(by_name)
