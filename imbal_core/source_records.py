"""What a reader keeps of an export beyond the canonical tables, so that no later step opens it again.

Evaluation with masks, the merged COCO export of the label hierarchy, the per-split COCO files and
the pixel tiles all need parts of a COCO export that the canonical tables do not hold: the
segmentations, every extra field of every record, the top-level ``info`` / ``licenses`` /
``scene_*``. Reading the file again is wrong (it may have moved, or changed since it was
parsed), so the COCO reader keeps them here, as the JSON text it parsed, in a
:class:`SourceRecords` on :attr:`imbal_core.Dataset.records`:

``documents``
    per source file (in the order of ``Dataset.sources``), the top-level JSON object as
    written, with its ``images`` and ``annotations`` arrays emptied: ``info``, ``licenses``,
    ``categories`` as given, ``scene_annotations`` / ``scene_categories`` and any other key.
``images`` (:data:`IMAGE_RECORDS_SCHEMA`)
    one row per element of each file's ``images`` array, in file order: ``file`` (int32, index
    into ``documents``), ``row`` (int64: the dataset's ``image_id`` of that record, -1 for a
    record the reader skipped or repeated), ``record`` (binary_view: the element's JSON text,
    byte for byte as in the file).
``annotations`` (:data:`ANNOTATION_RECORDS_SCHEMA`)
    one row per element of each file's ``annotations`` array, in file order: ``file``,
    ``source_id`` (string: the reader's name of the record, as ``annotations.source_id``),
    ``record`` (binary_view, as in the file).

Every record is kept, those the reader skipped too, so that what is written back holds all the
export held. The text is the file's own: nothing is decoded when a file is read (the fast path
slices it out of the file's bytes, when first used), only where a step needs a field (a msgspec
``Struct`` of that one field skips the rest, polygons included). The parse cache stores the
records beside the tables and reads them back only on first use (:meth:`SourceRecords.lazy`).

Readers of other formats keep no records (``Dataset.records`` is None): the steps above then
say so (masks, tiles) or write what the canonical tables hold (merged and split exports).
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, ContextManager, Iterator, Sequence

import msgspec
import pyarrow as pa

IMAGE_RECORDS_SCHEMA = pa.schema([("file", pa.int32()), ("row", pa.int64()), ("record", pa.binary_view())])
ANNOTATION_RECORDS_SCHEMA = pa.schema([("file", pa.int32()), ("source_id", pa.string()), ("record", pa.binary_view())])
DOCUMENTS_SCHEMA = pa.schema([("document", pa.large_binary())])


@dataclass(frozen=True, eq=False)
class SourceRecords:
    """The records of a COCO export as its reader parsed them (see the module docstring).

    Build one with :meth:`of` (tables at hand) or :meth:`lazy` (a loader called on first use).
    ``documents``, ``images`` and ``annotations`` are read-only views of the three parts.
    """

    _parts: tuple[pa.Table, pa.Table, pa.Table] | Callable[[], tuple[pa.Table, pa.Table, pa.Table]]
    _borrow: Callable[[], ContextManager[tuple[pa.Table, pa.Table, pa.Table]]] | None = None

    @classmethod
    def of(cls, documents: Sequence[bytes] | pa.Table, images: pa.Table, annotations: pa.Table) -> "SourceRecords":
        """From the three parts (``documents`` as bytes per file, or a table with a ``document`` column)."""
        if not isinstance(documents, pa.Table):
            documents = pa.table({"document": pa.array(list(documents), pa.large_binary())})
        return cls((documents, images, annotations))

    @classmethod
    def lazy(cls, load: Callable[[], tuple[pa.Table, pa.Table, pa.Table]],
             borrow: Callable[[], ContextManager[tuple[pa.Table, pa.Table, pa.Table]]] | None = None) -> "SourceRecords":
        """Records that ``load()`` returns as (documents, images, annotations) tables when first used.
        ``borrow`` (optional): a context manager giving the tables for one read without loading
        them (see :meth:`borrowed`)."""
        return cls(load, borrow)

    @contextmanager
    def borrowed(self) -> Iterator[tuple[pa.Table, pa.Table, pa.Table]]:
        """The three tables for one read made inside the ``with`` block (the parse cache writing
        them): the records in memory when they are, else what the reader offers without loading
        them (the fast path: views of the mapped file, no copy, checked unchanged before and
        after). Nothing read may be kept past the block."""
        if self.loaded or self._borrow is None:
            yield self._tables
            return
        with self._borrow() as tables:
            yield tables

    @cached_property
    def _tables(self) -> tuple[pa.Table, pa.Table, pa.Table]:
        parts = self._parts() if callable(self._parts) else self._parts
        return tuple(parts)  # type: ignore[return-value]

    @property
    def loaded(self) -> bool:
        """Whether the records are in memory (a lazy one is read on first use of a part)."""
        return "_tables" in self.__dict__ or not callable(self._parts)

    @property
    def documents_table(self) -> pa.Table:
        return self._tables[0]

    @property
    def images(self) -> pa.Table:
        """``file``, ``row``, ``record``: one row per image record of each file."""
        return self._tables[1]

    @property
    def annotations(self) -> pa.Table:
        """``file``, ``source_id``, ``record``: one row per annotation record of each file."""
        return self._tables[2]

    @property
    def files(self) -> int:
        return self.documents_table.num_rows

    def document(self, file: int) -> dict[str, Any]:
        """The top-level object of source file ``file``, decoded, ``images`` and ``annotations``
        empty; :class:`Unreadable` when a part the reader never looked at cannot be decoded."""
        doc = decode(self.documents_table.column("document")[file].as_py())
        return doc if isinstance(doc, dict) else {}

    def file_rows(self, table: pa.Table, file: int) -> pa.Table:
        """The rows of ``table`` (:attr:`images` or :attr:`annotations`) from source file ``file``
        (a slice: the rows of one file are contiguous)."""
        import numpy as np

        files = table.column("file").to_numpy()
        lo, hi = np.searchsorted(files, [file, file + 1])
        return table.slice(int(lo), int(hi - lo))


class Unreadable(ValueError):
    """A kept JSON text cannot be decoded: nested deeper than a parser goes, or not JSON at all
    (a part the fast path never looked at)."""


def decode(record: bytes | None) -> Any:
    """One record's JSON text as Python values (None for None). msgspec first; the standard
    library on what msgspec refuses (invalid UTF-8 is replaced); :class:`Unreadable` when
    neither can."""
    if record is None:
        return None
    try:
        return msgspec.json.decode(record)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        pass
    try:
        return json.loads(bytes(record).decode("utf-8", errors="replace"))
    except (ValueError, RecursionError) as exc:
        raise Unreadable(f"a kept JSON text cannot be decoded ({type(exc).__name__}: {str(exc)[:120]})") from None


def encode_record(value: Any) -> bytes:
    """A record decoded by a reader, as JSON text (for files msgspec cannot keep the text of:
    NaN literals, invalid UTF-8). NaN and infinities become null, as JSON has none."""
    try:
        return msgspec.json.encode(value)
    except (TypeError, OverflowError, ValueError):
        return json.dumps(_finite(value), ensure_ascii=False, default=str).encode("utf-8", errors="replace")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def write_document(document: dict[str, Any], images: Sequence[Any], annotations: Sequence[Any]) -> bytes:
    """A COCO file: ``document``'s keys in their order, its ``images`` and ``annotations``
    replaced by those given (values, or :class:`msgspec.Raw` record texts written as they are)."""
    out = dict(document)
    out["images"] = list(images)
    out["annotations"] = list(annotations)
    try:
        return msgspec.json.encode(out)
    except (TypeError, OverflowError, ValueError):  # a huge integer in a decoded field: written by the standard library
        return json.dumps(_plain(out), ensure_ascii=False).encode("utf-8", errors="replace")


def _plain(value: Any) -> Any:
    if isinstance(value, msgspec.Raw):
        return decode(bytes(value))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return _finite(value)


def raw(record: bytes) -> msgspec.Raw:
    """``record`` as a value written as it is by :func:`write_document`."""
    return msgspec.Raw(record)
