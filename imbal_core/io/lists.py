"""Classification lists ("path label" text files, one per split; Places-LT style) -> canonical dataset.

- A line is ``path label``: the label is the last whitespace-separated word, so paths may hold
  spaces. Labels are whole-number class indices. Blank lines are ignored; any other line that
  is not ``path index`` is skipped and reported (``bad_line``, with ``file:line``).
- The split comes from each list's file name (``Places_LT_val.txt`` -> val); a list whose name
  holds no split word is ``unassigned`` (reported once, ``missing_split``).
- Class names: from ``names_file`` when given (one name per line, line n naming index n; or
  ``index name`` lines; or ``name index`` lines as in Places365's ``categories_places365.txt``);
  its classes are all declared, used or not, and an index it does not name is reported
  (``unknown_class``) and named by its number. Without ``names_file``, names are the images'
  parent folders when that mapping is one-to-one (Places-LT: 0 -> airfield); when it is not
  (an index under several folders, a folder under several indices), every class is named by its
  index and one ``class_names_from_index`` row says why. Classes are ordered by index.
- An image is one (path, split) pair. The same path in two lists (a leak between splits) stays
  one image per split, reported once (``image_in_two_splits``). The same path twice in one list:
  the same label again is kept once (``duplicate_label``); another label adds a second label
  (``several_labels``, kept: the list is then multi-label).
"""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..dataset import UNASSIGNED, Dataset, build_dataset
from ..report import LoadError, LoadReport, excerpt
from .files import read_bytes, decode_text, read_text, split_from_name
from ._labels import first_rows, report_split_overlaps

_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)
#: The label is the last word of a line: at most 18 digits, so it fits an int64.
_LABEL = r"^-?[0-9]{1,18}$"


def read_lists(
    paths: Sequence[str | Path], report: LoadReport | None = None, names_file: str | Path | None = None,
    **options: Any,
) -> Dataset:
    """Read one "path label" list per split into one dataset.

    ``names_file`` (None): class names by index; when absent, names come from parent folders.
    """
    if options:
        raise TypeError(f"read_lists() got unknown options {sorted(options)}.")
    report = report if report is not None else LoadReport()
    rows: dict[str, list] = {"path": [], "label": [], "split": [], "file": [], "record": []}
    empty = []
    for path in paths:
        if not _read_list(Path(path), rows, report):
            empty.append(str(path))
    if empty and len(empty) == len(paths):
        raise LoadError(f"{', '.join(empty)}: the file is empty." if len(empty) == 1
                        else f"{', '.join(empty)}: every list is empty.", report, empty[0])
    names = _read_names(Path(names_file), report) if names_file is not None else None
    return _assemble(rows, names, [str(p) for p in paths], report)


def _read_list(path: Path, rows: dict[str, list], report: LoadReport) -> bool:
    """Append the list's lines to ``rows`` (one Arrow array per column); False when the file is empty."""
    text = decode_text(read_bytes(path), path, report)
    if not text.strip():
        report.add(path, "", "empty_file", "the file is empty", "skipped")
        return False
    split = split_from_name(path)
    if split is None:
        report.add(path, "", "missing_split", f"no train / val / test word in the file name {path.name!r}",
                   f"images kept as {UNASSIGNED!r}")
        split = UNASSIGNED
    file = str(path)
    lines = pa.array(text.split("\n"), pa.string())  # not splitlines(): \x0c, \u2028 ... do not end a line here
    trimmed = pc.utf8_trim_whitespace(lines)
    blank = pc.equal(trimmed, "").to_numpy(zero_copy_only=False)
    words = pc.utf8_split_whitespace(trimmed, max_splits=1, reverse=True)
    count = pc.list_value_length(words).to_numpy(zero_copy_only=False)
    good = np.zeros(len(lines), bool)
    two = np.flatnonzero(count == 2)
    label_text = pc.list_element(words.take(pa.array(two)), 1)
    good[two] = pc.match_substring_regex(label_text, _LABEL).to_numpy(zero_copy_only=False)
    for number in np.flatnonzero(~good & ~blank) + 1:
        parts = lines[int(number) - 1].as_py().rsplit(None, 1)
        if not parts:  # only characters Python and Arrow disagree about as whitespace
            problem = "the line holds no path and no label"
        elif len(parts) == 1:
            problem = f"no label after the path {parts[0]!r}"
        elif _INTEGER.fullmatch(parts[1]):
            problem = f"label {parts[1]} is too large to be a class index"
        else:
            problem = f"label {parts[1]!r} is not a whole number"
        report.add(file, f"{file}:{number}", "bad_line", problem, "skipped")
    kept = words.filter(pa.array(good))
    parts = pa.StructArray.from_arrays([pc.list_element(kept, 0), pc.list_element(kept, 1)], ["path", "label"]) \
        if len(kept) else pa.StructArray.from_arrays([pa.array([], pa.string())] * 2, ["path", "label"])
    rows["path"].append(parts.field("path"))
    rows["label"].append(pc.cast(parts.field("label"), pa.int64()).to_numpy(zero_copy_only=False))
    rows["record"].append(pc.binary_join_element_wise(
        file, pc.cast(pa.array(np.flatnonzero(good) + 1), pa.string()), ":"))
    rows["split"].append(np.full(len(parts), split, dtype=object))
    rows["file"].append(np.full(len(parts), file, dtype=object))
    return True


def _read_names(path: Path, report: LoadReport) -> dict[int, str]:
    """Index -> name from a names file (``name`` lines, ``index name`` lines or ``name index`` lines)."""
    lines = [(n, ln.strip()) for n, ln in enumerate(read_text(path, report).splitlines(), 1) if ln.strip()]
    if not lines:
        raise LoadError(f"{path}: the names file is empty.", report, str(path))
    split = [ln.split(None, 1) for _, ln in lines]
    tail = [ln.rsplit(None, 1) for _, ln in lines]
    if all(len(p) == 2 and _INTEGER.fullmatch(p[0]) for p in split):
        pairs = [(p[0], p[1].strip()) for p in split]
    elif all(len(p) == 2 and _INTEGER.fullmatch(p[1]) for p in tail):
        pairs = [(p[1], p[0].strip()) for p in tail]
    else:
        pairs = [(i, ln) for i, (_, ln) in enumerate(lines)]
    names: dict[int, str] = {}
    taken: set[str] = set()
    for (number, _), (index, name) in zip(lines, pairs):
        if isinstance(index, str):  # digits: an index no label can hold (more than 18 digits) is never used
            if not re.fullmatch(_LABEL, index):
                report.add(path, f"{path}:{number}", "bad_line", f"index {excerpt(index)} is beyond what a label can be "
                           "(at most 18 digits)", "skipped")
                continue
            index = int(index)
        if index in names:
            report.add(path, f"{path}:{number}", "duplicate_id", f"index {index} is named again ({name!r})",
                       f"kept {names[index]!r}")
            continue
        if name in taken:
            new = f"{name} ({index})"
            report.add(path, f"{path}:{number}", "duplicate_name", f"name {name!r} is given to several indices",
                       f"index {index} named {new!r}")
            name = new
        names[index] = name
        taken.add(name)
    return names


def _assemble(rows: dict[str, list], declared: dict[int, str] | None, sources: list[str],
              report: LoadReport) -> Dataset:
    path_arr = pa.concat_arrays(rows["path"]) if rows["path"] else pa.array([], pa.string())
    labels = np.concatenate(rows["label"]) if rows["label"] else np.zeros(0, np.int64)
    split = np.concatenate(rows["split"]) if rows["split"] else np.zeros(0, object)
    files = np.concatenate(rows["file"]) if rows["file"] else np.zeros(0, object)
    records = pa.concat_arrays(rows["record"]) if rows["record"] else pa.array([], pa.string())
    image_of_row, first = first_rows(path_arr, pa.array(split, pa.string()))
    image_names = path_arr.take(pa.array(first))
    image_splits = split[first]
    report_split_overlaps(image_names, image_splits, lambda i: records[int(first[i])].as_py(),
                          lambda i: files[first[i]], report)

    keep = _distinct_labels(image_of_row, labels, image_names, records, files, report)
    index_names = _class_names(path_arr, labels, declared, files, report)
    indices = sorted(index_names)
    lookup = np.searchsorted(np.asarray(indices, dtype=np.int64), labels[keep])
    return build_dataset(
        images={"source_id": image_names, "file_name": image_names, "split": pa.array(image_splits, pa.string())},
        annotations={"image": image_of_row[keep], "category": lookup,
                     "source_id": records.take(pa.array(keep))},
        categories={"name": [index_names[i] for i in indices], "source_id": [str(i) for i in indices]},
        task="classification", format="list", sources=sources, report=report, check_boxes=False,
    )


def _distinct_labels(image_of_row: np.ndarray, labels: np.ndarray, names: pa.Array, records: pa.Array,
                     files: np.ndarray, report: LoadReport) -> np.ndarray:
    """Rows to keep: the first of each (image, label); repeats and second labels reported."""
    if not len(labels):
        return np.zeros(0, np.int64)
    distinct, dense = np.unique(labels, return_inverse=True)  # dense codes: the key cannot overflow
    key = image_of_row * len(distinct) + dense.ravel()
    _, keep = np.unique(key, return_index=True)
    keep.sort()
    repeated = np.ones(len(key), bool)
    repeated[keep] = False
    for i in np.flatnonzero(repeated).tolist():
        report.add(files[i], records[i].as_py(), "duplicate_label",
                   f"{names[int(image_of_row[i])].as_py()!r} is listed again with label {labels[i]}", "kept once")
    _, first_of_image = np.unique(image_of_row, return_index=True)
    first_row = first_of_image[image_of_row[keep]]
    for i, j in zip(keep[first_row != keep].tolist(), first_row[first_row != keep].tolist()):
        report.add(files[i], records[i].as_py(), "several_labels",
                   f"{names[int(image_of_row[i])].as_py()!r} has label {labels[j]} ({records[j].as_py()}) and {labels[i]}",
                   "kept both labels")
    return keep


def _class_names(paths: pa.Array, labels: np.ndarray, declared: dict[int, str] | None, files: np.ndarray,
                 report: LoadReport) -> dict[int, str]:
    used = np.unique(labels).tolist()
    first_file = str(files[0]) if len(files) else ""
    if declared is not None:
        names = dict(declared)
        taken = set(names.values())
        for index in used:
            if index not in names:
                name = str(index) if str(index) not in taken else f"#{index}"
                report.add(first_file, index, "unknown_class", f"class index {index} is not in the names file",
                           f"named {name!r}")
                names[index] = name
        return names
    parent = _parents(paths)
    pairs = pa.table({"index": labels, "folder": parent}).group_by(["index", "folder"]).aggregate([])
    folders: dict[int, set] = defaultdict(set)
    for index, folder in zip(pairs.column("index").to_pylist(), pairs.column("folder").to_pylist()):
        folders[index].add(folder or None)
    by_index = {index: next(iter(f)) for index, f in folders.items() if len(f) == 1}
    names_used = [n for n in by_index.values() if n is not None]
    if len(names_used) == len(folders) and len(set(names_used)) == len(names_used):
        return by_index
    if any(n is not None for f in folders.values() for n in f):
        report.add(first_file, "", "class_names_from_index", _why_ambiguous(folders), "named every class by its index")
    return {index: str(index) for index in used}


def _parents(paths: pa.Array) -> pa.Array:
    """The folder each path lies in (its second-to-last part); null for a bare file name."""
    parts = pc.split_pattern(pc.replace_substring(paths, "\\", "/"), "/", max_splits=2, reverse=True)
    flat = pc.list_flatten(parts)
    ends = parts.offsets.to_numpy()[1:]
    has_folder = pc.list_value_length(parts).to_numpy(zero_copy_only=False) >= 2
    index = np.where(has_folder, ends - 2, 0)
    return flat.take(pa.array(index, mask=~has_folder))


def _why_ambiguous(folders: dict[int, set]) -> str:
    for index, found in sorted(folders.items()):
        if None in found:
            return f"class index {index} has files outside any folder; folder names cannot name the classes"
        if len(found) > 1:
            return f"class index {index} has files in several folders ({', '.join(sorted(found)[:5])})"
    holders: dict[str, list[int]] = defaultdict(list)
    for index, found in sorted(folders.items()):
        holders[next(iter(found))].append(index)
    folder, indices = next((f, i) for f, i in holders.items() if len(i) > 1)
    return f"folder {folder!r} holds several class indices ({', '.join(map(str, indices[:5]))})"
