"""The count cube: annotations reduced to one row per (dims..., category).

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


def cube(dataset: "Dataset", dims: Sequence[str] = ("split",)) -> pa.Table:
    """Counts per (dims..., category): columns ``*dims``, ``category``, ``images``, ``instances``, ``pixels``.

    ``dims`` (default ``("split",)``) are image columns: ``split``, ``group`` or condition
    names; ``()`` gives one row per class. Only non-empty cells appear: a class with no
    annotations in a split has no row there (join with ``dataset.categories`` for zeros).
    ``pixels`` is null where nothing in the cell has a pixel count (box-only data).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    dims = tuple(dims)
    allowed = ("split", "group", *dataset.conditions)
    for d in dims:
        if d not in allowed:
            raise ValueError(f"`dims` may name {list(allowed)}. Got {d!r} instead.")
    if len(set(dims)) != len(dims):
        raise ValueError(f"`dims` must not repeat a name. Got {list(dims)}.")
    ic = dataset.image_classes
    cols: dict[str, pa.Array] = {}
    image_ids = ic.column("image_id")
    for d in dims:
        col = dataset.images.column(d).combine_chunks()
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
    names = dataset.categories.column("name")
    out = {d: grouped.column(d) for d in dims}
    out["category"] = pc.take(names, grouped.column("category_id"))
    out["images"] = pc.cast(grouped.column("instances_count"), pa.int64())
    out["instances"] = pc.cast(grouped.column("instances_sum"), pa.int64())
    out["pixels"] = pc.cast(grouped.column("pixels_sum"), pa.float64())
    table = pa.table(out)
    order = [(d, "ascending") for d in dims] + [("category", "ascending")]
    return table.sort_by(order)


def class_totals(dataset: "Dataset") -> pa.Table:
    """Every declared class (used or not) with its totals: ``category``, ``images``, ``instances``, ``pixels``."""
    import pyarrow as pa

    c = cube(dataset, ())
    counts = {name: (i, n, p) for name, i, n, p in zip(*(c.column(k).to_pylist() for k in ("category", "images", "instances", "pixels")))}
    names = dataset.class_names
    return pa.table(
        {
            "category": pa.array(names, pa.string()),
            "images": pa.array([counts.get(n, (0, 0, None))[0] for n in names], pa.int64()),
            "instances": pa.array([counts.get(n, (0, 0, None))[1] for n in names], pa.int64()),
            "pixels": pa.array([counts.get(n, (0, 0, None))[2] for n in names], pa.float64()),
        }
    )
