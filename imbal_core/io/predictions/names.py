"""A predictions file whose ids are its own: its images matched to the dataset by file name, its classes by name.

A full COCO file of detections (``images``, ``annotations`` with a ``score``, ``categories``) numbers
its images and classes itself, and a results list may carry a ``file_name`` per record. The rule,
which never guesses:

- The file names no image (and declares no class name): match by id, as before.
- Every image id is one of the dataset's and no file name contradicts the dataset's name for that
  id, and no unknown id names a dataset file: match by id. (An unknown id naming no dataset file is
  an image the dataset does not have, reported as such.)
- Otherwise the ids are the file's own: every image is matched by its file name — the whole path
  first (``\\`` read as ``/``), then the base name when exactly one dataset image has it. An image
  without a file name, or whose name no dataset image (or several) has, is not matched. One report
  row (``matched_by_file_name``) says so, with the counts matched and not.

Classes follow the same rule with the file's declared category names (exact, then ignoring case
when that is unique); the report row is ``matched_by_class_name``.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Mapping

from ...dataset import Dataset
from ...report import LoadReport, excerpt


def _norm(name: str) -> str:
    text = name.replace("\\", "/").strip()
    while text.startswith("./"):
        text = text[2:]
    return text


def _base(name: str) -> str:
    return _norm(name).rsplit("/", 1)[-1]


def same_file(a: str, b: str) -> bool:
    """True when two file names can be the same file: equal, or one a trailing part of the other's
    path (``a.jpg`` and ``/data/val/a.jpg``; not ``train/a.jpg`` and ``val/a.jpg``)."""
    pa_, pb = _norm(a).split("/"), _norm(b).split("/")
    n = min(len(pa_), len(pb))
    return pa_[-n:] == pb[-n:]


@dataclass(frozen=True)
class _Found:
    index: int | None  # the dataset row, None when not found or ambiguous
    how: str  # "path", "base", "ambiguous" or "none"
    candidates: tuple[int, ...] = ()


class _NameIndex:
    """The dataset's images by whole path and by base name."""

    def __init__(self, dataset: Dataset):
        names = dataset.images.column("file_name").to_pylist()
        # a COCO image's source_id is its numeric id, not a name; other exports key images by path
        sources = dataset.images.column("source_id").to_pylist() if dataset.format != "coco" else [None] * len(names)
        self.names = names
        self.by_path: dict[str, set[int]] = defaultdict(set)
        self.by_base: dict[str, set[int]] = defaultdict(set)
        for i, (name, source) in enumerate(zip(names, sources)):
            for text in {name, source} - {None, ""}:
                self.by_path[_norm(text)].add(i)
                self.by_base[_base(text)].add(i)

    def find(self, name: str) -> _Found:
        path_hits = self.by_path.get(_norm(name))
        if path_hits:
            return _Found(next(iter(path_hits)), "path") if len(path_hits) == 1 else \
                _Found(None, "ambiguous", tuple(sorted(path_hits)))
        base_hits = self.by_base.get(_base(name))
        if base_hits:
            return _Found(next(iter(base_hits)), "base") if len(base_hits) == 1 else \
                _Found(None, "ambiguous", tuple(sorted(base_hits)))
        return _Found(None, "none")


def images_by_file_name(dataset: Dataset, keys: list[str], names: Mapping[str, str], report: LoadReport,
                        file: str) -> dict[str, int] | None:
    """The image keys' dataset rows matched by file name, or None when the ids are to be used.

    ``names``: the file name of each key the file names. Reports the decision (one row with the
    counts) and each ambiguous name.
    """
    named = {k: names[k] for k in keys if names.get(k)}
    if not named:
        return None
    src = dataset.images.column("source_id").to_pylist()
    by_id: dict[str, int] = {}
    for i, s in enumerate(src):
        by_id.setdefault(s, i)
    index = _NameIndex(dataset)
    found = {k: index.find(n) for k, n in named.items()}
    contradicted = [k for k, n in named.items()
                    if k in by_id and index.names[by_id[k]] and not same_file(n, index.names[by_id[k]])]
    unknown = [k for k in keys if k not in by_id]
    rescued = [k for k in unknown if k in found and found[k].index is not None]
    if not contradicted and not rescued:
        return None
    out = {k: f.index for k, f in found.items() if f.index is not None}
    by_path = sum(f.how == "path" for f in found.values())
    by_base = sum(f.how == "base" for f in found.values())
    ambiguous = [k for k, f in found.items() if f.how == "ambiguous"]
    for key in ambiguous:
        choices = ", ".join(repr(index.names[i] or src[i]) for i in found[key].candidates[:3])
        report.add(file, key, "ambiguous_image",
                   f"image {excerpt(key, 40)} ({excerpt(named[key], 60)}) could be any of "
                   f"{len(found[key].candidates)} images with that name ({choices}…)", "left out of the evaluation")
    why = []
    if unknown:
        why.append(f"{len(unknown):,} of {len(keys):,} are not ids of the dataset")
    if contradicted:
        first = contradicted[0]
        why.append(f"{len(contradicted):,} name another file than the dataset's image of that id (id {excerpt(first, 20)}: "
                   f"{excerpt(named[first], 60)} here, {excerpt(index.names[by_id[first]], 60)} in the dataset)")
    missing = len(keys) - len(out)
    parts = [f"{len(out):,} matched ({by_path:,} by path, {by_base:,} by base name)", f"{missing:,} not matched"]
    detail = []
    if len(keys) - len(named):
        detail.append(f"{len(keys) - len(named):,} without a file name")
    if ambiguous:
        detail.append(f"{len(ambiguous):,} ambiguous")
    no_image = missing - (len(keys) - len(named)) - len(ambiguous)
    if no_image:
        detail.append(f"{no_image:,} naming no image of the dataset")
    report.add(file, "image_id", "matched_by_file_name",
               f"the file's image ids are its own ({'; '.join(why)}): its {len(keys):,} images were matched by "
               f"file name — {', '.join(parts)}" + (f" ({', '.join(detail)})" if detail else ""),
               "ids ignored, matched by file name")
    return out


def classes_by_name(dataset: Dataset, labels: list[str], names: Mapping[str, str], report: LoadReport,
                    file: str) -> dict[str, int] | None:
    """The labels' dataset classes matched by the file's declared category names, or None when the
    ids are to be used (same rule as :func:`images_by_file_name`)."""
    declared = {k: names[k] for k in labels if names.get(k)}
    if not declared:
        return None
    src = dataset.categories.column("source_id").to_pylist()
    gt_names = dataset.categories.column("name").to_pylist()
    by_id = {s: i for i, s in enumerate(src)}
    exact = {n: i for i, n in enumerate(gt_names)}
    folded: dict[str, list[int]] = defaultdict(list)
    for i, n in enumerate(gt_names):
        folded[n.casefold()].append(i)

    def find(name: str) -> int | None:
        if name in exact:
            return exact[name]
        hits = folded.get(name.casefold(), [])
        return hits[0] if len(hits) == 1 else None

    found = {k: find(n) for k, n in declared.items()}
    contradicted = [k for k, n in declared.items() if k in by_id and n.casefold() != gt_names[by_id[k]].casefold()]
    unknown = [k for k in labels if k not in by_id]
    rescued = [k for k in unknown if found.get(k) is not None]
    if not contradicted and not rescued:
        return None
    out = {k: i for k, i in found.items() if i is not None}
    why = []
    if unknown:
        why.append(f"{len(unknown):,} of {len(labels):,} are not ids of the dataset")
    if contradicted:
        first = contradicted[0]
        why.append(f"{len(contradicted):,} name another class than the dataset's of that id (id {excerpt(first, 20)}: "
                   f"{excerpt(declared[first], 40)} here, {excerpt(gt_names[by_id[first]], 40)} in the dataset)")
    report.add(file, "category_id", "matched_by_class_name",
               f"the file's category ids are its own ({'; '.join(why)}): its {len(labels):,} predicted classes were "
               f"matched by name — {len(out):,} matched, {len(labels) - len(out):,} not matched",
               "ids ignored, matched by name")
    return out
