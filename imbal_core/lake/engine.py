"""The lake engine: the count cube and the image x class incidence as SQL over a lake's Parquet files.

One SQL text (:mod:`.sql`) runs on either engine:

- ``"duckdb"`` (the default), embedded: ``memory`` (default 1GB) is the query's budget (DuckDB's
  ``memory_limit`` is :data:`DUCKDB_SHARE` of it); what does not fit spills to a folder under
  imbal's cache (``IMBAL_CACHE_DIR``), removed afterwards; all cores work. The views read only
  the files of the sources the manifest lists.
- ``"spark"``: Spark SQL, local (``master="local[2]"``, the default) or a cluster
  (``spark://host:7077``); the same views as temporary views (:mod:`.spark`). Needs the
  optional extra (``pip install 'imbal[spark]'``) and Java.

>>> from imbal_core.lake import cube, incidence
>>> cube("my_lake", ("split", "time_of_day"))                  # a pyarrow Table, as imbal_core.cube gives
>>> for batch in incidence("my_lake", batch_rows=500_000): ... # pyarrow RecordBatches, image by image

Results equal the in-memory :func:`imbal_core.cube.cube` of the same data: same rows, same
order, same counts, nulls where it has nulls; pixel sums of fractional values may differ in the
last bits (the engines add in parallel, in no fixed order).
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Mapping, Sequence

from .manifest import Lake, LakeError, open_lake
from .options import (BATCH_ROWS, DEFAULT_MASTER, DEFAULT_MEMORY, DUCKDB_SHARE, ENGINES, MIN_MEMORY,  # noqa: F401
                      Engine, EngineUnavailable, memory_bytes)
from .sql import cube_sql, incidence_sql, key_offsets, view_sql

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

def _check_dims(lake: Lake, dims: Sequence[str]) -> tuple[str, ...]:
    dims = tuple(dims)
    allowed = ("split", "group", *lake.conditions)
    for d in dims:
        if d not in allowed:
            raise ValueError(f"`dims` may name {list(allowed)}. Got {d!r} instead.")
    if len(set(dims)) != len(dims):
        raise ValueError(f"`dims` must not repeat a name. Got {list(dims)}.")
    return dims


def _check_engine(engine: str) -> Engine:
    if engine not in ENGINES:
        raise LakeError(f"`engine` must be one of {list(ENGINES)}. Got {engine!r} instead.")
    return engine  # type: ignore[return-value]


def _open(lake: str | os.PathLike | Lake) -> Lake:
    return lake if isinstance(lake, Lake) else open_lake(lake)


def cube(lake: str | os.PathLike | Lake, dims: Sequence[str] = ("split",), engine: Engine = "duckdb",
         memory: str = DEFAULT_MEMORY, master: str = DEFAULT_MASTER,
         progress: Callable[[float], None] | None = None) -> "pa.Table":
    """The count cube of ``lake`` over ``dims``: columns ``*dims``, ``class``, ``images``,
    ``instances``, ``pixels``, as :func:`imbal_core.cube.cube` gives for a Dataset.

    ``dims`` (default ``("split",)``): ``split``, ``group`` or the lake's conditions; ``()`` gives
    one row per class. ``engine``: "duckdb" (default) or "spark"; ``memory`` (default "1GB"):
    the query's memory budget (Spark: the driver's memory when it starts a local JVM); ``master``
    (default "local[2]"): Spark's master URL. ``progress`` (DuckDB): called from another thread
    with the query's completion, 0.0 to 1.0. Raises :class:`LakeError` for an unusable lake or
    setting, ``ValueError`` for bad ``dims``.
    """
    opened = _open(lake)
    dims = _check_dims(opened, dims)
    return query(opened, cube_sql(dims, opened.classes, image_keys(opened)), engine=engine, memory=memory,
                 master=master, progress=progress)


def incidence(lake: str | os.PathLike | Lake, columns: Sequence[str] | None = None, engine: Engine = "duckdb",
              memory: str = DEFAULT_MEMORY, master: str = DEFAULT_MASTER, batch_rows: int = BATCH_ROWS,
              ordered: bool = True) -> Iterator["pa.RecordBatch"]:
    """The image x class incidence of ``lake``, in record batches of at most ``batch_rows`` rows.

    One row per (source, image, class) present: ``source`` (the manifest's source id),
    ``image_id`` (unique within its source), ``category_id`` (lake-wide), ``class``,
    ``instances``, ``pixels`` (null when none of the pair's annotations has a pixel count), then
    ``columns`` (default: split, group and every condition). ``ordered`` (True): by source, image
    and class id, so an image's classes arrive together. The rows stream: memory stays within
    ``memory`` (DuckDB spills the rest) whatever the lake's size.
    """
    opened = _open(lake)
    allowed = ("split", "group", *opened.conditions)
    columns = allowed if columns is None else tuple(columns)
    for c in columns:
        if c not in allowed:
            raise ValueError(f"`columns` may name {list(allowed)}. Got {c!r} instead.")
    return stream(opened, incidence_sql(columns, image_keys(opened), ordered=ordered), engine=engine, memory=memory,
                  master=master, batch_rows=batch_rows)


def query(lake: str | os.PathLike | Lake, sql: str, engine: Engine = "duckdb", memory: str = DEFAULT_MEMORY,
          master: str = DEFAULT_MASTER, views: Mapping[str, str] | None = None,
          progress: Callable[[float], None] | None = None) -> "pa.Table":
    """Any SQL text over the engine's views of ``lake`` (``images``, ``annotations``,
    ``categories``, ``sources``: see :mod:`.sql`; join images on :func:`image_keys`), and the
    extra ``views`` ({name: SELECT text}, created after them, in order), as one Arrow table.
    ``engine``, ``memory``, ``master``, ``progress``: as for :func:`cube`."""
    engine = _check_engine(engine)
    memory_bytes(memory)
    opened = _open(lake)
    offsets = key_offsets(_spans(opened))
    if engine == "spark":
        from .spark import run_arrow

        return run_arrow(opened, sql, offsets, master=master, memory=memory, views=views)
    with _duckdb(opened, memory, offsets, views) as con:
        with _progress(con, progress):
            return _run(lambda: con.sql(sql).to_arrow_table(), memory)


def stream(lake: str | os.PathLike | Lake, sql: str, engine: Engine = "duckdb", memory: str = DEFAULT_MEMORY,
           master: str = DEFAULT_MASTER, views: Mapping[str, str] | None = None,
           batch_rows: int = BATCH_ROWS) -> Iterator["pa.RecordBatch"]:
    """:func:`query`, the result as record batches of at most ``batch_rows`` rows, read as they
    come (DuckDB: memory stays within ``memory`` whatever the result's size). Arguments are
    checked, and the lake opened, before the first batch is asked for."""
    engine = _check_engine(engine)
    memory_bytes(memory)
    if batch_rows < 1:
        raise LakeError(f"`batch_rows` must be at least 1. Got {batch_rows} instead.")
    opened = _open(lake)
    offsets = key_offsets(_spans(opened))
    if engine == "spark":
        from .spark import run_batches

        return run_batches(opened, sql, offsets, master=master, memory=memory, batch_rows=batch_rows, views=views)
    return _duckdb_batches(opened, sql, offsets, memory, batch_rows, views)


def image_keys(lake: str | os.PathLike | Lake) -> tuple[str, ...]:
    """The view columns that tell images apart across the lake: ``("image_key",)`` (each image of
    each source has its own), or ``("source", "image_key")`` when a registered table's ids spread
    too wide for one BIGINT key."""
    return _keys(key_offsets(_spans(_open(lake))))


def _duckdb_batches(lake: Lake, sql: str, offsets: list[int] | None, memory: str, batch_rows: int,
                    views: Mapping[str, str] | None = None) -> Iterator["pa.RecordBatch"]:
    with _duckdb(lake, memory, offsets, views) as con:
        reader = _run(lambda: con.sql(sql).to_arrow_reader(batch_rows), memory)
        while True:
            batch = _run(lambda: _next(reader), memory)
            if batch is None:
                return
            if batch.num_rows:
                yield batch


def _keys(offsets: list[int] | None) -> tuple[str, ...]:
    return ("image_key",) if offsets is not None else ("source", "image_key")


def _spans(lake: Lake) -> list[tuple[int, int] | None]:
    """Per source, its smallest and largest image id (None: no images): copied sources hold
    0..images-1; registered tables are asked (DuckDB reads the answer from the files' statistics)."""
    spans: list[tuple[int, int] | None] = []
    for s in lake.sources:
        if s.kind == "copied":
            spans.append((0, s.images - 1) if s.images else None)
            continue
        import duckdb

        from .sql import literal, quote
        from .table import table_files

        column = quote(s.table["map"]["image_id"])
        files = ", ".join(literal(str(f)) for f in table_files(s.table["glob"]))
        con = duckdb.connect()
        try:
            low, high = con.execute(f"SELECT MIN(CAST({column} AS BIGINT)), MAX(CAST({column} AS BIGINT)) "
                                    f"FROM read_parquet([{files}], union_by_name = true)").fetchone()
        except duckdb.Error as exc:
            raise LakeError(f"{s.table['glob']}: the registered table of source {s.name!r} cannot be read: "
                            f"{type(exc).__name__}: {exc}") from None
        finally:
            con.close()
        spans.append(None if low is None else (int(low), int(high)))
    return spans


def _next(reader):
    try:
        return reader.read_next_batch()
    except StopIteration:
        return None


# --------------------------------------------------------------------------- DuckDB


def _duckdb_scan(lake: Lake) -> Callable[[str, object], str]:
    """The FROM item of each table for DuckDB: ``read_parquet`` over the listed files only."""
    from .manifest import CATEGORIES
    from .sql import literal

    def scan(kind: str, source) -> str:
        if kind == "categories":
            return f"read_parquet({literal(str(lake.path / CATEGORIES))})"
        if kind == "table":
            from .table import table_files

            files = table_files(source.table["glob"])
        else:
            files = lake.files(kind, source.id)
        listed = ", ".join(literal(str(f)) for f in files)
        return f"read_parquet([{listed}], union_by_name = true)"

    return scan


@contextmanager
def _duckdb(lake: Lake, memory: str, offsets: list[int] | None, views: Mapping[str, str] | None = None):
    """A DuckDB connection with the four views over ``lake`` (and the extra ``views``), its spill
    folder removed afterwards."""
    import duckdb

    from ..io.cache import cache_dir

    spill_root = cache_dir() / "lake-spill"
    spill_root.mkdir(parents=True, exist_ok=True)
    spill = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=spill_root))
    limit = f"{int(memory_bytes(memory) * DUCKDB_SHARE) // 10**6}MB"
    con = duckdb.connect(config={"memory_limit": limit, "threads": os.cpu_count() or 1,
                                 "temp_directory": str(spill), "preserve_insertion_order": False})
    try:
        # progress known (for query_progress) but never printed on stdout
        con.execute("SET enable_progress_bar = true; SET enable_progress_bar_print = false")
        con.execute("CREATE TEMPORARY MACRO shiftleft(a, b) AS a << b")  # Spark's name for <<
        all_views = view_sql(lake.sources, lake.conditions, lake.classes, _duckdb_scan(lake), offsets)
        for name, select in {**all_views, **(views or {})}.items():
            con.execute(f"CREATE TEMPORARY VIEW {name} AS {select}")
        yield con
    except duckdb.Error as exc:
        raise LakeError(f"{lake.path}: the lake's files cannot be read: {type(exc).__name__}: {exc}") from None
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


def _run(call, memory: str):
    """``call()``, DuckDB's errors turned into :class:`LakeError` (memory named when it ran out)."""
    import duckdb

    try:
        return call()
    except duckdb.OutOfMemoryException as exc:
        raise LakeError(f"the query needs more memory than `memory`={memory!r} allows, even spilling to disk "
                        f"({exc}); give a larger --memory.") from None
    except duckdb.Error as exc:
        raise LakeError(f"the lake query failed: {type(exc).__name__}: {exc}") from None


@contextmanager
def _progress(con, progress: Callable[[float], None] | None):
    """Report ``con``'s query progress (0..1) to ``progress`` every 0.2 s while the block runs."""
    if progress is None:
        yield
        return
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.2):
            try:
                value = con.query_progress()
            except Exception:  # noqa: BLE001 - progress is best effort
                continue
            if value is not None and value >= 0:
                progress(min(float(value) / 100.0, 1.0))

    thread = threading.Thread(target=poll, name="lake-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
    progress(1.0)
