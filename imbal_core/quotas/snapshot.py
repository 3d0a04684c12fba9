"""What one export contributes to a snapshot: counts per class and split, per day and annotator, per condition.

Pure: computed from a :class:`~imbal_core.dataset.Dataset` without touching a workspace.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ..cube import cube

if TYPE_CHECKING:
    from ..dataset import Dataset


@dataclass(frozen=True)
class SnapshotRows:
    """What an export contributes to a snapshot, computed without touching the store."""

    content_hash: str
    taken_at: datetime
    images: int
    annotations: int
    has_timestamps: bool
    #: ``class``, split, images, instances, pixels: every declared class in every split (zeros included).
    counts: pa.Table
    #: day (null when unstamped), annotator, ``class``, images, instances, pixels.
    daily: pa.Table
    #: condition, value, ``class`` (null: all images of that value), images, instances.
    conditions: pa.Table


def export_hash(dataset: "Dataset") -> str:
    """The export's content hash: :attr:`Dataset.key` (set by :func:`imbal_core.load`), else a hash of the tables."""
    if dataset.key:
        return dataset.key
    import pyarrow.ipc as ipc

    digest = hashlib.sha256()
    for table in (dataset.images, dataset.annotations, dataset.categories):
        sink = pa.BufferOutputStream()
        with ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        digest.update(sink.getvalue().to_pybytes())
    return "tables:" + digest.hexdigest()


def parse_moment(value: datetime | date | str) -> datetime:
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"`at` must be an ISO date or time such as 2026-11-27 or 2026-11-27T18:00Z. "
                             f"Got {text!r} instead.") from None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    raise ValueError(f"`at` must be a date or datetime. Got {value!r} instead.")


def snapshot_rows(dataset: "Dataset", at: datetime | date | str | None = None, *,
                  content_hash: str | None = None) -> SnapshotRows:
    """Reduce an export to the rows of its snapshot (counts per split, per day and annotator, per condition).

    ``at``: the moment the snapshot stands for; a date means that day. Default: the export's latest
    ``annotated_at``; an export without timestamps needs ``at`` (raises ``ValueError`` naming it).
    Days are UTC calendar days. ``content_hash`` (None: computed): the export's hash when known.
    """
    stamps = dataset.annotations.column("annotated_at")
    has_timestamps = dataset.num_annotations > 0 and stamps.null_count < dataset.num_annotations
    if at is None:
        if not has_timestamps:
            raise ValueError("`at` is required: this export has no `annotated_at` timestamps to date it by. "
                             "Give the date it stands for, e.g. at='2026-11-27'.")
        latest = pc.max(stamps).as_py()
        at = latest
    taken_at = parse_moment(at)
    names = dataset.class_names
    splits = list(dataset.splits)
    by_split = {(r["split"], r["class"]): r for r in cube(dataset, ("split",)).to_pylist()}
    rows = {"class": [], "split": [], "images": [], "instances": [], "pixels": []}
    for name in names:
        for split in splits:
            r = by_split.get((split, name), {})
            rows["class"].append(name)
            rows["split"].append(split)
            rows["images"].append(r.get("images", 0))
            rows["instances"].append(r.get("instances", 0))
            rows["pixels"].append(r.get("pixels"))
    counts = pa.table({"class": pa.array(rows["class"], pa.string()), "split": pa.array(rows["split"], pa.string()),
                       "images": pa.array(rows["images"], pa.int64()), "instances": pa.array(rows["instances"], pa.int64()),
                       "pixels": pa.array(rows["pixels"], pa.float64())})
    return SnapshotRows(
        content_hash=content_hash or export_hash(dataset), taken_at=taken_at, images=dataset.num_images,
        annotations=dataset.num_annotations, has_timestamps=has_timestamps, counts=counts,
        daily=_daily_rows(dataset), conditions=_condition_rows(dataset),
    )


def _daily_rows(dataset: "Dataset") -> pa.Table:
    """Per (UTC day, annotator, class): images whose first annotation of the class was made then, instances, pixels.

    Summed over days and annotators this gives the export's totals per class; annotations without
    ``annotated_at`` fall on a null day.
    """
    anns = dataset.annotations.select(["image_id", "category_id", "annotated_at", "annotator", "pixels"])
    anns = anns.append_column("day", pc.cast(anns.column("annotated_at"), pa.date32()))
    cats = dataset.categories.select(["category_id", "name"])
    with duckdb.connect() as con:
        con.register("anns", anns)
        con.register("cats", cats)
        return con.sql("""
            WITH a AS (
                SELECT image_id, category_id, annotator, pixels, day,
                       row_number() OVER (PARTITION BY image_id, category_id
                                          ORDER BY annotated_at NULLS LAST, annotator NULLS LAST) AS nth
                FROM anns)
            SELECT a.day, a.annotator, c.name AS "class",
                   CAST(count(*) FILTER (WHERE nth = 1) AS BIGINT) AS images,
                   CAST(count(*) AS BIGINT) AS instances,
                   sum(a.pixels) AS pixels
            FROM a JOIN cats c USING (category_id)
            GROUP BY ALL ORDER BY day NULLS LAST, annotator NULLS LAST, "class"
        """).to_arrow_table()


def _condition_rows(dataset: "Dataset") -> pa.Table:
    out: dict[str, list] = {"condition": [], "value": [], "class": [], "images": [], "instances": []}
    for condition in dataset.conditions:
        column = dataset.images.column(condition).combine_chunks()
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        totals = pa.table({"v": column}).group_by("v").aggregate([("v", "count", pc.CountOptions(mode="all"))])
        for value, n in zip(totals.column("v").to_pylist(), totals.column("v_count").to_pylist()):
            out["condition"].append(condition)
            out["value"].append(value)
            out["class"].append(None)
            out["images"].append(n)
            out["instances"].append(0)
        for r in cube(dataset, (condition,)).to_pylist():
            out["condition"].append(condition)
            out["value"].append(r[condition])
            out["class"].append(r["class"])
            out["images"].append(r["images"])
            out["instances"].append(r["instances"])
    return pa.table({"condition": pa.array(out["condition"], pa.string()), "value": pa.array(out["value"], pa.string()),
                     "class": pa.array(out["class"], pa.string()), "images": pa.array(out["images"], pa.int64()),
                     "instances": pa.array(out["instances"], pa.int64())})


def latest_timestamp(dataset: "Dataset") -> datetime | None:
    """The export's latest ``annotated_at`` (UTC, naive), or None when it has none."""
    if not dataset.num_annotations:
        return None
    value = pc.max(dataset.annotations.column("annotated_at")).as_py()
    return parse_moment(value) if value is not None else None
