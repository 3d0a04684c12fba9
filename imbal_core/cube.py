"""The count cube: annotations reduced to one row per (dims..., class).

Most views need only counts. :func:`cube` gives, for each combination of image-level
dimensions (``split``, ``group``, any condition) and class, how many distinct ``images`` hold the
class, how many ``instances`` it has and how many mask ``pixels`` they cover. Because every
dimension is a property of the image, an image falls in exactly one cell per class, so all three
measures are additive over the dims: summing the ``val`` and ``test`` rows of a class gives its
count over both.

The cube is computed from :attr:`Dataset.image_classes` (one row per image and class present,
:mod:`imbal_core.image_classes`), itself computed once per dataset, so a new cube costs one
group-by over that small table.

``import imbal_core`` binds :func:`cube` eagerly (see the package), so this module imports NumPy
and pyarrow inside its functions: `imbal --help` and the import of the package stay light.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    import pyarrow as pa

    from .dataset import Dataset

from .types import UNITS  # noqa: F401 (imbal_core.cube.UNITS, defined in types)


class RowsUnavailable(ValueError):
    """A step needs the export's rows (annotations, boxes, per-image records) and the dataset holds
    only counts (a lake): the message says which step, why, and what to do instead."""


class CountSource:
    """The base of datasets known through their counts rather than their rows: a Parquet lake
    (:class:`imbal_core.lake.dataset.LakeDataset`). Besides a :class:`~imbal_core.dataset.Dataset`'s
    light attributes (``categories``, ``class_names``, ``splits``, ``conditions``, ``task`` ...)
    they answer the count cube and the image counts themselves (:func:`cube`, :func:`image_counts`
    dispatch here); a step that needs rows they lack raises :class:`RowsUnavailable`
    (:meth:`unavailable` words it)."""

    #: How the dataset is named in messages ("the lake at data/lake").
    description: str = "this dataset"

    def cube(self, dims: Sequence[str]) -> "pa.Table":
        raise NotImplementedError

    def image_counts(self, dims: Sequence[str]) -> "pa.Table":
        raise NotImplementedError

    def unavailable(self, step: str, why: str = "") -> RowsUnavailable:
        """The error for ``step`` (``"per-image weights"``), which needs rows this source lacks."""
        reason = why or "it needs the export's rows, and a lake answers with counts"
        return RowsUnavailable(f"{step} is not available on {self.description}: {reason}. "
                               "Run it on the export itself (the same PATH `imbal lake add` read).")


def is_count_source(dataset: object) -> bool:
    """True for a dataset known only by its counts (a lake), see :class:`CountSource`."""
    return isinstance(dataset, CountSource)


def check_dims(dataset: "Dataset | CountSource", dims: Sequence[str], also: Sequence[str] = ()) -> tuple[str, ...]:
    """``dims`` as a tuple of the dataset's image columns (``split``, ``group``, conditions, and
    ``also``), each at most once; ``ValueError`` naming ``dims`` otherwise."""
    dims = tuple(dims)
    allowed = ("split", "group", *dataset.conditions, *also)
    for d in dims:
        if d not in allowed:
            raise ValueError(f"`dims` may name {list(allowed)}. Got {d!r} instead.")
    if len(set(dims)) != len(dims):
        raise ValueError(f"`dims` must not repeat a name. Got {list(dims)}.")
    return dims


def cube(dataset: "Dataset | CountSource", dims: Sequence[str] = ("split",)) -> pa.Table:
    """Counts per (dims..., class): columns ``*dims``, ``class``, ``images``, ``instances``, ``pixels``.

    ``dims`` (default ``("split",)``) are image columns: ``split``, ``group`` or condition
    names; ``()`` gives one row per class. Only non-empty cells appear: a class with no
    annotations in a split has no row there (join with ``dataset.categories`` for zeros).
    ``pixels`` is null where nothing in the cell has a pixel count (box-only data).
    A lake (:class:`CountSource`) computes its own cube, with the same rows.
    """
    dims = check_dims(dataset, dims)
    if is_count_source(dataset):
        return dataset.cube(dims)
    return incidence_cube(dataset.image_classes, dataset.images, dataset.categories.column("name"), dims)


def incidence_cube(ic: "pa.Table", images: "pa.Table", names: "pa.Array | pa.ChunkedArray",
                   dims: tuple[str, ...]) -> "pa.Table":
    """The cube grouped from an image x class incidence ``ic`` (:attr:`Dataset.image_classes`:
    dense ``image_id``, ``category_id``, ``instances``, ``pixels``), the ``images`` table its ids
    index (the ``dims`` columns) and the class ``names`` by category id."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cols: dict[str, pa.Array] = {}
    image_ids = ic.column("image_id")
    for d in dims:
        col = images.column(d).combine_chunks()
        if pa.types.is_dictionary(col.type):
            col = col.dictionary_decode()
        cols[d] = pc.take(col, image_ids)
    cols["category_id"] = ic.column("category_id")
    cols["instances"] = ic.column("instances")
    cols["pixels"] = ic.column("pixels")
    grouped = pa.table(cols).group_by([*dims, "category_id"], use_threads=False).aggregate(
        [
            ("instances", "count", pc.CountOptions(mode="all")),
            ("instances", "sum"),
            ("pixels", "sum", pc.ScalarAggregateOptions(min_count=1)),
        ]
    )
    out = {d: grouped.column(d) for d in dims}
    out["class"] = pc.take(names, grouped.column("category_id"))
    out["images"] = pc.cast(grouped.column("instances_count"), pa.int64())
    out["instances"] = pc.cast(grouped.column("instances_sum"), pa.int64())
    out["pixels"] = pc.cast(grouped.column("pixels_sum"), pa.float64())
    table = pa.table(out)
    order = [(d, "ascending") for d in dims] + [("class", "ascending")]
    return table.sort_by(order)


def class_totals(dataset: "Dataset") -> pa.Table:
    """Every declared class (used or not) with its totals: ``class``, ``images``, ``instances``, ``pixels``."""
    import pyarrow as pa

    c = cube(dataset, ())
    counts = {name: (i, n, p) for name, i, n, p in zip(*(c.column(k).to_pylist() for k in ("class", "images", "instances", "pixels")))}
    names = dataset.class_names
    return pa.table(
        {
            "class": pa.array(names, pa.string()),
            "images": pa.array([counts.get(n, (0, 0, None))[0] for n in names], pa.int64()),
            "instances": pa.array([counts.get(n, (0, 0, None))[1] for n in names], pa.int64()),
            "pixels": pa.array([counts.get(n, (0, 0, None))[2] for n in names], pa.float64()),
        }
    )


def image_counts(dataset: "Dataset | CountSource", dims: Sequence[str] = ("split",)) -> pa.Table:
    """Images per (dims...) value combination, every image counted (with or without annotations):
    columns ``*dims``, ``images`` (int64), sorted by dims, an unknown (null) value kept as its own
    row, after the others. ``dims`` as for :func:`cube`; ``()`` gives one row, every image.
    The denominators the cube lacks (images of a split, of a condition value)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    dims = check_dims(dataset, dims)
    if is_count_source(dataset):
        return dataset.image_counts(dims)
    if not dims:
        return pa.table({"images": pa.array([dataset.num_images], pa.int64())})
    cols = {}
    for d in dims:
        col = dataset.images.column(d).combine_chunks()
        cols[d] = col.dictionary_decode() if pa.types.is_dictionary(col.type) else col
    cols["one"] = pa.nulls(dataset.num_images, pa.int8())
    grouped = pa.table(cols).group_by(list(dims), use_threads=False).aggregate([("one", "count", pc.CountOptions(mode="all"))])
    table = pa.table({**{d: grouped.column(d) for d in dims}, "images": pc.cast(grouped.column("one_count"), pa.int64())})
    return table.sort_by([(d, "ascending") for d in dims])


def coarsen(table: pa.Table, dims: Sequence[str]) -> pa.Table:
    """A :func:`cube` (or :func:`image_counts`) table summed over the dims not in ``dims``: the
    table the same function gives for ``dims`` directly (every measure is additive over image
    dimensions, see the module docstring), in the same row order."""
    import pyarrow as pa
    import pyarrow.compute as pc

    dims = tuple(dims)
    keys = [*dims, "class"] if "class" in table.column_names else list(dims)
    measures = [m for m in ("images", "instances", "pixels") if m in table.column_names]
    if not keys:
        return pa.table({m: pa.array([pc.sum(table.column(m)).as_py() or 0], pa.int64()) for m in measures})
    aggregations = [(m, "sum", pc.ScalarAggregateOptions(min_count=1 if m == "pixels" else 0)) for m in measures]
    grouped = table.select([*keys, *measures]).group_by(keys, use_threads=False).aggregate(aggregations)
    out = {k: grouped.column(k) for k in keys}
    for m in measures:
        out[m] = pc.cast(grouped.column(f"{m}_sum"), pa.float64() if m == "pixels" else pa.int64())
    return pa.table(out).sort_by([(k, "ascending") for k in keys])
