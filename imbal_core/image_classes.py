"""The image x class incidence: annotations reduced to one row per (image, class) present.

Every count in imbal starts from it (:attr:`imbal_core.dataset.Dataset.image_classes` computes it
once per dataset; :mod:`imbal_core.cube` groups it). A module of its own, below both, so that the
dataset and the cube do not import each other.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa


def image_class_table(annotations: pa.Table, num_images: int, num_categories: int) -> pa.Table:
    """One row per (image, class) present among ``annotations``, with ``instances`` and ``pixels``
    (null if none counted); ``num_images`` and ``num_categories`` bound the dense ids."""
    anns = annotations
    n_cat = max(num_categories, 1)
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
    uniq, counts, inverse = _distinct(key, num_images * n_cat, grouped, with_inverse=bool(has_pixels.any()))
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


def _distinct(key: np.ndarray, cells: int, grouped: bool, with_inverse: bool):
    """The distinct values of ``key`` (ascending; each below ``cells``), how often each occurs and,
    ``with_inverse``, the position of each key among them (else None). One result, three ways
    to it, by what is cheapest for the input. ``grouped``: the keys come image by image (the image
    part of each key never decreases), only the class part is out of order."""

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
