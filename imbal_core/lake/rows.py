"""Per-image tables of a lake, for the few steps that need them (plan weights, parent images, merges).

They are read from DuckDB in record batches, and only after their size is computed and found to
fit the lake dataset's ``memory``: a step that cannot fit says so with the numbers
(:class:`~imbal_core.cube.RowsUnavailable`), instead of swapping the machine to death. Images get dense ids
0..n-1 in (source, image id) order, so a one-source lake's ids are its export's own.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from ..cube import RowsUnavailable
from .engine import memory_bytes
from .manifest import LakeError
from .sql import quote

if TYPE_CHECKING:
    import pyarrow as pa

#: Bytes per (image, class) row in memory: image id, category id, instances, pixels.
PAIR_BYTES = 8 + 4 + 8 + 8
#: Bytes per image row besides its text: dense id, source / split / condition dictionary codes,
#: offsets of file_name and group, validity bits.
IMAGE_BYTES = 8 + 4 + 4 + 8 + 8 + 2
#: Text bytes assumed per group value of a registered table (its files are not measured).
REGISTERED_TEXT = 16


def _size(n: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,.0f} bytes"


def check_fits(lake_dataset: "LakeDataset", what: str, needed: int, detail: str) -> None:
    """Raise :class:`RowsUnavailable` when ``needed`` bytes exceed the dataset's ``memory``."""
    limit = memory_bytes(lake_dataset.memory)
    if needed > limit:
        raise RowsUnavailable(f"{what} of {lake_dataset.description} does not fit `memory`={lake_dataset.memory!r}: "
                        f"{detail} need about {_size(needed)} in memory ({_size(limit)} allowed). Give a larger "
                        "--memory, or use the class-level results, which need no per-image rows.")


def _text_bytes(lake_dataset: "LakeDataset", columns: Sequence[str]) -> int:
    """Uncompressed bytes of ``columns`` in the copied sources' image files (Parquet footers)."""
    import pyarrow.parquet as pq

    total = 0
    for s in lake_dataset.lake.sources:
        if s.kind != "copied":
            total += REGISTERED_TEXT * s.images
            continue
        for path in lake_dataset.lake.files("images", s.id):
            meta = pq.read_metadata(path)
            for g in range(meta.num_row_groups):
                group = meta.row_group(g)
                for k in range(group.num_columns):
                    if group.column(k).path_in_schema in columns:
                        total += group.column(k).total_uncompressed_size
    return total


def read_images(lake_dataset: "LakeDataset") -> "pa.Table":
    """The images table of :attr:`LakeDataset.images` (see there)."""
    import numpy as np
    import pyarrow as pa

    conditions = lake_dataset.conditions
    n = lake_dataset.num_images
    needed = n * (IMAGE_BYTES + 4 * len(conditions)) + _text_bytes(lake_dataset, ("file_name", "group"))
    check_fits(lake_dataset, "The per-image table", needed, f"{n:,} images")
    files = lake_dataset._file_name_view()
    views = {"image_files": files} if files else {}
    name = "f.file_name" if files else "CAST(NULL AS STRING)"
    join = "LEFT JOIN image_files AS f ON f.source = i.source AND f.image_id = i.image_id " if files else ""
    extra = "".join(f", i.{quote(c)}" for c in ("split", "group", *conditions))
    sql = (f"SELECT s.source_id AS source, {name} AS file_name{extra} FROM images AS i "
           f"JOIN sources AS s ON s.source = i.source {join}ORDER BY i.source, i.image_id")
    coded = ("source", "split", *conditions)
    parts = []
    for batch in lake_dataset.stream(sql, views):
        columns = {c: batch.column(c).cast(pa.string()) for c in batch.schema.names}
        parts.append(pa.table({c: (v.dictionary_encode() if c in coded else v) for c, v in columns.items()}))
    if parts:
        table = pa.concat_tables(parts).unify_dictionaries().combine_chunks()
    else:
        table = pa.table({c: pa.array([], pa.string()).dictionary_encode() if c in coded else pa.array([], pa.string())
                          for c in ("source", "file_name", "split", "group", *conditions)})
    if table.num_rows != n:
        raise LakeError(f"{lake_dataset.description}: the images hold {table.num_rows:,} rows; the manifest says {n:,}.")
    return table.add_column(0, "image_id", pa.array(np.arange(table.num_rows, dtype=np.int64)))


def read_image_classes(lake_dataset: "LakeDataset") -> "pa.Table":
    """The incidence of :attr:`LakeDataset.image_classes` (see there), in batches."""
    import pyarrow as pa
    import pyarrow.compute as pc

    pairs = int(pc.sum(lake_dataset.cube(()).column("images")).as_py() or 0)
    check_fits(lake_dataset, "The image x class incidence", pairs * PAIR_BYTES, f"{pairs:,} (image, class) pairs")
    sql = ("WITH d AS (SELECT source, image_id, ROW_NUMBER() OVER (ORDER BY source, image_id) - 1 AS dense FROM images) "
           "SELECT d.dense AS image_id, a.category_id, COUNT(*) AS instances, SUM(a.pixels) AS pixels "
           "FROM annotations AS a JOIN d ON a.source = d.source AND a.image_id = d.image_id "
           "GROUP BY d.dense, a.category_id ORDER BY d.dense, a.category_id")
    schema = pa.schema([("image_id", pa.int64()), ("category_id", pa.int32()), ("instances", pa.int64()),
                        ("pixels", pa.float64())])
    parts = [pa.Table.from_batches([b]).select(schema.names).cast(schema) for b in lake_dataset.stream(sql)]
    return pa.concat_tables(parts).combine_chunks() if parts else schema.empty_table()


def relabel_image_classes(image_classes: "pa.Table", remap: Sequence[int]) -> "pa.Table":
    """``image_classes`` with each category id ``c`` replaced by ``remap[c]`` and the pairs of an
    image that now share a class merged (instances and pixels added; pixels null when none)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    new = np.asarray(remap, dtype=np.int32)[image_classes.column("category_id").to_numpy()]
    table = image_classes.set_column(1, "category_id", pa.array(new, pa.int32()))
    grouped = table.group_by(["image_id", "category_id"], use_threads=False).aggregate(
        [("instances", "sum"), ("pixels", "sum", pc.ScalarAggregateOptions(min_count=1))])
    return pa.table({"image_id": grouped.column("image_id"), "category_id": grouped.column("category_id"),
                     "instances": pc.cast(grouped.column("instances_sum"), pa.int64()),
                     "pixels": pc.cast(grouped.column("pixels_sum"), pa.float64())}
                    ).sort_by([("image_id", "ascending"), ("category_id", "ascending")])
