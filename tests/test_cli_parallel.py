"""Many `imbal` processes at once all exit cleanly: none is killed at interpreter exit.

About 1-3% of runs under parallel load once printed their result and then aborted ("terminate called
without an active exception", SIGABRT): a thread still running native code while Python shut down.
This runs a smaller count of `bench/cli_exit.py` (200 runs there): cold caches (a hash and a background
write), warm ones and broken input, four processes at a time.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 32


def _bench():
    spec = importlib.util.spec_from_file_location("cli_exit", ROOT / "bench" / "cli_exit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_parallel_runs_never_abort_at_exit(tmp_path):
    bench = _bench()
    results = bench.run_many(RUNS, 4, tmp_path)
    assert bench.bad_runs(results) == []
    by_input: dict[str, set[int]] = {}
    for (command, name), code, _ in results:
        by_input.setdefault(name, set()).add(code)
    assert by_input["broken.json"] == {2} and by_input["instances.json"] <= {0, 1}
    assert len(results) == RUNS
