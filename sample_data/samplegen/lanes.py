"""``lanes/``: segmentation, COCO polygons plus RLE results plus semantic PNG masks.

Planted pattern, **thin classes by pixels**: one large road polygon per image dominates the
annotated pixels while solid and dashed lane lines are each under 1% of them (see
:mod:`samplegen.lanes_scene`), so instance counts and pixel counts tell different stories. The
simulated model finds the road almost perfectly but misses, thins and shortens lane markings (more
at night), sometimes confuses solid with dashed and hallucinates a dashed line. ``masks/`` and
``pred_masks/`` hold half-resolution semantic masks of the ground truth and of the predictions
scored 0.5 or more; the per-class pixel recall between them goes into the README.
"""
from __future__ import annotations

import io
from collections import defaultdict
from pathlib import Path

import numpy as np

from .common import HEIGHT, WIDTH, dump_json, r1, write
from .lanes_scene import (Scene, arrow_polygon, clip_polygon, crosswalk_polygons, flat, lane_scene, line_polygons,
                          polygon_ok)

LANE_CLASSES = ["road", "sidewalk", "lane_solid", "lane_dashed", "crosswalk", "arrow"]  # COCO id = index + 1
LANE_SUPER = {"road": "surface", "sidewalk": "surface", "lane_solid": "marking", "lane_dashed": "marking",
              "crosswalk": "marking", "arrow": "marking"}

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
