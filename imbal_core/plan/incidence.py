"""The image x class incidence a per-image fit works on: which classes each image holds, in a unit.

:func:`incidence` builds it for a dataset's split; :func:`incidence_from_pairs` from (image, class)
pairs. Images holding the same classes are merged into groups (:attr:`Incidence.groups`), so the
fit and the reachability check (:mod:`.reach`) run on distinct rows, not on every image.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..types import check_split
from .spec import check_plan_unit

if TYPE_CHECKING:
    from ..dataset import Dataset


@dataclass(frozen=True, eq=False)
class Incidence:
    """Which classes each image holds: ``matrix[i, c]`` is 1 (images) or the instance count (instances).

    Rows are ``image_ids`` (ascending dataset ids of the images in scope, images without
    annotations included); columns are ``classes``. Build it once per dataset, split and unit.
    """

    image_ids: np.ndarray
    classes: tuple[str, ...]
    matrix: sp.csr_matrix
    unit: str
    split: str | None = None

    @property
    def num_images(self) -> int:
        return int(self.matrix.shape[0])

    @cached_property
    def counts(self) -> np.ndarray:
        """Per-class totals in ``unit`` (the cube's numbers for the same scope)."""
        return np.asarray(self.matrix.sum(axis=0)).ravel().astype(np.int64)

    @cached_property
    def image_counts(self) -> np.ndarray:
        """Images holding each class."""
        return np.bincount(self.matrix.indices, minlength=len(self.classes)).astype(np.int64)

    @cached_property
    def classes_per_image(self) -> np.ndarray:
        return np.diff(self.matrix.indptr)

    @cached_property
    def groups(self) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        """Distinct non-empty rows ``(rows, multiplicity, group of each image or -1)``.

        Images with the same row get the same weight, so the fit runs on the distinct rows. Rows
        are told apart by a random 64-bit signature (seeded; a collision needs ~4e9 distinct rows).
        """
        annotated = np.flatnonzero(self.classes_per_image > 0)
        sub = self.matrix if len(annotated) == self.num_images else self.matrix[annotated]
        if len(annotated) == 0:
            return sub, np.zeros(0, np.float64), np.full(self.num_images, -1, np.int64)
        keys = np.random.default_rng(20261116).integers(1, 2**63, len(self.classes), dtype=np.uint64)
        values = keys[sub.indices] * sub.data.astype(np.uint64)
        signature = np.add.reduceat(values, sub.indptr[:-1])
        # hashing, not sorting: a million rows in a few tens of milliseconds
        inverse, uniques = pd.factorize(signature)
        first = np.empty(len(uniques), np.int64)
        first[inverse[::-1]] = np.arange(len(inverse) - 1, -1, -1)
        multiplicity = np.bincount(inverse, minlength=len(uniques)).astype(np.float64)
        group = np.full(self.num_images, -1, np.int64)
        group[annotated] = inverse
        return sub[first], multiplicity, group


def incidence(dataset: "Dataset", split: str | None = None, unit: str = "images") -> Incidence:
    """The image x class incidence of ``dataset`` (images of ``split``; None or ``"all"`` = all), in ``unit``."""
    check_plan_unit(unit)
    scope = check_split(split, dataset.splits, allow_all=True)
    if scope is None:
        image_ids = np.arange(dataset.num_images, dtype=np.int64)
    else:
        split_col = dataset.images.column("split").combine_chunks().dictionary_decode()
        image_ids = np.flatnonzero(np.asarray(split_col.to_pylist(), dtype=object) == scope).astype(np.int64)
    ic = dataset.image_classes
    return incidence_from_pairs(
        ic.column("image_id").to_numpy(), ic.column("category_id").to_numpy(),
        ic.column("instances").to_numpy() if unit == "instances" else None,
        image_ids, tuple(dataset.class_names), unit, scope,
    )


def incidence_from_pairs(image: np.ndarray, category: np.ndarray, instances: np.ndarray | None,
                         image_ids: np.ndarray, classes: Sequence[str], unit: str = "images",
                         split: str | None = None) -> Incidence:
    """Build an :class:`Incidence` from (image id, class index[, instances]) pairs; pairs of images
    outside ``image_ids`` are ignored."""
    image_ids = np.asarray(image_ids, dtype=np.int64)
    position = np.full(int(max(image_ids.max(initial=-1), np.max(image, initial=-1))) + 1, -1, np.int64)
    position[image_ids] = np.arange(len(image_ids))
    row = position[np.asarray(image, dtype=np.int64)]
    keep = row >= 0
    row, column = row[keep], np.asarray(category, dtype=np.int64)[keep]
    values = np.ones(len(row)) if instances is None else np.asarray(instances, dtype=np.float64)[keep]
    shape = (len(image_ids), len(classes))
    key = row * max(len(classes), 1) + column
    if len(key) < 2 or (key[1:] > key[:-1]).all():
        # pairs sorted and distinct (as Dataset.image_classes gives them): the CSR arrays directly
        indptr = np.r_[0, np.cumsum(np.bincount(row, minlength=shape[0]))]
        matrix = sp.csr_matrix((values, column.astype(np.int32), indptr), shape=shape)
    else:
        matrix = sp.csr_matrix((values, (row, column)), shape=shape)
        matrix.sum_duplicates()
    return Incidence(image_ids=image_ids, classes=tuple(classes), matrix=matrix, unit=unit, split=split)
