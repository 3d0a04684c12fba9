"""What a plan counts in a dataset: which split, which unit, and the per-class counts from the cube."""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..cube import cube, image_counts
from ..types import ALL_SPLITS, check_split
from .solver import ClassPlan, PlanSource, solve
from .spec import PlanSpec, check_plan_unit, make_spec

if TYPE_CHECKING:
    from ..dataset import Dataset


def dataset_counts(dataset: "Dataset", split: str | None = None, unit: str = "images") -> tuple[dict[str, int], dict[str, int], int]:
    """``(counts in unit, images per class, images in scope)`` for every declared class, from the cube.

    ``split`` (None): one of ``dataset.splits``, or None (or ``"all"``) for every image.
    """
    check_plan_unit(unit)
    scope = check_split(split, dataset.splits, allow_all=True)
    table = cube(dataset, ("split",)).to_pandas()
    if scope is not None:
        table = table[table["split"] == scope]
    sums = table.groupby("class")[["images", "instances"]].sum()
    names = dataset.class_names
    counts = {c: int(sums[unit].get(c, 0)) for c in names}
    images = {c: int(sums["images"].get(c, 0)) for c in names}
    per_split = image_counts(dataset, ("split",))
    found = dict(zip(per_split.column("split").to_pylist(), per_split.column("images").to_pylist()))
    total = dataset.num_images if scope is None else int(found.get(scope, 0))
    return counts, images, total


def default_split(dataset: "Dataset") -> str | None:
    """``train`` when the dataset has one, else every image (None)."""
    return "train" if "train" in dataset.splits else None


def default_strategy(dataset: "Dataset") -> str:
    """``balanced`` when images hold one class (classification); ``sqrt`` when they hold several:
    balanced targets usually cannot be met per image there, because the rare classes' images are
    full of frequent classes (see :func:`imbal_core.plan.weights.best_worst_error`)."""
    return "balanced" if dataset.task == "classification" else "sqrt"


def plan_for_dataset(dataset: "Dataset", spec: PlanSpec | None = None, split: str | None = None, **spec_options: Any) -> ClassPlan:
    """:func:`solve` on a dataset's per-class counts (of ``split``; None = every image) in ``spec.unit``."""
    spec = spec if spec is not None else make_spec(**spec_options)
    counts, images, total = dataset_counts(dataset, split, spec.unit)
    plan = solve(counts, spec, image_counts=list(images.values()), total_images=total)
    source = PlanSource(dataset=tuple(dataset.sources), format=dataset.format, task=dataset.task,
                        split=split or ALL_SPLITS, images=total)
    return replace(plan, source=source)
