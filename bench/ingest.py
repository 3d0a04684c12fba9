"""Ingest benchmark: imbal against pycocotools' COCO(path) on a COCO-train-shaped file.

Two measures, each path in its own process, several runs, medians reported:

1. The call (interpreter start and imports excluded on both sides; peak memory of the process):
   - pycocotools: ``COCO(path)`` (parse + index);
   - imbal cold: ``imbal_core.load(path)`` with an empty cache, then ``cube(ds, ("split",))``;
   - imbal warm: the same in a new process, the parse cache now filled.
2. The whole process, as a user waits for it (interpreter start and imports included):
   - pycocotools: ``python -c "from pycocotools.coco import COCO; COCO(path)"``;
   - imbal cold: ``imbal summary PATH --json --no-cache`` (parse again, no cache read or written);
   - imbal warm: ``imbal summary PATH --json`` with the parse cache filled (a cache hit).
   The ratio pycocotools / imbal cold is the figure the project quotes (target: at least 8x).

    python bench/ingest.py [--runs 3] [--file bench/.data/coco_train.json] [--only call|process]

The file (about 330 MB) is generated on first use by bench/coco_gen.py (seeded) and kept in
bench/.data (gitignored). Every run uses a fresh, empty cache folder (``IMBAL_CACHE_DIR``).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

TARGET_RATIO = 8.0

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


def imbal_command() -> list[str]:
    """The `imbal` console script next to this Python (what a user runs), else ``python -m``."""
    script = shutil.which("imbal", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "imbal_core.cli"]


def process_commands(path: Path) -> dict[str, list[str]]:
    imbal = imbal_command()
    return {
        "pycocotools": [sys.executable, "-c", f"from pycocotools.coco import COCO; COCO({str(path)!r})"],
        "imbal cold": [*imbal, "summary", str(path), "--json", "--no-cache"],
        "imbal warm": [*imbal, "summary", str(path), "--json"],
    }


def run_child(kind: str, path: Path, env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD[kind], str(path)], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_process(command: list[str], env: dict[str, str]) -> dict:
    """Run ``command`` to its end: wall seconds from start to exit, CPU seconds and peak memory
    of that process alone (``wait4``), and what it printed."""
    load = os.getloadavg()[0]  # the machine's 1-minute load when the run starts: timings are comparable only at like loads
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {proc.returncode}: {stderr[-2000:]}")
    return {"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024,
            "stdout": stdout, "load": load}


def has_cache_entry(cache: str) -> bool:
    return any(Path(cache).glob("v*/*/meta.json"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--file", type=Path, default=HERE / ".data" / "coco_train.json")
    parser.add_argument("--only", choices=["call", "process"], help="measure only the call, or only whole processes")
    args = parser.parse_args()
    if not args.file.exists():
        from coco_gen import generate

        args.file.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {args.file} (seeded; about two minutes) ...", flush=True)
        partial = args.file.with_suffix(".partial")
        generate(partial)
        partial.replace(args.file)
    size_mb = args.file.stat().st_size / 1e6
    print(f"file: {args.file} ({size_mb:,.0f} MB)")
    commands = process_commands(args.file)

    calls: dict[str, list[dict]] = {"pycocotools": [], "imbal cold": [], "imbal warm": []}
    processes: dict[str, list[dict]] = {"pycocotools": [], "imbal cold": [], "imbal warm": []}
    for _ in range(args.runs):
        cache = tempfile.mkdtemp(prefix="imbal-bench-cache-")
        env = dict(os.environ, IMBAL_CACHE_DIR=cache)
        try:
            if args.only != "process":
                calls["pycocotools"].append(run_child("pycocotools", args.file, env))
                calls["imbal cold"].append(run_child("imbal", args.file, env))
                calls["imbal warm"].append(run_child("imbal", args.file, env))
            if args.only != "call":
                processes["pycocotools"].append(run_process(commands["pycocotools"], env))
                processes["imbal cold"].append(run_process(commands["imbal cold"], env))
                if not has_cache_entry(cache):  # fill the cache (untimed) so that the warm run is a hit
                    run_process(commands["imbal warm"], env)
                processes["imbal warm"].append(run_process(commands["imbal warm"], env))
        finally:
            shutil.rmtree(cache, ignore_errors=True)

    if args.only != "process":
        report_calls(calls)
    if args.only != "call":
        report_processes(processes, commands, expected=calls["pycocotools"][0] if calls["pycocotools"] else None)


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def report_calls(results: dict[str, list[dict]]) -> None:
    print("\nThe call (imports excluded):")
    print(f"{'path':<14}{'median s':>10}{'peak MB':>10}   runs (s)")
    for kind, runs in results.items():
        print(f"{kind:<14}{_median(runs, 'seconds'):>10.2f}{_median(runs, 'peak_mb'):>10.0f}   "
              + ", ".join(f"{r['seconds']:.2f}" for r in runs))
    first = results["imbal cold"][0]
    coco = results["pycocotools"][0]
    assert (first["images"], first["annotations"]) == (coco["images"], coco["annotations"]), "counts differ"
    ratio = _median(results["pycocotools"], "seconds") / _median(results["imbal cold"], "seconds")
    print(f"{first['images']:,} images, {first['annotations']:,} annotations (both agree)")
    print(f"cold load + cube: {ratio:.1f}x faster than pycocotools; "
          f"peak {_median(results['imbal cold'], 'peak_mb'):.0f} MB; warm reopen {_median(results['imbal warm'], 'seconds'):.2f} s")


def report_processes(results: dict[str, list[dict]], commands: dict[str, list[str]], expected: dict | None) -> None:
    loads = [r["load"] for runs in results.values() for r in runs]
    print(f"\nThe whole process (interpreter start and imports included; {os.cpu_count()} cores, "
          f"load average {statistics.median(loads):.2f} median, {min(loads):.2f}-{max(loads):.2f}):")
    print(f"{'path':<14}{'median s':>10}{'cpu s':>8}{'peak MB':>10}   runs (s)")
    for kind, runs in results.items():
        print(f"{kind:<14}{_median(runs, 'seconds'):>10.2f}{_median(runs, 'cpu'):>8.2f}{_median(runs, 'peak_mb'):>10.0f}   "
              + ", ".join(f"{r['seconds']:.2f}" for r in runs))
    for kind, command in commands.items():
        shown = [Path(c).name if i == 0 else c for i, c in enumerate(command)]
        print(f"  {kind}: {' '.join(shown)}")
    cold_doc, warm_doc = (json.loads(results[kind][0]["stdout"]) for kind in ("imbal cold", "imbal warm"))
    assert cold_doc == warm_doc, "the cold and the warm summary differ"
    if expected is not None:
        assert (cold_doc["images"], cold_doc["annotations"]) == (expected["images"], expected["annotations"]), "counts differ"
    cold = _median(results["pycocotools"], "seconds") / _median(results["imbal cold"], "seconds")
    warm = _median(results["pycocotools"], "seconds") / _median(results["imbal warm"], "seconds")
    verdict = "met" if cold >= TARGET_RATIO else "NOT met"
    print(f"whole-process ratio (pycocotools / imbal): cold {cold:.1f}x, warm {warm:.1f}x "
          f"(target >= {TARGET_RATIO:g}x cold: {verdict})")


if __name__ == "__main__":
    main()
