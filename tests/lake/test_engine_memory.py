"""The engine's memory limit holds: on a 2M-annotation lake (the benchmark's generator, smaller),
a process given a small `memory` completes with the same answers and stays far below what the
same work takes unconstrained. Each run is its own process; peak RSS is its VmHWM."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from imbal_core.lake import cube

from .engine_helpers import ROOT

ANNOTATIONS = 2_000_000
#: What a process holds besides DuckDB's limited memory: the interpreter, pyarrow and DuckDB
#: themselves (~140 MB) and DuckDB's buffers outside its limit (~200 MB seen here).
CONSTANT_MB = 350
DIMS = ("split", "time_of_day", "weather", "camera")

CHILD = """
import json, sys
from imbal_core.lake import cube, incidence
lake, cube_memory, incidence_memory = sys.argv[1:4]
rows = cube(lake, tuple(sys.argv[4].split(",")), memory=cube_memory).to_pylist() if cube_memory != "-" else None
pairs = sum(b.num_rows for b in incidence(lake, memory=incidence_memory, batch_rows=50_000))
# VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from the forking process (a pytest
# worker grown to 1 GB made every child look 1 GB); the high-water mark of the exec'd image starts afresh.
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"cube": rows, "pairs": pairs, "peak_mb": hwm / 1024}))
"""


@pytest.fixture(scope="module")
def big_lake(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("bench_lake", ROOT / "bench" / "lake.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench.generate(tmp_path_factory.mktemp("memory") / "lake", ANNOTATIONS)


def run(lake, cube_memory: str, incidence_memory: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(lake), cube_memory, incidence_memory, ",".join(DIMS)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_small_memory_limit_is_honoured(big_lake):
    reference = cube(big_lake, DIMS).to_pylist()  # in this process, at the default 1GB
    small = run(big_lake, "256MB", "128MB")
    assert small["cube"] == reference
    # the incidence: one row per (image, class) pair, sorted: DuckDB spills its sort to disk
    unlimited = run(big_lake, "-", "8GB")
    assert small["pairs"] == unlimited["pairs"] > ANNOTATIONS / 2
    assert small["peak_mb"] <= 256 + CONSTANT_MB, small["peak_mb"]
    assert small["peak_mb"] < unlimited["peak_mb"] - 80, (small["peak_mb"], unlimited["peak_mb"])
