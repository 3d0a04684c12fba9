"""What a COCO file parses to before ids are resolved, shared by both COCO paths.

The per-record path (:mod:`imbal_core.io.coco`) and the fast path (:mod:`.fast`) each produce a
:class:`ParsedFile`; :mod:`.coco` resolves ids and assembles the dataset. A module of its own so
that the two paths do not import each other.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager, Sequence

import pyarrow as pa

#: The annotation columns of a parsed file (plus ``annotated_at``, ``annotator`` as text).
ANN_COLUMNS = ("id", "image_id", "category_id", "x", "y", "w", "h", "area", "iscrowd", "has_segmentation")


@dataclass
class FileRecords:
    """One COCO file's own records as JSON text, for :class:`imbal_core.source_records.SourceRecords`."""

    document: bytes  # the top-level object, ``images`` and ``annotations`` emptied
    #: The texts (binary arrays: one per element of ``images``, one per element of
    #: ``annotations``, as in the file), or a function returning them (a copy still being made).
    texts: tuple[pa.Array, pa.Array] | Callable[[], Sequence[pa.Array]]
    annotation_names: pa.Array  # string: the reader's name of each annotation record (its ``source_id``)
    images: int  # how many image records
    #: The record (position in ``images``) of each row of :attr:`ParsedFile.images`; None when row i is record i.
    image_index: Any = None

    #: For texts still to be copied: a context manager giving them for one read without the copy.
    borrow: Callable[[], ContextManager[Sequence[pa.Array]]] | None = None

    def record_texts(self) -> tuple[pa.Array, pa.Array]:
        texts = self.texts() if callable(self.texts) else self.texts
        return texts[0], texts[1]


@dataclass
class ParsedFile:
    """One COCO file, parsed, before ids are resolved."""

    file: str
    images: pa.Table  # id + every image field as found
    annotations: pa.Table  # ANN_COLUMNS + annotated_at, annotator (text)
    categories: list[Any]
    scene_annotations: list[Any] | None = None
    scene_categories: list[Any] | None = None
    engine: str = "python"
    segmentations: dict[int, Any] = field(default_factory=dict)  # row -> segmentation, where area was missing
    records: FileRecords | None = None


def empty_images() -> pa.Table:
    return pa.table({"id": pa.array([], pa.int64())})


def empty_annotations() -> pa.Table:
    types = {"id": pa.int64(), "image_id": pa.int64(), "category_id": pa.int64(), "iscrowd": pa.bool_(),
             "has_segmentation": pa.bool_(), "annotated_at": pa.string(), "annotator": pa.string()}
    return pa.table({c: pa.array([], types.get(c, pa.float64())) for c in (*ANN_COLUMNS, "annotated_at", "annotator")})
