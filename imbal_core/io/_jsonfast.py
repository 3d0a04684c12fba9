"""A fast path from a large JSON object holding arrays of records (COCO) to Arrow tables.

Building a Python object per annotation is where every slow COCO loader spends its time. Here:

1. The file is read once into a mutable buffer. Each wanted top-level array is found by its key
   (``"annotations": [``): inside a JSON string every quote is escaped, so that byte pattern can
   only be a key.
2. One NumPy pass over an array's body finds where it ends (the first ``}`` followed by ``]``),
   turns the commas between records (``},{`` / ``}, {``) into newlines in place — the body
   becomes newline-delimited JSON — and notes which records hold a given key with a non-empty
   value (``"segmentation": [[`` or ``{``).
3. The records become an Arrow string column without a copy (offsets from the separators, data
   from the file's buffer), and DuckDB parses them on all cores with ``from_json`` and an explicit
   structure (polygons are skipped, never turned into objects); pyarrow's reader infers the
   schema of the smaller image array.

Both parsers are strict, so any surprise — pretty-printed records, a comma-brace or ``}]`` inside
a string, a nested list of objects, a value of the wrong type — makes a record invalid JSON and
raises :class:`FastPathUnavailable`; the caller then uses its thorough per-record path, which
also reads the parts of the document this path does not look at. Nothing is guessed.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.json as pajson

_CHUNK = 1 << 22
_WS = (32, 9, 13, 10)
#: Deeper records go to the per-record path (see :func:`check_depth`); COCO records nest a few levels.
MAX_RECORD_DEPTH = 1000
_NOT_A_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


class FastPathUnavailable(Exception):
    """The file is not in the shape the fast path handles; use the per-record path."""


@dataclass
class Body:
    """The body of one array (brackets excluded) inside the file's buffer, split into lines."""

    data: bytearray  # the whole file; record separators patched to newlines in place
    start: int
    stop: int
    records: int
    #: Sorted offsets (relative to ``start``) of the newlines that separate records.
    separators: np.ndarray

    @property
    def view(self) -> memoryview:
        return memoryview(self.data)[self.start : self.stop]

    def record_of(self, offsets: np.ndarray) -> np.ndarray:
        """The record index holding each body offset."""
        return np.searchsorted(self.separators, offsets)


def read_file(path: str | Path) -> bytearray:
    size = os.path.getsize(path)
    buf = bytearray(size)
    with open(path, "rb", buffering=0) as f:
        got = f.readinto(buf)
    if got != size:
        raise OSError(f"read {got} of {size} bytes")
    return buf


def find_array(data: bytearray, key: str, skip: list[tuple[int, int]] = ()) -> int | None:
    """Offset of the first byte after ``"key": [``, or None when the key is absent.

    ``skip`` lists (start, stop) spans already known to be other arrays' bodies: they are not
    searched, which keeps looking for a small key after a large array cheap.
    """
    needle = b'"' + key.encode() + b'"'
    n = len(data)
    edges = sorted(skip)
    ranges, pos = [], 0
    for a, b in edges:
        if a > pos:
            ranges.append((pos, a))
        pos = max(pos, b)
    ranges.append((pos, n))
    for lo, hi in ranges:
        at = data.find(needle, lo, hi)
        while at != -1:
            pos = at + len(needle)
            while pos < n and data[pos] in _WS:
                pos += 1
            if pos < n and data[pos] == 58:  # ':' — a key, not a value
                pos += 1
                while pos < n and data[pos] in _WS:
                    pos += 1
                if pos < n and data[pos] == 91:
                    return pos + 1
                raise FastPathUnavailable(f"`{key}` is not an array")
            at = data.find(needle, at + 1, hi)
    return None


def split_records(data: bytearray, start: int, key: bytes | None = None, patch: bool = True) -> tuple[Body, np.ndarray]:
    """Scan the array body starting at ``start``: find its end and (``patch``) turn the record
    separators into newlines; when ``key`` is given, also return which records hold ``key`` with a
    non-empty value (a boolean mask). Pretty-printed bodies are refused (small in practice)."""
    arr = np.frombuffer(data, np.uint8)
    n = len(arr)
    first = start
    while first < n and arr[first] in _WS:
        first += 1
    if first < n and arr[first] == 93:  # an empty array
        return Body(data, start, first, 0, np.zeros(0, np.int64)), np.zeros(0, dtype=bool)
    separators: list[np.ndarray] = []
    stop = None
    pos = start
    carried = False  # the previous chunk patched this chunk's first byte (a '},' across the boundary)
    while pos < n and stop is None:
        chunk_stop = min(n, pos + _CHUNK)
        a = arr[pos : min(n, chunk_stop + 16)]
        if len(a) < chunk_stop - pos + 16:  # the end of the file: pad, so look-aheads stay in bounds
            a = np.concatenate([a, np.zeros(16, np.uint8)])
        m = chunk_stop - pos
        close = np.flatnonzero(a[:m] == 125)  # '}'
        after = a[close + 1]
        ends = close[(after == 93) | ((after == 32) & (a[close + 2] == 93))]  # '}]' or '} ]'
        if len(ends):
            stop = pos + int(ends[0]) + 1
            close = close[close < ends[0]]
            after = a[close + 1]
        limit = m if stop is None else stop - pos
        newlines = np.flatnonzero(a[:limit] == 10)
        if carried:
            newlines = newlines[newlines != 0]
        if len(newlines):
            raise FastPathUnavailable("records span several lines (pretty-printed JSON)")
        comma = close[after == 44]  # '},'
        nxt = a[comma + 2]
        ok = (nxt == 123) | ((nxt == 32) & (a[comma + 3] == 123))  # '{' or ' {'
        hits = comma[ok] + 1
        if patch:
            arr[hits + pos] = 10
        carried = patch and bool(len(hits)) and int(hits[-1]) == m
        separators.append(hits + (pos - start))
        pos = chunk_stop
    if stop is None:
        raise FastPathUnavailable("the array does not end (truncated file?)")
    seps = np.concatenate(separators)
    body = Body(data, start, stop, len(seps) + 1, seps)
    if key is None:
        return body, np.zeros(body.records, dtype=bool)
    return body, key_presence(body, key)


def key_presence(body: Body, key: bytes) -> np.ndarray:
    """Which records hold ``key`` with a non-empty value (``[[``, ``[ [`` or ``{``).

    Counting byte patterns settles the usual cases — every record has a polygon list, or no
    record has a non-empty value — and only a mix pays for a per-record scan.
    """
    data, start, stop, n = body.data, body.start, body.stop, body.records
    quoted = b'"' + key + b'"'
    if data.count(quoted + b": [[", start, stop) == n:  # json.dump's style, every record filled
        return np.ones(n, dtype=bool)
    keys = data.count(quoted, start, stop)
    empty = sum(data.count(quoted + v, start, stop) for v in (b": []", b":[]", b": null", b":null")) if keys else 0
    if empty == keys:
        return np.zeros(n, dtype=bool)
    arr = np.frombuffer(data, np.uint8)
    positions = []
    for pos in range(start, stop, _CHUNK):
        m = min(_CHUNK, stop - pos)
        a = arr[pos : min(len(arr), pos + m + 16)]
        if len(a) < m + 16:
            a = np.concatenate([a, np.zeros(16, np.uint8)])
        positions.append(_key_positions(a, m, key) + (pos - start))
    present = np.zeros(n, dtype=bool)
    hits = np.concatenate(positions)
    if len(hits):
        present[body.record_of(hits)] = True
    return present


def _key_positions(a: np.ndarray, m: int, key: bytes) -> np.ndarray:
    """Offsets ``p < m`` in ``a`` where ``"key": `` starts, followed by ``[[`` / ``[ [`` / ``{``
    (a non-empty value); ``a`` extends past ``m`` so that a key crossing ``m`` is seen once."""
    pattern = b'"' + key + b'"'
    anchor = 1 + len(key) // 2  # a letter inside the key: rarer than quotes or digits
    p = np.flatnonzero(a[: m + anchor] == pattern[anchor]) - anchor
    p = p[(p >= 0) & (p < m) & (p + len(pattern) + 6 < len(a))]
    for i, byte in enumerate(pattern):
        if len(p) == 0:
            break
        p = p[a[p + i] == byte]
    v = p + len(pattern)
    ok = np.zeros(len(p), dtype=bool)
    for colon in (0, 1):  # '":' or '" :'
        c = v + colon
        is_colon = a[c] == 58
        for gap in (1, 2):  # ':[' or ': ['
            o = c + gap
            opener = a[o]
            value_ok = (opener == 123) | ((opener == 91) & ((a[o + 1] == 91) | ((a[o + 1] == 32) & (a[o + 2] == 91))))
            spaced = (a[c + 1] == 32) if gap == 2 else (a[c + 1] != 32)
            ok |= is_colon & spaced & value_ok
    return p[ok]


def lines(body: Body) -> pa.Table:
    """The body's records as a one-column Arrow table of JSON text, without copying: the string
    offsets are the record separators, the data is the file's own buffer."""
    n = body.records
    offsets = np.empty(n + 1, np.int64)
    offsets[0] = 0
    offsets[1:-1] = body.separators + 1
    offsets[-1] = body.stop - body.start
    text = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(body.view))
    return pa.table({"line": text})


class Warmup:
    """Runs a tiny ``from_json`` query in a background thread while the file is being read.

    A process's first DuckDB JSON query pays a one-off start-up (about half a second here); paid
    on a one-row table beside other work, it is hidden. The warmed connection is then reused.
    """

    def __init__(self, spec: str):
        self.connection = duckdb.connect()
        self._thread = threading.Thread(target=self._run, args=(spec,), daemon=True)
        self._thread.start()

    def _run(self, spec: str) -> None:
        try:
            cursor = self.connection.cursor()
            cursor.register("warmup_lines", pa.table({"line": pa.array(["{}"], pa.large_string())}))
            cursor.sql(f"SELECT from_json(line, '{spec}') FROM warmup_lines").fetchall()
        except duckdb.Error:
            pass  # only a warm-up: the real query reports its own errors

    def ready(self) -> "duckdb.DuckDBPyConnection":
        self._thread.join()
        return self.connection

    def close(self) -> None:
        self._thread.join()
        self.connection.close()


def duckdb_records(body: Body, select: str, warmup: Warmup) -> pa.Table:
    """Run ``select`` (SQL over ``lines``: the body's records, one JSON text each) with DuckDB,
    which parses them on all cores. Any parse error raises :class:`FastPathUnavailable`."""
    con = warmup.ready()
    try:
        con.register("lines", lines(body))
        result = con.sql(select).arrow()
        table = result.read_all() if hasattr(result, "read_all") else result
        table = table.combine_chunks()  # one chunk, not hundreds of 2,048-row batches
    except duckdb.Error as exc:
        raise FastPathUnavailable(f"DuckDB could not read the records: {str(exc).splitlines()[0]}") from None
    finally:
        try:
            con.unregister("lines")
        except duckdb.Error:
            pass
    if table.num_rows != body.records:
        raise FastPathUnavailable(f"read {table.num_rows} records, expected {body.records}")
    return table


def check_depth(body: Body, limit: int = MAX_RECORD_DEPTH) -> None:
    """:class:`FastPathUnavailable` when brackets in the body's records nest deeper than ``limit``.

    pyarrow's JSON reader recurses in C++ and overflows the stack (a segmentation fault, not an
    exception) on records nested some ten thousand levels deep. A record shorter than ``2 * limit``
    bytes cannot nest that deep, so usual bodies cost one look at the record lengths; otherwise the
    brackets are counted. Brackets inside strings count too: a false alarm only sends the file to
    the per-record path, which reports properly."""
    if body.records == 0:
        return
    edges = np.concatenate([[-1], body.separators, [body.stop - body.start]])
    if np.diff(edges).max() <= 2 * limit:
        return
    brackets = bytes(body.view).translate(None, _NOT_A_BRACKET)
    a = np.frombuffer(brackets, np.uint8)
    depth = np.cumsum(np.where((a == 91) | (a == 123), 1, -1), dtype=np.int64)
    if len(depth) and depth.max() > limit:
        raise FastPathUnavailable(f"records nest deeper than {limit} levels")


def pyarrow_records(body: Body, schema: pa.Schema | None) -> pa.Table:
    """Parse the body's records with pyarrow; ``schema`` fixes known fields, the rest are inferred."""
    check_depth(body)
    parse = pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")
    try:
        table = pajson.read_json(
            pa.BufferReader(pa.py_buffer(body.view)),
            read_options=pajson.ReadOptions(block_size=4 << 20, use_threads=True),
            parse_options=parse,
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise FastPathUnavailable(f"pyarrow could not read the records: {str(exc).splitlines()[0]}") from None
    if table.num_rows != body.records:
        raise FastPathUnavailable(f"read {table.num_rows} records, expected {body.records}")
    return table


def raw_array(body: Body) -> bytes:
    """The array's JSON text, brackets included (for small arrays scanned with ``patch=False``)."""
    return b"[" + bytes(body.data[body.start : body.stop]) + b"]"
