"""Bounded image decoding for the gallery: a pixel limit checked on the header, a timeout, no exception.

:func:`decode` opens a file, reads only its header, and refuses before decoding when the pixels
to decode exceed ``max_pixels`` (:data:`MAX_PIXELS`, 64 million: 8192 x 8192): a 30000 x 30000
PNG is refused without allocating its pixels. A JPEG is decoded in draft mode at the smallest
scale (1/2, 1/4, 1/8) still at least as large as the size wanted, and the limit applies to what
is decoded, so a large photograph's thumbnail costs a fraction of a full decode. Pillow's own
decompression-bomb check (at twice ``Image.MAX_IMAGE_PIXELS``) also refuses, and Pillow's global
settings are never changed. Decoding runs in a worker thread given ``timeout`` seconds (default
:data:`TIMEOUT`); past it the image is given up (the thread finishes on its own, bounded by the
pixel limit).

Every failure — no such file, empty, truncated, corrupt, not an image, too large, too slow —
comes back as :class:`Decoded` with ``image`` None and ``problem`` in words, never as an exception.
The picture is turned upright by its EXIF orientation (labels are drawn on the upright picture,
as :mod:`imbal_core.io.imagesize` reads sizes).
"""
from __future__ import annotations

import logging
import struct
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor, TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..io.rasters import ImageError, open_header

log = logging.getLogger(__name__)

#: The most pixels decoded for one image (after a JPEG's draft reduction).
MAX_PIXELS = 1 << 26
#: Seconds one decode may take before the image is given up.
TIMEOUT = 10.0
_WORKERS = 2
_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError, struct.error, zlib.error,
           MemoryError)
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


@dataclass(frozen=True, eq=False)
class Decoded:
    """The outcome of :func:`decode`: ``image`` (RGB, upright, fitting ``max_side``) or None with
    ``problem``; ``size``: the full upright (width, height) from the header when it could be read."""

    image: Any | None
    size: tuple[int, int] | None
    problem: str | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="imbal-decode")
        return _pool


def decode(path: str | Path, max_side: int | None = None, *, max_pixels: int = MAX_PIXELS,
           timeout: float | None = TIMEOUT) -> Decoded:
    """The image at ``path`` as RGB, its long side at most ``max_side`` (None: full size).

    ``max_pixels`` (:data:`MAX_PIXELS`): the most pixels decoded; ``timeout`` (:data:`TIMEOUT`
    seconds; None: no limit). Never raises for a bad file: see :class:`Decoded`.
    """
    if max_side is not None and max_side < 1:
        raise ValueError(f"`max_side` must be at least 1 or None. Got {max_side} instead.")
    if max_pixels < 1:
        raise ValueError(f"`max_pixels` must be at least 1. Got {max_pixels} instead.")
    if timeout is None:
        return _decode(path, max_side, max_pixels)
    future = _executor().submit(_decode, path, max_side, max_pixels)
    try:
        return future.result(timeout=timeout)
    except FutureTimeout:
        log.warning("%s: decoding took more than %.1f s; given up", path, timeout)
        return Decoded(None, None, f"decoding took more than {timeout:g} s")


def _decode(path: str | Path, max_side: int | None, max_pixels: int) -> Decoded:
    try:
        return _decode_unchecked(path, max_side, max_pixels)
    except _ERRORS as exc:
        return Decoded(None, None, _problem(exc))
    except Exception as exc:  # noqa: BLE001 — a decoder bug must not take the gallery down
        log.debug("%s: unexpected decode failure", path, exc_info=True)
        return Decoded(None, None, f"cannot be decoded ({type(exc).__name__}: {exc})")


def _problem(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, MemoryError):
        return "not enough memory to decode it"
    if "truncated" in text.lower():
        return "the file is truncated"
    return f"corrupt or unreadable ({type(exc).__name__}: {text[:120]})"


def _decode_unchecked(path: str | Path, max_side: int | None, max_pixels: int) -> Decoded:
    from PIL import Image, ImageOps

    try:
        # the header only, through the format's own plugin: no pixel is decoded and Pillow's global
        # limit is not consulted, so the size is known (and checked below) before any allocation
        with open_header(path) as image:
            width, height = image.size
            orientation = image.getexif().get(0x0112) if image.format in ("JPEG", "MPO", "WEBP", "TIFF") else None
            upright = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
            if width < 1 or height < 1:
                return Decoded(None, None, f"the header gives an empty size {width} x {height}")
            if image.format == "JPEG" and max_side is not None:
                scale = max(width, height) / max_side
                if scale > 1:
                    image.draft("RGB", (max(1, int(width / scale)), max(1, int(height / scale))))
            decoded_w, decoded_h = image.size
            if decoded_w * decoded_h > max_pixels:
                return Decoded(None, upright, f"{width:,} x {height:,} pixels, more than the limit of {max_pixels:,}")
            image.load()
            picture = ImageOps.exif_transpose(image) if orientation and orientation != 1 else image
            picture = picture.convert("RGB") if picture.mode != "RGB" else picture.copy()
    except ImageError as exc:
        return Decoded(None, None, str(exc))
    if max_side is not None and max(picture.size) > max_side:
        picture.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return Decoded(picture, upright)


def shutdown() -> None:
    """Stop the decode threads (they are started on first use); for callers that want it early."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool = None


__all__ = ["Decoded", "MAX_PIXELS", "TIMEOUT", "decode", "shutdown"]
