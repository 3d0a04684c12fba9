"""A stable content key for a :class:`Dataset`, for caches that must never mix two datasets.

:func:`imbal_core.load` sets ``dataset.key`` to the parse cache's hash of the inputs (files,
format, options). A dataset built another way (by hand, by a merge of classes, by new splits)
has no ``key``; :func:`dataset_key` then hashes its tables, once per object.

What the key promises: two datasets whose tables differ in any value, column or type never
share a key; two datasets built the same way from the same values get the same key. (Equal
values laid out differently in memory, e.g. in other chunks, may get different keys: a cache
then computes twice, it never answers for the wrong data.)

The dashboard passes it to Streamlit as ``hash_funcs={Dataset: dataset_key}``.
"""
from __future__ import annotations

import hashlib

import pyarrow as pa

from .cube import is_count_source
from .dataset import Dataset

#: Prefix of a key computed from the tables, so it can never equal an input hash of the parse cache.
CONTENT_PREFIX = "tables-"
_SLOT = "_imbal_content_key"  # in the instance's __dict__, as functools.cached_property keeps its value
_TABLES = ("images", "annotations", "categories", "uncounted")


def dataset_key(dataset: Dataset) -> str:
    """``dataset.key`` when the loader set it, else :func:`content_key`, computed once per object.
    A lake (:class:`~imbal_core.cube.CountSource`) always has its own ``key`` (its manifest's content)."""
    if is_count_source(dataset):
        return dataset.key
    if not isinstance(dataset, Dataset):
        raise TypeError(f"`dataset` must be a Dataset. Got {type(dataset).__name__} instead.")
    if dataset.key:
        return dataset.key
    cached = vars(dataset).get(_SLOT)
    if cached is None:
        cached = content_key(dataset)
        vars(dataset)[_SLOT] = cached  # not a field: the frozen dataclass's fields stay as they were
    return cached


def content_key(dataset: Dataset) -> str:
    """A BLAKE2b hash of the dataset's task, format, conditions and tables (Arrow IPC, column by column)."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"task={dataset.task}\0format={dataset.format}\0conditions={','.join(dataset.conditions)}\0".encode())
    sink = _hash_sink(digest)
    for name in _TABLES:
        table = getattr(dataset, name)
        if table is None:
            digest.update(f"{name}=none\0".encode())
            continue
        digest.update(f"{name}={table.num_rows}x{table.num_columns}\0".encode())
        for field, column in zip(table.schema, table.columns):
            _hash_column(sink, field, column)
    return CONTENT_PREFIX + digest.hexdigest()


def _hash_column(sink: pa.NativeFile, field: pa.Field, column: pa.ChunkedArray) -> None:
    """One column as an Arrow IPC stream (name, type and values): one column at a time in memory."""
    array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if array.offset:
        array = pa.concat_arrays([array])  # a slice's buffers start before it: copy the values alone
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()  # the same values under another dictionary order hash alike
        field = field.with_type(array.type)
    if array.null_count:
        # Bytes under a null are undefined (they differ after a Parquet round trip): hash where the
        # nulls are, then the valid values alone.
        valid = array.is_valid()
        _write(sink, pa.field(f"{field.name}.valid", pa.bool_()), valid)
        array = array.filter(valid)
    _write(sink, field, array)


def _write(sink: pa.NativeFile, field: pa.Field, array: pa.Array) -> None:
    batch = pa.RecordBatch.from_arrays([array], schema=pa.schema([field]))
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)


class _Writer:
    """A write-only file that feeds what it is given to a hash."""

    def __init__(self, digest) -> None:
        self.digest = digest
        self.closed = False

    def write(self, data) -> int:
        self.digest.update(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def _hash_sink(digest) -> pa.NativeFile:
    return pa.PythonFile(_Writer(digest), mode="w")
