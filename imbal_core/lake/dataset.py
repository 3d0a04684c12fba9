"""A lake opened as a dataset: what the count-level analyses read from a :class:`~imbal_core.dataset.Dataset`,
answered by the lake engine.

>>> from imbal_core.lake.dataset import LakeDataset
>>> ds = LakeDataset.open("my_lake", engine="duckdb", memory="1GB")
>>> imbal_core.summary.summarize(ds)            # the numbers `imbal summary EXPORT` gives, from the lake

:class:`LakeDataset` is a :class:`~imbal_core.cube.CountSource`: :func:`imbal_core.cube.cube` and
:func:`~imbal_core.cube.image_counts` dispatch to it, and the analyses built on them (summary, the
health checklist, strata and findings, split health, the class-level plan, the hierarchy) run on
it unchanged. It holds the light attributes (categories, class names, splits, conditions, task)
and no annotation rows; steps that need them raise :class:`~imbal_core.cube.RowsUnavailable`.

Each cube is computed once per dims and kept; a cube (or an image count) over fewer dims is
summed from a kept one when it can be (the measures are additive over image dimensions), so an
analysis asking for the cube by split, then per class, runs one query. Per-image tables
(:attr:`LakeDataset.images`, :attr:`LakeDataset.image_classes`: plan weights, parent images, merges)
are read in chunks from DuckDB only when their size, computed first, fits ``memory``; otherwise
they raise :class:`~imbal_core.cube.RowsUnavailable` with the numbers (see :mod:`.rows`).
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from ..cube import CountSource, check_dims, coarsen, incidence_cube
from ..report import LoadReport
from . import engine as lake_engine
from .manifest import Lake, LakeError, open_lake, read_manifest
from .sql import key_offsets, literal, quote

if TYPE_CHECKING:
    import pyarrow as pa

#: Formats whose readers always give classification (one label per image, no extent).
CLASSIFICATION_FORMATS = frozenset({"csv", "folder", "list", "exdark"})
#: How a lake's dataset is named in ``format``.
FORMAT = "lake"
Progress = Callable[[float, str], None]
#: The most rows (value combinations x classes) :meth:`LakeDataset.prepare` lets the cube over split and
#: every condition have; beyond, it builds one cube per condition instead.
PREPARED_ROWS = 2_000_000


class LakeDataset(CountSource):
    """A lake read as a dataset through the engine (see the module docstring).

    ``engine`` ("duckdb" or "spark"), ``memory`` (DuckDB's limit, "1GB") and ``master`` (Spark's,
    "local[2]") go to every query. Build one with :meth:`open`. Not a dataclass on purpose: it
    keeps its cubes, and pickles (and hashes for Streamlit's caches) as the lake's path and
    content key (:meth:`__reduce__`).
    """

    def __init__(self, lake: Lake, engine: str = lake_engine.ENGINES[0], memory: str = lake_engine.DEFAULT_MEMORY,
                 master: str = lake_engine.DEFAULT_MASTER,
                 relabel: "tuple[pa.Table, LakeDataset, tuple[int, ...]] | None" = None) -> None:
        self.lake, self.engine, self.memory, self.master = lake, engine, memory, master
        #: For a relabelled copy (:meth:`relabelled`): its categories, the lake's dataset it comes
        #: from and the old -> new category id map.
        self.relabel = relabel
        self._cubes: dict = {}
        self._image_counts: dict = {}
        self._spreads: dict = {}
        self._lock = threading.RLock()
        self._progress = threading.local()

    def __repr__(self) -> str:
        return f"LakeDataset({str(self.lake.path)!r}, engine={self.engine!r}, memory={self.memory!r})"

    @classmethod
    def open(cls, path: str | os.PathLike, engine: str = "duckdb", memory: str = lake_engine.DEFAULT_MEMORY,
             master: str = lake_engine.DEFAULT_MASTER) -> "LakeDataset":
        """The lake at ``path``, checked (:func:`~.manifest.open_lake`; :class:`LakeError` when unusable)."""
        lake_engine._check_engine(engine)
        lake_engine.memory_bytes(memory)
        return cls(open_lake(path), engine, memory, master)

    def __reduce__(self):
        # Pickling (and Streamlit's cache hashing) reopens the lake instead of copying the kept
        # cubes; the content key is part of it, so a cache never answers for an older content.
        if self.relabel is not None:
            raise TypeError("a relabelled lake dataset (a merge what-if) cannot be pickled")
        return (_Reopen, (str(self.lake.path), self.engine, self.memory, self.master, self.key))

    # ------------------------------------------------------------------ what a Dataset offers

    @property
    def path(self) -> Path:
        return self.lake.path

    @property
    def description(self) -> str:  # type: ignore[override]
        return f"the lake at {self.lake.path}"

    format = FORMAT
    uncounted = None
    records = None
    origin = None

    @property
    def report(self) -> LoadReport:
        """Empty: a lake keeps no load report (``imbal lake add`` printed it when the export was read)."""
        return LoadReport()

    @property
    def sources(self) -> tuple[str, ...]:
        return (str(self.lake.path),)

    @property
    def conditions(self) -> tuple[str, ...]:
        return tuple(self.lake.conditions)

    @cached_property
    def categories(self) -> "pa.Table":
        """The canonical categories table (:data:`imbal_core.dataset.CATEGORY_SCHEMA`) of the lake's
        committed classes, ids as in the lake; ``source_id`` is the class name (a lake keeps no
        export ids)."""
        if self.relabel is not None:
            return self.relabel[0]
        import pyarrow as pa
        import pyarrow.compute as pc

        from ..dataset import CATEGORY_SCHEMA

        cats = self.lake.read_categories()
        names = cats.column("name").cast(pa.string())
        return pa.table([pc.cast(cats.column("category_id"), pa.int32()), names, names,
                         cats.column("supercategory").cast(pa.string()),
                         pc.fill_null(cats.column("critical"), False)], schema=CATEGORY_SCHEMA)

    @property
    def class_names(self) -> list[str]:
        return self.categories.column("name").to_pylist()

    @property
    def critical_classes(self) -> list[str]:
        import pyarrow.compute as pc

        return pc.filter(self.categories.column("name"), self.categories.column("critical")).to_pylist()

    @property
    def num_images(self) -> int:
        return sum(s.images for s in self.lake.sources)

    @property
    def num_annotations(self) -> int:
        return sum(s.annotations for s in self.lake.sources)

    @cached_property
    def splits(self) -> tuple[str, ...]:
        """Split names the lake's images have, train / val / test first, ``unassigned`` last."""
        from ..dataset import split_sort_key

        values = self.image_counts(("split",)).column("split").to_pylist()
        return tuple(sorted((v for v in values if v is not None), key=split_sort_key))

    @cached_property
    def key(self) -> str:
        """A content key (:func:`lake_key`); a relabelled copy's names its merges too."""
        key = lake_key(self.lake.to_manifest())
        if self.relabel is None:
            return key
        return key + "+merged:" + hashlib.blake2b(json.dumps(self.relabel[2]).encode(), digest_size=8).hexdigest()

    @cached_property
    def task(self) -> str:
        """The task every source was read as (the manifest's ``task`` when recorded); else inferred:
        classification for classification formats, segmentation when at least half the annotations
        have a pixel count, detection otherwise. Sources of different tasks: detection."""
        doc = read_manifest(self.lake.path)
        recorded = {e.get("task") for e in doc["sources"]}
        if len(recorded) == 1 and None not in recorded:
            return recorded.pop()
        if not self.lake.sources:
            return "detection"
        if all(s.format in CLASSIFICATION_FORMATS for s in self.lake.sources):
            return "classification"
        counted = self._query("SELECT COUNT(pixels) AS with_pixels, COUNT(*) AS annotations FROM annotations")
        with_pixels, total = (counted.column(c)[0].as_py() for c in ("with_pixels", "annotations"))
        return "segmentation" if total and 2 * with_pixels >= total else "detection"

    @property
    def annotations(self):
        raise self.unavailable("Reading the annotation rows (boxes, masks, ids)")

    @property
    def exported_annotations(self):
        raise self.unavailable("Reading the annotation rows (boxes, masks, ids)")

    def summary_line(self) -> str:
        """``3,005 images, 19,270 annotations, 10 classes, 3 splits, 3 conditions — a lake of 1 source``."""
        n = len(self.lake.sources)
        return (f"{self.num_images:,} images, {self.num_annotations:,} annotations, {len(self.class_names):,} classes, "
                f"{len(self.splits)} splits, {len(self.conditions)} conditions — a lake of {n} source{'s' * (n != 1)}")

    # ------------------------------------------------------------------ counts

    def cube(self, dims: Sequence[str] = ("split",)) -> "pa.Table":  # type: ignore[override]
        """The count cube over ``dims`` (:func:`imbal_core.cube.cube`), computed once per dims."""
        dims = check_dims(self, dims)
        if self.relabel is not None:  # merged classes: regrouped from the relabelled incidence, in memory
            return incidence_cube(self.image_classes, self.images, self.categories.column("name"), dims)
        return self._kept(self._cubes, dims, lambda wanted: lake_engine.cube(
            self.lake, wanted, engine=self.engine, memory=self.memory, master=self.master,
            progress=self._on_progress()))

    def image_counts(self, dims: Sequence[str] = ("split",)) -> "pa.Table":  # type: ignore[override]
        """Images per dims value combination (:func:`imbal_core.cube.image_counts`), every image."""
        dims = check_dims(self, dims)
        if self.relabel is not None:
            return self.relabel[1].image_counts(dims)
        return self._kept(self._image_counts, dims, self._count_images)

    def _kept(self, kept: dict, dims: tuple[str, ...], compute: Callable[[tuple[str, ...]], "pa.Table"]) -> "pa.Table":
        """``kept[dims]``, or a kept table over more dims summed down, or ``compute`` (over ``split``
        and ``dims``: nearly every analysis asks for the split too) summed down."""
        with self._lock:
            if dims in kept:
                return kept[dims]
            wider = next((d for d in sorted(kept, key=len) if set(dims) <= set(d)), None)
            if wider is None:
                wider = dims if "split" in dims else ("split", *dims)
                kept[wider] = compute(wider)
            if wider != dims:
                kept[dims] = coarsen(kept[wider], dims)
            return kept[dims]

    def _count_images(self, dims: tuple[str, ...]) -> "pa.Table":
        import pyarrow as pa

        if not dims:
            table = self._query("SELECT COUNT(*) AS images FROM images")
            return pa.table({"images": pa.array(table.column("images").to_pylist(), pa.int64())})
        cols = ", ".join(quote(d) for d in dims)
        table = self._query(f"SELECT {cols}, COUNT(*) AS images FROM images GROUP BY {cols}")
        out = {d: table.column(d).cast(pa.string()) for d in dims}
        out["images"] = table.column("images").cast(pa.int64())
        return pa.table(out).sort_by([(d, "ascending") for d in dims])

    def spread(self, column: str, splits: Sequence[str]) -> "pa.Table":
        """The values of image column ``column`` (``group``, a condition, or ``file_name``) found
        in more than one of ``splits``: one row per (value, split) holding it, ``value``,
        ``split``, ``images``, ``first`` (the smallest lake image key holding the value, in any
        split: the order in which the values first appear). What split health needs to find leaks and duplicates;
        ``file_name`` is read from the copied sources with DuckDB (registered tables have none).
        Kept per (column, splits), as the cubes are."""
        if self.relabel is not None:
            return self.relabel[1].spread(column, splits)
        check_dims(self, (column,), also=("file_name",))
        wanted = (column, tuple(splits))
        with self._lock:
            if wanted not in self._spreads:
                self._spreads[wanted] = self._spread(column, tuple(splits))
            return self._spreads[wanted]

    def _spread(self, column: str, splits: tuple[str, ...]) -> "pa.Table":
        import pyarrow as pa

        empty = pa.table({"value": pa.array([], pa.string()), "split": pa.array([], pa.string()),
                          "images": pa.array([], pa.int64()), "first": pa.array([], pa.int64())})
        source = "images"
        views: dict[str, str] = {}
        if column == "file_name":
            files = self._file_name_view()
            if files is None:
                return empty
            source, views = "image_files", {"image_files": files}
        if not splits:
            return empty
        listed = ", ".join(literal(s) for s in splits)
        value = f"CAST({quote(column)} AS STRING)"
        sql = (f"WITH s AS (SELECT {value} AS value, split, COUNT(*) AS images FROM {source} "
               f"WHERE {value} IS NOT NULL AND split IN ({listed}) GROUP BY {value}, split), "
               f"m AS (SELECT value FROM s GROUP BY value HAVING COUNT(*) > 1), "
               f"f AS (SELECT {value} AS value, MIN(image_key) AS first FROM {source} WHERE {value} IS NOT NULL "
               f"GROUP BY {value}) "
               f"SELECT s.value, s.split, s.images, f.first FROM s JOIN m ON s.value = m.value "
               f"JOIN f ON f.value = s.value")
        table = self._query(sql, views, duckdb_only=bool(views))
        return pa.table({"value": table.column("value").cast(pa.string()), "split": table.column("split").cast(pa.string()),
                         "images": table.column("images").cast(pa.int64()), "first": table.column("first").cast(pa.int64())})

    # ------------------------------------------------------------------ per-image rows

    @cached_property
    def images(self) -> "pa.Table":
        """One row per image: dense ``image_id`` (0.. in source, then image order: a one-source
        lake's ids are its export's), ``source`` (the manifest's source id), ``file_name``,
        ``split``, ``group`` and the conditions. Read only when it fits ``memory``."""
        if self.relabel is not None:
            return self.relabel[1].images
        from .rows import read_images

        return read_images(self)

    @cached_property
    def image_classes(self) -> "pa.Table":
        """One row per (image, class) present, as :attr:`Dataset.image_classes` (ids of
        :attr:`images`), read in chunks only when it fits ``memory``."""
        from .rows import read_image_classes, relabel_image_classes

        if self.relabel is not None:
            return relabel_image_classes(self.relabel[1].image_classes, self.relabel[2])
        return read_image_classes(self)

    def relabelled(self, remap: Sequence[int], categories: "pa.Table") -> "LakeDataset":
        """A copy whose classes are ``categories``, each old category id ``c`` counted as
        ``remap[c]`` (a merge, :func:`imbal_core.hierarchy.apply_merges`): its cube is regrouped
        in memory from the relabelled incidence, so it needs the per-image rows."""
        base = self if self.relabel is None else self.relabel[1]
        return LakeDataset(self.lake, self.engine, self.memory, self.master,
                           relabel=(categories, base, tuple(int(r) for r in remap)))

    # ------------------------------------------------------------------ queries and progress

    def prepare(self, progress: Progress | None = None) -> None:
        """Compute what the pages ask first (image counts and the cube by split and every
        condition; by split and each condition when that cube would be too large), reporting
        ``progress(fraction, text)``. Later cubes over fewer dims are summed from these."""
        report = progress or (lambda fraction, text: None)
        report(0.0, "Counting images per split and condition")
        wide = ("split", *self.conditions)
        cells = self.image_counts(wide).num_rows
        steps = [wide] if cells * max(len(self.class_names), 1) <= PREPARED_ROWS else [("split",)] + [
            ("split", c) for c in self.conditions]
        for k, dims in enumerate(steps):
            text = f"Building the count cube by {', '.join(dims)}"
            report(0.1 + 0.9 * k / len(steps), text)
            with self.reporting(lambda f, k=k: report(0.1 + 0.9 * (k + f) / len(steps), text)):
                self.cube(dims)
        report(1.0, "Counts ready")

    @contextmanager
    def reporting(self, callback: Callable[[float], None]) -> Iterator[None]:
        """Inside the block, the cubes this thread computes report their progress (0..1) to ``callback``."""
        self._progress.callback = callback
        try:
            yield
        finally:
            self._progress.callback = None

    def _on_progress(self) -> Callable[[float], None] | None:
        return getattr(self._progress, "callback", None)

    @cached_property
    def _offsets(self) -> list[int] | None:
        return key_offsets(lake_engine._spans(self.lake))

    def _query(self, sql: str, views: dict[str, str] | None = None, duckdb_only: bool = False) -> "pa.Table":
        """``sql`` over the engine's views (images, annotations, categories, sources; see
        :mod:`.sql`) and ``views`` (DuckDB only), as one Arrow table."""
        if self.engine == "spark" and not duckdb_only:
            from .spark import run_arrow

            return run_arrow(self.lake, sql, self._offsets, master=self.master, memory=self.memory)
        with lake_engine._duckdb(self.lake, self.memory, self._offsets) as con:
            for name, select in (views or {}).items():
                con.execute(f"CREATE TEMPORARY VIEW {name} AS {select}")
            return lake_engine._run(lambda: con.sql(sql).to_arrow_table(), self.memory)

    def stream(self, sql: str, views: dict[str, str] | None = None, batch_rows: int = lake_engine.BATCH_ROWS):
        """``sql`` (as :meth:`_query`, DuckDB) as record batches of at most ``batch_rows`` rows."""
        with lake_engine._duckdb(self.lake, self.memory, self._offsets) as con:
            for name, select in (views or {}).items():
                con.execute(f"CREATE TEMPORARY VIEW {name} AS {select}")
            reader = lake_engine._run(lambda: con.sql(sql).to_arrow_reader(batch_rows), self.memory)
            while True:
                batch = lake_engine._run(lambda: lake_engine._next(reader), self.memory)
                if batch is None:
                    return
                if batch.num_rows:
                    yield batch

    def _file_name_view(self) -> str | None:
        """The copied sources' ``source``, ``image_id``, ``image_key``, ``split``, ``file_name``
        (DuckDB; None when the lake has no copied source)."""
        offsets = self._offsets
        parts = []
        for index, s in enumerate(self.lake.sources):
            if s.kind != "copied" or not s.images:
                continue
            shift = f" + ({int(offsets[index])})" if offsets is not None and offsets[index] else ""
            files = ", ".join(literal(str(f)) for f in self.lake.files("images", s.id))
            parts.append(f"SELECT {index} AS source, image_id, image_id{shift} AS image_key, split, file_name "
                         f"FROM read_parquet([{files}], union_by_name = true)")
        return "\nUNION ALL\n".join(parts) if parts else None


def lake_key(manifest: dict) -> str:
    """The content key of a lake from its manifest (:func:`~.manifest.read_manifest`, cheap: no file
    is read): the sources' content hashes, the committed classes and the conditions."""
    doc = {"sources": [s["content_hash"] for s in manifest["sources"]], "classes": manifest["classes"],
           "conditions": list(manifest["conditions"])}
    return "lake-" + hashlib.blake2b(json.dumps(doc).encode(), digest_size=20).hexdigest()


class _Reopen:
    """What a pickled :class:`LakeDataset` calls to come back: it reopens the lake. A class, not a
    function, because Streamlit's cache hashing takes a class (by name) and refuses a function."""

    def __new__(cls, path: str, engine: str, memory: str, master: str, key: str) -> LakeDataset:  # type: ignore[misc]
        return LakeDataset.open(path, engine=engine, memory=memory, master=master)


def open_dataset(path: str | os.PathLike, engine: str = "duckdb", memory: str | None = None,
                 master: str | None = None) -> LakeDataset:
    """:meth:`LakeDataset.open` with None meaning each setting's default."""
    return LakeDataset.open(path, engine=engine or "duckdb", memory=memory or lake_engine.DEFAULT_MEMORY,
                            master=master or lake_engine.DEFAULT_MASTER)


__all__ = ["CLASSIFICATION_FORMATS", "FORMAT", "LakeDataset", "LakeError", "lake_key", "open_dataset"]
