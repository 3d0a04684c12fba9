"""Thumbnails with their annotations, cached on disk: :func:`thumbnails` for a page, :func:`thumbnail` for one.

A thumbnail is a JPEG (long side ``size``, default :data:`THUMB_SIZE`) drawn by :func:`.drawing.render`.
It is stored under ``<cache_dir>/gallery/thumbs/v<VERSION>/`` (:func:`imbal_core.io.cache.cache_dir`),
keyed by the SHA-256 of:

- the image file: its real path, size and modification time (hashing every image's bytes would
  cost more than decoding it; an edited or replaced file has a new size or time), or, without a
  file, its status and recorded size; a sample's stand-in frame by its own content key;
- the thumbnail size, the drawing options and :data:`VERSION` of the drawing rules;
- everything drawn: each shape's class, colour, box, polygons, mask, score and highlight.

So a new export with other boxes, other predictions or another score threshold gets new
thumbnails, and the same image in two exports shares one. A cached thumbnail is returned as its
bytes without decoding; its note and problem ride along in the JPEG's comment. Entries are written
in a background thread (:func:`flush` waits for them), to a temporary name renamed into place. The geometry is
recomputed from the tables (cheap), so :class:`Thumbnail` always says what was drawn. The cache
never fails a call: a folder it cannot write is logged and the thumbnail returned uncached.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from ..io.cache import cache_dir
from ..report import LoadReport, ReportRow
from . import geometry
from .geometry import Shape
from .drawing import Rendered, render
from .resolve import ImageResolver, ImageSource, resolver_for

if TYPE_CHECKING:
    from ..dataset import Dataset
    from ..io.predictions import Predictions

VERSION = 1
#: The long side of a gallery thumbnail, pixels.
THUMB_SIZE = 256
JPEG_QUALITY = 85

log = logging.getLogger(__name__)
_writer: ThreadPoolExecutor | None = None
_writer_lock = threading.Lock()
_pending: set[Future] = set()
_in_flight: dict[Path, bytes] = {}


@dataclass(frozen=True, eq=False)
class Thumbnail:
    """One thumbnail: ``jpeg`` bytes of ``size`` (width, height), the ``shapes`` drawn (export
    coordinates), where its pixels came from (``source``), its ``note`` and ``problem`` (see
    :class:`.drawing.Rendered`), and whether it came from the disk cache (``cached``)."""

    image_id: int
    jpeg: bytes
    size: tuple[int, int]
    shapes: tuple[Shape, ...]
    source: ImageSource
    note: str = ""
    problem: ReportRow | None = None
    cached: bool = False

    @property
    def missing(self) -> bool:
        """True when the picture is a blank canvas: no file found, refused, or unreadable."""
        return self.source.path is None or self.problem is not None

    def count(self, class_name: str, origin: str = "ground_truth") -> int:
        return sum(1 for s in self.shapes if s.class_name == class_name and s.origin == origin)


@dataclass(frozen=True, eq=False)
class ThumbnailPage:
    """Thumbnails of several images, in the order asked, with the counts said once for all:
    ``missing`` (blank canvases: not found, refused or unreadable), of them ``refused`` (outside
    the allowed folders, never opened) and ``unreadable`` (corrupt, truncated, too large ...);
    ``rendered`` (bundled-sample stand-in frames); ``report``: a row per refused or unreadable image."""

    thumbnails: tuple[Thumbnail, ...]
    missing: int
    refused: int
    unreadable: int
    rendered: int
    report: LoadReport

    def __len__(self) -> int:
        return len(self.thumbnails)

    def summary(self) -> str:
        """``24 images shown; 3 without their image file (drawn on blank canvases), 1 refused ...``."""
        n = len(self.thumbnails)
        text = f"{n:,} image{'' if n == 1 else 's'} shown"
        parts = []
        if self.missing:
            parts.append(f"{self.missing:,} without a usable image file (annotations drawn on a blank canvas)")
        if self.refused:
            parts.append(f"{self.refused:,} refused because their path leads outside the allowed folders")
        if self.unreadable:
            parts.append(f"{self.unreadable:,} unreadable")
        if self.rendered:
            parts.append(f"{self.rendered:,} rendered sample frames (the sample has no photographs)")
        return text + ("; " + "; ".join(parts) if parts else "")


def thumbs_dir() -> Path:
    return cache_dir() / "gallery" / "thumbs" / f"v{VERSION}"


def clear_cache() -> None:
    """Remove every cached thumbnail and sample frame (they are made again on demand)."""
    shutil.rmtree(cache_dir() / "gallery", ignore_errors=True)


def thumbnail(dataset: Dataset, image_id: int, predictions: Predictions | None = None, *, size: int = THUMB_SIZE,
              highlight: Any = None, score_threshold: float = 0.5, images_dir: str | Path | None = None,
              data_root: str | Path | None = None, resolver: ImageResolver | None = None, labels: bool | None = None,
              cache: bool = True) -> Thumbnail:
    """The thumbnail of one image (arguments as :func:`.drawing.render`); ``cache`` (True): use the disk cache."""
    resolver = resolver or resolver_for(dataset, images_dir, data_root)
    source = resolver.resolve(int(image_id))
    marked = geometry.highlight_records(highlight)
    shapes = geometry.ground_truth_shapes(dataset, image_id, marked)
    if predictions is not None:
        shapes += geometry.prediction_shapes(dataset, predictions, image_id, score_threshold)
    key = _key(dataset, int(image_id), source, shapes, size, labels, marked) if cache else None
    if key is not None:
        hit = _read(key)
        if hit is not None:
            jpeg, dims, note, problem = hit
            return Thumbnail(int(image_id), jpeg, dims, tuple(shapes), source, note, problem, cached=True)
    drawn: Rendered = render(dataset, image_id, predictions, size=size, highlight=marked or None,
                             score_threshold=score_threshold, resolver=resolver, labels=labels, shapes=shapes)
    jpeg = _encode(drawn)
    if key is not None:
        _submit_write(key, jpeg)
    return Thumbnail(int(image_id), jpeg, drawn.image.size, drawn.shapes, drawn.source, drawn.note, drawn.problem)


def thumbnails(dataset: Dataset, image_ids: Iterable[int], predictions: Predictions | None = None, *,
               size: int = THUMB_SIZE, highlight: Any = None, score_threshold: float = 0.5,
               images_dir: str | Path | None = None, data_root: str | Path | None = None,
               labels: bool | None = None, cache: bool = True) -> ThumbnailPage:
    """Thumbnails of ``image_ids`` in that order (a page of the gallery; see :func:`thumbnail`),
    with the missing, refused, unreadable and rendered images counted once. ``highlight``: as for
    :func:`thumbnail` (the same for every image), or a mapping {image id: highlight} (the
    load-report rows of each image, from :func:`.select.report_images`)."""
    resolver = resolver_for(dataset, images_dir, data_root)
    per_image = highlight if isinstance(highlight, Mapping) else None
    thumbs = tuple(thumbnail(dataset, i, predictions, size=size,
                             highlight=per_image.get(i) if per_image is not None else highlight,
                             score_threshold=score_threshold, resolver=resolver, labels=labels, cache=cache)
                   for i in image_ids)
    report = LoadReport([t.problem for t in thumbs if t.problem is not None])
    return ThumbnailPage(
        thumbnails=thumbs,
        missing=sum(t.missing for t in thumbs),
        refused=sum(t.source.status == "refused" for t in thumbs),
        unreadable=sum(t.source.path is not None and t.problem is not None for t in thumbs),
        rendered=sum(t.source.status == "rendered" for t in thumbs),
        report=report,
    )


def _key(dataset: Dataset, image_id: int, source: ImageSource, shapes: Sequence[Shape], size: int,
         labels: bool | None, marked: set[str]) -> str | None:
    h = hashlib.sha256()
    if source.path is not None:
        try:
            st = source.path.stat()
        except OSError:
            return None
        identity: list[Any] = [source.status, str(source.path), st.st_size, st.st_mtime_ns]
    else:
        identity = [source.status, source.note, geometry.image_size(dataset, image_id)]
    row = dataset.images.slice(image_id, 1).select(["source_id", "file_name"]).to_pylist()[0]
    head = [VERSION, identity, size, labels, sorted(marked), row["source_id"], row["file_name"]]
    h.update(json.dumps(head, default=str).encode("utf-8", "surrogateescape"))
    for s in shapes:
        h.update(json.dumps([s.kind, s.origin, s.category_id, s.class_name, s.color,
                             [round(v, 2) for v in s.box] if s.box else None,
                             None if s.score is None else round(s.score, 4), s.highlighted,
                             s.rle.get("counts") if s.rle else None], default=str).encode("utf-8", "surrogateescape"))
        for ring in s.polygons:
            h.update(repr(ring).encode())
    return h.hexdigest()


def _path(key: str) -> Path:
    return thumbs_dir() / f"{key}.jpg"


def flush() -> None:
    """Wait for the thumbnails being written in the background (writes never delay a page)."""
    with _writer_lock:
        pending = list(_pending)
    for future in pending:
        future.result()


def _submit_write(key: str, jpeg: bytes) -> None:
    """Write in the background; until written, the bytes are served from memory (``_in_flight``).
    The path is fixed now: the cache folder may be another by the time the write runs."""
    global _writer
    path = _path(key)
    with _writer_lock:
        if _writer is None:
            _writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imbal-thumbs")
        _in_flight[path] = jpeg
        future = _writer.submit(_write, path, jpeg)
        _pending.add(future)
    future.add_done_callback(_pending.discard)


def _encode(drawn: Rendered) -> bytes:
    meta = {"note": drawn.note, "problem": drawn.problem.to_dict() if drawn.problem else None}
    buffer = io.BytesIO()
    drawn.image.save(buffer, "JPEG", quality=JPEG_QUALITY, comment=json.dumps(meta).encode("utf-8"))
    return buffer.getvalue()


def _read(key: str) -> tuple[bytes, tuple[int, int], str, ReportRow | None] | None:
    path = _path(key)
    with _writer_lock:
        data = _in_flight.get(path)
    try:
        data = data if data is not None else path.read_bytes()
    except OSError:
        return None
    try:
        dims, comment = _jpeg_header(data)  # no Pillow on the cached path: importing it costs 0.1 s
        meta = json.loads(comment or b"{}")
        problem = ReportRow(**meta["problem"]) if meta.get("problem") else None
        return data, dims, meta.get("note", ""), problem
    except Exception as exc:  # noqa: BLE001 — a damaged entry is made again
        log.info("%s: damaged thumbnail entry (%s); drawing it again", path, exc)
        return None


def _jpeg_header(data: bytes) -> tuple[tuple[int, int], bytes]:
    """(width, height) and the comment of a JPEG this module wrote, from its markers."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    pos, comment, dims = 2, b"", None
    while pos + 4 <= len(data) and dims is None:
        if data[pos] != 0xFF:
            raise ValueError(f"no marker at byte {pos}")
        marker = data[pos + 1]
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        body = data[pos + 4:pos + 2 + length]
        if marker == 0xFE:
            comment = body
        elif marker in (0xC0, 0xC1, 0xC2):
            dims = (int.from_bytes(body[3:5], "big"), int.from_bytes(body[1:3], "big"))
        pos += 2 + length
    if dims is None:
        raise ValueError("no frame header")
    return dims, comment


def _write(path: Path, jpeg: bytes) -> None:
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(jpeg)
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("cannot cache a thumbnail under %s: %s", path.parent, exc)
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    finally:
        with _writer_lock:
            _in_flight.pop(path, None)
