"""Each record's own JSON text, out of a file the fast path mapped (for :attr:`imbal_core.Dataset.records`).

:func:`record_texts` copies the records of an array's body (see :mod:`._jsonfast`) into memory
of their own, byte for byte, as a ``binary_view`` column; :class:`DeferredTexts` does so when
the texts are first asked for, not during the load.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import pyarrow as pa

from . import _jsonfast as fast


def _record_spans(body: fast.Body) -> tuple[int, np.ndarray, np.ndarray]:
    """Where the records' text lies in ``body.data``: the first record's ``{`` and each record's
    start and stop (its separators and the whitespace before it left out)."""
    starts, stops = body.record_starts(), body.record_stops()
    lead = starts[0]
    while lead < stops[0] and body.data[lead] in fast._WS:  # whitespace after the opening bracket
        lead += 1
    starts[0] = lead
    if body.records > 1:  # a separator is ``,`` or ``, `` (see split_records): one space at most
        starts[1:] += body.heads[1:, 0] == 32
    return int(lead), starts, stops


def _heads(raw: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Each record's first 4 bytes (a view's prefix)."""
    heads = np.empty((len(starts), 4), np.uint8)
    for k in range(4):
        heads[:, k] = raw[np.minimum(starts + k, len(raw) - 1)]
    return heads


def record_views(body: fast.Body) -> pa.Array:
    """:func:`record_texts` without the copy: views of the records where they lie in the file's
    bytes. Valid only while the map is, and only as long as the file is unchanged."""
    if not body.records:
        return pa.array([], pa.binary_view())
    _, starts, stops = _record_spans(body)
    raw = np.frombuffer(body.data, np.uint8)
    return fast._string_views(body.data, starts, stops - starts, _heads(raw, starts), pa.binary_view())


def record_texts(body: fast.Body) -> pa.Array:
    """Each record's JSON text, from its ``{`` to its ``}`` (the separators and the whitespace
    between records left out), byte for byte, as a ``binary_view`` array over a copy of the body
    (the values never point into the file's memory map, whose pages would change or vanish,
    SIGBUS, were the file rewritten in place while the dataset lives). About 0.05 s for the
    300 MB of the bench file on a quiet machine, most of it page faults of the fresh memory."""
    if not body.records:
        return pa.array([], pa.binary_view())
    lead, starts, stops = _record_spans(body)
    size = int(body.stop - lead)
    copy = pa.allocate_buffer(size)
    target = np.frombuffer(copy, np.uint8, count=size)
    target[:] = np.frombuffer(body.data, np.uint8, count=size, offset=lead)
    starts -= lead
    return fast._string_views(copy, starts, stops - lead - starts, _heads(target, starts), pa.binary_view())


class DeferredTexts:
    """:func:`record_texts` of several bodies, copied out of the file's memory map when first
    asked for (:meth:`result`), not during the load: a load that never uses the records (most
    commands) pays nothing for them, and a cached load copies them in the background writer.

    Until then the map stays pinned (see :class:`._jsonfast.FileBytes`), and the copy first checks that the
    file is still as it was parsed (:class:`._jsonfast.Unchanged`): a deleted or replaced file changes
    nothing, one rewritten in place since gives an error, never other records (nor SIGBUS).
    Thread-safe: the first caller copies, the others wait for it."""

    def __init__(self, bodies: list[fast.Body | None], guard: fast.Unchanged | None):
        self._bodies = bodies
        self._guard = guard
        # Buffer exports of the map: FileBytes.close() cannot unmap it while they live.
        self._pins = [np.frombuffer(b.data, np.uint8) for b in bodies if b is not None and len(b.data)]
        self._texts: list[pa.Array] | None = None
        self._lock = threading.Lock()

    @contextmanager
    def borrowed(self) -> Iterator[list[pa.Array]]:
        """The texts for one read inside the ``with`` block: copied already, or views of the map
        (no copy; :func:`record_views`), the file checked unchanged before and after (an
        ``OSError`` when it changed: what was read may be torn)."""
        with self._lock:
            if self._texts is not None:
                yield self._texts
                return
            if self._guard is not None:
                self._guard.check()
            yield [pa.array([], pa.binary_view()) if b is None else record_views(b) for b in self._bodies]
            if self._guard is not None:
                self._guard.check()

    def result(self) -> list[pa.Array]:
        """The texts of each body (an empty array for None)."""
        with self._lock:
            if self._texts is None:
                if self._guard is not None:
                    self._guard.check()
                texts = [pa.array([], pa.binary_view()) if b is None else record_texts(b) for b in self._bodies]
                if self._guard is not None:
                    self._guard.check()  # changed while being copied: the copy may be torn
                    self._guard.close()
                self._texts, self._bodies, self._pins = texts, [], []  # unpins the map
            return self._texts
