"""``surface/``: classification, a labels CSV plus a classifier's per-class scores.

Planted pattern, the **classic inspection imbalance**: Background outnumbers Crack about 33:1, with
three rarer defect classes below that (:data:`SURFACE_COUNTS`). Splits are stratified by class
(70/15/15 of each). The classifier is right on an exact share of each (class, low light or not)
cell (:data:`SURFACE_ACCURACY`: worse on rare classes and in ``low`` lighting), and when wrong it
picks a plausible other class (:data:`SURFACE_MISTAKES`) with the true class usually the runner-up.
Scores are whole thousandths that sum to exactly 1 per row.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from .common import write

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
