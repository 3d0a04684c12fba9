"""Run the `imbal` command many times in parallel and count runs that abort at interpreter exit.

A native thread (DuckDB's, Arrow's, the cache's hasher) still running while Python shuts down can
abort a process after it printed its result ("terminate called without an active exception",
SIGABRT). Each run here is a whole process, on a small export, with a cold cache (hashing and a
background write at exit), a warm one (a hit), or broken input (exit 2 while the hasher runs).

    .venv/bin/python bench/cli_exit.py [--runs 200] [--workers 4]

Prints the exit codes seen and every bad run; exits 1 when a run was killed by a signal, printed
"terminate called" or a traceback. ``tests/test_cli_parallel.py`` runs a smaller count of the same.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

COMMANDS = (("summary", "--json"), ("check", "--json"), ("split", "--json"))


def tiny_export(folder: Path) -> tuple[Path, Path]:
    """A good COCO export (two splits, sequences, two classes) and a broken one, in ``folder``."""
    images, annotations = [], []
    for i in range(40):
        images.append({"id": i, "file_name": f"{i}.jpg", "width": 64, "height": 48, "split": "train" if i < 30 else "val",
                       "sequence": f"seq_{i // 5}", "time_of_day": "night" if i % 3 == 0 else "day"})
        for k in range(1 + i % 3):
            annotations.append({"id": len(annotations), "image_id": i, "category_id": 1 + (i + k) % 2,
                                "bbox": [1, 1, 10, 10], "area": 100, "iscrowd": 0})
    good = folder / "instances.json"
    good.write_text(json.dumps({"images": images, "annotations": annotations,
                                "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "person"}]}))
    broken = folder / "broken.json"
    broken.write_text('{"images": [' + " " * (4 << 20))  # not JSON; big enough that hashing it takes a while
    return good, broken


def command() -> list[str]:
    exe = Path(sys.executable).with_name("imbal")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "imbal_core.cli"]


def run_many(runs: int, workers: int, folder: Path) -> list[tuple[list[str], int, str]]:
    good, broken = tiny_export(folder)
    warm = folder / "warm-cache"
    base = command()

    def one(i: int) -> tuple[list[str], int, str]:
        args = [*COMMANDS[i % len(COMMANDS)]]
        path = broken if i % 10 == 9 else good
        cache = warm if i % 2 else Path(tempfile.mkdtemp(dir=folder, prefix="cold-"))
        env = dict(os.environ, IMBAL_CACHE_DIR=str(cache))
        proc = subprocess.run([*base, args[0], str(path), *args[1:]], capture_output=True, text=True, env=env,
                              timeout=300)
        return [args[0], path.name], proc.returncode, proc.stderr

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, range(runs)))


def bad_runs(results: list[tuple[list[str], int, str]]) -> list[tuple[list[str], int, str]]:
    """Runs killed by a signal, or that printed an abort or a traceback."""
    return [(args, code, err) for args, code, err in results
            if code < 0 or "terminate called" in err or "Traceback" in err or code not in (0, 1, 2)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        results = run_many(args.runs, args.workers, Path(folder))
        seconds = time.perf_counter() - start
    bad = bad_runs(results)
    codes = Counter(code for _, code, _ in results)
    print(f"{args.runs} runs, {args.workers} at a time, {seconds:.1f} s: exit codes {dict(sorted(codes.items()))}; "
          f"{len(bad)} bad")
    for run_args, code, err in bad[:10]:
        print(f"  {' '.join(run_args)}: exit {code}: {err.strip()[-300:]}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
