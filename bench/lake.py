"""Lake benchmark: the count cube over a generated Parquet lake, DuckDB and Spark, each in its own process.

    python bench/lake.py [--annotations 10000000] [--runs 3] [--engines duckdb,spark] [--memory 1GB]
                         [--master local[2]] [--dims split,time_of_day,weather,camera]

The lake (the format of imbal_core/lake: manifest.json, categories.parquet, images/ and
annotations/ partitioned by source) is generated on first use, seeded, with pyarrow, and kept in
bench/.data/lake_<N> (gitignored; the path is printed), so reruns reuse it. Its shape follows
issue 15: 10 images per 100 annotations, 60 long-tail classes, 4 conditions (time_of_day,
weather, camera, region), 3 splits; frames come in drives of 100 (the ``group``) that share a
split, a time of day and the weather; box-only data (``pixels`` null), rows sorted by image id,
row groups of 1M rows, 10M annotations per file.

Each run starts a fresh Python process that opens the lake and computes
``imbal_core.lake.cube(lake, dims, engine=...)``; the parent polls /proc for the resident memory
of the whole process tree (the JVM Spark starts included) and reports the medians of
  - ``cube s``: the call as the child timed it (engine start, views, query, result in Arrow);
  - ``process s``: the whole process as a user waits for it (interpreter start and imports too);
  - ``CPU s``: user + system CPU of the whole tree (from /proc, as last polled): the work done,
    which, unlike the times, does not stretch when other processes share the cores;
  - ``peak RSS``: the largest sum of RSS over the tree seen while it ran (polled every 20 ms, and
    never below the largest single process's own maximum, from getrusage).
The first run's cube is checked to be the same, cell for cell, for every engine.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data"

SEED = 15
CLASSES = 60
IMAGES_PER_ANNOTATION = 0.1
DRIVE = 100  # frames per group (a drive)
PER_FILE = 10_000_000  # annotations per part file
ROW_GROUP = 1_000_000
SPLITS = (("train", 0.8), ("val", 0.1), ("test", 0.1))
CONDITIONS = {
    "time_of_day": (("day", 0.62), ("night", 0.25), ("dusk", 0.13)),
    "weather": (("clear", 0.55), ("rain", 0.25), ("fog", 0.12), ("snow", 0.08)),
    "camera": (("front", 0.4), ("rear", 0.2), ("left", 0.2), ("right", 0.2)),
    "region": (("city", 0.5), ("highway", 0.3), ("rural", 0.2)),
}
PER_DRIVE = ("time_of_day", "weather", "region")  # a drive keeps these; the camera varies per frame
DIMS = ("split", "time_of_day", "weather", "camera")


def class_names() -> list[str]:
    head = ["car", "pedestrian", "truck", "bicycle", "traffic_light", "traffic_sign", "bus", "motorcycle"]
    return head + [f"rare_{k:02d}" for k in range(len(head), CLASSES)]


def class_weights():
    import numpy as np

    w = 1.0 / np.arange(1, CLASSES + 1) ** 1.3  # Zipf-like: the last class ~200x rarer than the first
    return w / w.sum()


def _choice(rng, table, size):
    import numpy as np

    names = [n for n, _ in table]
    p = np.array([w for _, w in table])
    return names, rng.choice(len(names), size=size, p=p / p.sum()).astype(np.int32)


def _dict(names, codes):
    import pyarrow as pa

    # plain strings in the file's schema (the lake format's type); Parquet dictionary-encodes them anyway
    return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(names, pa.string())).cast(pa.string())


def generate(folder: Path, annotations: int) -> Path:
    """Write a lake of ``annotations`` rows into ``folder`` (seeded); return the folder."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    source = hashlib.sha256(f"bench-lake:{annotations}:{SEED}".encode()).hexdigest()[:16]
    tmp = folder.with_name(folder.name + ".partial")
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    (tmp / "images" / f"source={source}").mkdir(parents=True)
    (tmp / "annotations" / f"source={source}").mkdir(parents=True)
    rng = np.random.default_rng(SEED)
    weights = class_weights()
    n_images_total = int(annotations * IMAGES_PER_ANNOTATION)
    done_ann = done_img = part = 0
    while done_ann < annotations:
        n_ann = min(PER_FILE, annotations - done_ann)
        n_img = n_images_total - done_img if done_ann + n_ann >= annotations else int(n_ann * IMAGES_PER_ANNOTATION)
        image_id = np.arange(done_img, done_img + n_img, dtype=np.int64)
        drive = image_id // DRIVE
        first_drive, n_drives = int(drive[0]), int(drive[-1] - drive[0] + 1)
        drive_rng = np.random.default_rng([SEED, first_drive])  # per-drive values stable across chunk edges
        split_names, split_codes = _choice(drive_rng, SPLITS, n_drives)
        cols = {
            "image_id": image_id,
            "source_id": pc.cast(pa.array(image_id), pa.string()),
            "file_name": pc.binary_join_element_wise("frame_", pc.cast(pa.array(image_id), pa.string()), ".jpg", ""),
            "width": np.full(n_img, 1920, np.int64),
            "height": np.full(n_img, 1080, np.int64),
            "split": _dict(split_names, split_codes[drive - first_drive]),
            "group": pc.binary_join_element_wise("drive_", pc.cast(pa.array(drive), pa.string()), ""),
        }
        for name, table in CONDITIONS.items():
            if name in PER_DRIVE:
                names, codes = _choice(drive_rng, table, n_drives)
                cols[name] = _dict(names, codes[drive - first_drive])
            else:
                names, codes = _choice(rng, table, n_img)
                cols[name] = _dict(names, codes)
        pq.write_table(pa.table(cols), tmp / "images" / f"source={source}" / f"part-{part}.parquet",
                       compression="zstd", row_group_size=ROW_GROUP)
        ann_image = np.sort(rng.integers(done_img, done_img + n_img, n_ann))
        anns = pa.table({
            "image_id": ann_image,
            "category_id": rng.choice(CLASSES, size=n_ann, p=weights).astype(np.int64),
            "area": np.round(rng.lognormal(7.0, 1.2, n_ann), 1),
            "pixels": pa.nulls(n_ann, pa.float64()),
        })
        pq.write_table(anns, tmp / "annotations" / f"source={source}" / f"part-{part}.parquet",
                       compression="zstd", row_group_size=ROW_GROUP)
        done_ann += n_ann
        done_img += n_img
        part += 1
        print(f"  generated {done_ann:,} / {annotations:,} annotations", file=sys.stderr, flush=True)
    pq.write_table(pa.table({
        "category_id": np.arange(CLASSES, dtype=np.int64),
        "name": class_names(),
        "supercategory": pa.nulls(CLASSES, pa.string()),
        "critical": np.zeros(CLASSES, bool),
    }), tmp / "categories.parquet", compression="zstd")
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    conditions = list(CONDITIONS)
    manifest = {
        "imbal_lake": 1,
        "sources": [{
            "id": source, "name": f"bench {annotations:,}", "path": str(folder), "format": "generated",
            "kind": "copied", "content_hash": hashlib.sha256(f"bench-lake:{annotations}:{SEED}".encode()).hexdigest(),
            "images": n_images_total, "annotations": annotations, "conditions": conditions, "added": now,
        }],
        "conditions": conditions, "classes": CLASSES, "created": now, "updated": now,
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
    tmp.rename(folder)
    return folder


def lake_for(annotations: int) -> Path:
    folder = DATA / f"lake_{annotations}"
    if not (folder / "manifest.json").is_file():
        DATA.mkdir(parents=True, exist_ok=True)
        print(f"generating a lake of {annotations:,} annotations in {folder} ...", file=sys.stderr, flush=True)
        t = time.perf_counter()
        generate(folder, annotations)
        print(f"  done in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return folder


# --------------------------------------------------------------------------- measuring

CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from imbal_core.lake import cube
lake, dims, engine, memory, master, out = sys.argv[1:7]
c = cube(lake, tuple(d for d in dims.split(",") if d), engine=engine, memory=memory, master=master)
seconds = time.perf_counter() - t0
if out:
    import pyarrow.parquet as pq
    pq.write_table(c, out)
print(json.dumps({"seconds": seconds, "rows": c.num_rows,
                  "instances": int(sum(c.column("instances").to_pylist())),
                  "self_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _tree(root: int) -> dict[int, tuple[int, float]]:
    """{pid: (resident bytes, CPU seconds so far)} for ``root`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = {}, [root]
    page, tick = os.sysconf("SC_PAGE_SIZE"), os.sysconf("SC_CLK_TCK")
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/statm") as f:
                rss = int(f.read().split()[1]) * page
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[pid] = (rss, (int(fields[11]) + int(fields[12])) / tick)  # utime + stime
        except (OSError, IndexError, ValueError):
            pass
        todo.extend(children.get(pid, ()))
    return out


def measure(lake: Path, dims: str, engine: str, memory: str, master: str, out: str = "") -> dict:
    """Run one cube in a new process; wall time and peak RSS of its process tree."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(lake), dims, engine, memory, master, out],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak, cpu = 0, {}
    while proc.poll() is None:
        tree = _tree(proc.pid)
        peak = max(peak, sum(rss for rss, _ in tree.values()))
        cpu.update({pid: used for pid, (_, used) in tree.items()})
        time.sleep(0.02)
    wall = time.perf_counter() - t
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{engine} failed (exit {proc.returncode}):\n{stderr[-3000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    single = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    if single > before * 1024:  # the max over waited children: counts when this child set a new one
        peak = max(peak, single)
    result.update(process_seconds=wall, peak_mb=peak / 2**20, cpu_seconds=sum(cpu.values()))
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--annotations", type=int, default=10_000_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--engines", default="duckdb,spark")
    p.add_argument("--memory", default="1GB")
    p.add_argument("--master", default="local[2]")
    p.add_argument("--dims", default=",".join(DIMS))
    args = p.parse_args(argv)
    if args.annotations < 1000:
        p.error(f"`--annotations` must be at least 1000. Got {args.annotations} instead.")
    if args.runs < 1:
        p.error(f"`--runs` must be at least 1. Got {args.runs} instead.")
    lake = lake_for(args.annotations)
    print(f"lake: {lake}")
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    rows = []
    first: dict[str, Path] = {}
    for engine in engines:
        runs = []
        for k in range(args.runs):
            out = str(DATA / f"cube_{args.annotations}_{engine}.parquet") if k == 0 else ""
            if out:
                first[engine] = Path(out)
            r = measure(lake, args.dims, engine, args.memory, args.master, out)
            print(f"  {engine} run {k + 1}: cube {r['seconds']:.2f} s, process {r['process_seconds']:.2f} s, "
                  f"CPU {r['cpu_seconds']:.1f} s, peak {r['peak_mb']:.0f} MB, {r['rows']} rows, "
                  f"load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
            runs.append(r)
        rows.append((engine, runs))
    same = _same_cubes(first)
    size = sum(f.stat().st_size for f in lake.rglob("*.parquet")) / 2**20
    print(f"\n{args.annotations:,} annotations, {int(args.annotations * IMAGES_PER_ANNOTATION):,} images, "
          f"{size:,.0f} MB of Parquet; cube over ({args.dims}); medians of {args.runs} runs, each in its own process\n")
    print("| engine | setting | cube s | process s | CPU s (tree) | peak RSS (tree) MB | cube rows |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for engine, runs in rows:
        setting = f"memory {args.memory}" if engine == "duckdb" else f"master {args.master}"
        med = {k: statistics.median(r[k] for r in runs)
               for k in ("seconds", "process_seconds", "cpu_seconds", "peak_mb")}
        print(f"| {engine} | {setting} | {med['seconds']:.2f} | {med['process_seconds']:.2f} | "
              f"{med['cpu_seconds']:.1f} | {med['peak_mb']:,.0f} | {runs[0]['rows']:,} |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          f"(timings stretch when other work shares the cores; CPU s does not)")
    if same is not None:
        print(f"\nevery engine's cube equal cell for cell: {same}")
    return 0 if same in (None, True) else 1


def _same_cubes(files: dict[str, Path]) -> bool | None:
    if len(files) < 2:
        return None
    import pyarrow.parquet as pq

    tables = [pq.read_table(f) for f in files.values()]
    return all(t.equals(tables[0]) for t in tables[1:])


if __name__ == "__main__":
    raise SystemExit(main())
