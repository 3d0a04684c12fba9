"""Spark SQL for the lake engine: the same SQL text as DuckDB (:mod:`.sql`), over temporary views.

pyspark is an optional extra (``pip install 'imbal[spark]'``) and needs Java 17 or newer
(``apt-get install default-jre-headless``); :class:`~.engine.EngineUnavailable` says so when
either is missing. One SparkSession per process is kept and reused (starting the JVM costs
seconds): local (``master="local[2]"``) or a cluster (``spark://host:7077``). The driver binds to
127.0.0.1, the web UI is off and Spark's own logging is kept to errors.

Each source's Parquet files are read with ``mergeSchema`` (a condition one file lacks reads as
NULL) and registered as a temporary view; the four views of :func:`.sql.view_sql` are then
created over them with the same SELECT text DuckDB runs. Double-quoted identifiers need
``spark.sql.ansi.doubleQuotedIdentifiers`` (set here); ``shiftleft`` is Spark's own function.
"""
from __future__ import annotations

import logging
import os
import shutil
import threading
import warnings
from typing import TYPE_CHECKING, Iterator, Mapping, Sequence

from .manifest import CATEGORIES, Lake
from .options import EngineUnavailable, memory_bytes
from .sql import view_sql

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

INSTALL_HINT = ("pip install 'imbal[spark]' (pyspark) and Java 17 or newer (Debian: apt-get install "
                "default-jre-headless; `make java` does it)")
_LOG4J = """rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""
_lock = threading.Lock()
_session = None
_session_key: tuple[str, str] | None = None


def _unavailable(message: str):
    return EngineUnavailable(f"`engine`='spark' cannot run here: {message}. Install: {INSTALL_HINT}.")


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and os.access(os.path.join(home, "bin", "java"), os.X_OK):
        return os.path.join(home, "bin", "java")
    return shutil.which("java")


def _local_cores(master: str) -> int:
    """``local`` -> 1, ``local[4]`` -> 4, ``local[*]`` (or ``local[4,2]``'s 4) -> as said or all cores."""
    inside = master.partition("[")[2].partition("]")[0].split(",")[0].strip()
    return int(inside) if inside.isdigit() else (os.cpu_count() or 1) if inside else 1


def _driver_memory(memory: str) -> str:
    return f"{max(memory_bytes(memory) // 2**20, 512)}m"


def session(master: str = "local[2]", memory: str = "1GB"):
    """The process's SparkSession for ``master`` (started on first use, reused after; a different
    ``master`` or ``memory`` stops the old one first)."""
    global _session, _session_key
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise _unavailable("pyspark is not installed") from None
    if _java() is None:
        raise _unavailable("Java is not installed (no `java` on PATH, no JAVA_HOME)")
    key = (master, memory)
    with _lock:
        if _session is not None and _session_key == key:
            return _session
        stop()
        from ..io.cache import cache_dir

        conf_dir = cache_dir() / "spark"
        conf_dir.mkdir(parents=True, exist_ok=True)
        log4j = conf_dir / "log4j2.properties"
        if not log4j.is_file() or log4j.read_text() != _LOG4J:
            log4j.write_text(_LOG4J)
        local = master.startswith("local")
        builder = (SparkSession.builder.master(master).appName("imbal-lake")
                   .config("spark.driver.host", "127.0.0.1")
                   .config("spark.driver.bindAddress", "127.0.0.1")
                   .config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false")
                   .config("spark.sql.ansi.enabled", "true")
                   .config("spark.sql.ansi.doubleQuotedIdentifiers", "true")
                   .config("spark.sql.session.timeZone", "UTC")
                   .config("spark.local.dir", str(conf_dir / "local"))
                   .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log4j}")
                   .config("spark.sql.execution.arrow.pyspark.enabled", "true"))
        if local:
            # a laptop's few cores: two shuffle partitions per core, not Spark's 200
            builder = (builder.config("spark.sql.shuffle.partitions", str(2 * _local_cores(master)))
                       .config("spark.driver.memory", _driver_memory(memory)))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # pyspark on pandas 3
                spark = builder.getOrCreate()
        except Exception as exc:  # noqa: BLE001 - py4j / JVM start failures come in many types
            raise _unavailable(f"Spark did not start ({type(exc).__name__}: {str(exc)[:500]})") from None
        spark.sparkContext.setLogLevel("ERROR")
        _session, _session_key = spark, key
        return spark


def stop() -> None:
    """Stop the process's SparkSession, if one is running."""
    global _session, _session_key
    if _session is not None:
        try:
            _session.stop()
        finally:
            _session, _session_key = None, None


def _views(spark, lake: Lake, offsets: Sequence[int] | None, views: Mapping[str, str] | None = None) -> None:
    """Register the four views over ``lake`` (and the extra ``views``) in ``spark``: temporary
    views of this session."""
    from .table import table_files

    def scan(kind: str, source) -> str:
        # A copied source's part files share one schema (the store writes them so): its footer is
        # read on the driver. A registered table's files may differ: mergeSchema (a Spark job).
        reader = spark.read.option("mergeSchema", "true" if kind == "table" else "false")
        if kind == "categories":
            name, frame = "imbal_raw_categories", reader.parquet(str(lake.path / CATEGORIES))
        else:
            index = lake.sources.index(source)
            files = table_files(source.table["glob"]) if kind == "table" else lake.files(kind, source.id)
            name, frame = f"imbal_raw_{kind}_{index}", reader.parquet(*(str(f) for f in files))
        frame.createOrReplaceTempView(name)
        return name

    all_views = view_sql(lake.sources, lake.conditions, lake.classes, scan, offsets)
    for name, select in {**all_views, **(views or {})}.items():
        spark.sql(f"CREATE OR REPLACE TEMPORARY VIEW {name} AS {select}")


def _sql_error(exc: Exception):
    from .manifest import LakeError

    return LakeError(f"the lake query failed in Spark: {type(exc).__name__}: {str(exc)[:1000]}")


def run_arrow(lake: Lake, sql: str, offsets: Sequence[int] | None, master: str, memory: str,
              views: Mapping[str, str] | None = None) -> "pa.Table":
    """``sql`` over ``lake``'s views (and ``views``), the whole result as one Arrow table."""
    spark = session(master, memory)
    try:
        _views(spark, lake, offsets, views)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # pyspark on pandas 3
            table = spark.sql(sql).toArrow()
    except Exception as exc:  # noqa: BLE001 - Spark's analysis and execution errors
        raise _sql_error(exc) from None
    return _plain(table)


def run_batches(lake: Lake, sql: str, offsets: Sequence[int] | None, master: str, memory: str,
                batch_rows: int, views: Mapping[str, str] | None = None) -> Iterator["pa.RecordBatch"]:
    """``sql`` over ``lake``'s views, in record batches of at most ``batch_rows`` rows, fetched one
    Spark partition at a time (the driver never holds the whole result). Spark starts and the
    query is planned now (errors raise here); rows come as the batches are read."""
    spark = session(master, memory)
    try:
        _views(spark, lake, offsets, views)
        frame = spark.sql(sql)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            schema = _plain_schema(frame.limit(0).toArrow().schema)
    except Exception as exc:  # noqa: BLE001
        raise _sql_error(exc) from None
    return _batches(frame, schema, batch_rows)


def _batches(frame, schema: "pa.Schema", batch_rows: int) -> Iterator["pa.RecordBatch"]:
    import pyarrow as pa

    def batch(rows: list) -> "pa.RecordBatch":
        return pa.RecordBatch.from_arrays([pa.array(c, t) for c, t in zip(zip(*rows), schema.types)],
                                          names=schema.names)

    chunk: list = []
    for row in frame.toLocalIterator():
        chunk.append(tuple(row))
        if len(chunk) >= batch_rows:
            yield batch(chunk)
            chunk = []
    if chunk:
        yield batch(chunk)


def _plain_schema(schema: "pa.Schema") -> "pa.Schema":
    import pyarrow as pa

    fields = [pa.field(f.name, pa.string() if pa.types.is_large_string(f.type) or str(f.type) == "string_view"
                       else f.type) for f in schema]  # nullable, as DuckDB's
    return pa.schema(fields)


def _plain(table: "pa.Table") -> "pa.Table":
    """Spark's Arrow (large strings, maybe) as DuckDB gives it: plain ``string`` columns."""
    return table.cast(_plain_schema(table.schema))
