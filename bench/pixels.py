"""Pixel-count benchmark: the vectorised polygon-area pass against pycocotools' raster count.

For each file, on the same parsed segmentations (medians of several runs, printed):

- pycocotools: every annotation of the parsed JSON rasterised as pycocotools' own
  ``COCO.annToRLE`` does (polygons: ``frPyObjects`` + ``merge``; RLE: ``frPyObjects``), then
  ``mask.area`` (in chunks of 255, which it needs); imbal's ``method="raster"`` is checked to give
  exactly these counts;
- imbal polygon pass: ``coco_pixel_counts(method="polygon")``: shoelace over the Arrow
  ``list<list<double>>`` column, RLE runs summed, only compressed RLE text through pycocotools;
- end to end from the file: ``read_segmentations`` (the COCO reader, then DuckDB over the records
  it kept) + the polygon pass, against ``json.load`` + the pycocotools pass.

and the agreement: the total and the largest per-class difference of the polygon pass from the
raster count.

    python bench/pixels.py [--runs 5] [--big bench/.data/coco_train.json] [--no-big]

The big file (about 330 MB, 860,001 polygons) is the ingest benchmark's, generated on first use
by bench/coco_gen.py; the real exports are read in place from ../shared/realdata.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from imbal_core.pixels import coco_pixel_counts, read_segmentations  # noqa: E402
from imbal_core.samples import sample_root  # noqa: E402

REAL = ROOT.parent / "shared" / "realdata"


def timed(fn, runs: int) -> tuple[float, list[float], object]:
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times, result


def pycocotools_areas(doc: dict) -> list[float]:
    """pycocotools' own path: ``COCO.annToRLE`` for every annotation, then ``mask.area`` in chunks."""
    from pycocotools import mask as mask_utils

    sizes = {img["id"]: (img["height"], img["width"]) for img in doc["images"]}
    rles = []
    for ann in doc["annotations"]:
        h, w = sizes[ann["image_id"]]
        seg = ann["segmentation"]
        if isinstance(seg, list):
            rles.append(mask_utils.merge(mask_utils.frPyObjects(seg, h, w)))
        elif isinstance(seg["counts"], list):
            rles.append(mask_utils.frPyObjects(seg, h, w))
        else:
            rles.append(seg)
    out: list[float] = []
    for start in range(0, len(rles), 255):  # mask.area overflows beyond 255 RLEs per call
        out += [float(a) for a in mask_utils.area(rles[start:start + 255])]
    return out


def bench(name: str, path: Path, runs: int) -> dict:
    with open(path) as f:
        doc = json.load(f)
    segs = read_segmentations(path)
    n = segs[0].num_rows
    coco_s, coco_runs, reference = timed(lambda: pycocotools_areas(doc), runs)
    poly_s, poly_runs, poly = timed(lambda: coco_pixel_counts(path, "polygon", segmentations=segs), runs)
    e2e_imbal, _, _ = timed(lambda: coco_pixel_counts(path, "polygon"), runs)

    def pycocotools_from_file():
        with open(path) as f:
            return pycocotools_areas(json.load(f))

    e2e_coco, _, _ = timed(pycocotools_from_file, max(1, runs // 2))
    raster = coco_pixel_counts(path, "raster", segmentations=segs)
    assert raster.table.column("pixels").to_pylist() == reference, "imbal's raster path differs from pycocotools"
    r = {row["category_id"]: row["pixels"] for row in raster.per_class().to_pylist()}
    p = {row["category_id"]: row["pixels"] for row in poly.per_class().to_pylist()}
    worst = max((abs(p[c] - v) / v, c, v) for c, v in r.items() if v)
    return {"name": name, "annotations": n, "raster_s": coco_s, "polygon_s": poly_s,
            "raster_runs": coco_runs, "polygon_runs": poly_runs, "e2e_imbal_s": e2e_imbal, "e2e_coco_s": e2e_coco,
            "total_diff": (poly.total - raster.total) / raster.total, "worst_class": worst}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--big", type=Path, default=HERE / ".data" / "coco_train.json")
    parser.add_argument("--no-big", action="store_true", help="skip the 330 MB generated file")
    args = parser.parse_args()
    files = [("lanes sample", sample_root() / "lanes" / "annotations.json")]
    for name, rel in (("coco val2014 (100 img)", "coco_val2014_100/instances_val2014_100.json"),
                      ("TACO (1,500 img)", "taco/annotations.json")):
        if (REAL / rel).exists():
            files.append((name, REAL / rel))
    if not args.no_big:
        if not args.big.exists():
            from coco_gen import generate

            args.big.parent.mkdir(parents=True, exist_ok=True)
            print(f"generating {args.big} (seeded; about a minute) ...", flush=True)
            generate(args.big)
        files.append(("COCO-train shaped", args.big))
    rows = []
    for name, path in files:
        runs = args.runs if "train" not in name else max(1, min(args.runs, 3))
        print(f"{name}: {path} ...", flush=True)
        rows.append(bench(name, path, runs))
    print(f"\n{'file':<24}{'annotations':>12}{'pycocotools s':>15}{'polygon s':>11}{'speed-up':>10}"
          f"{'e2e coco s':>12}{'e2e imbal s':>13}{'total diff':>12}{'worst class':>13}")
    for r in rows:
        worst, _, _ = r["worst_class"]
        print(f"{r['name']:<24}{r['annotations']:>12,}{r['raster_s']:>15.4f}{r['polygon_s']:>11.4f}"
              f"{r['raster_s'] / r['polygon_s']:>9.0f}x{r['e2e_coco_s']:>12.2f}{r['e2e_imbal_s']:>13.2f}"
              f"{r['total_diff']:>+11.4%}{worst:>12.3%}")
    print("\nruns (s): " + "; ".join(f"{r['name']}: pycocotools " + ", ".join(f"{t:.3f}" for t in r["raster_runs"])
                                     + " / polygon " + ", ".join(f"{t:.4f}" for t in r["polygon_runs"]) for r in rows))


if __name__ == "__main__":
    main()
