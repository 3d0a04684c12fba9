"""A fast path from a large JSON object holding arrays of records (COCO) to Arrow tables.

Building a Python object per annotation is where every slow COCO loader spends its time. Here:

1. The file is mapped into memory, read-only (:class:`FileBytes`): its pages come straight from
   the system's file cache, nothing is copied. Each wanted top-level array is found by its key
   (``"annotations": [``): inside a JSON string every quote is escaped, so that byte pattern can
   only be a key.
2. One NumPy pass over an array's body finds where it ends (the first ``}`` followed by ``]``) and
   where one record stops and the next starts (``},{`` / ``}, {``).
3. The records become an Arrow ``string_view`` column without a copy — each value points at its
   record inside the mapped file, the separators in between are simply not part of any value —
   and DuckDB parses them on all cores with ``from_json`` and an explicit structure (polygons are
   skipped, never turned into objects). pyarrow's reader, which needs one record per line,
   infers the schema of the smaller image array from a copy of its body with the separators
   turned into newlines.

4. The records' own text is kept for :attr:`imbal_core.Dataset.records`, copied out of the map
   only when first used (:class:`._jsontexts.DeferredTexts`; a load that never uses it pays
   nothing), after checking that the file was not changed in place meanwhile (:class:`Unchanged`).

Where the time goes matters on two cores: the import of pandas, which pyarrow makes on its first
conversion of Python values, holds the GIL for 0.2 s, so it is started beside DuckDB's parse
(which does not hold it) and never beside the NumPy split (see :func:`_import_pandas_beside`).

Both parsers are strict, so any surprise — pretty-printed records, a comma-brace or ``}]`` inside
a string, a nested list of objects, a value of the wrong type — makes a record invalid JSON and
raises :class:`FastPathUnavailable`; the caller then uses its thorough per-record path, which
also reads the parts of the document this path does not look at. Nothing is guessed.
"""
from __future__ import annotations

import mmap
import os
import sys
import threading
import weakref
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
#: A ``string_view`` value addresses its data buffer with an int32 offset: the file is handed to
#: Arrow as overlapping windows of twice this size, one starting at every multiple of it, and a
#: record (shorter than this) lives in the window where it starts.
_VIEW_WINDOW = 1 << 30
#: How far into a body to look for pretty-printing before handing it to DuckDB (see :func:`duckdb_records`).
_LOOK_FOR_NEWLINES = 1 << 16


class FastPathUnavailable(Exception):
    """The file is not in the shape the fast path handles; use the per-record path."""


@dataclass
class Body:
    """The body of one array (brackets excluded) inside a buffer holding the file."""

    data: bytearray | mmap.mmap  # the whole file (or a copy of the body, see :func:`patched`)
    start: int
    stop: int
    records: int
    #: Sorted offsets (relative to ``start``) of the commas between records (newlines once patched).
    separators: np.ndarray
    #: The separators are newlines: one record per line (what pyarrow's reader needs).
    patched: bool = False
    #: The first 4 bytes of each record's text (``records`` x 4), noted by :func:`split_records`.
    heads: np.ndarray | None = None

    @property
    def view(self) -> memoryview:
        return memoryview(self.data)[self.start : self.stop]

    def record_of(self, offsets: np.ndarray) -> np.ndarray:
        """The record index holding each body offset."""
        return np.searchsorted(self.separators, offsets)

    def record_starts(self) -> np.ndarray:
        """Where each record starts in :attr:`data` (its ``{`` or the whitespace before it)."""
        starts = np.empty(self.records, np.int64)
        if self.records:
            starts[0] = self.start
            starts[1:] = self.start + self.separators + 1
        return starts

    def record_stops(self) -> np.ndarray:
        """Where each record stops in :attr:`data` (one past its ``}``)."""
        stops = np.empty(self.records, np.int64)
        if self.records:
            stops[:-1] = self.start + self.separators
            stops[-1] = self.stop
        return stops


def read_file(path: str | Path) -> bytearray:
    size = os.path.getsize(path)
    buf = bytearray(size)
    with open(path, "rb", buffering=0) as f:
        got = f.readinto(buf)
    if got != size:
        raise OSError(f"read {got} of {size} bytes")
    return buf


class FileBytes:
    """A file's bytes, read-only: a memory map where the system offers one, else a copy in memory.

    Mapping costs no copy: reading the 330 MB bench file into a buffer took 0.25-0.3 s of page
    faults, mapping it a few milliseconds. Close it (or use it as a context manager) when done;
    Arrow arrays still pointing into the map keep it alive until they go. (As with any mapped
    file, another program truncating the file while it is read ends the process with SIGBUS;
    replacing it by a new file, as exporters do, does not.)
    """

    def __init__(self, path: str | Path):
        self.data: bytearray | mmap.mmap
        self.guard: Unchanged | None = None
        with open(path, "rb", buffering=0) as f:
            try:
                size = os.fstat(f.fileno()).st_size
                flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)  # Linux: map every page now
                self.data = mmap.mmap(f.fileno(), size, flags=flags, prot=mmap.PROT_READ) if size else bytearray()
                if size:
                    self.guard = Unchanged(f.fileno(), str(path))
            except (OSError, ValueError, AttributeError, OverflowError):  # no mmap here (a pipe, a special file, Windows flags)
                self.data = read_file(path)

    def close(self) -> None:
        if isinstance(self.data, mmap.mmap):
            try:
                self.data.close()
            except BufferError:  # views of it are still alive: the map goes with the last of them
                pass

    def __enter__(self) -> "FileBytes":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Unchanged:
    """Tells whether a mapped file is still as it was mapped: the same size and modification time,
    looked up on a descriptor of the mapped file itself (a file replaced at the same path, as
    exporters do, is another file: the map still shows the one that was parsed).

    The map is shared with the file: were the file rewritten in place, its pages would show the
    new bytes, and were it cut shorter, touching the lost pages would end the process (SIGBUS).
    :meth:`check` before touching the map again turns both into an error."""

    def __init__(self, fd: int, path: str):
        self._fd = os.dup(fd)
        self.path = path
        self._signature = self._stat()
        self._closer = weakref.finalize(self, os.close, self._fd)

    def _stat(self) -> tuple[int, int]:
        st = os.fstat(self._fd)
        return st.st_size, st.st_mtime_ns

    def check(self) -> None:
        """``OSError`` when the file was changed in place since it was mapped."""
        if self._stat() != self._signature:
            raise OSError(f"{self.path} was changed in place since it was loaded: its records can no longer be "
                          "read from the loaded data. Load it again.")

    def close(self) -> None:
        self._closer()


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


def split_records(data: bytearray | mmap.mmap, start: int, key: bytes | None = None,
                  patch: bool = True) -> tuple[Body, np.ndarray]:
    """Scan the array body starting at ``start``: find its end and the separators between records,
    and note each record's first bytes (:attr:`Body.heads`) while that part is in the CPU cache.

    ``patch`` (True): also turn the separators into newlines in place, one record per line
    (``data`` must be writable; a body with newlines of its own, pretty-printed, is refused).
    When ``key`` is given, also return which records hold ``key`` with a non-empty value (a
    boolean mask, see :func:`key_presence`)."""
    arr = np.frombuffer(data, np.uint8)
    n = len(arr)
    first = start
    while first < n and arr[first] in _WS:
        first += 1
    if first < n and arr[first] == 93:  # an empty array
        empty = Body(data, start, first, 0, np.zeros(0, np.int64), patched=patch, heads=np.zeros((0, 4), np.uint8))
        return empty, np.zeros(0, dtype=bool)
    separators: list[np.ndarray] = []
    heads: list[np.ndarray] = []
    stop = None
    pos = start
    is_close = np.empty(min(_CHUNK, n), dtype=bool)  # reused: a fresh array per chunk costs page faults
    while pos < n and stop is None:
        chunk_stop = min(n, pos + _CHUNK)
        a = arr[pos : min(n, chunk_stop + 16)]
        if len(a) < chunk_stop - pos + 16:  # the end of the file: pad, so look-aheads stay in bounds
            a = np.concatenate([a, np.zeros(chunk_stop - pos + 16 - len(a), np.uint8)])
        m = chunk_stop - pos
        close = np.flatnonzero(np.equal(a[:m], 125, out=is_close[:m]))  # '}'
        after = a[close + 1]
        ends = close[(after == 93) | ((after == 32) & (a[close + 2] == 93))]  # '}]' or '} ]'
        if len(ends):
            stop = pos + int(ends[0]) + 1
            close = close[close < ends[0]]
            after = a[close + 1]
        comma = close[after == 44]  # '},'
        nxt = a[comma + 2]
        ok = (nxt == 123) | ((nxt == 32) & (a[comma + 3] == 123))  # '{' or ' {'
        hits = comma[ok] + 1  # the commas
        separators.append(hits + (pos - start))
        begins = hits + 1 if pos != start else np.concatenate([[0], hits + 1])  # each record's first byte
        heads.append(np.stack([a[begins + k] for k in range(4)], axis=1))
        pos = chunk_stop
    if stop is None:
        raise FastPathUnavailable("the array does not end (truncated file?)")
    seps = np.concatenate(separators)
    body = Body(data, start, stop, len(seps) + 1, seps, heads=np.concatenate(heads))
    if patch:
        _patch(body)
    if key is None:
        return body, np.zeros(body.records, dtype=bool)
    return body, key_presence(body, key)


def _patch(body: Body) -> None:
    """Turn the body's separators into newlines, in place: one record per line."""
    if body.data.find(b"\n", body.start, body.stop) != -1:
        raise FastPathUnavailable("records span several lines (pretty-printed JSON)")
    np.frombuffer(body.data, np.uint8)[body.start + body.separators] = 10
    body.patched = True


def patched(body: Body) -> Body:
    """The body with one record per line: itself if it is so already, else a patched copy of it."""
    if body.patched:
        return body
    copy = Body(bytearray(body.view), 0, body.stop - body.start, body.records, body.separators, heads=body.heads)
    _patch(copy)
    return copy


def key_presence(body: Body, key: bytes) -> np.ndarray:
    """Which records hold ``key`` with a non-empty value: a list or an object with something in
    it (``[[``, ``[ [``, ``{"``), as the per-record path decides. (A key of that name in an
    object nested inside the record counts too: the COCO reader asks DuckDB instead.)"""
    n = body.records
    present = np.zeros(n, dtype=bool)
    quoted = b'"' + key + b'"'
    if n == 0 or body.data.find(quoted, body.start, body.stop) == -1:
        return present
    arr = np.frombuffer(body.data, np.uint8)
    pad = len(quoted) + 64
    for pos in range(body.start, body.stop, _CHUNK):
        m = min(_CHUNK, body.stop - pos)
        lead = 1 if pos else 0  # the byte before the chunk, to see an escaping backslash
        a = arr[pos - lead : min(len(arr), pos + m + pad)]
        if len(a) < lead + m + pad:
            a = np.concatenate([a, np.zeros(lead + m + pad - len(a), np.uint8)])
        hits = _key_positions(a, lead, m, quoted) - lead + (pos - body.start)
        present[body.record_of(hits)] = True
    return present


def _key_positions(a: np.ndarray, lo: int, m: int, quoted: bytes) -> np.ndarray:
    """Offsets ``lo <= p < lo + m`` in ``a`` where the key ``quoted`` starts and its value is a
    non-empty list or object; ``a`` extends past the range, so that a key crossing its end is
    seen once, and a value is followed far enough."""
    anchor = 1 + (len(quoted) - 2) // 2  # a letter inside the key: rarer than quotes or digits
    p = np.flatnonzero(a[lo + anchor : lo + m + anchor] == quoted[anchor]) + lo
    for i, byte in enumerate(quoted):
        if len(p) == 0:
            break
        p = p[a[p + i] == byte]
    if lo:
        p = p[a[p - 1] != 92]  # '\"key"' ends a string value; it is no key
    v = _skip_space(a, p + len(quoted))
    colon = a[v] == 58  # a key, not a value
    p, v = p[colon], _skip_space(a, v[colon] + 1)
    opener = a[v]
    first = a[_skip_space(a, v + 1)]
    filled = ((opener == 91) & (first != 93)) | ((opener == 123) & (first != 125))
    return p[filled]


def _skip_space(a: np.ndarray, v: np.ndarray, most: int = 8) -> np.ndarray:
    for _ in range(most):
        space = (a[v] == 32) | (a[v] == 10) | (a[v] == 9) | (a[v] == 13)
        if not space.any():
            return v
        v = v + space
    raise FastPathUnavailable("more whitespace around a key than the fast path follows")


def lines(body: Body, rows: np.ndarray | None = None) -> pa.Table:
    """The body's records (``rows``: those only) as a one-column Arrow table of JSON text.

    An unpatched body gives ``string_view`` values pointing at each record in the buffer, the
    separators left out: nothing is copied. A patched one (one record per line) gives
    ``large_string`` values, one line each (newline included), which every Arrow kernel takes."""
    if body.patched:
        n = body.records
        offsets = np.empty(n + 1, np.int64)
        offsets[0] = 0
        offsets[1:-1] = body.separators + 1
        offsets[-1] = body.stop - body.start
        table = pa.table({"line": pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(body.view))})
        return table if rows is None else table.take(pa.array(rows))
    starts, lengths, heads = body.record_starts(), body.record_stops(), body.heads
    lengths -= starts
    if rows is not None:
        starts, lengths, heads = starts[rows], lengths[rows], heads[rows]
    return pa.table({"line": _string_views(body.data, starts, lengths, heads)})


def _string_views(data: bytearray | mmap.mmap | pa.Buffer, starts: np.ndarray, lengths: np.ndarray, heads: np.ndarray,
                  type_: pa.DataType = pa.string_view()) -> pa.Array:
    """An Arrow ``string_view`` (or ``type_``) array of the byte ranges ``[start, start + length)``
    of ``data``; ``heads``: the first 4 bytes of each range (one row each).

    Each 16-byte view holds the length and, for a value of at most 12 bytes, the bytes
    themselves; for a longer one its first 4 bytes, the index of its data buffer and its offset
    there (see :data:`_VIEW_WINDOW`)."""
    n = len(starts)
    if n and int(lengths.max()) > _VIEW_WINDOW:
        raise FastPathUnavailable("a record is longer than the fast path addresses")
    raw = np.frombuffer(data, np.uint8)
    views = np.zeros((n, 16), np.uint8)
    fields = views.view(np.int32)  # per view: length, prefix, buffer index, offset
    fields[:, 0] = lengths
    short = lengths <= 12
    rows = slice(None) if not short.any() else ~short
    views[rows, 4:8] = heads[rows]
    if len(raw) <= _VIEW_WINDOW:  # one buffer (index 0, as zeroed): the offset is the start
        fields[rows, 3] = starts[rows]
    else:
        begin = starts[rows]
        window = begin // _VIEW_WINDOW
        fields[rows, 2] = window
        fields[rows, 3] = begin - window * _VIEW_WINDOW
    for row in np.flatnonzero(short).tolist():  # short records are rare (``{"id": 1}``)
        length = int(lengths[row])
        views[row, 4 : 4 + length] = raw[starts[row] : starts[row] + length]
    size = len(raw)
    if isinstance(data, pa.Buffer):
        windows = [data.slice(j * _VIEW_WINDOW, min(size, (j + 2) * _VIEW_WINDOW) - j * _VIEW_WINDOW)
                   for j in range(max(1, -(-size // _VIEW_WINDOW)))]
    else:
        whole = memoryview(data)
        windows = [pa.py_buffer(whole[j * _VIEW_WINDOW : min(size, (j + 2) * _VIEW_WINDOW)])
                   for j in range(max(1, -(-size // _VIEW_WINDOW)))]
    return pa.Array.from_buffers(type_, n, [None, pa.py_buffer(views), *windows])


class Warmup:
    """Starts DuckDB in a background thread (a tiny ``from_json`` query) while the file is split;
    the warmed connection is then reused."""

    def __init__(self, spec: str):
        self.connection = duckdb.connect()
        self._thread = threading.Thread(target=self._run, args=(spec,), daemon=True)
        self._thread.start()

    def _run(self, spec: str) -> None:
        try:
            cursor = self.connection.cursor()
            # built from buffers: pyarrow's conversion of Python values would import pandas here
            # (see _import_pandas_beside), holding the GIL while the file is split
            line = pa.Array.from_buffers(pa.large_string(), 1, [None, pa.py_buffer(np.array([0, 2], np.int64)),
                                                                 pa.py_buffer(b"{}")])
            cursor.register("warmup_lines", pa.table({"line": line}))
            cursor.sql(f"SELECT from_json(line, '{spec}') FROM warmup_lines").fetchall()
        except duckdb.Error:
            pass  # only a warm-up: the real query reports its own errors

    def ready(self) -> "duckdb.DuckDBPyConnection":
        self._thread.join()
        return self.connection

    def close(self) -> None:
        self._thread.join()
        self.connection.close()


def _import_pandas_beside() -> threading.Thread | None:
    """Start the import of pandas in a thread, if it is installed and not imported yet.

    pyarrow imports pandas on its first conversion of Python or NumPy values (``to_numpy``,
    ``pa.array`` ...), which every step after the parse makes: 0.2 s of Python holding the GIL.
    Started as DuckDB begins to parse (without the GIL), it runs beside the parse instead of
    after it; started earlier, beside the NumPy split, both would wait for the GIL in turn."""
    if "pandas" in sys.modules:
        return None

    def convert() -> None:
        try:
            pa.array([0])
        except Exception:  # noqa: BLE001 - a broken pandas: pyarrow reports it where it matters
            pass

    thread = threading.Thread(target=convert, daemon=True)
    thread.start()
    return thread


def duckdb_records(body: Body, select: str, warmup: Warmup, rows: np.ndarray | None = None) -> pa.Table:
    """Run ``select`` (SQL over ``lines``: the body's records, or those of ``rows``, one JSON text
    each) with DuckDB, which parses them on all cores. Any parse error raises
    :class:`FastPathUnavailable`.

    A newline where records are separated means pretty-printed JSON, whose records the split
    does not find: the first bytes are looked at for one, so that such a file goes to the
    per-record path at once. (A newline further on is harmless: JSON whitespace inside a
    record, or a split record DuckDB refuses.)"""
    if not body.patched and body.data.find(b"\n", body.start, min(body.stop, body.start + _LOOK_FOR_NEWLINES)) != -1:
        raise FastPathUnavailable("records span several lines (pretty-printed JSON)")
    con = warmup.ready()
    pandas_import = None
    try:
        con.register("lines", lines(body, rows))
        pandas_import = _import_pandas_beside()
        result = con.sql(select).arrow()
        table = result.read_all() if hasattr(result, "read_all") else result
        table = table.combine_chunks()  # one chunk, not one per 122,880 rows
    except duckdb.Error as exc:
        raise FastPathUnavailable(f"DuckDB could not read the records: {str(exc).splitlines()[0]}") from None
    finally:
        try:
            con.unregister("lines")
        except duckdb.Error:
            pass
        if pandas_import is not None:
            pandas_import.join()
    expected = body.records if rows is None else len(rows)
    if table.num_rows != expected:
        raise FastPathUnavailable(f"read {table.num_rows} records, expected {expected}")
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
    """Parse the body's records with pyarrow; ``schema`` fixes known fields, the rest are inferred.
    pyarrow reads one record per line: an unpatched body is copied and patched first."""
    body = patched(body)
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
