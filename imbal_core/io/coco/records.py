"""The records a COCO file holds, kept as JSON text for :attr:`imbal_core.Dataset.records`.

Both paths of the COCO reader keep the same records (see :mod:`imbal_core.source_records`): the
per-record path takes each record's text byte for byte through msgspec's ``Raw`` (:func:`python_records`),
the fast path slices it out of the file's bytes (:class:`._jsontexts.DeferredTexts`);
:func:`source_records` puts the files together once the reader knows which image became which row.
"""
from __future__ import annotations

from contextlib import ExitStack, contextmanager
from typing import Any, Iterator

import msgspec
import numpy as np
import pyarrow as pa

from ...source_records import SourceRecords, encode_record
from .parsed import FileRecords, ParsedFile


def record_name(ann_id: Any, index: int) -> str:
    """The annotation's own id as text (text or a number), else its position."""
    if isinstance(ann_id, (str, int, float)) and not isinstance(ann_id, bool):
        return str(ann_id)
    return f"annotations[{index}]"


def python_records(data: bytes, doc: dict[str, Any]) -> FileRecords:
    """The file's records as JSON text: byte for byte as in the file (msgspec's ``Raw``), or,
    where msgspec cannot read the file (``NaN``, invalid UTF-8: :func:`imbal_core.io.files.parse_json` read
    it with the standard library), each record of ``doc`` written again."""
    arrays = ("images", "annotations")
    try:
        top = msgspec.json.decode(data[3:] if data.startswith(b"\xef\xbb\xbf") else data, type=dict[str, msgspec.Raw])
        parts = {k: msgspec.json.decode(top[k], type=list[msgspec.Raw]) if k in top else [] for k in arrays}
        document = msgspec.json.encode({k: (msgspec.Raw(b"[]") if k in arrays else v) for k, v in top.items()})
        texts = {k: [bytes(r) for r in v] for k, v in parts.items()}
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError, ValueError):
        document = encode_record({k: ([] if k in arrays else v) for k, v in doc.items()})
        texts = {k: [encode_record(r) for r in doc.get(k) or []] for k in arrays}
    anns = doc.get("annotations") or []
    names = [record_name(r.get("id", f"annotations[{i}]"), i) if isinstance(r, dict) else f"annotations[{i}]"
             for i, r in enumerate(anns)]
    return FileRecords(document, (pa.array(texts["images"], pa.binary_view()), pa.array(texts["annotations"], pa.binary_view())),
                       pa.array(names, pa.string()), len(texts["images"]))


def source_records(parsed: list[ParsedFile], kept: list[tuple[int, np.ndarray | None]]) -> SourceRecords | None:
    """Every file's records (see :mod:`imbal_core.source_records`), each image record with the
    dataset row it became (-1: skipped). ``kept``: per file, how many of its parsed images the
    dataset kept and which (None: all). Texts the fast path has not copied yet
    (:class:`._jsontexts.DeferredTexts`) are copied when the records are first used."""
    if any(p.records is None for p in parsed):
        return None
    rows_of_file = []
    offset = 0
    for p, (n, which) in zip(parsed, kept):
        r = p.records
        rows = np.full(r.images, -1, np.int64)
        parsed_rows = np.arange(p.images.num_rows) if which is None else which
        index = parsed_rows if r.image_index is None else np.asarray(r.image_index, np.int64)[parsed_rows]
        rows[index] = offset + np.arange(n)
        offset += n
        rows_of_file.append(rows)
    files = [p.records for p in parsed]

    def tables(texts: list[tuple[pa.Array, pa.Array]] | None = None) -> tuple[pa.Table, pa.Table, pa.Table]:
        images, annotations = [], []
        for file, (r, rows) in enumerate(zip(files, rows_of_file)):
            image_texts, ann_texts = r.record_texts() if texts is None else texts[file]
            images.append(pa.table({"file": pa.array(np.full(len(rows), file, np.int32)), "row": pa.array(rows),
                                    "record": image_texts}))
            annotations.append(pa.table({"file": pa.array(np.full(len(ann_texts), file, np.int32)),
                                         "source_id": r.annotation_names, "record": ann_texts}))
        documents = pa.table({"document": pa.array([r.document for r in files], pa.large_binary())})
        return documents, pa.concat_tables(images), pa.concat_tables(annotations)

    @contextmanager
    def borrowed() -> Iterator[tuple[pa.Table, pa.Table, pa.Table]]:
        with ExitStack() as stack:
            texts = [tuple(stack.enter_context(r.borrow())) if r.borrow is not None else r.record_texts() for r in files]
            yield tables(texts)  # type: ignore[arg-type]

    if all(not callable(r.texts) for r in files):
        return SourceRecords.of(*tables())
    return SourceRecords.lazy(tables, borrowed)
