"""Ingest benchmark: imbal's load + cube against pycocotools' COCO(path) on a COCO-train-shaped file.

Each path runs in its own process (several times; medians reported), timing the call only
(interpreter start and imports excluded for both) and reading the process's peak memory:

- pycocotools: ``COCO(path)`` (parse + index);
- imbal cold: ``imbal_core.load(path)`` with an empty cache, then ``cube(ds, ("split",))``;
- imbal warm: the same in a new process, the parse cache now filled.

    python bench/ingest.py [--runs 3] [--file bench/.data/coco_train.json]

The file (about 330 MB) is generated on first use by bench/coco_gen.py (seeded).
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

CHILD = {
    "pycocotools": """
import contextlib, io, json, resource, sys, time
from pycocotools.coco import COCO
t = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    coco = COCO(sys.argv[1])
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "images": len(coco.imgs), "annotations": len(coco.anns)}))
""",
    "imbal": """
import json, resource, sys, time
import imbal_core
t = time.perf_counter()
ds = imbal_core.load(sys.argv[1])
c = imbal_core.cube(ds, ("split",))
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "images": ds.num_images, "annotations": ds.num_annotations, "cube_rows": c.num_rows}))
""",
}


def run_child(kind: str, path: Path, env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD[kind], str(path)], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    import os

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--file", type=Path, default=HERE / ".data" / "coco_train.json")
    args = parser.parse_args()
    if not args.file.exists():
        from coco_gen import generate

        args.file.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {args.file} (seeded; about a minute) ...", flush=True)
        generate(args.file)
    size_mb = args.file.stat().st_size / 1e6
    print(f"file: {args.file} ({size_mb:,.0f} MB)")

    results: dict[str, list[dict]] = {"pycocotools": [], "imbal cold": [], "imbal warm": []}
    for _ in range(args.runs):
        cache = tempfile.mkdtemp(prefix="imbal-bench-cache-")
        env = dict(os.environ, IMBAL_CACHE_DIR=cache)
        try:
            results["pycocotools"].append(run_child("pycocotools", args.file, env))
            results["imbal cold"].append(run_child("imbal", args.file, env))
            results["imbal warm"].append(run_child("imbal", args.file, env))
        finally:
            shutil.rmtree(cache, ignore_errors=True)

    def med(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in results[kind])

    print(f"\n{'path':<14}{'median s':>10}{'peak MB':>10}   runs (s)")
    for kind, runs in results.items():
        print(f"{kind:<14}{med(kind, 'seconds'):>10.2f}{med(kind, 'peak_mb'):>10.0f}   "
              + ", ".join(f"{r['seconds']:.2f}" for r in runs))
    first = results["imbal cold"][0]
    coco = results["pycocotools"][0]
    assert (first["images"], first["annotations"]) == (coco["images"], coco["annotations"]), "counts differ"
    ratio = med("pycocotools", "seconds") / med("imbal cold", "seconds")
    print(f"\n{first['images']:,} images, {first['annotations']:,} annotations (both agree)")
    print(f"cold load + cube: {ratio:.1f}x faster than pycocotools; "
          f"peak {med('imbal cold', 'peak_mb'):.0f} MB; warm reopen {med('imbal warm', 'seconds'):.2f} s")


if __name__ == "__main__":
    main()
