"""Seeded generator of a COCO-train-shaped instances file, for the ingest benchmark.

118,287 images (split, time_of_day, weather, camera fields), 80 long-tail categories with
supercategories, about 860,000 annotations with 8-16-point polygons: about 330 MB.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import json

N_IMAGES = 118_287
N_ANNOTATIONS = 860_001
N_CATEGORIES = 80


def generate(path: Path, n_images: int = N_IMAGES, n_annotations: int = N_ANNOTATIONS, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    supers = ["vehicle", "person", "animal", "furniture", "food", "kitchen", "outdoor", "sports"]
    categories = [
        {"id": c + 1 + (c // 10), "name": f"class_{c:02d}", "supercategory": supers[c % len(supers)]}
        for c in range(N_CATEGORIES)
    ]
    cat_ids = np.array([c["id"] for c in categories])
    # Long tail: Zipf-like class frequencies, the head ~ 300x the tail.
    weights = 1.0 / np.arange(1, N_CATEGORIES + 1) ** 1.3
    weights /= weights.sum()

    split = rng.choice(["train", "val", "test"], size=n_images, p=[0.8, 0.1, 0.1])
    tod = rng.choice(["day", "night", "dusk"], size=n_images, p=[0.7, 0.2, 0.1])
    weather = rng.choice(["clear", "rain", "fog", "snow"], size=n_images, p=[0.6, 0.2, 0.1, 0.1])
    camera = rng.integers(0, 12, size=n_images)
    widths = rng.choice([640, 800, 1024], size=n_images)
    heights = rng.choice([480, 600, 768], size=n_images)
    images = [
        {
            "id": i + 1,
            "file_name": f"{i + 1:012d}.jpg",
            "width": int(widths[i]),
            "height": int(heights[i]),
            "license": 1,
            "coco_url": f"http://images.cocodataset.org/train2017/{i + 1:012d}.jpg",
            "flickr_url": f"http://farm{i % 9 + 1}.staticflickr.com/{i % 9000}/{i + 1:012d}_z.jpg",
            "date_captured": "2013-11-14 11:18:45",
            "split": str(split[i]),
            "time_of_day": str(tod[i]),
            "weather": str(weather[i]),
            "camera": f"cam{camera[i]:02d}",
        }
        for i in range(n_images)
    ]

    image_of = np.sort(rng.integers(0, n_images, size=n_annotations))
    category = rng.choice(cat_ids, size=n_annotations, p=weights)
    n_points = rng.integers(8, 17, size=n_annotations)
    bw = rng.uniform(10, 200, size=n_annotations)
    bh = rng.uniform(10, 200, size=n_annotations)
    bx = rng.uniform(0, 400, size=n_annotations)
    by = rng.uniform(0, 250, size=n_annotations)
    annotations = []
    for k in range(n_annotations):
        # An ellipse-ish polygon inside the box.
        t = np.linspace(0, 2 * np.pi, n_points[k], endpoint=False)
        xs = bx[k] + bw[k] * (0.5 + 0.5 * np.cos(t))
        ys = by[k] + bh[k] * (0.5 + 0.5 * np.sin(t))
        poly = np.round(np.column_stack([xs, ys]).ravel(), 2).tolist()
        area = 0.5 * abs(float(np.dot(xs, np.roll(ys, 1)) - np.dot(ys, np.roll(xs, 1))))
        annotations.append(
            {
                "segmentation": [poly],
                "area": round(area, 2),
                "iscrowd": 0,
                "image_id": int(image_of[k]) + 1,
                "bbox": [round(float(bx[k]), 2), round(float(by[k]), 2), round(float(bw[k]), 2), round(float(bh[k]), 2)],
                "category_id": int(category[k]),
                "id": k + 1,
            }
        )
    doc = {
        "info": {"description": "imbal benchmark, COCO-train shaped", "year": 2026},
        "licenses": [{"id": 1, "name": "CC BY 4.0", "url": ""}],
        "images": images,
        "annotations": annotations,
        "categories": categories,
    }
    # json's default separators (", ", ": "), as most COCO writers produce.
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--images", type=int, default=N_IMAGES)
    parser.add_argument("--annotations", type=int, default=N_ANNOTATIONS)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    generate(args.out, args.images, args.annotations, args.seed)


if __name__ == "__main__":
    main()
