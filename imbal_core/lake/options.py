"""The lake engine's settings, shared by :mod:`.engine` and :mod:`.spark` (below both of them)."""
from __future__ import annotations

import re
from typing import Literal

from .manifest import LakeError

Engine = Literal["duckdb", "spark"]
#: ``"duckdb"``: embedded, out-of-core, the default; ``"spark"``: Spark SQL, local or a cluster.
ENGINES: tuple[Engine, ...] = ("duckdb", "spark")
DEFAULT_MEMORY = "1GB"
DEFAULT_MASTER = "local[2]"
#: Rows per record batch :func:`incidence` yields, by default.
BATCH_ROWS = 1 << 20
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)
_UNITS = {"kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
#: Below this DuckDB cannot run the cube's joins at all.
MIN_MEMORY = 32 * 10**6
#: The share of ``memory`` given to DuckDB as its ``memory_limit``: the rest is for what it does
#: not count (its allocator's slack, the Parquet readers, the Arrow result handed to Python), so
#: that the process stays near ``memory`` plus the interpreter and libraries (~140 MB).
DUCKDB_SHARE = 0.8


class EngineUnavailable(LakeError):
    """The engine asked for cannot run here (pyspark or Java missing); the message says how to get it."""


def memory_bytes(memory: str) -> int:
    """``"1GB"`` -> 1_000_000_000 (KB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB of 1024)."""
    m = _MEMORY.match(str(memory))
    if not m:
        raise LakeError(f"`memory` must be a size such as 500MB, 1GB or 2GiB. Got {memory!r} instead.")
    value = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if value < MIN_MEMORY:
        raise LakeError(f"`memory` must be at least {MIN_MEMORY // 10**6}MB. Got {memory!r} instead.")
    return value
