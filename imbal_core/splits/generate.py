"""Stratified, group-aware split generation: :func:`make_splits`.

Every image goes to one of the new splits so that each split's class distribution (instances
*and* images holding each class: an image holds several classes, and its instance counts
matter) and the distribution of each chosen condition match the whole, while the split sizes
follow ``ratios``. Images of one group (sequence, video, site, patient) and images sharing a
file name (duplicates) are one *block* and always land in the same split, so nothing leaks.

The optimiser (:mod:`._search`) starts from iterative stratification (Sechidis et al., 2011)
over blocks and improves it by local search, minimising the per-class label-distribution
error (mean over splits and classes of ``|share in split - share in whole|``) of instances and
of images holding each class (weighted double, :data:`IMAGE_WEIGHT`), each chosen condition's
error likewise, a guard against a class missing from a split it could be in, and the size
deviation beyond ``tolerance``. It is deterministic for a seed:
all randomness comes from ``numpy.random.default_rng(seed)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ..columns import has_groups, resolve_column
from ..dataset import DICT_STRING, SPLITS, UNASSIGNED, Dataset
from ..strata import cell_counts
from ._search import Family, optimise
from .check import SplitHealth, _codes, check_group_by, check_splits, label_distribution_error

#: Default split names by number of ratios.
DEFAULT_NAMES = {2: ("train", "val"), 3: SPLITS}
DEFAULT_TOLERANCE = 0.005
#: Weight of the images-holding-each-class error against the instance error (1): images count double, so
#: image-level sampling is as well stratified as instance counts (see bench/splits.py).
IMAGE_WEIGHT = 2.0
UNKNOWN_VALUE = "(unknown)"


@dataclass(frozen=True, eq=False)
class GeneratedSplits:
    """New splits and how well they came out.

    ``dataset`` is the input with its ``split`` column replaced (the cache ``key`` cleared).
    ``sizes``: one row per split — ``split``, ``images``, ``share``, ``target``, ``instances``.
    ``classes``: per (class, split) — ``class``, ``split``, ``instances``, ``instance_share``, ``whole_instance_share``,
    ``images``, ``image_share``, ``whole_image_share``. ``conditions``: per (condition, value,
    split) — ``images``, ``share``, ``whole_share``. ``label_distribution_error``: by unit
    (``instances``, ``images``) for the new splits, and ``before`` for the old ones when the
    input had at least two assigned splits. ``blocks``: how many units were placed (groups and
    lone images).
    """

    names: tuple[str, ...]
    ratios: tuple[float, ...]
    seed: int
    stratify_by: tuple[str, ...]
    group_by: str | None
    dataset: Dataset
    sizes: pa.Table
    classes: pa.Table
    conditions: pa.Table
    label_distribution_error: dict[str, float]
    before: dict[str, float]
    blocks: int
    health: SplitHealth
    settings: dict[str, Any] = field(default_factory=dict)

    def assignment(self) -> pa.Table:
        """One row per image: ``image_id``, ``source_id``, ``file_name``, ``split``."""
        images = self.dataset.images
        return pa.table({
            "image_id": images.column("image_id"),
            "source_id": images.column("source_id"),
            "file_name": images.column("file_name"),
            "split": images.column("split").cast(pa.string()),
        })

    def drifting_conditions(self) -> tuple[str, ...]:
        """Conditions left out of ``stratify_by`` that drifted: in some new split their divergence
        from the whole exceeds the split check's ``js_warn``. Sorted by name; empty when none did."""
        limit = self.health.settings["js_warn"]
        drifted = {name for verdict in self.health.verdicts for name, divergence in verdict.condition_divergence.items()
                   if divergence > limit}  # NaN (no values in the split) never exceeds it
        return tuple(sorted(drifted - set(self.stratify_by)))

    def to_arrow(self) -> pa.Table:
        return self.assignment()

    def to_pandas(self) -> pd.DataFrame:
        return self.assignment().to_pandas()

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``imbal split --json`` (without the per-image assignment)."""
        return {
            "splits": list(self.names),
            "ratios": list(self.ratios),
            "seed": self.seed,
            "stratify_by": list(self.stratify_by),
            "group_by": self.group_by,
            "blocks": self.blocks,
            "sizes": self.sizes.to_pylist(),
            "label_distribution_error": dict(self.label_distribution_error),
            "before": dict(self.before),
            "classes": self.classes.to_pylist(),
            "conditions": self.conditions.to_pylist(),
            "health": self.health.to_dict(),
            "settings": dict(self.settings),
        }


def check_ratios(ratios: Sequence[float] | str, names: Sequence[str] | None = None
                 ) -> tuple[tuple[float, ...], tuple[str, ...]]:
    """``ratios`` (a list or ``"0.8,0.1,0.1"``) and their split names, validated."""
    if isinstance(ratios, str):
        try:
            ratios = [float(p) for p in ratios.split(",") if p.strip()]
        except ValueError:
            raise ValueError(f"`ratios` must be numbers separated by commas, e.g. 0.8,0.1,0.1. Got {ratios!r} instead.") from None
    values = list(ratios)
    if not 2 <= len(values) <= 10:
        raise ValueError(f"`ratios` must give between 2 and 10 splits. Got {len(values)} instead.")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v) or not 0 < v < 1:
            raise ValueError(f"`ratios` must each be a number between 0 and 1 (exclusive). Got {v!r} instead.")
    if abs(sum(values) - 1) > 1e-6:
        raise ValueError(f"`ratios` must add up to 1. Got {' + '.join(f'{v:g}' for v in values)} = {sum(values):g} instead.")
    if names is None:
        if len(values) not in DEFAULT_NAMES:
            raise ValueError(f"`names` must be given for {len(values)} splits (train / val / test name up to 3).")
        names = DEFAULT_NAMES[len(values)]
    names = tuple(str(n).strip() for n in names)
    if len(names) != len(values):
        raise ValueError(f"`names` must name one split per ratio ({len(values)}). Got {list(names)} instead.")
    if len(set(names)) != len(names) or any(not n or n == UNASSIGNED for n in names):
        raise ValueError(f"`names` must be distinct, non-empty and not {UNASSIGNED!r}. Got {list(names)} instead.")
    return tuple(float(v) for v in values), names


def check_stratify_by(dataset: Dataset, stratify_by: Sequence[str] | str, param: str = "stratify_by") -> tuple[str, ...]:
    """``stratify_by`` as a tuple of ``class`` and condition columns (``"class,time_of_day"`` is
    accepted; a condition may be named as the export spells it, e.g. ``Time of day``)."""
    if isinstance(stratify_by, str):
        stratify_by = [p.strip() for p in stratify_by.split(",") if p.strip()]
    out = []
    for name in stratify_by:
        column = resolve_column(dataset, name, param, group=False, also=("class",))
        if column not in out:
            out.append(column)
    return tuple(out)


def resolve_group_by(dataset: Dataset, group_by: str | None, param: str = "group_by") -> str | None:
    """``"auto"``: ``group`` when any image has one, else None; otherwise as :func:`check_group_by`
    (``group``, the export's own name for it such as ``sequence``, or a condition)."""
    if group_by == "auto":
        return "group" if has_groups(dataset) else None
    return check_group_by(dataset, group_by, param)


def _text_column(dataset: Dataset, name: str) -> np.ndarray:
    col = dataset.images.column(name).combine_chunks()
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    return np.array(col.to_pylist(), dtype=object)


def blocks_of(dataset: Dataset, group_by: str | None) -> np.ndarray:
    """Block index per image: images linked by the same ``group_by`` value or the same file name
    share a block (connected components), everything else is a block of its own."""
    n = dataset.num_images
    rows, cols, offset = [], [], n
    for name in ([group_by] if group_by is not None else []) + ["file_name"]:
        codes, values = _codes(dataset, name)
        present = codes >= 0
        if not present.any():
            continue
        rows.append(np.flatnonzero(present))
        cols.append(codes[present] + offset)
        offset += len(values)
    if not rows:
        return np.arange(n)
    r, c = np.concatenate(rows), np.concatenate(cols)
    graph = sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(offset, offset))
    _, labels = connected_components(graph, directed=False)
    _, block = np.unique(labels[:n], return_inverse=True)
    return block


def _families(dataset: Dataset, block: np.ndarray, n_blocks: int, stratify_by: tuple[str, ...]) -> list[Family]:
    n_images, n_classes = dataset.num_images, dataset.categories.num_rows
    ic = dataset.image_classes
    image = ic.column("image_id").to_numpy()
    category = ic.column("category_id").to_numpy().astype(np.int64)
    instances = ic.column("instances").to_numpy().astype(np.float64)
    families = []
    if "class" in stratify_by and len(image):
        b = block[image]
        families.append(Family("instances", sp.csr_matrix((instances, (b, category)), shape=(n_blocks, n_classes)),
                               1.0, guard_missing=True))
        families.append(Family("images", sp.csr_matrix((np.ones(len(b)), (b, category)), shape=(n_blocks, n_classes)),
                               IMAGE_WEIGHT))
    for name in stratify_by:
        if name == "class":
            continue
        values = _text_column(dataset, name)
        codes, _ = pd.factorize(pd.Series([UNKNOWN_VALUE if v is None else v for v in values], dtype=object))
        families.append(Family(name, sp.csr_matrix((np.ones(n_images), (block, codes)),
                                                   shape=(n_blocks, int(codes.max()) + 1 if len(codes) else 0)), 1.0))
    return families


def make_splits(
    dataset: Dataset,
    ratios: Sequence[float] | str = (0.8, 0.1, 0.1),
    stratify_by: Sequence[str] | str = ("class",),
    group_by: str | None = "auto",
    seed: int = 0,
    *,
    names: Sequence[str] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    rounds: int | None = None,
) -> GeneratedSplits:
    """New splits for every image of ``dataset`` (see the module docstring).

    ``ratios`` ((0.8, 0.1, 0.1)): the share of images per split, adding up to 1; ``names``
    (train / val / test for three, train / val for two). ``stratify_by`` (("class",)): "class"
    and any condition names. ``group_by`` ("auto": the ``group`` column when the export has
    one, also named as the export names it, e.g. ``sequence``; a condition name, e.g.
    ``camera``, treats its values as groups; None: images only — identical file names still
    stay together). Conditions may be named as the export spells them (``Time of day``). ``seed`` (0): the same seed gives the same
    splits. ``tolerance`` (0.005): how far a split's share of the images may stray from its
    ratio at no cost (beyond it, the size outweighs the distributions). ``rounds`` (None: by
    size) sets how many local searches are run.
    """
    ratio_values, split_names = check_ratios(ratios, names)
    stratify = check_stratify_by(dataset, stratify_by)
    group_col = resolve_group_by(dataset, group_by)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"`seed` must be a whole number of at least 0. Got {seed!r} instead.")
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or math.isnan(tolerance) or not 0 <= tolerance < 1:
        raise ValueError(f"`tolerance` must be a number from 0 up to 1. Got {tolerance!r} instead.")
    if rounds is not None and (isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1):
        raise ValueError(f"`rounds` must be a whole number of at least 1. Got {rounds!r} instead.")
    if dataset.num_images < len(ratio_values):
        raise ValueError(f"`ratios` asks for {len(ratio_values)} splits but the dataset has only "
                         f"{dataset.num_images} images.")
    block = blocks_of(dataset, group_col)
    n_blocks = int(block.max()) + 1 if len(block) else 0
    if n_blocks < len(ratio_values):
        raise ValueError(f"`ratios` asks for {len(ratio_values)} splits but the images form only {n_blocks} "
                         f"group(s) (`group_by` {group_col!r}): a group cannot be divided.")
    sizes = np.bincount(block, minlength=n_blocks).astype(np.float64)
    families = _families(dataset, block, n_blocks, stratify)
    assign, _ = optimise(families, sizes, np.asarray(ratio_values), float(tolerance), int(seed), rounds=rounds)
    per_image = np.asarray(split_names, dtype=object)[assign[block]]
    new = apply_splits(dataset, per_image)
    before = _errors(dataset) if len([s for s in dataset.splits if s != UNASSIGNED]) >= 2 else {}
    health = check_splits(new, "instances", group_by=group_col)
    sizes_table, classes, conditions = _report(new, split_names, ratio_values)
    settings = {"tolerance": tolerance, "rounds": rounds}
    return GeneratedSplits(split_names, ratio_values, int(seed), stratify, group_col, new, sizes_table, classes,
                           conditions, _errors(new), before, n_blocks, health, settings)


def apply_splits(dataset: Dataset, splits: Sequence[str] | np.ndarray | pa.Array) -> Dataset:
    """``dataset`` with its ``split`` column replaced by ``splits`` (one name per image, in row order)."""
    values = splits if isinstance(splits, pa.Array) else pa.array(list(splits), pa.string())
    if len(values) != dataset.num_images:
        raise ValueError(f"`splits` must give one split per image ({dataset.num_images}). Got {len(values)} instead.")
    if values.null_count:
        raise ValueError(f"`splits` must name a split for every image. Found {values.null_count} missing.")
    images = dataset.images
    index = images.schema.get_field_index("split")
    column = values.cast(pa.string()).dictionary_encode().cast(DICT_STRING)
    images = images.set_column(index, images.schema.field(index), column)
    return replace(dataset, images=images, key=None)


def _errors(dataset: Dataset) -> dict[str, float]:
    """Label-distribution error of the assigned splits, in instances and in images."""
    out = {}
    splits = [s for s in dataset.splits if s != UNASSIGNED]
    for unit in ("instances", "images"):
        cells = cell_counts(dataset, ("split",), unit).to_pandas()
        cells = cells[cells["split"].isin(splits)]
        matrix = cells.pivot_table(index="split", columns="class", values="count", aggfunc="sum").fillna(0.0)
        out[unit] = label_distribution_error(matrix.to_numpy()) if len(matrix) else float("nan")
    return out


def _report(dataset: Dataset, names: tuple[str, ...], ratios: tuple[float, ...]) -> tuple[pa.Table, pa.Table, pa.Table]:
    split_col = _text_column(dataset, "split")
    n = max(dataset.num_images, 1)
    inst = cell_counts(dataset, ("split",), "instances").to_pandas()
    imgs = cell_counts(dataset, ("split",), "images").to_pandas()
    per_split_instances = inst.groupby("split")["count"].sum()
    sizes = pa.table({
        "split": pa.array(list(names), pa.string()),
        "images": pa.array([int((split_col == s).sum()) for s in names], pa.int64()),
        "share": pa.array([float((split_col == s).sum() / n) for s in names], pa.float64()),
        "target": pa.array(list(ratios), pa.float64()),
        "instances": pa.array([int(per_split_instances.get(s, 0)) for s in names], pa.int64()),
    })
    rows: dict[str, list] = {k: [] for k in ("class", "split", "instances", "instance_share", "whole_instance_share",
                                             "images", "image_share", "whole_image_share")}
    inst_m = inst.pivot_table(index="split", columns="class", values="count", aggfunc="sum").reindex(
        index=list(names), columns=dataset.class_names).fillna(0.0)
    img_m = imgs.pivot_table(index="split", columns="class", values="count", aggfunc="sum").reindex(
        index=list(names), columns=dataset.class_names).fillna(0.0)
    for matrix, count_key, share_key, whole_key in ((inst_m, "instances", "instance_share", "whole_instance_share"),
                                                    (img_m, "images", "image_share", "whole_image_share")):
        whole = matrix.sum(axis=0)
        whole_share = whole / whole.sum() if whole.sum() > 0 else whole * 0
        for s in names:
            row = matrix.loc[s]
            total = row.sum()
            for c in dataset.class_names:
                if count_key == "instances":
                    rows["class"].append(c)
                    rows["split"].append(s)
                rows[count_key].append(int(row[c]))
                rows[share_key].append(float(row[c] / total) if total > 0 else float("nan"))
                rows[whole_key].append(float(whole_share[c]))
    classes = pa.table({k: pa.array(v, pa.string() if k in ("class", "split") else
                                     (pa.int64() if k in ("instances", "images") else pa.float64())) for k, v in rows.items()})
    cond_rows: dict[str, list] = {k: [] for k in ("condition", "value", "split", "images", "share", "whole_share")}
    for cond in dataset.conditions:
        values = _text_column(dataset, cond)
        frame = pd.DataFrame({"split": split_col, "value": [UNKNOWN_VALUE if v is None else v for v in values]})
        table = pd.crosstab(frame["value"], frame["split"]).reindex(columns=list(names), fill_value=0)
        whole = table.sum(axis=1)
        for value in table.index:
            for s in names:
                total = table[s].sum()
                cond_rows["condition"].append(cond)
                cond_rows["value"].append(str(value))
                cond_rows["split"].append(s)
                cond_rows["images"].append(int(table.loc[value, s]))
                cond_rows["share"].append(float(table.loc[value, s] / total) if total else float("nan"))
                cond_rows["whole_share"].append(float(whole[value] / whole.sum()))
    types = {"condition": pa.string(), "value": pa.string(), "split": pa.string(), "images": pa.int64()}
    conditions = pa.table({k: pa.array(v, types.get(k, pa.float64())) for k, v in cond_rows.items()})
    return sizes, classes, conditions
