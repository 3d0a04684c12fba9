"""The SQL the lake engine runs: one text for DuckDB and for Spark SQL.

Both engines see four views (built by :mod:`.engine` for DuckDB, :mod:`.spark` for Spark):

``images``       ``source`` (int: the source's index in the manifest), ``image_id`` (the source's
                 own), ``image_key`` (BIGINT, see below), ``split``, ``group`` and one text column
                 per lake condition (NULL where a source lacks it)
``annotations``  ``source``, ``image_id``, ``image_key``, ``category_id`` (lake-wide), ``pixels``
``categories``   ``category_id``, ``name`` (the committed classes only)
``sources``      ``source`` (int), ``source_id`` (the manifest's id, ``SID``)

An image is ``(source, image_id)``. ``image_key`` = ``image_id`` + an offset per source
(:func:`key_offsets`) tells the images of the whole lake apart in one BIGINT, so joins and
groupings key on one integer column (a hash on one integer is much cheaper than on two; when a
registered table's ids spread too wide for that, the text keys on ``source, image_key``).

The text uses only what both dialects read alike: identifiers in double quotes (Spark with
``spark.sql.ansi.doubleQuotedIdentifiers``), ``VALUES`` tables, ``IS NOT DISTINCT FROM``,
``BIT_OR``, ``&``, ``NULLIF``, ``FLOOR``, ``NULLS LAST``, ``ROW_NUMBER``, and ``shiftleft``
(Spark's function; DuckDB gets it as a macro over ``<<``).

Why the cube is not one join and one group-by. The plain form (annotations joined to images,
grouped by dims and class, ``COUNT(DISTINCT image)``) hashes every annotation on wide text keys
and keeps one hash entry per (image, class) pair: 63M of them for 100M annotations (the issue's
reference figures: 30.8 s; 26.5 s pre-aggregating the pairs first). Here instead:

1. ``cells``: the distinct dims tuples (a few hundred) get a small integer ``cell``; every image
   gets its cell once (``image_cells``), so the big joins carry one integer, not four strings.
2. ``instances`` and ``pixels`` per (cell, class) need no per-pair state: annotations joined to
   ``image_cells``, grouped into the (cell, class) table, which stays small.
3. ``images`` per (cell, class) counts the images whose class set holds the class. An image's
   class set is one bitmask per bucket of 62 classes (``BIT_OR(shiftleft(1, class % 62))`` grouped
   by image and bucket; one bucket, and no division, when the lake has at most 62 classes): one
   hash entry per image, not per pair. The masks, joined to their cell, are counted bit by bit (62
   fixed ``COUNT(NULLIF(mask & 2^k, 0))`` columns per (cell, bucket)) and unpivoted with a
   ``VALUES`` table of the 62 bit positions. Any number of classes works; the text's size does
   not depend on it.
"""
from __future__ import annotations

from typing import Sequence

#: Classes per bitmask bucket: bits 0..61 of a BIGINT (bit 63 is the sign; 62 kept clear).
BUCKET = 62


def quote(name: str) -> str:
    """``name`` as a double-quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def literal(text: str) -> str:
    """``text`` as a single-quoted SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def _on(left: str, right: str, keys: Sequence[str]) -> str:
    return " AND ".join(f"{left}.{k} = {right}.{k}" for k in keys)


def _cells(dims: Sequence[str], keys: Sequence[str]) -> tuple[str, str]:
    """The ``cells`` and ``image_cells`` CTE bodies."""
    key_cols = ", ".join(f"i.{k}" for k in keys)
    if not dims:
        return "SELECT 1 AS cell", f"SELECT {key_cols}, 1 AS cell FROM images AS i"
    cols = ", ".join(quote(d) for d in dims)
    cells = f"SELECT {cols}, ROW_NUMBER() OVER (ORDER BY {cols}) AS cell FROM (SELECT DISTINCT {cols} FROM images) AS d"
    match = " AND ".join(f"i.{quote(d)} IS NOT DISTINCT FROM c.{quote(d)}" for d in dims)
    image_cells = f"SELECT {key_cols}, c.cell FROM images AS i JOIN cells AS c ON {match}"
    return cells, image_cells


def cube_sql(dims: Sequence[str], classes: int, keys: Sequence[str] = ("image_key",)) -> str:
    """The count cube over ``dims`` (image columns): one row per (dims..., class) present, columns
    ``*dims``, ``class``, ``images``, ``instances`` (BIGINT), ``pixels`` (DOUBLE, NULL when no
    annotation of the cell has a pixel count), sorted by dims (NULLs last) then class.

    ``classes``: how many category ids the lake has (up to :data:`BUCKET`, one bitmask per image);
    ``keys``: the columns that identify an image across the lake (``image_key`` when the views
    give every image of every source its own, else ``source, image_key``).
    """
    dims = tuple(dims)
    keys = tuple(keys)
    cells, image_cells = _cells(dims, keys)
    key_cols = ", ".join(keys)
    if classes <= BUCKET:  # one bucket: no division per annotation
        bucket, bit, group_bucket = "0", "category_id", ""
    else:
        bucket = f"CAST(FLOOR(category_id / {BUCKET}) AS BIGINT)"
        bit, group_bucket = f"category_id % {BUCKET}", f", {bucket}"
    bit_counts = ",\n    ".join(f"COUNT(NULLIF(m.mask & {1 << k}, 0)) AS b{k}" for k in range(BUCKET))
    slots = ", ".join(f"({k})" for k in range(BUCKET))
    pick = " ".join(f"WHEN {k} THEN b.b{k}" for k in range(BUCKET))
    out_dims = "".join(f"c.{quote(d)}, " for d in dims)
    order = ", ".join([*(f"c.{quote(d)} ASC NULLS LAST" for d in dims), "k.name ASC"])
    return f"""WITH
cells AS ({cells}),
image_cells AS ({image_cells}),
instance_counts AS (
  SELECT ic.cell, a.category_id, COUNT(*) AS instances, SUM(a.pixels) AS pixels
  FROM annotations AS a JOIN image_cells AS ic ON {_on("a", "ic", keys)}
  GROUP BY ic.cell, a.category_id),
class_masks AS (
  SELECT {key_cols}, {bucket} AS bucket, BIT_OR(shiftleft(CAST(1 AS BIGINT), CAST({bit} AS INT))) AS mask
  FROM annotations
  GROUP BY {key_cols}{group_bucket}),
bucket_bits AS (
  SELECT ic.cell, m.bucket,
    {bit_counts}
  FROM class_masks AS m JOIN image_cells AS ic ON {_on("m", "ic", keys)}
  GROUP BY ic.cell, m.bucket),
image_counts AS (
  SELECT b.cell, b.bucket * {BUCKET} + s.slot AS category_id, CASE s.slot {pick} END AS images
  FROM bucket_bits AS b CROSS JOIN (VALUES {slots}) AS s(slot))
SELECT {out_dims}k.name AS "class", CAST(n.images AS BIGINT) AS images,
       CAST(i.instances AS BIGINT) AS instances, CAST(i.pixels AS DOUBLE) AS pixels
FROM instance_counts AS i
JOIN image_counts AS n ON n.cell = i.cell AND n.category_id = i.category_id
JOIN cells AS c ON c.cell = i.cell
JOIN categories AS k ON k.category_id = i.category_id
ORDER BY {order}"""


def incidence_sql(columns: Sequence[str], keys: Sequence[str] = ("image_key",), ordered: bool = True) -> str:
    """The image x class incidence: one row per (source, image_id, class) present, columns
    ``source`` (the manifest's source id), ``image_id``, ``category_id``, ``class``,
    ``instances`` (BIGINT), ``pixels`` (DOUBLE, NULL when none counted), then ``columns`` (image
    columns: split, group, conditions). ``ordered``: by source (manifest order), image, class id."""
    keys = tuple(keys)
    key_cols = ", ".join(keys)
    extra = "".join(f", i.{quote(c)}" for c in columns)
    order = "\nORDER BY i.source, i.image_id, p.category_id" if ordered else ""
    return f"""WITH pairs AS (
  SELECT {key_cols}, category_id, COUNT(*) AS instances, SUM(pixels) AS pixels
  FROM annotations GROUP BY {key_cols}, category_id)
SELECT s.source_id AS source, i.image_id, p.category_id, k.name AS "class",
       CAST(p.instances AS BIGINT) AS instances, CAST(p.pixels AS DOUBLE) AS pixels{extra}
FROM pairs AS p
JOIN images AS i ON {_on("i", "p", keys)}
JOIN categories AS k ON k.category_id = p.category_id
JOIN sources AS s ON s.source = i.source{order}"""


# --------------------------------------------------------------------------- the views

#: Split spellings a registered table may use; each maps through imbal's own ``normalize_split``.
_SPLIT_SPELLINGS = ("train", "training", "trn", "val", "valid", "validation", "dev", "eval", "test", "testing",
                    "tst", "", "none", "null", "nan", "unassigned")


def _split_expression(column: str | None) -> str:
    """A registered table's split column as imbal names splits (``valid`` -> ``val``, empty -> unassigned)."""
    from ..dataset import UNASSIGNED, normalize_split

    if column is None:
        return literal(UNASSIGNED)
    text = f"LOWER(TRIM(CAST({quote(column)} AS STRING)))"
    whens = " ".join(f"WHEN {literal(s)} THEN {literal(normalize_split(s))}" for s in _SPLIT_SPELLINGS
                     if normalize_split(s) != s)
    return f"COALESCE(CASE {text} {whens} ELSE {text} END, {literal(UNASSIGNED)})"


def view_sql(sources: Sequence, conditions: Sequence[str], classes: int, scan,
             offsets: Sequence[int] | None = None) -> dict[str, str]:
    """The SELECT behind each view, in creation order: ``categories``, ``sources``, ``images``,
    ``annotations``. ``sources``: the lake's :class:`~.manifest.LakeSource` entries (their index is
    the ``source`` key); ``scan(kind, source)`` gives the FROM item of one engine: kind "images" /
    "annotations" (a copied source's files), "table" (a registered source's files) or
    "categories" (source None). ``offsets`` (one per source): ``image_key`` = offset + ``image_id``,
    unique across the lake (see :func:`key_offsets`); None: ``image_key`` = ``image_id``, unique
    only with ``source``."""
    image_cols = ("split", "group", *conditions)
    null_text = "CAST(NULL AS STRING)"
    images, annotations = [], []
    for index, s in enumerate(sources):
        shift = f" + ({int(offsets[index])})" if offsets is not None and offsets[index] else ""
        if s.kind == "registered":
            mapping = dict(s.table["map"])
            raw = scan("table", s)
            image_id = f"CAST({quote(mapping['image_id'])} AS BIGINT)"
            cols = [f"MIN({_split_expression(mapping.get('split'))}) AS {quote('split')}"]
            for c in image_cols[1:]:
                value = f"MIN(CAST({quote(mapping[c])} AS STRING))" if c in mapping else null_text
                cols.append(f"{value} AS {quote(c)}")
            images.append(f"SELECT {index} AS source, {image_id} AS image_id, {image_id}{shift} AS image_key, "
                          f"{', '.join(cols)} FROM {raw} WHERE {quote(mapping['image_id'])} IS NOT NULL "
                          f"GROUP BY {image_id}")
            pixels = f"CAST(t.{quote(mapping['pixels'])} AS DOUBLE)" if "pixels" in mapping else "CAST(NULL AS DOUBLE)"
            t_image = f"CAST(t.{quote(mapping['image_id'])} AS BIGINT)"
            annotations.append(
                f"SELECT {index} AS source, {t_image} AS image_id, {t_image}{shift} AS image_key, k.category_id, "
                f"{pixels} AS pixels FROM {raw} AS t JOIN categories AS k "
                f"ON k.name = CAST(t.{quote(mapping['category'])} AS STRING)")
        else:
            has = set(s.conditions) | {"split", "group"}
            cols = [f"{quote(c) if c in has else null_text} AS {quote(c)}" for c in image_cols]
            images.append(f"SELECT {index} AS source, image_id, image_id{shift} AS image_key, {', '.join(cols)} "
                          f"FROM {scan('images', s)}")
            annotations.append(f"SELECT {index} AS source, image_id, image_id{shift} AS image_key, category_id, "
                               f"pixels FROM {scan('annotations', s)}")
    if not sources:  # an empty lake: the views' columns, no rows
        cols = ", ".join(f"{null_text} AS {quote(c)}" for c in image_cols)
        images.append(f"SELECT 0 AS source, CAST(0 AS BIGINT) AS image_id, CAST(0 AS BIGINT) AS image_key, {cols} "
                      f"WHERE 1 = 0")
        annotations.append("SELECT 0 AS source, CAST(0 AS BIGINT) AS image_id, CAST(0 AS BIGINT) AS image_key, "
                           "CAST(0 AS BIGINT) AS category_id, CAST(NULL AS DOUBLE) AS pixels WHERE 1 = 0")
    listed = ", ".join(f"({i}, {literal(s.id)})" for i, s in enumerate(sources)) or "(0, '')"
    return {
        "categories": f"SELECT CAST(category_id AS BIGINT) AS category_id, name FROM {scan('categories', None)} "
                      f"WHERE category_id < {int(classes)}",
        "sources": f"SELECT source, source_id FROM (VALUES {listed}) AS s(source, source_id)"
                   + ("" if sources else " WHERE 1 = 0"),
        "images": "\nUNION ALL\n".join(images),
        "annotations": "\nUNION ALL\n".join(annotations),
    }


#: The largest image key offsets may reach (keys stay clear of BIGINT overflow).
MAX_KEY = 1 << 62


def key_offsets(spans: Sequence[tuple[int, int] | None]) -> list[int] | None:
    """Offsets that give every image of the lake its own ``image_key`` = offset + ``image_id``.

    ``spans``: per source, (smallest, largest) image id (None: no images). Copied sources hold
    ids 0..images-1; a registered table's ids are whatever it holds. Sources are laid one after
    the other; None when the ids spread too wide for one BIGINT (then joins key on source too).
    """
    offsets, next_free = [], 0
    for span in spans:
        if span is None:
            offsets.append(0)
            continue
        low, high = span
        offsets.append(next_free - low)
        next_free += high - low + 1
        if next_free > MAX_KEY or abs(next_free - low) > MAX_KEY:
            return None
    return offsets

