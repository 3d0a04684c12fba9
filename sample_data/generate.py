"""Generate the bundled sample data: four small, realistic exports with planted patterns.

    python sample_data/generate.py [--out DIR] [--seed N]

One seed (:data:`SEED`) drives everything through ``numpy.random.default_rng``; each sample
draws from its own child generator, so changing one sample leaves the others unchanged.
Running the script twice gives byte-identical files (tests/test_samples.py checks this).

- ``street/``        detection, COCO boxes + a simulated detector's results (Wheelchair almost absent at night)
- ``surface/``       classification CSV + a classifier's per-class scores (Background:Crack about 33:1)
- ``lanes/``         segmentation, COCO polygons + RLE results + semantic PNG masks (thin lane markings)
- ``street_daily/``  ten cumulative daily exports of a growing annotation project (quota story)

``README.md`` is written last, with the figures computed from the files just written.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

SEED = 20261116
SAMPLES = ("street", "surface", "lanes", "street_daily")  # the folders this script writes
WIDTH, HEIGHT = 1280, 720
SPLIT_SHARES = {"train": 0.70, "val": 0.15, "test": 0.15}


# --------------------------------------------------------------------------- shared helpers


def dump_json(obj: object) -> bytes:
    """Compact, deterministic JSON (no indentation, no spaces, ASCII)."""
    return json.dumps(obj, separators=(",", ":")).encode("ascii")


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def r1(values) -> list:
    return np.round(np.asarray(values, dtype=np.float64), 1).tolist()


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


# --------------------------------------------------------------------------- street: classes and boxes

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

#: Instances per class in daytime and night-time images. Wheelchair: ~2% of day, ~0.2% of night.
STREET_COUNTS = {
    "Car": (6100, 2300),
    "Person": (4350, 1300),
    "Traffic sign": (780, 260),
    "Traffic light": (520, 260),
    "Truck": (470, 150),
    "Bicycle": (350, 90),
    "Bus": (220, 75),
    "Motorcycle": (170, 55),
    "Stroller": (125, 25),
    "Wheelchair": (265, 9),
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
    "Stroller": (58, 0.4, 0.75, "side"),
    "Wheelchair": (72, 0.4, 0.85, "side"),
    "Traffic light": (36, 0.45, 0.42, "high"),
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


# --------------------------------------------------------------------------- street


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


#: Recall the simulated detector reaches per class, (day, night): a box of the right class at IoU >= 0.5.
#: Falls with rarity and at night; Wheelchair is the hard one.
RECALL = {
    "Car": (0.92, 0.85),
    "Person": (0.90, 0.78),
    "Traffic sign": (0.88, 0.75),
    "Traffic light": (0.87, 0.76),
    "Truck": (0.85, 0.73),
    "Bicycle": (0.80, 0.60),
    "Bus": (0.79, 0.62),
    "Wheelchair": (0.65, 0.30),
    "Motorcycle": (0.72, 0.52),
    "Stroller": (0.66, 0.40),
}
#: Share of a class's objects the detector finds but labels as another class (x1.5 at night).
CONFUSION = {
    "Wheelchair": {"Person": 0.12, "Stroller": 0.06},
    "Stroller": {"Person": 0.10, "Wheelchair": 0.07},
    "Bicycle": {"Motorcycle": 0.08},
    "Motorcycle": {"Bicycle": 0.10},
    "Truck": {"Car": 0.06, "Bus": 0.02},
    "Bus": {"Truck": 0.06},
    "Car": {"Truck": 0.015},
    "Traffic sign": {"Traffic light": 0.01},
}
RARE = {"Bicycle", "Motorcycle", "Stroller", "Wheelchair"}
#: Confident Wheelchair false alarms on these classes (hard negatives): chance per instance.
WHEELCHAIR_ALARM = {"Person": 0.010, "Stroller": 0.10}


def detector_outcomes(rng: np.random.Generator, objects: list[tuple[str, bool]]) -> list[str | None]:
    """Per object (class, night): the label the detector gives it, or None when missed.

    Exact per (class, time of day): round(RECALL x n) found with the right label,
    round(CONFUSION x n) with each wrong one (x1.5 at night), the rest missed.
    """
    groups: dict[tuple[str, bool], list[int]] = defaultdict(list)
    for i, key in enumerate(objects):
        groups[key].append(i)
    out: list[str | None] = [None] * len(objects)
    for (name, night), members in sorted(groups.items()):
        order = rng.permutation(members).tolist()
        n = len(order)
        labels = [name] * round(RECALL[name][night] * n)
        for other, p in CONFUSION.get(name, {}).items():
            labels += [other] * round(p * (1.5 if night else 1.0) * n)
        for i, label in zip(order, labels[:n]):
            out[i] = label
    return out


def simulate_detector(rng: np.random.Generator, images: list[dict],
                      annotations: list[dict]) -> tuple[list[dict], list[str | None], list[float], Counter]:
    """COCO results; per annotation the label it was found with (None: missed); the scores of the
    Wheelchair false alarms; how many results of each kind were kept."""
    night = {im["id"]: im["time_of_day"] == "night" for im in images}
    preds: list[dict] = []
    alarms: list[float] = []
    kinds: Counter = Counter()

    def add(image_id, name, box, score, kind):
        x, y, w, h = clip_boxes(*(np.array([v]) for v in box))[0].tolist()
        score = round(float(score), 3)
        if score >= 0.05:
            preds.append({"image_id": image_id, "category_id": STREET_ID[name], "bbox": [x, y, w, h], "score": score})
            kinds[kind] += 1

    name_of = {cid: name for cid, name, _ in STREET_CLASSES}
    outcome = detector_outcomes(rng, [(name_of[a["category_id"]], night[a["image_id"]]) for a in annotations])
    for ann, label in zip(annotations, outcome):
        name, image_id = name_of[ann["category_id"]], ann["image_id"]
        is_night = night[image_id]
        x, y, w, h = ann["bbox"]
        if name in WHEELCHAIR_ALARM and rng.random() < WHEELCHAIR_ALARM[name]:
            jit = 0.05 * rng.standard_normal(4)
            alarm = rng.beta(6, 3)
            alarms.append(round(float(alarm), 3))
            add(image_id, "Wheelchair", (x + jit[0] * w, y + jit[1] * h, w * np.exp(jit[2]), h * np.exp(jit[3])), alarm,
                "wheelchair false alarm")
        if label is None:
            continue
        confused = label != name
        spread = 0.04 * (1.5 if is_night else 1.0)
        jit = spread * rng.standard_normal(4)
        box = (x + jit[0] * w, y + jit[1] * h, w * np.exp(jit[2]), h * np.exp(jit[3]))
        if confused:
            score = 0.85 * rng.beta(3, 3)
        else:
            a = (5.0 if name in RARE else 7.0) - (1.5 if is_night else 0.0)
            score = rng.beta(a, 2)
        add(image_id, label, box, max(score, 0.05), "confused" if confused else "found")
        if rng.random() < 0.02:  # a duplicate NMS left behind
            jit = 0.15 * rng.standard_normal(4)
            add(image_id, label, (x + jit[0] * w, y + jit[1] * h, w * np.exp(jit[2]), h * np.exp(jit[3])),
                score * rng.uniform(0.2, 0.6), "duplicate")
    # Background false positives, more at night; rarer classes drawn relatively more often.
    totals = np.array([sum(STREET_COUNTS[n]) for n in STREET_COUNTS], dtype=float) ** 0.5
    names = list(STREET_COUNTS)
    for im in images:
        k = rng.poisson(0.5 if night[im["id"]] else 0.3)
        for name in rng.choice(names, size=k, p=totals / totals.sum()):
            box = sample_boxes(str(name), 1, rng)[0]
            add(im["id"], str(name), box, 0.05 + 0.6 * rng.beta(1.1, 4), "background")
    preds.sort(key=lambda p: (p["image_id"], -p["score"], p["category_id"]))
    return preds, outcome, alarms, kinds


# --------------------------------------------------------------------------- surface (classification)

SURFACE_COUNTS = {"Background": 5712, "Crack": 173, "Spalling": 60, "Efflorescence": 35, "Exposed rebar": 20}
LIGHTING = ("daylight", "overcast", "artificial", "low")
LIGHTING_P = (0.40, 0.30, 0.20, 0.10)
#: Share of each class the classifier gets right in good light; in low light defects x0.7, Background x0.985.
SURFACE_ACCURACY = {"Background": 0.985, "Crack": 0.86, "Spalling": 0.72, "Efflorescence": 0.62, "Exposed rebar": 0.55}
#: When wrong, which class it says instead (relative weights).
SURFACE_MISTAKES = {
    "Background": {"Crack": 0.7, "Spalling": 0.1, "Efflorescence": 0.15, "Exposed rebar": 0.05},
    "Crack": {"Background": 0.8, "Spalling": 0.15, "Efflorescence": 0.03, "Exposed rebar": 0.02},
    "Spalling": {"Background": 0.35, "Crack": 0.35, "Exposed rebar": 0.25, "Efflorescence": 0.05},
    "Efflorescence": {"Background": 0.6, "Crack": 0.2, "Spalling": 0.2},
    "Exposed rebar": {"Spalling": 0.5, "Crack": 0.25, "Background": 0.25},
}


def generate_surface(rng: np.random.Generator, out: Path) -> dict:
    classes = list(SURFACE_COUNTS)
    labels = np.concatenate([[c] * n for c, n in SURFACE_COUNTS.items()])
    order = rng.permutation(len(labels))
    labels = labels[order]
    split = np.empty(len(labels), dtype=object)
    for c in classes:  # stratified by class: 70/15/15 of each
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_train, n_val = round(0.70 * len(idx)), round(0.15 * len(idx))
        split[idx[:n_train]] = "train"
        split[idx[n_train:n_train + n_val]] = "val"
        split[idx[n_train + n_val:]] = "test"
    lighting = rng.choice(LIGHTING, size=len(labels), p=LIGHTING_P)
    names = [f"img_{i + 1:05d}.jpg" for i in range(len(labels))]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["image", "label", "split", "lighting"])
    for row in zip(names, labels, split, lighting):
        w.writerow(row)
    write(out / "surface" / "labels.csv", buf.getvalue().encode("ascii"))

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["image", "predicted", *(f"score_{c}" for c in classes)])
    predicted = []
    for name, label, right in zip(names, labels, surface_hits(rng, labels, lighting)):
        if right:
            guess = label
        else:
            mistakes = SURFACE_MISTAKES[label]
            p = np.array(list(mistakes.values()))
            guess = str(rng.choice(list(mistakes), p=p / p.sum()))
        top = 0.35 + 0.64 * rng.beta(6 if guess == label else 2.5, 2)
        rest = rng.dirichlet(np.full(len(classes) - 1, 0.6)) * (1 - top)
        others = [c for c in classes if c != guess]
        scores = dict(zip(others, rest))
        scores[guess] = top
        if guess != label and scores[label] < (1 - top) * 0.5:  # the true class is usually the runner-up
            give = (1 - top) * 0.5 - scores[label]
            for c in others:
                if c != label:
                    scores[c] -= give * scores[c] / max(sum(scores[o] for o in others if o != label), 1e-9)
            scores[label] += give
        t = dict(zip(classes, to_thousandths([scores[c] for c in classes])))
        rival = max(others, key=t.__getitem__)
        if t[rival] >= t[guess]:  # keep the intended class on top
            t[guess], t[rival] = t[rival], t[guess]
            if t[guess] == t[rival]:
                t[guess], t[rival] = t[guess] + 1, t[rival] - 1
        predicted.append(guess)
        w.writerow([name, guess, *(f"{t[c] / 1000:.3f}" for c in classes)])
    write(out / "surface" / "predictions.csv", buf.getvalue().encode("ascii"))
    return {"names": names, "labels": labels.tolist(), "split": split.tolist(), "lighting": lighting.tolist(),
            "predicted": predicted}


def surface_hits(rng: np.random.Generator, labels: np.ndarray, lighting: np.ndarray) -> np.ndarray:
    """Which images the classifier gets right: exactly round(accuracy x n) per (class, low light or not)."""
    right = np.zeros(len(labels), dtype=bool)
    low = lighting == "low"
    for label in SURFACE_COUNTS:
        for dark in (False, True):
            members = rng.permutation(np.flatnonzero((labels == label) & (low == dark)))
            accuracy = SURFACE_ACCURACY[label] * ((0.985 if label == "Background" else 0.7) if dark else 1.0)
            right[members[:round(accuracy * len(members))]] = True
    return right


def to_thousandths(p: list[float]) -> list[int]:
    """Probabilities as whole thousandths summing to exactly 1000 (largest remainder)."""
    p = np.asarray(p, dtype=float)
    p = p / p.sum() * 1000
    base = np.floor(p).astype(int)
    short = 1000 - int(base.sum())
    for i in np.argsort(-(p - base), kind="stable")[:short]:
        base[i] += 1
    return base.tolist()


# --------------------------------------------------------------------------- lanes (segmentation)

LANE_CLASSES = ["road", "sidewalk", "lane_solid", "lane_dashed", "crosswalk", "arrow"]  # COCO id = index + 1
LANE_SUPER = {"road": "surface", "sidewalk": "surface", "lane_solid": "marking", "lane_dashed": "marking",
              "crosswalk": "marking", "arrow": "marking"}


class Scene:
    """A road seen from a car: markings live in road coordinates and are projected to pixels.

    ``f`` runs across the road (0 = left edge, 1 = right edge), ``d`` is the distance ahead in
    metres; ``d = near`` is the bottom row of the image and the horizon is infinitely far.
    """

    def __init__(self, rng: np.random.Generator):
        self.horizon = rng.uniform(335, 390)
        self.vanish = rng.uniform(560, 720)
        self.left = rng.uniform(-420, 40)
        self.right = rng.uniform(1240, 1700)
        self.curve = rng.uniform(-1, 1) * 160
        self.near = 4.0
        self.top = self.horizon + 10  # the road drawn from here down

    def y(self, d):
        return self.horizon + (self.near / np.asarray(d, dtype=float)) * (HEIGHT - self.horizon)

    def x(self, f, y):
        t = (np.asarray(y, dtype=float) - self.horizon) / (HEIGHT - self.horizon)
        xl = self.vanish + (self.left - self.vanish) * t
        xr = self.vanish + (self.right - self.vanish) * t
        return xl + np.asarray(f, dtype=float) * (xr - xl) + self.curve * (1 - t) ** 2

    def band(self, f0, f1, y0, y1, steps: int = 8) -> np.ndarray:
        """Polygon between road positions f0 and f1 from row y0 (far) to y1 (near), clipped to the frame."""
        t = np.linspace(0, 1, steps) ** 1.6  # more vertices far away, where the curve bends
        ys = y0 + (y1 - y0) * t
        left = np.stack([self.x(f0, ys), ys], 1)
        right = np.stack([self.x(f1, ys[::-1]), ys[::-1]], 1)
        return clip_polygon(np.concatenate([left, right]))

    def patch(self, f0, f1, d0, d1) -> np.ndarray:
        """Quadrilateral between road positions f0..f1 and distances d0 (near) .. d1 (far)."""
        y_near, y_far = float(self.y(d0)), float(self.y(d1))
        pts = np.array([[self.x(f0, y_far), y_far], [self.x(f1, y_far), y_far],
                        [self.x(f1, y_near), y_near], [self.x(f0, y_near), y_near]])
        return clip_polygon(pts)

    def d_of_y(self, y):
        return self.near * (HEIGHT - self.horizon) / (np.asarray(y, dtype=float) - self.horizon)


def clip_polygon(pts: np.ndarray) -> np.ndarray:
    """Sutherland-Hodgman clip of a polygon to the image rectangle."""
    def clip(points, inside, cross):
        out = []
        for i in range(len(points)):
            cur, prev = points[i], points[i - 1]
            if inside(cur):
                if not inside(prev):
                    out.append(cross(prev, cur))
                out.append(cur)
            elif inside(prev):
                out.append(cross(prev, cur))
        return out

    def at_x(xv):
        return lambda p, q: (xv, p[1] + (q[1] - p[1]) * (xv - p[0]) / (q[0] - p[0]))

    def at_y(yv):
        return lambda p, q: (p[0] + (q[0] - p[0]) * (yv - p[1]) / (q[1] - p[1]), yv)

    points = [tuple(p) for p in pts]
    for inside, cross in ((lambda p: p[0] >= 0, at_x(0.0)), (lambda p: p[0] <= WIDTH, at_x(float(WIDTH))),
                          (lambda p: p[1] >= 0, at_y(0.0)), (lambda p: p[1] <= HEIGHT, at_y(float(HEIGHT)))):
        if not points:
            break
        points = clip(points, inside, cross)
    return np.array(points, dtype=float).reshape(-1, 2)


def polygon_ok(poly: np.ndarray) -> bool:
    if len(poly) < 3:
        return False
    x, y = poly[:, 0], poly[:, 1]
    return abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2 >= 1.0


def flat(poly: np.ndarray) -> list[float]:
    return r1(poly.reshape(-1))


def lane_scene(rng: np.random.Generator) -> tuple[Scene, list[tuple[str, list[np.ndarray]]], dict]:
    """One image's ground truth: (class, polygons) per instance, and the markings' parameters."""
    s = Scene(rng)
    inst: list[tuple[str, list[np.ndarray]]] = [("road", [s.band(0, 1, s.top, HEIGHT, 8)])]
    for side in (0, 1):
        if rng.random() < 0.7:
            width = rng.uniform(0.15, 0.32)
            f0, f1 = (-width, 0.0) if side == 0 else (1.0, 1 + width)
            inst.append(("sidewalk", [s.band(f0, f1, s.top + 4, HEIGHT, 6)]))
    bottom_width = s.right - s.left
    n_lanes = int(rng.choice([2, 3, 4], p=[0.35, 0.45, 0.2]))
    lines = []
    for k in range(n_lanes + 1):
        f = 0.025 + 0.95 * k / n_lanes
        outer = k in (0, n_lanes)
        kind = "lane_solid" if outer or (n_lanes == 2 and rng.random() < 0.4) else "lane_dashed"
        half = rng.uniform(8, 12) / bottom_width / 2  # 8-12 px wide at the bottom row
        lines.append((kind, f, half, s.near - 3 + rng.uniform(0, 12)))
    markings = {"lines": lines, "crosswalk": None, "arrow": None}
    for kind, f, half, phase in lines:
        polys = line_polygons(s, kind, f, half, phase, rng)
        if polys:
            inst.append((kind, polys))
    if rng.random() < 0.25:
        d0 = rng.uniform(7, 16)
        markings["crosswalk"] = d0
        inst.append(("crosswalk", crosswalk_polygons(s, d0, keep=None, rng=rng)))
    if rng.random() < 0.22 and n_lanes >= 2:
        lane = int(rng.integers(0, n_lanes))
        f = 0.025 + 0.95 * (lane + 0.5) / n_lanes
        d0 = rng.uniform(6, 12)
        markings["arrow"] = (f, d0, 0.95 / n_lanes)
        inst.append(("arrow", [arrow_polygon(s, f, d0, 0.95 / n_lanes)]))
    inst = [(c, [p for p in polys if polygon_ok(p)]) for c, polys in inst]
    return s, [(c, polys) for c, polys in inst if polys], markings


def line_polygons(s: Scene, kind: str, f: float, half: float, phase: float, rng: np.random.Generator,
                  far_y: float | None = None, keep_dash: float = 1.0) -> list[np.ndarray]:
    """A marking line at road position ``f``, ``2 * half`` wide: one strip, or 3 m dashes every 12 m from ``phase``."""
    far_y = s.top + 2 if far_y is None else far_y
    if kind == "lane_solid":
        return [s.band(f - half, f + half, far_y, HEIGHT, 8)]
    polys = []
    d_far = float(s.d_of_y(far_y))
    d = phase
    while d < d_far:
        near_end, far_end = max(d, s.near), min(d + 3, d_far)
        if far_end - near_end > 0.3 and rng.random() < keep_dash:
            polys.append(s.patch(f - half, f + half, near_end, far_end))
        d += 12
    return [p for p in polys if polygon_ok(p)]


def crosswalk_polygons(s: Scene, d0: float, keep: float | None, rng: np.random.Generator) -> list[np.ndarray]:
    polys = []
    stripes = 14
    for j in range(stripes):
        if keep is not None and rng.random() > keep:
            continue
        f0 = 0.04 + 0.92 * j / stripes
        polys.append(s.patch(f0, f0 + 0.92 / stripes / 2, d0, d0 + 3))
    return polys


def arrow_polygon(s: Scene, f: float, d0: float, lane_width: float) -> np.ndarray:
    """A straight-ahead arrow 5 m long in the middle of a lane, as one 7-point polygon."""
    shaft, head = lane_width * 0.06, lane_width * 0.18
    pts_fd = [(f - shaft, d0), (f + shaft, d0), (f + shaft, d0 + 3.2), (f + head, d0 + 3.2), (f, d0 + 5),
              (f - head, d0 + 3.2), (f - shaft, d0 + 3.2)]
    ys = [float(s.y(d)) for _, d in pts_fd]
    pts = np.array([[float(s.x(fv, yv)), yv] for (fv, _), yv in zip(pts_fd, ys)])
    return clip_polygon(pts)


def lane_predictions(s: Scene, gt: list[tuple[str, list[np.ndarray]]], markings: dict, night: bool,
                     rng: np.random.Generator) -> list[tuple[str, list[np.ndarray], float]]:
    """A segmentation model's instances: road nearly right, markings thinned, shortened or missed."""
    out = []
    for cls, polys in gt:
        if cls == "road":
            e0, e1 = rng.normal(0, 0.01, 2)
            out.append(("road", [s.band(e0, 1 + e1, s.top + rng.normal(0, 4), HEIGHT, 8)], rng.uniform(0.93, 0.99)))
        elif cls == "sidewalk":
            if rng.random() < (0.92 if not night else 0.84):
                jitter = rng.normal(0, 2.4, polys[0].shape)  # pixels, per vertex
                out.append(("sidewalk", [clip_polygon(polys[0] + jitter)], rng.uniform(0.72, 0.95)))
    for kind, f, half, phase in markings["lines"]:
        recall = {"lane_solid": (0.86, 0.64), "lane_dashed": (0.72, 0.45)}[kind][night]
        if rng.random() >= recall:
            continue
        label = kind
        if rng.random() < (0.08 if kind == "lane_solid" else 0.10):
            label = "lane_dashed" if kind == "lane_solid" else "lane_solid"
        thin = half * rng.uniform(0.45, 0.8)
        far_y = s.top + rng.uniform(0.08, 0.35 if not night else 0.5) * (HEIGHT - s.top)
        f_hat = f + rng.normal(0, 0.0008)
        polys = line_polygons(s, kind, f_hat, thin, phase + rng.normal(0, 0.15), rng, far_y=far_y, keep_dash=0.8)
        if polys:
            score = rng.uniform(0.45, 0.9) - (0.12 if night else 0.0) - (0.1 if label != kind else 0.0)
            out.append((label, polys, score))
    if markings["crosswalk"] is not None and rng.random() < (0.8 if not night else 0.6):
        polys = crosswalk_polygons(s, markings["crosswalk"] + rng.normal(0, 0.2), keep=0.9, rng=rng)
        if polys:
            out.append(("crosswalk", polys, rng.uniform(0.55, 0.92)))
    if markings["arrow"] is not None and rng.random() < (0.6 if not night else 0.4):
        f, d0, lw = markings["arrow"]
        out.append(("arrow", [arrow_polygon(s, f + rng.normal(0, 0.004), d0 + rng.normal(0, 0.2), lw * 0.85)],
                    rng.uniform(0.3, 0.85)))
    if rng.random() < 0.12:  # a dashed line hallucinated on plain road
        f = rng.uniform(0.2, 0.8)
        polys = line_polygons(s, "lane_dashed", f, 4 / (s.right - s.left), s.near + rng.uniform(-3, 9), rng,
                              far_y=s.top + 0.4 * (HEIGHT - s.top), keep_dash=0.6)
        if polys:
            out.append(("lane_dashed", polys, rng.uniform(0.08, 0.4)))
    cleaned = []
    for cls, polys, score in out:
        polys = [p for p in polys if polygon_ok(p)]
        if polys and score >= 0.05:
            cleaned.append((cls, polys, round(float(score), 3)))
    return cleaned


def mask_rle(polys: list[np.ndarray]) -> dict:
    """Merged RLE of polygons (pycocotools), frPyObjects / merge in chunks of at most 255."""
    from pycocotools import mask as mask_utils

    flat_polys = [flat(p) for p in polys]
    parts = []
    for i in range(0, len(flat_polys), 255):
        rles = mask_utils.frPyObjects(flat_polys[i:i + 255], HEIGHT, WIDTH)
        parts.append(mask_utils.merge(rles))
    return mask_utils.merge(parts) if len(parts) > 1 else parts[0]


def semantic_mask(instances: list[tuple[str, list[np.ndarray]]]):
    """Class index per pixel at half resolution (640x360, a Pillow "L" image), surfaces first, markings on top."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (WIDTH // 2, HEIGHT // 2), 0)
    draw = ImageDraw.Draw(img)
    for cls in LANE_CLASSES:
        for c, polys in instances:
            if c != cls:
                continue
            for p in polys:
                draw.polygon([(float(x) / 2, float(y) / 2) for x, y in np.round(p, 1)], fill=LANE_CLASSES.index(c) + 1)
    return img


def png_bytes(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def generate_lanes(rng: np.random.Generator, out: Path, n_images: int = 150) -> dict:
    from pycocotools import mask as mask_utils

    tod = np.where(rng.random(n_images) < 0.7, "day", "night")
    weather = rng.choice(["clear", "rain", "fog"], size=n_images, p=[0.6, 0.25, 0.15])
    split = np.empty(n_images, dtype=object)
    for t in ("day", "night"):  # 70/15/15 within day and within night
        idx = rng.permutation(np.flatnonzero(tod == t))
        n_train, n_val = round(0.70 * len(idx)), round(0.15 * len(idx))
        split[idx[:n_train]], split[idx[n_train:n_train + n_val]], split[idx[n_train + n_val:]] = "train", "val", "test"
    images, annotations, predictions = [], [], []
    mask_hits: dict[tuple[str, int], np.ndarray] = defaultdict(lambda: np.zeros(2, dtype=np.int64))
    for i in range(n_images):
        stem = f"lane_{i + 1:04d}"
        images.append({"id": i + 1, "file_name": f"{stem}.jpg", "width": WIDTH, "height": HEIGHT,
                       "split": str(split[i]), "time_of_day": str(tod[i]), "weather": str(weather[i])})
        scene, gt, markings = lane_scene(rng)
        for cls, polys in gt:
            rle = mask_rle(polys)
            annotations.append({
                "id": len(annotations) + 1,
                "image_id": i + 1,
                "category_id": LANE_CLASSES.index(cls) + 1,
                "segmentation": [flat(p) for p in polys],
                "area": int(mask_utils.area(rle)),
                "bbox": r1(mask_utils.toBbox(rle)),
                "iscrowd": 0,
            })
        preds = lane_predictions(scene, gt, markings, tod[i] == "night", rng)
        for cls, polys, score in preds:
            rle = mask_rle(polys)
            predictions.append({
                "image_id": i + 1,
                "category_id": LANE_CLASSES.index(cls) + 1,
                "segmentation": {"size": [HEIGHT, WIDTH], "counts": rle["counts"].decode("ascii")},
                "score": score,
            })
        gt_mask = semantic_mask(gt)
        pred_mask = semantic_mask([(c, p) for c, p, s in preds if s >= 0.5])
        write(out / "lanes" / "masks" / f"{stem}.png", png_bytes(gt_mask))
        write(out / "lanes" / "pred_masks" / f"{stem}.png", png_bytes(pred_mask))
        g, q = np.asarray(gt_mask), np.asarray(pred_mask)
        for k in range(1, len(LANE_CLASSES) + 1):  # pixel recall of the semantic masks, per time of day
            mask_hits[str(tod[i]), k] += np.array([(g == k).sum(), ((g == k) & (q == k)).sum()])
    categories = [{"id": k + 1, "name": c, "supercategory": LANE_SUPER[c]} for k, c in enumerate(LANE_CLASSES)]
    coco = {
        "info": {"description": "imbal sample: lane and road segmentation (synthetic)", "version": "1.0", "year": 2026},
        "licenses": [],
        "categories": categories,
        "images": images,
        "annotations": annotations,
    }
    write(out / "lanes" / "annotations.json", dump_json(coco))
    write(out / "lanes" / "predictions.json", dump_json(predictions))
    write(out / "lanes" / "classes.txt", ("\n".join(["background", *LANE_CLASSES]) + "\n").encode("ascii"))
    return {"images": images, "annotations": annotations, "predictions": predictions, "mask_hits": dict(mask_hits)}


# --------------------------------------------------------------------------- street_daily (quota story)

WORK_DAYS = [date(2026, 11, 16) + timedelta(days=k) for k in range(12) if (date(2026, 11, 16) + timedelta(days=k)).weekday() < 5]
#: Instances a labeller makes on a normal day.
THROUGHPUT = {"ana": 115, "ben": 98, "chen": 86, "dara": 70, "eli": 55}
#: Team pace per working day: learning the guidelines in week one, a push on the last Friday.
DAY_FACTOR = [0.74, 0.77, 0.79, 0.81, 0.85, 0.89, 0.91, 0.99, 1.11, 1.32]
ABSENT = {(6, "dara"), (8, "chen")}  # (day index, labeller)
INSTANCES_PER_FRAME = 6.5
#: The rare-class push: Wheelchair per day (slowing as candidate frames run out), Bicycle per day.
WHEELCHAIR_PER_DAY = [34, 31, 29, 27, 25, 23, 22, 21, 20, 20]
BICYCLE_PER_DAY = [30, 32, 35, 36, 38, 30, 37, 38, 40, 36]
#: The rest of each day's instances, by class.
DAILY_MIX = {"Car": 0.40, "Person": 0.30, "Traffic sign": 0.09, "Traffic light": 0.07, "Truck": 0.06,
             "Bus": 0.035, "Motorcycle": 0.03, "Stroller": 0.015}
QUOTA_TARGETS = {"Bicycle": 500, "Wheelchair": 600}
QUOTA_DATE = date(2026, 12, 10)


def generate_street_daily(rng: np.random.Generator, out: Path) -> dict:
    drives: list[dict] = []
    split_have = Counter()

    def new_drive() -> dict:
        frames = int(rng.integers(20, 61))
        total = sum(split_have.values()) + frames
        split = max(SPLIT_SHARES, key=lambda s: SPLIT_SHARES[s] * total - split_have[s])
        split_have[split] += frames
        d = {"sequence": f"drive_{len(drives):03d}", "frames": frames, "next": 0, "split": split,
             "time_of_day": "night" if rng.random() < 0.3 else "day",
             "weather": str(rng.choice(["clear", "rain", "fog", "snow"], p=[0.6, 0.2, 0.08, 0.12])),
             "camera": f"cam_{int(rng.integers(1, 6))}",
             "type": str(rng.choice(DRIVE_TYPES[:2], p=(0.65, 0.35))),  # the push skips highway drives
             "density": float(rng.gamma(4.0, 0.25))}
        drives.append(d)
        return d

    current: dict[str, dict] = {}
    images, annotations = [], []
    day_of_image = []
    for k, day in enumerate(WORK_DAYS):
        # Which frames each labeller takes today: the next frames of their own drive.
        todays: list[tuple[str, dict]] = []  # (labeller, image)
        budgets: dict[str, float] = {}
        for who, rate in THROUGHPUT.items():
            if (k, who) in ABSENT:
                continue
            budget = rate * DAY_FACTOR[k] * np.exp(rng.normal(0, 0.1))
            budgets[who] = budget
            for _ in range(max(1, round(budget / INSTANCES_PER_FRAME))):
                d = current.get(who)
                if d is None or d["next"] >= d["frames"]:
                    d = current[who] = new_drive()
                image = {"sequence": d["sequence"], "frame": d["next"], "drive": d}
                d["next"] += 1
                todays.append((who, image))
        total = sum(round(THROUGHPUT[w] * DAY_FACTOR[k]) for w in THROUGHPUT if (k, w) not in ABSENT)
        counts = {"Wheelchair": WHEELCHAIR_PER_DAY[k], "Bicycle": BICYCLE_PER_DAY[k]}
        rest = total - sum(counts.values())
        mix = np.array(list(DAILY_MIX.values()))
        counts.update(zip(DAILY_MIX, rng.multinomial(rest, mix / mix.sum()).tolist()))
        per_image = daily_instances(todays, budgets, counts, rng)
        # Timestamps: each labeller works a ~8 h day (UTC), annotations in the order of their frames.
        by_who: dict[str, list[int]] = defaultdict(list)
        for j, (who, _) in enumerate(todays):
            by_who[who].append(j)
        stamps: dict[int, list[datetime]] = {}
        for who, js in by_who.items():
            n = sum(len(per_image[j]) for j in js)
            start = datetime(day.year, day.month, day.day, 8, tzinfo=timezone.utc) + timedelta(minutes=float(rng.uniform(0, 50)))
            seconds = np.sort(rng.uniform(0, rng.uniform(7.3, 8.6) * 3600, n))
            times = [start + timedelta(seconds=int(s)) for s in seconds]
            pos = 0
            for j in js:
                stamps[j] = times[pos:pos + len(per_image[j])]
                pos += len(per_image[j])
        order = sorted(range(len(todays)), key=lambda j: (stamps[j][0], j))
        for j in order:
            who, im = todays[j]
            d = im["drive"]
            image_id = len(images) + 1
            first = stamps[j][0]
            images.append({
                "id": image_id, "file_name": f"{d['sequence']}_{im['frame']:03d}.jpg", "width": WIDTH, "height": HEIGHT,
                "split": d["split"], "sequence": d["sequence"], "time_of_day": d["time_of_day"],
                "weather": d["weather"], "camera": d["camera"], "annotated_at": iso(first), "annotator": who,
            })
            day_of_image.append(k)
            for (name, box), when in zip(per_image[j], stamps[j]):
                x, y, x2, y2 = (round(v) for v in (box[0], box[1], box[0] + box[2], box[1] + box[3]))
                w, h = x2 - x, y2 - y
                annotations.append({
                    "id": len(annotations) + 1, "image_id": image_id, "category_id": STREET_ID[name],
                    "bbox": [x, y, w, h], "annotated_at": iso(when), "annotator": who,
                })
    categories = [{"id": cid, "name": name, "supercategory": sup} for cid, name, sup in STREET_CLASSES]
    day_of_ann = [day_of_image[a["image_id"] - 1] for a in annotations]
    for k, day in enumerate(WORK_DAYS):
        coco = {
            "info": {"description": f"imbal sample: street annotation project, export of {day.isoformat()} (synthetic)",
                     "version": f"day{k + 1:02d}", "date_created": f"{day.isoformat()}T18:00:00Z"},
            "categories": categories,
            "images": [im for im, dk in zip(images, day_of_image) if dk <= k],
            "annotations": [a for a, dk in zip(annotations, day_of_ann) if dk <= k],
        }
        write(out / "street_daily" / f"day{k + 1:02d}.json", dump_json(coco))
    return {"images": images, "annotations": annotations, "day_of_ann": day_of_ann, "day_of_image": day_of_image}


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def daily_instances(todays: list[tuple[str, dict]], budgets: dict[str, float], counts: dict[str, int],
                    rng: np.random.Generator) -> list[list]:
    """Spread the day's class counts over its frames; every frame ends up with at least one box.

    Each labeller's expected share of every class is their share of the day's budget.
    """
    n = len(todays)
    frame = rng.gamma(2.0, 0.5, n)
    per_image: list[list] = [[] for _ in range(n)]
    for name, count in counts.items():
        aff = np.array([AFFINITY[name][DRIVE_TYPES.index(im["drive"]["type"])] for _, im in todays])
        night = np.array([im["drive"]["time_of_day"] == "night" for _, im in todays])
        factor = np.where(night, {"Wheelchair": 0.15, "Stroller": 0.4}.get(name, 1.0), 1.0)
        w = frame * aff * factor * np.array([im["drive"]["density"] for _, im in todays]) * rng.gamma(1.5, 1 / 1.5, n)
        for who, budget in budgets.items():
            mine = np.array([w_ == who for w_, _ in todays])
            if w[mine].sum() > 0:
                w[mine] *= budget / w[mine].sum()
        boxes = sample_boxes(name, count, rng)
        which = np.repeat(np.arange(n), rng.multinomial(count, w / w.sum()))
        for j, box in zip(which.tolist(), boxes.tolist()):
            per_image[j].append((name, box))
    for j in range(n):  # an empty frame takes a Car from the frame with the most
        if not per_image[j]:
            donor = max(range(n), key=lambda i: sum(1 for c, _ in per_image[i] if c == "Car"))
            moved = next(k for k, (c, _) in enumerate(per_image[donor]) if c == "Car")
            per_image[j].append(per_image[donor].pop(moved))
    for j in range(n):
        per_image[j].sort(key=lambda item: STREET_ID[item[0]])
    return per_image


# --------------------------------------------------------------------------- README


def num(n: float) -> str:
    return f"{n:,}"


def pct(part: float, whole: float, digits: int = 1) -> str:
    return f"{100 * part / whole:.{digits}f}%" if whole else "n/a"


def table(header: list[str], rows: list[list], text_columns: int = 1) -> str:
    """A Markdown table; the first ``text_columns`` columns align left, the numbers right."""
    align = [" --- "] * text_columns + [" ---: "] * (len(header) - text_columns)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def share_list(values: list[str]) -> str:
    counts = Counter(values)
    return ", ".join(f"{k} {num(v)} ({pct(v, len(values), 0)})" for k, v in counts.most_common())


README_HEAD = """# Sample data

Small, synthetic, realistic exports that the dashboard opens by default and every feature
demonstrates on. Each one has a pattern planted on purpose; the figures below are computed from
the files themselves.

**Generated, do not edit by hand**: this page and every file here come from `generate.py`
(one script, seed {seed} through `numpy.random.default_rng`, deterministic: two runs give
byte-identical files). To change a sample, change the script and regenerate:

```
make samples                                   # = .venv/bin/python sample_data/generate.py
.venv/bin/python sample_data/generate.py --out /tmp/samples   # somewhere else
```

`tests/test_samples.py` regenerates into a temporary folder and compares byte for byte, keeps
the total under 10 MB, and checks each planted pattern through `imbal_core.load`. No images ship:
the exports name files (`drive_000_000.jpg` ...) that do not exist."""


def readme_street(f: dict) -> str:
    images, anns, drives = f["images"], f["annotations"], f["drives"]
    tod = {im["id"]: im["time_of_day"] for im in images}
    split = {im["id"]: im["split"] for im in images}
    name_of = {cid: name for cid, name, _ in STREET_CLASSES}
    cells: Counter = Counter()
    found: Counter = Counter()
    for a, label in zip(anns, f["outcome"]):
        name = name_of[a["category_id"]]
        cells[name] += 1
        cells[name, tod[a["image_id"]]] += 1
        cells[name, split[a["image_id"]]] += 1
        found[name, tod[a["image_id"]]] += label == name
    day_total = sum(cells[n, "day"] for n in STREET_COUNTS)
    night_total = sum(cells[n, "night"] for n in STREET_COUNTS)
    order = sorted(STREET_COUNTS, key=lambda n: -cells[n])
    rows = [[n, STREET_ID[n], dict((c[1], c[2]) for c in STREET_CLASSES)[n], num(cells[n]), num(cells[n, "day"]),
             num(cells[n, "night"]), num(cells[n, "train"]), num(cells[n, "val"]), num(cells[n, "test"]),
             f"{found[n, 'day'] / cells[n, 'day']:.2f} / {found[n, 'night'] / cells[n, 'night']:.2f}"] for n in order]
    rows.append(["**all**", "", "", num(len(anns)), num(day_total), num(night_total),
                 *(num(sum(cells[n, s] for n in STREET_COUNTS)) for s in SPLIT_SHARES), ""])
    empty = len(images) - len({a["image_id"] for a in anns})
    wc_day, wc_night = cells["Wheelchair", "day"], cells["Wheelchair", "night"]
    kinds, alarms = f["kinds"], f["alarms"]
    confusions = "; ".join(f"{a} as {', '.join(b)}" for a, b in CONFUSION.items())
    return f"""## street/ — detection (COCO boxes)

`annotations.json`: {num(len(images))} images of 1280x720 in {len(drives)} drives (image field `sequence`
drive_000 ...: 20–60 consecutive frames; each drive has one `time_of_day`, `weather` and `camera`),
{num(len(anns))} boxes (`segmentation: []`, `area` = w x h, `iscrowd` 0), 10 classes in three
supercategories, with COCO ids that are **not contiguous** (1, 2, 3, 4, 6, 7, 8, 10, 11, 13).

- `split` is assigned per drive, so no drive straddles splits: {share_list([im["split"] for im in images])} of images.
- `time_of_day`: {share_list([im["time_of_day"] for im in images])}.
- `weather`: {share_list([im["weather"] for im in images])}.
- `camera`: {share_list([im["camera"] for im in images])}.
- {num(empty)} images have no annotations. Every class is present in every split.

{table(["class", "id", "supercategory", "instances", "day", "night", "train", "val", "test", "recall day / night"], rows, 3)}

**Planted hidden gap: Wheelchair is {pct(wc_day, day_total, 2)} of daytime instances ({wc_day} of {num(day_total)})
but {pct(wc_night, night_total, 2)} of night instances ({wc_night} of {num(night_total)})**, while its
overall count ({wc_day + wc_night}, {pct(wc_day + wc_night, len(anns))} of instances) looks merely rare.
Drives also differ in kind (urban / suburban / highway): highway drives have almost no people.

`predictions.json`: {num(sum(kinds.values()))} COCO results (`image_id`, `category_id`, `bbox`, `score`; scores
>= 0.05, 3 decimals) from a simulated detector that is weaker on rare classes and at night.
For each class and time of day exactly the recall in the table is found with the right label
(boxes jittered by about 4% of their size, 6% at night); another share is found with a wrong
label ({confusions}; x1.5 at night), the rest is missed.
Results by kind: {num(kinds["found"])} true detections (scores mostly 0.6–0.99, lower for rare classes
and at night), {num(kinds["confused"])} class confusions (scores around 0.4), {num(kinds["duplicate"])} duplicate
boxes, {num(kinds["background"])} background false positives (scores mostly below 0.3) and
**{num(kinds["wheelchair false alarm"])} confident Wheelchair false alarms on Persons and Strollers**
(hard negatives; median score {float(np.median(alarms)):.2f}, {sum(a >= 0.5 for a in alarms)} at 0.5 or above)."""


def readme_surface(f: dict) -> str:
    labels, split, light, predicted = f["labels"], f["split"], f["lighting"], f["predicted"]
    counts = Counter(labels)
    rows = []
    for c in SURFACE_COUNTS:
        idx = [i for i, lab in enumerate(labels) if lab == c]
        low = [i for i in idx if light[i] == "low"]
        rows.append([c, num(counts[c]), *(num(sum(split[i] == s for i in idx)) for s in SPLIT_SHARES),
                     f"{sum(predicted[i] == c for i in idx) / len(idx):.2f}",
                     f"{sum(predicted[i] == c for i in low) / len(low):.2f} ({len(low)})" if low else "n/a"])
    return f"""## surface/ — classification (CSV)

`labels.csv` (`image,label,split,lighting`): {num(len(labels))} images (`img_00001.jpg` ...), one label each.
The classic inspection case: **Background : Crack = {counts["Background"]} : {counts["Crack"]} =
{counts["Background"] / counts["Crack"]:.1f} : 1**, plus three rarer defects. Splits are stratified by class
(70/15/15 of each class); `lighting`: {share_list(light)}.

`predictions.csv` (`image,predicted,score_Background,score_Crack,...`): a classifier's scores per class
(3 decimals, each row sums to exactly 1; `predicted` is the highest), weaker on the rare classes and in
low light.

{table(["class", "images", "train", "val", "test", "accuracy", "accuracy in low light (images)"], rows)}"""


def readme_lanes(f: dict) -> str:
    images, anns, preds, hits = f["images"], f["annotations"], f["predictions"], f["mask_hits"]
    pixels: Counter = Counter()
    inst: Counter = Counter()
    holders: dict[int, set] = defaultdict(set)
    for a in anns:
        pixels[a["category_id"]] += a["area"]
        inst[a["category_id"]] += 1
        holders[a["category_id"]].add(a["image_id"])
    total = sum(pixels.values())
    pred_count = Counter(p["category_id"] for p in preds)
    rows = []
    for k, c in enumerate(LANE_CLASSES, start=1):
        recall = []
        for t in ("day", "night"):
            gt, hit = hits.get((t, k), (0, 0))
            recall.append(f"{hit / gt:.2f}" if gt else "n/a")
        rows.append([c, k, num(inst[k]), num(len(holders[k])), num(pixels[k]), pct(pixels[k], total, 2),
                     num(pred_count[k]), " / ".join(recall)])
    return f"""## lanes/ — segmentation (COCO polygons, RLE results, PNG masks)

`annotations.json`: {len(images)} images of 1280x720 (`split`: {share_list([im["split"] for im in images])};
`time_of_day`: {share_list([im["time_of_day"] for im in images])}; `weather`:
{share_list([im["weather"] for im in images])}), {num(len(anns))} polygon instances. A road seen from a car:
one large road polygon per image, sidewalks beside it, and thin markings — solid and dashed lane lines
8–12 px wide at the bottom row, thinning with distance (a dashed line is one instance of many dashes),
crosswalks and arrows in some images. `area` is the mask area (pycocotools), so pixel counts are exact.
**Road pixels dominate ({pct(pixels[1], total)} of annotated pixels); the lane lines are thin
(lane_solid {pct(pixels[3], total, 2)}, lane_dashed {pct(pixels[4], total, 2)}).**

`predictions.json`: {num(len(preds))} COCO results with `segmentation` as RLE (pycocotools, `counts` as text)
and a `score`, from a model that finds the road almost perfectly but misses, thins and shortens lane
markings (more at night) and now and then confuses solid with dashed or hallucinates a dashed line.

`masks/<stem>.png` and `pred_masks/<stem>.png`: semantic masks at half resolution (640x360, one channel,
pixel = class index, 0 = background; drawn road, sidewalk, then markings on top); `pred_masks` holds the
predictions scored 0.5 or more. `classes.txt`: line i names index i (line 0 `background`).

{table(["class", "id / index", "instances", "images", "pixels", "share of pixels", "predicted", "pixel recall day / night"], rows)}

Pixel recall is measured on the half-resolution semantic masks (`masks` vs `pred_masks`)."""


def readme_daily(f: dict) -> str:
    images, anns, day_of_ann, day_of_image = f["images"], f["annotations"], f["day_of_ann"], f["day_of_image"]
    name_of = {cid: name for cid, name, _ in STREET_CLASSES}
    rows = []
    cum: Counter = Counter()
    daily_wc, daily_bike = [], []
    for k, day in enumerate(WORK_DAYS):
        new = [a for a, d in zip(anns, day_of_ann) if d == k]
        c = Counter(name_of[a["category_id"]] for a in new)
        who = Counter(a["annotator"] for a in new)
        cum.update(c)
        daily_wc.append(c["Wheelchair"])
        daily_bike.append(c["Bicycle"])
        rows.append([f"day{k + 1:02d}.json", day.strftime("%a %Y-%m-%d"), num(sum(d <= k for d in day_of_image)),
                     num(len(new)), num(sum(cum.values())), f"{c['Wheelchair']} / {cum['Wheelchair']}",
                     f"{c['Bicycle']} / {cum['Bicycle']}", ", ".join(f"{w} {n}" for w, n in sorted(who.items()))])
    per_labeller = Counter(a["annotator"] for a in anns)
    clock = sorted(a["annotated_at"][11:16] for a in anns)
    first_time, last_time = clock[0], clock[-1]
    left = sum(1 for k in range(1, (QUOTA_DATE - WORK_DAYS[-1]).days + 1)
               if (WORK_DAYS[-1] + timedelta(days=k)).weekday() < 5)
    story = []
    for name, daily in (("Bicycle", daily_bike), ("Wheelchair", daily_wc)):
        pace = sum(daily[-5:]) / 5
        story.append(f"- **{name}**: {cum[name]} by {WORK_DAYS[-1].isoformat()}, last-5-day pace {pace:.1f}/day, "
                     f"daily {', '.join(map(str, daily))} -> about {cum[name] + pace * left:.0f} by "
                     f"{QUOTA_DATE.isoformat()} against a target of {QUOTA_TARGETS[name]} "
                     f"({'on track' if cum[name] + pace * left >= QUOTA_TARGETS[name] else 'well short'}).")
    story_text = "\n".join(story)
    return f"""## street_daily/ — an annotation project, day by day (COCO, cumulative)

Ten exports of a street-like project (same classes, ids and image fields as `street/`) as it grew over
ten working days, {WORK_DAYS[0].strftime("%a %Y-%m-%d")} to {WORK_DAYS[-1].strftime("%a %Y-%m-%d")} (weekend skipped). **`dayK.json` holds
exactly the annotations made on days 1..K and their images**, so each file contains the previous one.
Every annotation carries `annotated_at` (ISO 8601 UTC, within its working day: {first_time}–{last_time}) and
`annotator`; every image carries the time and labeller of its first annotation. Boxes are whole pixels
(the labelling tool snaps); to keep the ten files small the records omit `area` and `iscrowd`
(COCO's defaults: w x h and 0). Labellers work through drives frame by frame, one labeller per frame.

Final export: {num(len(images))} images, {num(len(anns))} instances; by labeller:
{", ".join(f"{w} {num(n)}" for w, n in per_labeller.most_common())}; by class:
{", ".join(f"{n} {num(cum[n])}" for n in sorted(cum, key=lambda n: -cum[n]))}.

{table(["file", "day", "images", "new instances", "instances", "Wheelchair new / total", "Bicycle new / total", "new by labeller"], rows, 2)}

**Planted quota story** — a push on rare classes. With targets of {QUOTA_TARGETS["Bicycle"]} Bicycles and
{QUOTA_TARGETS["Wheelchair"]} Wheelchairs by {QUOTA_DATE.strftime("%a %Y-%m-%d")} ({left} working days after the last export;
the targets are not in the files, set them in the quota view):

{story_text}

The team speeds up (a slow first week, a push on the last Friday) while Wheelchair slows down: the
frames that show wheelchairs are running out, not the labellers' time."""


def readme_files(out: Path) -> str:
    files = sorted(p for folder in SAMPLES for p in (out / folder).rglob("*") if p.is_file())
    groups: dict[str, list[Path]] = defaultdict(list)
    for p in files:
        rel = p.relative_to(out)
        key = str(rel.parent) if rel.parent.name in ("masks", "pred_masks") else str(rel)
        groups[key].append(p)
    rows = []
    for key, paths in groups.items():
        size = sum(p.stat().st_size for p in paths)
        label = f"`{key}/` ({len(paths)} PNG)" if len(paths) > 1 else f"`{key}`"
        rows.append([label, f"{size:,} B" if size < 10_000 else f"{size / 1e3:,.0f} kB"])
    total = sum(p.stat().st_size for p in files)
    rows.append(["**total** (data files; with this README and `generate.py` about 0.1 MB more)",
                 f"**{total / 1e6:.2f} MB**"])
    folders = ", ".join(
        f"{folder}/ {sum(p.stat().st_size for p in files if p.relative_to(out).parts[0] == folder) / 1e6:.2f} MB"
        for folder in SAMPLES)
    return "## Files\n\n" + table(["file", "size"], rows) + f"\n\nBy folder: {folders}."


def readme(out: Path, facts: dict, seed: int) -> str:
    parts = [README_HEAD.format(seed=seed), readme_street(facts["street"]), readme_surface(facts["surface"]),
             readme_lanes(facts["lanes"]), readme_daily(facts["daily"]), readme_files(out)]
    return "\n\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                        help="folder to write into (default: the folder of this script)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    args = parser.parse_args(argv)
    out: Path = args.out
    for pattern in ("lanes/masks/*.png", "lanes/pred_masks/*.png", "street_daily/day*.json"):
        for stale in out.glob(pattern):  # files of an earlier run that this one might not write
            stale.unlink()
    street_rng, surface_rng, lanes_rng, daily_rng = np.random.default_rng(args.seed).spawn(4)
    facts = {
        "street": generate_street(street_rng, out),
        "surface": generate_surface(surface_rng, out),
        "lanes": generate_lanes(lanes_rng, out),
        "daily": generate_street_daily(daily_rng, out),
    }
    write(out / "README.md", readme(out, facts, args.seed).encode("utf-8"))


if __name__ == "__main__":
    main()
