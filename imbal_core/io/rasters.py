"""Label images (semantic masks) opened with an explicit pixel limit and read in strips of rows.

Pillow refuses an image of more than twice ``PIL.Image.MAX_IMAGE_PIXELS`` pixels (about 179
million) as a possible decompression bomb, and warns above half that. A 20000 x 20000 aerial
mask (400 million pixels) is legitimate, so label images are opened here with their own limit,
checked on the header before any pixel is decoded:

- :data:`MAX_LABEL_PIXELS` (1,073,741,824 = 32768 x 32768) is the most pixels a label image may
  have; ``max_pixels`` sets another limit for one call. Pillow's global ``MAX_IMAGE_PIXELS`` is
  never changed. A larger image is refused (:class:`ImageTooLarge`) with its size and the limit.
- Decoded pixels keep their stored type: 1 byte a pixel for 8-bit and palette masks (a 20000 x
  20000 mask holds 400 MB while it is read), 2 for 16-bit. Everything computed from them (class
  histograms, extents, tiles, pixel confusion) runs over strips of about :data:`STRIP_PIXELS`
  pixels (:meth:`LabelImage.strips`), so no wider copy of the whole image is made (as int64, the
  400 MB mask would be 3.2 GB).
- :func:`open_header` reads only the header (width, height, EXIF): no pixel limit applies there.

PNG, TIFF, BMP, JPEG and WebP files are opened through their Pillow plugin class directly, which
is what lets the limit be set per call; other formats go through ``Image.open`` and keep Pillow's
own limit. An empty, truncated or corrupt file, or one that is no image, raises
:class:`ImageError` with the reason in words; the callers add the file and what they did.
"""
from __future__ import annotations

import contextlib
import os
import struct
import warnings
import zlib
from pathlib import Path
from typing import Any, Iterator

import numpy as np

#: The most pixels a label image may have (32768 x 32768); ``max_pixels`` changes it per call.
MAX_LABEL_PIXELS = 1 << 30
#: About how many pixels one strip of rows holds (at least one row, rounded to ``align`` rows).
STRIP_PIXELS = 1 << 22

_MAGIC_PLUGINS = (  # (first bytes, Pillow plugin module, class)
    (b"\x89PNG\r\n\x1a\n", "PngImagePlugin", "PngImageFile"),
    (b"II*\x00", "TiffImagePlugin", "TiffImageFile"),
    (b"MM\x00*", "TiffImagePlugin", "TiffImageFile"),
    (b"II+\x00", "TiffImagePlugin", "TiffImageFile"),
    (b"MM\x00+", "TiffImagePlugin", "TiffImageFile"),
    (b"BM", "BmpImagePlugin", "BmpImageFile"),
    (b"\xff\xd8\xff", "JpegImagePlugin", "JpegImageFile"),
)
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error, zlib.error)


class ImageError(Exception):
    """An image that cannot be used; the message is the reason, without the file name."""


class ImageTooLarge(ImageError):
    """An image with more pixels than the limit of the call (``max_pixels``)."""


def _plugin(head: bytes) -> Any | None:
    import importlib

    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        module, name = "WebPImagePlugin", "WebPImageFile"
    else:
        found = next(((m, c) for magic, m, c in _MAGIC_PLUGINS if head.startswith(magic)), None)
        if found is None:
            return None
        module, name = found
    try:
        return getattr(importlib.import_module(f"PIL.{module}"), name)
    except (ImportError, AttributeError):  # a Pillow built without this codec: Image.open decides
        return None


def _open(path: str | Path) -> Any:
    """The Pillow image at ``path`` with only its header read (no pixel limit checked yet)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except IsADirectoryError:
        raise ImageError("is a folder, not an image") from None
    except FileNotFoundError:
        raise ImageError("no such file") from None
    except OSError as exc:
        raise ImageError(f"cannot be read ({exc.strerror or exc})") from None
    if not head:
        raise ImageError("the file is empty")
    plugin = _plugin(head)
    try:
        if plugin is not None:
            return plugin(os.fspath(path))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(path)
    except UnidentifiedImageError:
        raise ImageError("not an image (no image format recognised)") from None
    except Image.DecompressionBombError as exc:
        raise ImageError(f"refused by Pillow's own size limit for this format ({exc})") from None
    except _DECODE_ERRORS as exc:
        raise ImageError(f"corrupt image header ({type(exc).__name__}: {exc})") from None


@contextlib.contextmanager
def open_header(path: str | Path) -> Iterator[Any]:
    """The Pillow image at ``path`` for reading its size, mode or EXIF: pixels are not decoded,
    so no pixel limit applies. Raises :class:`ImageError`."""
    image = _open(path)
    try:
        yield image
    finally:
        image.close()


class LabelImage:
    """A label image whose pixels are read in strips of rows; use :func:`open_label_image`."""

    def __init__(self, image: Any):
        self._image = image
        self._loaded = False

    @property
    def mode(self) -> str:
        return self._image.mode

    @property
    def width(self) -> int:
        return int(self._image.size[0])

    @property
    def height(self) -> int:
        return int(self._image.size[1])

    def load(self) -> None:
        """Decode the pixels (once); an empty, truncated or corrupt file raises :class:`ImageError`."""
        if self._loaded:
            return
        try:
            self._image.load()
        except MemoryError:
            raise ImageError(f"{self.width:,} x {self.height:,} pixels do not fit in memory") from None
        except _DECODE_ERRORS as exc:
            raise ImageError(f"truncated or corrupt pixel data ({type(exc).__name__}: {exc})") from None
        self._loaded = True

    def _crops(self, align: int) -> Iterator[tuple[int, Any]]:
        self.load()
        width, height = self.width, self.height
        rows = max(1, STRIP_PIXELS // max(width, 1))
        rows = max(align, rows - rows % align)
        for top in range(0, height, rows):
            yield top, self._image.crop((0, top, width, min(height, top + rows)))

    def strips(self, align: int = 1) -> Iterator[tuple[int, np.ndarray]]:
        """``(first row, rows x width array)`` from top to bottom, in the stored type (bool for
        1-bit images, the palette index for palette images). Each strip but the last holds a
        multiple of ``align`` rows (1), about :data:`STRIP_PIXELS` pixels."""
        for top, crop in self._crops(align):
            yield top, np.asarray(crop)

    def counted_strips(self, align: int = 1) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
        """:meth:`strips` with each strip's :func:`value_counts`: ``(first row, array, values,
        pixels)``. 8-bit and palette images are counted by Pillow's histogram (about five times
        faster than ``np.bincount``, which widens every pixel to int64 first)."""
        by_histogram = self.mode in ("L", "P")
        for top, crop in self._crops(align):
            array = np.asarray(crop)
            if by_histogram:
                counts = np.asarray(crop.histogram(), dtype=np.int64)
                values = np.flatnonzero(counts)
                yield top, array, values.astype(np.int64), counts[values]
            else:
                yield (top, array, *value_counts(array))

    def array(self) -> np.ndarray:
        """All pixels as one array in the stored type (for small images; big ones go by strips)."""
        self.load()
        return np.asarray(self._image)


@contextlib.contextmanager
def open_label_image(path: str | Path, max_pixels: int | None = MAX_LABEL_PIXELS) -> Iterator[LabelImage]:
    """The label image at ``path``, its header read and its size checked against ``max_pixels``
    (:data:`MAX_LABEL_PIXELS`; None: no limit). Pixels are decoded on the first strip (or
    :meth:`LabelImage.load`). Raises :class:`ImageError`."""
    if max_pixels is not None and (isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer))
                                   or max_pixels < 1):
        raise ValueError(f"`max_pixels` must be a whole number of at least 1, or None. Got {max_pixels!r} instead.")
    image = _open(path)
    try:
        width, height = image.size
        if max_pixels is not None and width * height > max_pixels:
            raise ImageTooLarge(f"{width:,} x {height:,} = {width * height:,} pixels, more than the limit of "
                             f"{max_pixels:,} for a label image (`max_pixels`)")
        yield LabelImage(image)
    finally:
        image.close()


def value_counts(strip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(values, pixels)`` of a strip of class indices: the values present (int64, ascending)
    and how many pixels hold each. Negative values (a signed 32-bit image) are kept as they are."""
    flat = strip.ravel()
    if flat.dtype == np.bool_:
        flat = flat.view(np.uint8)
    if flat.dtype.kind == "u" and flat.dtype.itemsize <= 2:  # at most 65,536 bins
        counts = np.bincount(flat)
        values = np.flatnonzero(counts)
        return values.astype(np.int64), counts[values].astype(np.int64)
    values, counts = np.unique(flat, return_counts=True)
    return values.astype(np.int64), counts.astype(np.int64)
