"""Evaluation benchmark: detection against pycocotools, classification metrics at 1M predictions.

    .venv/bin/python bench/evaluate.py [--runs 3] [--out /tmp/imbal-bench-eval] [--part classification]

Detection: a generated COCO export of 5,000 images / 40,000 boxes over 80 long-tail classes
and 100,000 scored detections (jittered true boxes, class swaps, duplicates, background
boxes). Each timed run is its own process, so nothing is warm that a real run would not have:

- ``pycocotools``: ``COCO(gt)``, ``loadRes(results)``, ``COCOeval`` evaluate / accumulate / summarize.
- ``imbal``: ``imbal_core.load(gt)`` (empty cache), ``read_predictions`` (matched and checked),
  ``evaluate_detection`` (COCOeval for AP / AR per class, plus the matched confusion matrix and
  per-class precision / recall / F1 at score 0.5, IoU 0.5).

Classification: 1,000,000 predictions over 100 long-tail classes, ``classification_metrics`` on
labels (confusion, per-class P / R / F1, averages, balanced accuracy); the same with a float32
score matrix (C order; adds the 100 one-vs-rest PR AUCs); and the PR AUCs alone
(``pr_auc_per_class``) on those scores (uniform, the predicted class's raised by 1) and on
softmax-like scores (crowded near 0). Medians are printed.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

N_IMAGES, N_GT, N_PRED, N_CLASSES = 5_000, 40_000, 100_000, 80


def generate(folder: Path, seed: int = 0) -> tuple[Path, Path]:
    from coco_gen import generate as generate_gt

    folder.mkdir(parents=True, exist_ok=True)
    gt_path, pred_path = folder / "instances_val.json", folder / "results.json"
    if gt_path.exists() and pred_path.exists():
        return gt_path, pred_path
    generate_gt(gt_path, n_images=N_IMAGES, n_annotations=N_GT, seed=seed)
    doc = json.loads(gt_path.read_text())
    rng = np.random.default_rng(seed + 1)
    anns = doc["annotations"]
    cat_ids = np.array([c["id"] for c in doc["categories"]])
    size = {im["id"]: (im["width"], im["height"]) for im in doc["images"]}
    results = []

    def box_near(b, jitter):
        x, y, w, h = b
        dx, dy, dw, dh = rng.normal(0, jitter, 4)
        return [round(x + dx * w, 2), round(y + dy * h, 2), round(max(1.0, w * (1 + dw)), 2), round(max(1.0, h * (1 + dh)), 2)]

    for a in anns:  # found: most objects, some with the wrong class, a few twice
        r = rng.random()
        if r < 0.80:
            cat = a["category_id"] if rng.random() > 0.06 else int(rng.choice(cat_ids))
            results.append({"image_id": a["image_id"], "category_id": cat, "bbox": box_near(a["bbox"], 0.05),
                            "score": round(float(rng.beta(5, 2)), 3)})
            if rng.random() < 0.15:
                results.append({"image_id": a["image_id"], "category_id": cat, "bbox": box_near(a["bbox"], 0.12),
                                "score": round(float(rng.beta(2, 4)), 3)})
    image_ids = np.array(sorted(size))
    while len(results) < N_PRED:  # background boxes, mostly low scores
        i = int(rng.choice(image_ids))
        w, h = size[i]
        bw, bh = rng.uniform(10, 200, 2)
        results.append({"image_id": i, "category_id": int(rng.choice(cat_ids)),
                        "bbox": [round(float(rng.uniform(0, w - bw)), 2), round(float(rng.uniform(0, h - bh)), 2),
                                 round(float(bw), 2), round(float(bh), 2)],
                        "score": round(float(rng.beta(1.2, 5)), 3)})
    pred_path.write_text(json.dumps(results[:N_PRED], separators=(",", ":")))
    return gt_path, pred_path


CHILD = {
    "pycocotools": """
import contextlib, io, sys, time
t = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    gt = COCO(sys.argv[1]); dt = gt.loadRes(sys.argv[2])
    E = COCOeval(gt, dt, "bbox"); E.evaluate(); E.accumulate(); E.summarize()
print(time.perf_counter() - t, E.stats[0])
""",
    "imbal": """
import sys, time
t = time.perf_counter()
import imbal_core
from imbal_core.io.predictions import read_predictions
from imbal_core.evaluate import evaluate_detection
ds = imbal_core.load(sys.argv[1], cache=False)
preds = read_predictions(sys.argv[2], ds)
ev = evaluate_detection(ds, preds, iou=0.5, score_threshold=0.5)
print(time.perf_counter() - t, ev.coco.summary.ap)
""",
}


def run_child(kind: str, gt: Path, pred: Path) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "IMBAL_CACHE_DIR": "/tmp/imbal-bench-eval-cache"}
    out = subprocess.run([sys.executable, "-c", CHILD[kind], str(gt), str(pred)], capture_output=True, text=True,
                         env=env, check=True).stdout.split()
    return float(out[0]), float(out[1])


def classification(runs: int) -> dict[str, list[float]]:
    from imbal_core.evaluate import classification_metrics
    from imbal_core.evaluate.ranking import pr_auc_per_class

    rng = np.random.default_rng(0)
    n, C = 1_000_000, 100
    freq = 1.0 / np.arange(1, C + 1) ** 1.1
    y_true = rng.choice(C, size=n, p=freq / freq.sum())
    right = rng.random(n) < 0.7
    y_pred = np.where(right, y_true, rng.integers(0, C, n))
    scores = rng.random((n, C), dtype=np.float32)
    scores[np.arange(n), y_pred] += 1.0
    softmax = rng.normal(0, 2, (n, C)).astype(np.float32)
    softmax[np.arange(n), y_pred] += 6
    softmax = np.exp(softmax - softmax.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    runs_of = {
        "labels": lambda: classification_metrics(y_true, y_pred, C),
        "labels + scores": lambda: classification_metrics(y_true, y_pred, C, scores=scores),
        "PR AUC alone": lambda: pr_auc_per_class(y_true, scores),
        "PR AUC, softmax": lambda: pr_auc_per_class(y_true, softmax),
    }
    times: dict[str, list[float]] = {kind: [] for kind in runs_of}
    for _ in range(runs):
        for kind, run in runs_of.items():  # interleaved, so load changes hit all
            t = time.perf_counter()
            run()
            times[kind].append(time.perf_counter() - t)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("/tmp/imbal-bench-eval"))
    parser.add_argument("--part", choices=["all", "detection", "classification"], default="all")
    args = parser.parse_args()
    if args.part != "classification":
        detection(args.runs, args.out)
    if args.part != "detection":
        print("classification: 1,000,000 predictions, 100 classes")
        for kind, values in classification(args.runs).items():
            print(f"  {kind:16} median {statistics.median(values):6.3f} s  runs {', '.join(f'{v:.3f}' for v in values)}")


def detection(runs: int, out: Path) -> None:
    gt, pred = generate(out)
    print(f"detection: {N_IMAGES:,} images, {N_GT:,} boxes, {N_PRED:,} detections ({gt.stat().st_size / 1e6:.1f} MB GT)")
    times: dict[str, list[float]] = {"pycocotools": [], "imbal": []}
    aps = {}
    for _ in range(runs):
        for kind in ("pycocotools", "imbal"):  # interleaved, so load changes hit both
            seconds, ap = run_child(kind, gt, pred)
            times[kind].append(seconds)
            aps[kind] = ap
    for kind, values in times.items():
        print(f"  {kind:12} median {statistics.median(values):6.2f} s  runs {', '.join(f'{v:.2f}' for v in values)}  AP {aps[kind]:.4f}")
    ratio = statistics.median(times["imbal"]) / statistics.median(times["pycocotools"])
    print(f"  imbal / pycocotools = {ratio:.2f} (budget 1.20)")


if __name__ == "__main__":
    main()
