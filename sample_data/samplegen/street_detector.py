"""``street/predictions.json``: a simulated detector that is weaker on rare classes and at night.

It gives the per-class evaluation something to find: recall falls with rarity and at night
(:data:`RECALL`; Wheelchair at night is the worst cell), similar classes are confused
(:data:`CONFUSION`), NMS leaves some duplicates, background false positives appear (more at night),
and **confident Wheelchair false alarms on Persons and Strollers** are planted as hard negatives.
Recall and confusion shares are exact per (class, time of day), not just expected, so the README
table and the dashboard's evaluation agree to the digit.
"""
from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from .common import STREET_CLASSES, STREET_COUNTS, STREET_ID, clip_boxes, sample_boxes

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
