"""Quota and active-learning benchmark at real scale, on generated data (seeded).

- ingest: one snapshot of a COCO-train-sized export (118,287 images, 860,000 stamped annotations,
  80 classes, 3 splits, 3 conditions) into a workspace file: per-split, per-day/annotator and
  per-condition counts, written in one transaction;
- re-ingest of the same export (a no-op by content hash);
- status: progress of 80 quota classes over 120 daily snapshots (load + history + forecast + advice);
- playbook: 80 classes, 20 working days;
- active learning: scoring a pool of 100,000 images with 1,000,000 detections (entropy, objects by
  IoU grouping) and selecting 5,000 images with quotas and a group cap.

    python bench/quotas.py [--runs 5]

Each figure is the median of ``--runs`` runs in this process (after one warm-up run).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from imbal_core.active import build_pool, select_batch  # noqa: E402
from imbal_core.dataset import build_dataset  # noqa: E402
from imbal_core.io.predictions import DETECTION_SCHEMA, Predictions  # noqa: E402
from imbal_core.quotas import QuotaTarget, Workspace  # noqa: E402
from imbal_core.quotas.playbook import playbook  # noqa: E402
from imbal_core.quotas.progress import project_progress  # noqa: E402
from imbal_core.quotas.snapshot import snapshot_rows  # noqa: E402
from imbal_core.quotas.store import write_snapshot  # noqa: E402

CLASSES = [f"class_{i:02d}" for i in range(80)]
START = date(2026, 1, 5)


def big_export(rng: np.random.Generator, images: int = 118_287, annotations: int = 860_000, days: int = 60):
    weights = 1 / np.arange(1, len(CLASSES) + 1) ** 1.1
    cats = rng.choice(len(CLASSES), annotations, p=weights / weights.sum())
    image = rng.integers(0, images, annotations)
    day = rng.integers(0, days, annotations)
    base = datetime(START.year, START.month, START.day, 8, tzinfo=timezone.utc)
    stamps = pa.array(np.datetime64(base.replace(tzinfo=None), "us") + (day * 86_400 + rng.integers(0, 30_000, annotations))
                      .astype("timedelta64[s]").astype("timedelta64[us]"), pa.timestamp("us", tz="UTC"))
    who = np.array(["ana", "ben", "chen", "dara", "eli"])[rng.integers(0, 5, annotations)]
    split = np.array(["train", "val", "test"])[rng.choice(3, images, p=[0.8, 0.1, 0.1])]
    return build_dataset(
        images={"file_name": [f"{i:012d}.jpg" for i in range(images)], "split": split,
                "time_of_day": np.array(["day", "night"])[rng.integers(0, 2, images)],
                "weather": np.array(["clear", "rain", "fog", "snow"])[rng.integers(0, 4, images)],
                "camera": np.array([f"cam_{k}" for k in range(5)])[rng.integers(0, 5, images)]},
        annotations={"image": image, "category": cats, "annotated_at": stamps, "annotator": who},
        categories={"name": CLASSES}, task="detection", format="bench", sources=["bench.json"],
        conditions=("time_of_day", "weather", "camera"), check_boxes=False)


def long_project(ws: Workspace, rng: np.random.Generator, snapshots: int = 120) -> None:
    """120 daily snapshots of 80 classes (synthetic count rows written straight into the store)."""
    ws.create_project("long")
    ws.set_targets("long", [QuotaTarget(c, 5_000, START + timedelta(days=200), critical=i < 5) for i, c in enumerate(CLASSES)])
    totals = np.zeros(len(CLASSES))
    day = START
    for k in range(snapshots):
        while day.weekday() >= 5:
            day += timedelta(days=1)
        new = rng.poisson(np.linspace(40, 2, len(CLASSES)))
        totals += new
        counts = pa.table({"class": CLASSES, "split": ["train"] * len(CLASSES), "images": totals.astype(np.int64),
                           "instances": totals.astype(np.int64), "pixels": pa.nulls(len(CLASSES), pa.float64())})
        empty_daily = pa.table({"day": pa.array([], pa.date32()), "annotator": pa.array([], pa.string()),
                                "class": pa.array([], pa.string()), "images": pa.array([], pa.int64()),
                                "instances": pa.array([], pa.int64()), "pixels": pa.array([], pa.float64())})
        empty_cond = pa.table({"condition": pa.array([], pa.string()), "value": pa.array([], pa.string()),
                               "class": pa.array([], pa.string()), "images": pa.array([], pa.int64()),
                               "instances": pa.array([], pa.int64())})
        from imbal_core.quotas.snapshot import SnapshotRows

        rows = SnapshotRows(f"h{k}", datetime(day.year, day.month, day.day, 18), 0, int(totals.sum()), False,
                            counts, empty_daily, empty_cond)
        with ws._transaction() as con:
            write_snapshot(con, "long", rows, f"day{k}")
        day += timedelta(days=1)


def big_pool(rng: np.random.Generator, images: int = 100_000, detections: int = 1_000_000) -> Predictions:
    image = np.sort(rng.integers(0, images, detections))
    xy = rng.uniform(0, 1200, (detections, 2))
    wh = rng.uniform(10, 200, (detections, 2))
    cols = {"image": pa.array(image.astype(str)), "image_id": pa.nulls(detections, pa.int64()),
            "label": pa.array(rng.integers(0, len(CLASSES), detections).astype(str)),
            "category_id": pa.nulls(detections, pa.int32()), "score": rng.beta(2, 2, detections),
            "x": xy[:, 0], "y": xy[:, 1], "w": wh[:, 0], "h": wh[:, 1]}
    n = detections
    for name in ("rle_counts", "rle_height", "rle_width", "polygons", "record"):
        cols[name] = pa.nulls(n, DETECTION_SCHEMA.field(name).type)
    return Predictions("detection", pa.table(cols, schema=DETECTION_SCHEMA), "coco", "bench.json")


def median(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(20261125)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        export = replace(big_export(rng), key="bench-export")  # imbal_core.load sets the content hash
        results.append(("snapshot rows of 860,000 stamped annotations", median(lambda: snapshot_rows(export), args.runs)))
        counter = iter(range(10_000))

        def ingest_fresh() -> None:
            ws = Workspace(Path(tmp) / f"ingest{next(counter)}.duckdb")
            ws.create_project("p")
            ws.ingest("p", export)

        results.append(("ingest it into a new workspace (rows + transaction)", median(ingest_fresh, args.runs)))
        ws = Workspace(Path(tmp) / "again.duckdb")
        ws.create_project("p")
        ws.ingest("p", export)
        results.append(("re-ingest the same export (no-op by content hash)", median(lambda: ws.ingest("p", export), args.runs)))
        del export
        long = Workspace(Path(tmp) / "long.duckdb")
        long_project(long, rng)
        results.append(("status: 80 classes x 120 daily snapshots", median(lambda: project_progress(long, "long"), args.runs)))
        state = project_progress(long, "long")
        results.append(("playbook: 80 classes, 20 working days", median(
            lambda: playbook(state, days=20, capacity=3_000), args.runs)))
    predictions = big_pool(rng)
    results.append(("score a pool: 100,000 images, 1,000,000 detections", median(
        lambda: build_pool(predictions, rule="entropy"), args.runs)))
    pool = build_pool(predictions, rule="entropy")
    groups = pa.array((np.arange(pool.size) // 40).astype(str))
    pool = type(pool)(pool.table.set_column(pool.table.schema.get_field_index("group"), "group", groups), pool.kind,
                      pool.rule, pool.class_names, pool.conditions)
    quotas = {str(i): 1000 - 10 * i for i in range(20)}
    results.append(("select 5,000 of them: 20 quota classes, 125 per group", median(
        lambda: select_batch(pool, 5_000, quotas, max_per_group=125), args.runs)))
    width = max(len(name) for name, _ in results)
    print(f"{'step'.ljust(width)}  median")
    for name, seconds in results:
        print(f"{name.ljust(width)}  {seconds:7.3f} s")


if __name__ == "__main__":
    main()
