"""What a dataset holds, per class and split: the numbers behind `imbal summary` and the Overview page."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from .cube import class_totals, cube, image_counts
from .dataset import Dataset


@dataclass(frozen=True)
class DatasetSummary:
    task: str
    format: str
    sources: tuple[str, ...]
    images: int
    annotations: int
    splits: tuple[str, ...]
    #: Images per split (every image, with or without annotations).
    split_images: dict[str, int]
    conditions: tuple[str, ...]
    classes_declared: int
    classes_used: int
    #: One row per declared class: ``class``, images, instances, pixels (null for box-only data),
    #: then ``<split>_images`` / ``<split>_instances`` for every split.
    classes: pa.Table
    report: list[dict[str, str]]

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``imbal summary --json``."""
        rows = self.classes.to_pylist()
        classes = []
        for r in rows:
            classes.append(
                {
                    "class": r["class"],
                    "images": r["images"],
                    "instances": r["instances"],
                    "pixels": r["pixels"],
                    "splits": {s: {"images": r[f"{s}_images"], "instances": r[f"{s}_instances"]} for s in self.splits},
                }
            )
        return {
            "task": self.task,
            "format": self.format,
            "sources": list(self.sources),
            "images": self.images,
            "annotations": self.annotations,
            "splits": list(self.splits),
            "split_images": dict(self.split_images),
            "conditions": list(self.conditions),
            "classes_declared": self.classes_declared,
            "classes_used": self.classes_used,
            "classes": classes,
            "report": self.report,
        }


def summarize(dataset: Dataset) -> DatasetSummary:
    """Counts per class (every declared class, zeros included) overall and per split."""
    totals = class_totals(dataset)
    by_split = cube(dataset, ("split",)).to_pylist()
    cells = {(r["split"], r["class"]): r for r in by_split}
    names = totals.column("class").to_pylist()
    columns: dict[str, Any] = {
        "class": names,
        "images": totals.column("images"),
        "instances": totals.column("instances"),
        "pixels": totals.column("pixels"),
    }
    for split in dataset.splits:
        for unit in ("images", "instances"):
            columns[f"{split}_{unit}"] = pa.array(
                [cells.get((split, n), {}).get(unit, 0) for n in names], pa.int64()
            )
    table = pa.table(columns)
    used = sum(1 for v in totals.column("instances").to_pylist() if v)
    per_split = image_counts(dataset, ("split",))
    found = dict(zip(per_split.column("split").to_pylist(), per_split.column("images").to_pylist()))
    split_images = {s: found.get(s, 0) for s in dataset.splits}
    return DatasetSummary(
        task=dataset.task,
        format=dataset.format,
        sources=dataset.sources,
        images=dataset.num_images,
        annotations=dataset.num_annotations,
        splits=dataset.splits,
        split_images=split_images,
        conditions=dataset.conditions,
        classes_declared=len(dataset.class_names),
        classes_used=used,
        classes=table,
        report=dataset.report.to_records(),
    )
