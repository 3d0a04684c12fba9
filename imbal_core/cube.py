"""The count cube: annotations reduced to one row per (dims..., category).

Most views need only counts. :func:`cube` gives, for each combination of image-level
dimensions (``split``, ``group``, any condition) and class, how many distinct ``images`` hold the
class, how many ``instances`` it has and how many mask ``pixels`` they cover. Because every
dimension is a property of the image, an image falls in exactly one cell per class, so all three
measures are additive over the dims: summing the ``val`` and ``test`` rows of a class gives its
count over both.

The cube is computed from :attr:`Dataset.image_classes` (one row per image and class present),
itself computed once per dataset, so a new cube costs one group-by over that small table.

``import imbal_core`` binds :func:`cube` eagerly (see the package), so this module imports NumPy
and pyarrow inside its functions: `imbal --help` and the import of the package stay light.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from .dataset import Dataset

from .types import UNITS  # noqa: F401 (imbal_core.cube.UNITS, defined in types)


def image_class_table(dataset: "Dataset") -> pa.Table:
    """One row per (image, class) present, with ``instances`` and ``pixels`` (null if none counted)."""
    import numpy as np
    import pyarrow as pa

    anns = dataset.annotations
    n_cat = max(dataset.categories.num_rows, 1)
    image = anns.column("image_id").to_numpy()
    category = anns.column("category_id").to_numpy().astype(np.int64)
    if len(image) == 0:
        return pa.table(
            {
                "image_id": pa.array([], pa.int64()),
                "category_id": pa.array([], pa.int32()),
                "instances": pa.array([], pa.int64()),
                "pixels": pa.array([], pa.float64()),
            }
        )
    key = image * n_cat + category
    pixels = anns.column("pixels").to_numpy(zero_copy_only=False)
    has_pixels = ~np.isnan(pixels)
    grouped = bool((image[1:] >= image[:-1]).all())  # annotations in image order, as exports usually list them
    uniq, counts, inverse = _distinct(key, dataset.images.num_rows * n_cat, grouped, with_inverse=bool(has_pixels.any()))
    if inverse is not None:
        pix_sum = np.bincount(inverse, weights=np.where(has_pixels, pixels, 0.0), minlength=len(uniq))
        pix_any = np.bincount(inverse, weights=has_pixels, minlength=len(uniq)) > 0
        pixel_col = pa.array(pix_sum, pa.float64(), mask=~pix_any)
    else:
        pixel_col = pa.nulls(len(uniq), pa.float64())
    return pa.table(
        {
            "image_id": pa.array(uniq // n_cat, pa.int64()),
            "category_id": pa.array((uniq % n_cat).astype(np.int32)),
            "instances": pa.array(counts.astype(np.int64)),
            "pixels": pixel_col,
        }
    )


def _distinct(key: "np.ndarray", cells: int, grouped: bool, with_inverse: bool):
    """The distinct values of ``key`` (ascending; each below ``cells``), how often each occurs and,
    ``with_inverse``, the position of each key among them (else None). One result, three ways
    to it, by what is cheapest for the input. ``grouped``: the keys come image by image (the image
    part of each key never decreases), only the class part is out of order."""
    import numpy as np

    if grouped:
        # Annotations grouped by image: a stable sort only reorders each image's few rows, and
        # Timsort merges the sorted runs almost for free (twice as fast as the dense count).
        order = np.argsort(key, kind="stable")
        ordered = key[order]
        first = np.empty(len(key), dtype=bool)
        first[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        inverse = None
        if with_inverse:
            inverse = np.empty(len(key), np.int64)
            inverse[order] = np.cumsum(first) - 1
        return ordered[starts], np.diff(starts, append=len(key)), inverse
    if cells <= 20_000_000:  # a dense count is much faster than sorting (160 MB at most)
        dense = np.bincount(key, minlength=cells)
        uniq = np.flatnonzero(dense)
        counts = dense[uniq]
        inverse = None
        if with_inverse:  # reuse the dense grid as a cell -> pair index
            dense[uniq] = np.arange(len(uniq))
            inverse = dense[key]
        return uniq, counts, inverse
    uniq, counts = np.unique(key, return_counts=True)
    return uniq, counts, np.searchsorted(uniq, key) if with_inverse else None


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
