"""``street/``: detection, COCO boxes plus a simulated detector's results.

Planted pattern, a **hidden subgroup gap**: Wheelchair is about 1% of daytime instances but about
0.2% of night-time ones (:data:`~samplegen.common.STREET_COUNTS`), while its overall count only
looks rare. The dashboard's subgroup views exist to find exactly this; the per-class totals hide it.

3,000 frames come in drives of 20-60 consecutive frames with one time of day, weather, camera and
kind (urban / suburban / highway) each; splits are assigned per drive so no drive straddles splits,
and every class must reach every split (checked here). ``predictions.json`` comes from
:mod:`samplegen.street_detector`, drawn from the same random stream right after the annotations.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .common import (AFFINITY, DRIVE_TYPE_P, DRIVE_TYPES, HEIGHT, SPLIT_SHARES, STREET_CLASSES, STREET_COUNTS,
                     STREET_ID, WIDTH, dump_json, sample_boxes, write)
from .street_detector import simulate_detector


def assign_splits(sizes: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Split per group (drive), in random order, each to the split furthest below its share of images."""
    names = list(SPLIT_SHARES)
    shares = np.array([SPLIT_SHARES[n] for n in names])
    have = np.zeros(len(names))
    out = [""] * len(sizes)
    for i in rng.permutation(len(sizes)):
        total = have.sum() + sizes[i]
        pick = int(np.argmax(shares * total - have))
        out[i] = names[pick]
        have[pick] += sizes[i]
    return out


def make_drives(rng: np.random.Generator, n_images: int, night_share: float) -> list[dict]:
    """Drives of 20-60 frames with one time of day, weather, camera and drive type each."""
    lengths = []
    while sum(lengths) < n_images:
        lengths.append(int(rng.integers(20, 61)))
    lengths[-1] -= sum(lengths) - n_images
    if lengths[-1] < 20:  # fold a short tail into the previous drive
        lengths[-2] += lengths.pop()
    drives = []
    for i, length in enumerate(lengths):
        drives.append({
            "sequence": f"drive_{i:03d}",
            "frames": length,
            "weather": str(rng.choice(["clear", "rain", "fog", "snow"], p=[0.6, 0.2, 0.08, 0.12])),
            "camera": f"cam_{int(rng.integers(1, 6))}",
            "type": str(rng.choice(DRIVE_TYPES, p=DRIVE_TYPE_P)),
            "density": 0.4 + float(rng.gamma(4.0, 0.15)),
        })
    night, total = 0, sum(lengths)
    for i in rng.permutation(len(drives)):
        is_night = night + drives[i]["frames"] <= night_share * total + 10
        drives[i]["time_of_day"] = "night" if is_night else "day"
        night += drives[i]["frames"] if is_night else 0
    for tod in ("day", "night"):
        members = [d for d in drives if d["time_of_day"] == tod]
        for d, split in zip(members, assign_splits(np.array([d["frames"] for d in members]), rng)):
            d["split"] = split
    return drives


def street_images(drives: list[dict]) -> list[dict]:
    images = []
    for d in drives:
        for f in range(d["frames"]):
            images.append({
                "id": len(images) + 1,
                "file_name": f"{d['sequence']}_{f:03d}.jpg",
                "width": WIDTH,
                "height": HEIGHT,
                "split": d["split"],
                "sequence": d["sequence"],
                "time_of_day": d["time_of_day"],
                "weather": d["weather"],
                "camera": d["camera"],
            })
    return images


def class_weights(images: list[dict], drives_by_seq: dict[str, dict], rng: np.random.Generator,
                  empty_share: float) -> dict[str, np.ndarray]:
    """Per image and class, the relative chance of holding an instance; 0 for empty frames."""
    n = len(images)
    frame = rng.gamma(4.0, 0.25, n) * (rng.random(n) >= empty_share)
    out = {}
    for name in AFFINITY:
        aff = np.array([AFFINITY[name][DRIVE_TYPES.index(drives_by_seq[im["sequence"]]["type"])] for im in images])
        dens = np.array([drives_by_seq[im["sequence"]]["density"] for im in images])
        out[name] = frame * aff * dens * rng.gamma(3.0, 1 / 3.0, n)
    return out


def generate_street(rng: np.random.Generator, out: Path) -> dict:
    drives = make_drives(rng, 3000, night_share=0.30)
    by_seq = {d["sequence"]: d for d in drives}
    images = street_images(drives)
    weights = class_weights(images, by_seq, rng, empty_share=0.02)
    tod = np.array([im["time_of_day"] for im in images])
    rows = []  # (image index, class name, box)
    for name, per_tod in STREET_COUNTS.items():
        for t, count in zip(("day", "night"), per_tod):
            w = np.where(tod == t, weights[name], 0.0)
            per_image = rng.multinomial(count, w / w.sum())
            idx = np.repeat(np.arange(len(images)), per_image)
            boxes = sample_boxes(name, len(idx), rng)
            rows.extend(zip(idx.tolist(), [name] * len(idx), boxes.tolist()))
    rows.sort(key=lambda r: (r[0], STREET_ID[r[1]]))
    annotations = []
    for i, (img, name, (x, y, w, h)) in enumerate(rows):
        annotations.append({
            "id": i + 1,
            "image_id": img + 1,
            "category_id": STREET_ID[name],
            "bbox": [x, y, w, h],
            "area": round(w * h, 2),
            "iscrowd": 0,
            "segmentation": [],
        })
    categories = [{"id": cid, "name": name, "supercategory": sup} for cid, name, sup in STREET_CLASSES]
    coco = {
        "info": {"description": "imbal sample: street scenes (synthetic)", "version": "1.0", "year": 2026},
        "licenses": [],
        "categories": categories,
        "images": images,
        "annotations": annotations,
    }
    for name in STREET_COUNTS:  # the demos need every class in every split
        held = {images[i]["split"] for i, n, _ in rows if n == name}
        if held != set(SPLIT_SHARES):
            raise RuntimeError(f"street: {name} is missing from split(s) {sorted(set(SPLIT_SHARES) - held)}")
    write(out / "street" / "annotations.json", dump_json(coco))
    predictions, outcome, alarms, kinds = simulate_detector(rng, images, annotations)
    write(out / "street" / "predictions.json", dump_json(predictions))
    return {"images": images, "annotations": annotations, "predictions": predictions, "drives": drives,
            "outcome": outcome, "alarms": alarms, "kinds": kinds}
