"""What every sample shares: the frame, the splits, file writing, the random streams, and the
street class table with its box model.

- :func:`streams` gives each sample its own child of one seed (``numpy.random.default_rng``), so
  changing one sample's code leaves the other samples' bytes unchanged.
- :func:`dump_json` writes compact, deterministic JSON: the files must regenerate byte for byte.
- The street classes (COCO ids deliberately not contiguous), how often each appears per kind of
  drive (:data:`AFFINITY`) and the box shapes (:func:`sample_boxes`) are used by both ``street/``
  and ``street_daily/``, which must look like the same project. :data:`STREET_COUNTS` (the planted
  night gap of ``street/``) sits here too because the street detector and the README read it.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

SEED = 20261116
SAMPLES = ("street", "surface", "lanes", "street_daily")  # the folders this script writes
WIDTH, HEIGHT = 1280, 720
SPLIT_SHARES = {"train": 0.70, "val": 0.15, "test": 0.15}


def streams(seed: int) -> dict[str, np.random.Generator]:
    """One child generator per sample folder, in :data:`SAMPLES` order (the order fixes the streams)."""
    return dict(zip(SAMPLES, np.random.default_rng(seed).spawn(len(SAMPLES))))


def dump_json(obj: object) -> bytes:
    """Compact, deterministic JSON (no indentation, no spaces, ASCII)."""
    return json.dumps(obj, separators=(",", ":")).encode("ascii")


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def r1(values) -> list:
    return np.round(np.asarray(values, dtype=np.float64), 1).tolist()


# --------------------------------------------------------------------------- street classes and boxes

#: (COCO id, name, supercategory); ids deliberately not contiguous.
STREET_CLASSES = [
    (1, "Person", "person"),
    (2, "Bicycle", "vehicle"),
    (3, "Car", "vehicle"),
    (4, "Motorcycle", "vehicle"),
    (6, "Bus", "vehicle"),
    (7, "Stroller", "person"),
    (8, "Truck", "vehicle"),
    (10, "Traffic light", "infrastructure"),
    (11, "Traffic sign", "infrastructure"),
    (13, "Wheelchair", "person"),
]
STREET_ID = {name: cid for cid, name, _ in STREET_CLASSES}

#: street/: instances per class in daytime and night-time images. Wheelchair: the smallest class overall
#: (Car / Wheelchair > 50, the default long-tail limit), ~1% of day but ~0.2% of night.
STREET_COUNTS = {
    "Car": (7500, 2800),
    "Person": (3500, 1000),
    "Traffic sign": (780, 260),
    "Traffic light": (667, 333),
    "Truck": (470, 150),
    "Bicycle": (366, 94),
    "Bus": (283, 97),
    "Motorcycle": (310, 100),
    "Stroller": (300, 60),
    "Wheelchair": (191, 9),
}

DRIVE_TYPES = ("urban", "suburban", "highway")
DRIVE_TYPE_P = (0.55, 0.30, 0.15)
#: How often each class appears per drive type (urban, suburban, highway), relative.
AFFINITY = {
    "Car": (1.0, 1.0, 1.3),
    "Person": (1.5, 0.8, 0.03),
    "Traffic sign": (1.0, 1.0, 1.2),
    "Traffic light": (1.4, 0.8, 0.1),
    "Truck": (0.7, 0.9, 2.5),
    "Bicycle": (1.4, 1.0, 0.05),
    "Bus": (1.3, 0.8, 0.3),
    "Motorcycle": (1.0, 1.0, 0.6),
    "Stroller": (1.5, 0.8, 0.0),
    "Wheelchair": (1.5, 0.7, 0.0),
}

#: Box shape per class: median height (px), log-sd of the height, width/height, placement.
BOX_SHAPE = {
    "Car": (52, 0.55, 1.45, "ground"),
    "Truck": (95, 0.5, 1.35, "ground"),
    "Bus": (115, 0.5, 1.5, "ground"),
    "Motorcycle": (62, 0.45, 0.85, "ground"),
    "Bicycle": (64, 0.45, 0.75, "ground"),
    "Person": (88, 0.5, 0.4, "side"),
    "Stroller": (60, 0.4, 0.8, "side"),
    "Wheelchair": (62, 0.35, 0.8, "side"),
    "Traffic light": (50, 0.45, 0.42, "high"),
    "Traffic sign": (32, 0.45, 1.0, "high"),
}


def sample_boxes(name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` plausible boxes (x, y, w, h; pixels, inside the 1280x720 frame) for class ``name``."""
    median, sd, aspect, place = BOX_SHAPE[name]
    h = median * np.exp(rng.normal(0.0, sd, n))
    h = np.clip(h, 8, 520)
    w = h * aspect * np.exp(rng.normal(0.0, 0.12, n))
    horizon = 360 + rng.normal(0, 12, n)
    if place == "high":
        bottom = horizon - h * rng.uniform(0.3, 2.5, n) - rng.uniform(0, 60, n)
        cx = np.where(rng.random(n) < 0.6, rng.uniform(0.05, 0.3, n), rng.uniform(0.3, 0.95, n)) * WIDTH
    else:
        bottom = horizon + h * rng.uniform(0.55, 1.25, n) + rng.normal(0, 8, n)
        if place == "side":
            left = rng.random(n) < 0.5
            cx = np.where(left, rng.uniform(-0.02, 0.4, n), rng.uniform(0.6, 1.02, n)) * WIDTH
        else:
            cx = rng.uniform(-0.05, 1.05, n) * WIDTH
    cx = np.clip(cx, 0.05 * w, WIDTH - 0.05 * w)  # at least ~55% of the box inside the frame
    return clip_boxes(cx - w / 2, bottom - h, w, h)


def clip_boxes(x, y, w, h) -> np.ndarray:
    """Clip to the frame, keep at least 4x4 px, round to 0.1 px (x2 = x + w stays inside)."""
    x1 = np.clip(x, 0, WIDTH - 4)
    y1 = np.clip(y, 0, HEIGHT - 4)
    x2 = np.clip(x + w, x1 + 4, WIDTH)
    y2 = np.clip(y + h, y1 + 4, HEIGHT)
    x1, y1, x2, y2 = (np.round(v, 1) for v in (x1, y1, x2, y2))
    return np.stack([x1, y1, np.round(x2 - x1, 1), np.round(y2 - y1, 1)], axis=1)
