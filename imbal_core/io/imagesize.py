"""Image width and height read from the file header, never decoding pixels.

Pillow's ``Image.open`` is lazy: it parses the header and stops, so reading the size of a
large JPEG costs a few hundred bytes of I/O. Where the header carries an EXIF orientation
that turns the picture a quarter (orientations 5-8), width and height are swapped: labels are
drawn on the upright picture, as Ultralytics' ``exif_size`` assumes. EXIF is only consulted for
formats whose EXIF block Pillow reads with the header (JPEG, MPO, WebP, TIFF); for PNG it
would mean decoding the image.

A file that cannot be opened, is not an image, or whose header is corrupt gives ``None``; the
caller decides what to report. Only the header is read, so Pillow's decompression-bomb limit does
not apply: a 20000 x 20000 aerial image has its size like any other (see :mod:`.rasters`).
About 35 µs a file on a local disk, so no thread pool: the header parsers hold the GIL and
threads were measured slower.
"""
from __future__ import annotations

import logging
from pathlib import Path

from .rasters import open_header

log = logging.getLogger(__name__)

#: EXIF orientations that rotate the picture by 90 or 270 degrees (with or without a mirror).
QUARTER_TURNS = frozenset({5, 6, 7, 8})
_EXIF_ORIENTATION = 0x0112
_EXIF_IN_HEADER = frozenset({"JPEG", "MPO", "WEBP", "TIFF"})


def image_size(path: str | Path) -> tuple[int, int] | None:
    """``(width, height)`` in pixels of the upright image at ``path``, or None when unreadable."""
    try:
        with open_header(path) as image:
            width, height = image.size
            if image.format in _EXIF_IN_HEADER:
                orientation = image.getexif().get(_EXIF_ORIENTATION)
                if orientation in QUARTER_TURNS:
                    width, height = height, width
    except Exception as exc:  # noqa: BLE001 — any failure of a header parser means "unreadable"
        log.debug("%s: no image size (%s)", path, exc)
        return None
    if width <= 0 or height <= 0:
        return None
    return int(width), int(height)

