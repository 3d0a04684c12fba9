"""The long tail: per-class counts by unit and split, long-tail metrics and frequency groups.

Everything here is computed from the count cube (:func:`imbal_core.cube.cube`), so it is cheap
to recompute when a unit, a split or a subset changes.

Units (:data:`Unit`)
    ``images`` — distinct images holding the class; ``instances`` — annotations of the class;
    ``pixels`` — mask pixels of the class. For box-only detection data there are no masks, and
    ``pixels`` is the **box area** (w x h in pixels, summed): an approximation that overcounts
    the object (a box also covers background), clearly labelled by :func:`unit_label`. Boxes of
    images of unknown size (normalised YOLO labels) have no pixel area and are left out.
    Classification labels have no extent: ``pixels`` is not available (:func:`available_units`).

Metrics (:class:`TailMetrics`), over the classes with a non-zero count (classes with no data
are listed as ``absent`` and kept out of the metrics, so declared-but-unused categories do not
distort them):

- imbalance ratio: largest / smallest non-zero class count (1 = balanced).
- Gini coefficient: ``sum_i sum_j |x_i - x_j| / (2 n^2 mean)``; 0 = all classes equal, towards
  1 = one class holds everything; 1 - 2 x the area under the Lorenz curve.
- evenness (normalised entropy): ``H / ln(n)`` with ``H = -sum p_i ln p_i``; 1 = balanced,
  towards 0 = one class dominates; undefined (NaN) for fewer than two classes.
- effective number of classes: ``exp(H)``, the number of equally frequent classes with the same
  entropy (n for n equal classes).
- head / tail: the head is the fewest classes, largest first, whose counts cover ``head_share``
  (0.8) of the total; every other class with data is in the tail.
- frequency groups (LVIS): by **training-image** count — images of the ``train`` split holding
  the class: rare 1-10, common 11-100, frequent > 100 (:class:`FrequencyThresholds`); ``unseen``
  when no training image holds it. Without a ``train`` split every image counts, and
  ``group_basis`` says so.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .cube import cube
from .dataset import Dataset

Unit = Literal["images", "instances", "pixels"]
UNITS: tuple[Unit, ...] = ("images", "instances", "pixels")
#: What the ``pixels`` unit counts: mask pixels, box areas (approximation), or nothing.
PixelSource = Literal["masks", "boxes", "none"]
Group = Literal["rare", "common", "frequent", "unseen"]
GROUPS: tuple[Group, ...] = ("rare", "common", "frequent", "unseen")
DEFAULT_HEAD_SHARE = 0.8


@dataclass(frozen=True)
class FrequencyThresholds:
    """LVIS frequency groups by training-image count.

    ``rare_max`` (10): at most this many training images is *rare* (and at least one);
    ``common_max`` (100): up to this many is *common*; more is *frequent*; none is *unseen*.
    """

    rare_max: int = 10
    common_max: int = 100

    def __post_init__(self) -> None:
        for name in ("rare_max", "common_max"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"`{name}` must be a whole number of at least 1. Got {value!r} instead.")
        if self.common_max <= self.rare_max:
            raise ValueError(
                f"`common_max` must be larger than `rare_max` ({self.rare_max}). Got {self.common_max} instead."
            )

    def group(self, training_images: int) -> Group:
        if training_images <= 0:
            return "unseen"
        if training_images <= self.rare_max:
            return "rare"
        if training_images <= self.common_max:
            return "common"
        return "frequent"

    def describe(self) -> str:
        return f"rare 1–{self.rare_max}, common {self.rare_max + 1}–{self.common_max}, frequent > {self.common_max} training images"


LVIS = FrequencyThresholds()


# --------------------------------------------------------------------------- metrics on a vector


def _present(values: Sequence[float] | np.ndarray) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    return arr[arr > 0]


def imbalance_ratio(values: Sequence[float] | np.ndarray) -> float:
    """Largest / smallest non-zero count; NaN when no count is positive."""
    x = _present(values)
    return float(x.max() / x.min()) if len(x) else math.nan


def gini(values: Sequence[float] | np.ndarray) -> float:
    """Gini coefficient of the non-zero counts (0 = equal, towards 1 = concentrated); NaN when none."""
    x = np.sort(_present(values))
    n = len(x)
    if n == 0:
        return math.nan
    ranks = np.arange(1, n + 1)
    return float(2.0 * np.sum(ranks * x) / (n * x.sum()) - (n + 1) / n)


def entropy(values: Sequence[float] | np.ndarray) -> float:
    """Shannon entropy (natural log) of the shares of the non-zero counts; NaN when none."""
    x = _present(values)
    if len(x) == 0:
        return math.nan
    p = x / x.sum()
    return float(-np.sum(p * np.log(p)))


def evenness(values: Sequence[float] | np.ndarray) -> float:
    """Normalised entropy ``H / ln(n)`` over the n non-zero classes: 1 = balanced; NaN for n < 2."""
    x = _present(values)
    if len(x) < 2:
        return math.nan
    return entropy(x) / math.log(len(x))


def effective_classes(values: Sequence[float] | np.ndarray) -> float:
    """``exp(entropy)``: how many equally frequent classes carry the same entropy; NaN when none."""
    h = entropy(values)
    return math.exp(h) if not math.isnan(h) else math.nan


def head_tail(names: Sequence[str], values: Sequence[float] | np.ndarray, head_share: float = DEFAULT_HEAD_SHARE
              ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(head, tail): the fewest classes, largest first, covering ``head_share`` of the total; the
    rest of the classes with data, largest first. Ties keep the given order."""
    _check_share(head_share)
    arr = np.asarray(values, dtype=np.float64)
    keep = np.isfinite(arr) & (arr > 0)
    idx = np.flatnonzero(keep)
    if len(idx) == 0:
        return (), ()
    order = idx[np.argsort(-arr[idx], kind="stable")]
    cumulative = np.cumsum(arr[order]) / arr[order].sum()
    # a tiny tolerance so that 0.8 of the total is reached by classes summing to exactly 80%
    cut = int(np.searchsorted(cumulative, head_share - 1e-12)) + 1
    cut = min(cut, len(order))
    return tuple(names[i] for i in order[:cut]), tuple(names[i] for i in order[cut:])


def lorenz_curve(values: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points of the Lorenz curve of the non-zero counts: cumulative share of classes (smallest
    first) against cumulative share of the total, both from 0 to 1. Empty arrays when none."""
    x = np.sort(_present(values))
    if len(x) == 0:
        return np.zeros(0), np.zeros(0)
    classes = np.arange(len(x) + 1) / len(x)
    share = np.concatenate([[0.0], np.cumsum(x) / x.sum()])
    return classes, share


def _check_share(head_share: float) -> None:
    if not isinstance(head_share, (int, float)) or not 0 < head_share <= 1:
        raise ValueError(f"`head_share` must be in (0, 1]. Got {head_share!r} instead.")


# --------------------------------------------------------------------------- units and counts


def pixel_source(dataset: Dataset) -> PixelSource:
    """``masks`` when annotations carry pixel counts, ``boxes`` when they carry boxes of images of
    known size (box area stands in), else ``none`` (classification, or only normalised boxes)."""
    anns = dataset.annotations
    if dataset.task == "classification":
        return "none"
    if anns.num_rows == 0:
        return "masks" if dataset.task == "segmentation" else "boxes"
    if anns.column("pixels").null_count < anns.num_rows:
        return "masks"
    areas = _box_areas(dataset)
    return "boxes" if np.isfinite(areas).any() else "none"


def available_units(dataset: Dataset) -> tuple[Unit, ...]:
    """The units this dataset can be counted in (``pixels`` needs masks or sized boxes)."""
    return UNITS if pixel_source(dataset) != "none" else ("images", "instances")


def unit_label(unit: Unit, source: PixelSource = "masks") -> str:
    """How a unit is named on screen: ``pixels`` of box-only data is ``box area (px²)`` — an
    approximation of the pixels, which the page says next to it."""
    if unit == "pixels":
        return {"masks": "pixels", "boxes": "box area (px²)", "none": "pixels (not available)"}[source]
    return unit


def _box_areas(dataset: Dataset) -> np.ndarray:
    """w x h in pixels per annotation; NaN where there is no box or the image size is unknown
    (then boxes are normalised, see :mod:`imbal_core.dataset`)."""
    anns = dataset.annotations
    w = anns.column("w").to_numpy(zero_copy_only=False).astype(np.float64)
    h = anns.column("h").to_numpy(zero_copy_only=False).astype(np.float64)
    image = anns.column("image_id").to_numpy()
    width = dataset.images.column("width").to_numpy(zero_copy_only=False).astype(np.float64)
    sized = ~np.isnan(width)[image] if len(image) else np.zeros(0, bool)
    with np.errstate(invalid="ignore"):
        area = np.where(sized & (w > 0) & (h > 0), w * h, np.nan)
    return area


def _check_where(dataset: Dataset, where: Mapping[str, Sequence[str]] | None) -> dict[str, tuple[str, ...]]:
    if not where:
        return {}
    out = {}
    for key, values in where.items():
        if key not in dataset.conditions:
            raise ValueError(f"`where` may name the conditions {list(dataset.conditions)}. Got {key!r} instead.")
        if isinstance(values, str):
            values = (values,)
        values = tuple(str(v) for v in values)
        if not values:
            raise ValueError(f"`where[{key!r}]` must name at least one value.")
        out[key] = values
    return out


def _subset_mask(table: pa.Table, where: dict[str, tuple[str, ...]]) -> pa.Array | None:
    mask = None
    for key, values in where.items():
        col = table.column(key)
        if pa.types.is_dictionary(col.type):
            col = col.cast(pa.string())
        m = pc.fill_null(pc.is_in(col, value_set=pa.array(values, pa.string())), False)
        mask = m if mask is None else pc.and_(mask, m)
    return mask


def class_split_counts(dataset: Dataset, where: Mapping[str, Sequence[str]] | None = None) -> pa.Table:
    """Every declared class x every split: ``category``, ``split``, ``images``, ``instances``, ``pixels``.

    Zeros are filled (a class absent from a split has a row with 0). ``pixels`` holds mask pixels,
    or box areas for box-only data (see :func:`pixel_source`), null when neither exists.
    ``where`` ({condition: values}) keeps only images whose condition is one of the values,
    e.g. ``{"time_of_day": ["night"]}``.
    """
    where = _check_where(dataset, where)
    dims = ("split", *where)
    table = cube(dataset, dims)
    source = pixel_source(dataset)
    mask = _subset_mask(table, where)
    if mask is not None:
        table = table.filter(mask)
    grouped = table.group_by(["split", "category"], use_threads=False).aggregate(
        [("images", "sum"), ("instances", "sum"), ("pixels", "sum", pc.ScalarAggregateOptions(min_count=1))]
    )
    cells = {
        (s, c): (i, n, p)
        for s, c, i, n, p in zip(*(grouped.column(k).to_pylist() for k in
                                   ("split", "category", "images_sum", "instances_sum", "pixels_sum")))
    }
    if source == "boxes":
        cells = _with_box_areas(dataset, cells, where)
    splits = list(dataset.splits)
    names = dataset.class_names
    rows: dict[str, list[Any]] = {"category": [], "split": [], "images": [], "instances": [], "pixels": []}
    for name in names:
        for split in splits:
            images, instances, pixels = cells.get((split, name), (0, 0, None))
            rows["category"].append(name)
            rows["split"].append(split)
            rows["images"].append(int(images))
            rows["instances"].append(int(instances))
            rows["pixels"].append(None if pixels is None else float(pixels))
    if source != "none":  # a class with no data has 0 pixels, not an unknown count
        rows["pixels"] = [0.0 if p is None else p for p in rows["pixels"]]
    return pa.table({
        "category": pa.array(rows["category"], pa.string()),
        "split": pa.array(rows["split"], pa.string()),
        "images": pa.array(rows["images"], pa.int64()),
        "instances": pa.array(rows["instances"], pa.int64()),
        "pixels": pa.array(rows["pixels"], pa.float64()),
    })


def _with_box_areas(dataset: Dataset, cells: dict, where: dict[str, tuple[str, ...]]) -> dict:
    """Replace the (null) pixel counts by summed box areas, per (split, class)."""
    area = _box_areas(dataset)
    image = dataset.annotations.column("image_id")
    cols = {"category_id": dataset.annotations.column("category_id"), "area": pa.array(area, mask=np.isnan(area))}
    for d in ("split", *where):
        col = dataset.images.column(d).combine_chunks()
        cols[d] = pc.take(col.dictionary_decode() if pa.types.is_dictionary(col.type) else col, image)
    table = pa.table(cols)
    mask = _subset_mask(table, where)
    if mask is not None:
        table = table.filter(mask)
    grouped = table.group_by(["split", "category_id"], use_threads=False).aggregate(
        [("area", "sum", pc.ScalarAggregateOptions(min_count=1))])
    names = dataset.class_names
    out = dict(cells)
    for s, c, a in zip(*(grouped.column(k).to_pylist() for k in ("split", "category_id", "area_sum"))):
        images, instances, _ = out.get((s, names[c]), (0, 0, None))
        out[(s, names[c])] = (images, instances, a)
    return out


# --------------------------------------------------------------------------- the long tail


@dataclass(frozen=True)
class TailMetrics:
    """Long-tail metrics of one unit over the classes with data (see the module docstring)."""

    unit: Unit
    total: float
    #: Declared classes, and those with a non-zero count.
    classes: int
    present: int
    largest: str | None
    smallest: str | None
    imbalance_ratio: float
    gini: float
    evenness: float
    effective_classes: float
    head_share: float
    head: tuple[str, ...]
    tail: tuple[str, ...]
    #: Declared classes with a zero count (not in the metrics).
    absent: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit, "total": self.total, "classes": self.classes, "present": self.present,
            "largest": self.largest, "smallest": self.smallest, "imbalance_ratio": self.imbalance_ratio,
            "gini": self.gini, "evenness": self.evenness, "effective_classes": self.effective_classes,
            "head_share": self.head_share, "head": list(self.head), "tail": list(self.tail), "absent": list(self.absent),
        }


def tail_metrics(names: Sequence[str], values: Sequence[float] | np.ndarray, unit: Unit = "instances",
                 head_share: float = DEFAULT_HEAD_SHARE) -> TailMetrics:
    """:class:`TailMetrics` of per-class ``values`` (one per name)."""
    names = list(names)
    arr = np.asarray(values, dtype=np.float64)
    if len(arr) != len(names):
        raise ValueError(f"`values` must have one count per name ({len(names)}). Got {len(arr)} instead.")
    head, tail = head_tail(names, arr, head_share)
    present = np.isfinite(arr) & (arr > 0)
    idx = np.flatnonzero(present)
    largest = names[idx[np.argmax(arr[idx])]] if len(idx) else None
    smallest = names[idx[np.argmin(arr[idx])]] if len(idx) else None
    return TailMetrics(
        unit=unit,
        total=float(np.nansum(arr)),
        classes=len(names),
        present=int(present.sum()),
        largest=largest,
        smallest=smallest,
        imbalance_ratio=imbalance_ratio(arr),
        gini=gini(arr),
        evenness=evenness(arr),
        effective_classes=effective_classes(arr),
        head_share=float(head_share),
        head=head,
        tail=tail,
        absent=tuple(n for n, p in zip(names, present) if not p),
    )


@dataclass(frozen=True)
class LongTail:
    """Per-class counts of one unit, their metrics and frequency groups.

    ``classes`` has one row per declared class, largest first: ``category``, ``supercategory``,
    ``critical``, ``count`` (in ``unit``, over ``split`` or all splits), ``share`` of the total,
    ``ratio_to_largest`` (this count / the largest: 1 for the largest, 0.018 for a class 56x
    smaller), ``rank`` (1 = largest), ``part`` (``head`` / ``tail`` / ``absent``), ``training_images``, ``group``
    (LVIS), ``absent_from`` (splits with no instance of the class) and ``count_<split>`` for
    every split (the count in that split). ``counts`` is :func:`class_split_counts` (every unit, long form).
    """

    unit: Unit
    pixel_source: PixelSource
    split: str | None
    where: dict[str, tuple[str, ...]]
    splits: tuple[str, ...]
    classes: pa.Table
    counts: pa.Table
    metrics: TailMetrics
    thresholds: FrequencyThresholds = field(default_factory=FrequencyThresholds)
    #: ``train`` when groups count training images; ``all`` when the dataset has no train split.
    group_basis: Literal["train", "all"] = "train"

    @property
    def unit_label(self) -> str:
        return unit_label(self.unit, self.pixel_source)

    @property
    def rarest(self) -> dict[str, Any] | None:
        """The row of the smallest class with data (``None`` when no class has data)."""
        rows = [r for r in self.classes.to_pylist() if r["count"] > 0]
        return rows[-1] if rows else None

    def groups(self) -> dict[Group, list[str]]:
        out: dict[Group, list[str]] = {g: [] for g in GROUPS}
        for name, group in zip(self.classes.column("category").to_pylist(), self.classes.column("group").to_pylist()):
            out[group].append(name)
        return out

    def absent_from(self) -> dict[str, list[str]]:
        """Split -> classes (with data elsewhere) that have no instance in it."""
        out: dict[str, list[str]] = {s: [] for s in self.splits}
        for name, splits in zip(*(self.classes.column(k).to_pylist() for k in ("category", "absent_from"))):
            for s in splits:
                out[s].append(name)
        return out

    def to_arrow(self) -> pa.Table:
        return self.classes

    def to_pandas(self):
        return self.classes.to_pandas()

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "unit_label": self.unit_label,
            "pixel_source": self.pixel_source,
            "split": self.split,
            "where": {k: list(v) for k, v in self.where.items()},
            "group_basis": self.group_basis,
            "thresholds": {"rare_max": self.thresholds.rare_max, "common_max": self.thresholds.common_max},
            "metrics": self.metrics.to_dict(),
            "classes": self.classes.to_pylist(),
        }


def long_tail(
    dataset: Dataset,
    unit: Unit = "instances",
    *,
    split: str | None = None,
    where: Mapping[str, Sequence[str]] | None = None,
    head_share: float = DEFAULT_HEAD_SHARE,
    thresholds: FrequencyThresholds = LVIS,
    counts: pa.Table | None = None,
    critical: Sequence[str] | None = None,
) -> LongTail:
    """The long tail of ``dataset`` in ``unit`` ("instances").

    ``split`` (None = all splits) restricts the counts and metrics to one split; ``where``
    ({condition: values}) to a subset of images, e.g. night only; ``head_share`` (0.8) sets the
    head / tail cut; ``thresholds`` the frequency groups (LVIS). ``counts`` reuses a
    :func:`class_split_counts` table of the same dataset and ``where`` (a unit toggle then only
    re-aggregates). ``critical`` (None: the export's own flags) names the classes marked critical.
    """
    if unit not in UNITS:
        raise ValueError(f"`unit` must be one of {list(UNITS)}. Got {unit!r} instead.")
    source = pixel_source(dataset)
    if unit == "pixels" and source == "none":
        raise ValueError(
            "`unit` 'pixels' is not available for this dataset: "
            + ("classification labels have no extent." if dataset.task == "classification"
               else "it has no masks and no boxes of images of known size.")
            + " Use 'images' or 'instances'."
        )
    _check_share(head_share)
    where_ok = _check_where(dataset, where)
    splits = dataset.splits
    if split is not None and split not in splits:
        raise ValueError(f"`split` must be one of {list(splits)} or None. Got {split!r} instead.")
    if counts is None:
        counts = class_split_counts(dataset, where_ok)
    names = dataset.class_names
    rows = counts.to_pylist()
    per_split: dict[str, dict[str, float]] = {n: {} for n in names}
    instances_in: dict[str, dict[str, int]] = {n: {} for n in names}
    train_images = {n: 0 for n in names}
    all_images = {n: 0 for n in names}
    for r in rows:
        value = r[unit]
        per_split[r["category"]][r["split"]] = 0.0 if value is None else float(value)
        instances_in[r["category"]][r["split"]] = r["instances"]
        all_images[r["category"]] += r["images"]
        if r["split"] == "train":
            train_images[r["category"]] += r["images"]
    basis: Literal["train", "all"] = "train" if "train" in splits else "all"
    group_counts = train_images if basis == "train" else all_images
    values = np.array([per_split[n].get(split, 0.0) if split else sum(per_split[n].values()) for n in names])
    metrics = tail_metrics(names, values, unit, head_share)
    total = values.sum()
    largest = values.max() if len(values) else 0.0
    head, tail = set(metrics.head), set(metrics.tail)
    order = sorted(range(len(names)), key=lambda i: (-values[i], names[i]))
    cats = dataset.categories
    supercategory = dict(zip(names, cats.column("supercategory").to_pylist()))
    if critical is None:
        flagged = dict(zip(names, cats.column("critical").to_pylist()))
    else:
        unknown = sorted(set(critical) - set(names))
        if unknown:
            raise ValueError(f"`critical` names classes the dataset does not have: {unknown}.")
        flagged = {n: n in set(critical) for n in names}
    columns: dict[str, list[Any]] = {k: [] for k in (
        "category", "supercategory", "critical", "count", "share", "ratio_to_largest", "rank", "part",
        "training_images", "group", "absent_from")}
    split_columns: dict[str, list[float]] = {s: [] for s in splits}
    for rank, i in enumerate(order, start=1):
        name, v = names[i], float(values[i])
        columns["category"].append(name)
        columns["supercategory"].append(supercategory[name])
        columns["critical"].append(bool(flagged[name]))
        columns["count"].append(v)
        columns["share"].append(v / total if total > 0 else math.nan)
        columns["ratio_to_largest"].append(v / largest if largest > 0 else math.nan)
        columns["rank"].append(rank)
        columns["part"].append("head" if name in head else "tail" if name in tail else "absent")
        columns["training_images"].append(group_counts[name])
        columns["group"].append(thresholds.group(group_counts[name]))
        has_data = sum(instances_in[name].values()) > 0
        columns["absent_from"].append([s for s in splits if has_data and instances_in[name].get(s, 0) == 0])
        for s in splits:
            split_columns[s].append(per_split[name].get(s, 0.0))
    table = pa.table({
        "category": pa.array(columns["category"], pa.string()),
        "supercategory": pa.array(columns["supercategory"], pa.string()),
        "critical": pa.array(columns["critical"], pa.bool_()),
        "count": pa.array(columns["count"], pa.float64()),
        "share": pa.array(columns["share"], pa.float64()),
        "ratio_to_largest": pa.array(columns["ratio_to_largest"], pa.float64()),
        "rank": pa.array(columns["rank"], pa.int64()),
        "part": pa.array(columns["part"], pa.string()),
        "training_images": pa.array(columns["training_images"], pa.int64()),
        "group": pa.array(columns["group"], pa.string()),
        "absent_from": pa.array(columns["absent_from"], pa.list_(pa.string())),
        **{f"count_{s}": pa.array(split_columns[s], pa.float64()) for s in splits},
    })
    return LongTail(unit=unit, pixel_source=source, split=split, where=where_ok, splits=splits, classes=table,
                    counts=counts, metrics=metrics, thresholds=thresholds, group_basis=basis)
