"""Label images opened with a per-call pixel limit and read in strips (imbal_core.io.rasters)."""
from __future__ import annotations

import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imbal_core.io import rasters
from imbal_core.io.rasters import ImageError, open_header, open_label_image, value_counts


def header_only_png(path: Path, width: int, height: int) -> Path:
    """A PNG whose header declares ``width`` x ``height`` and whose pixel data is cut off: enough
    for anything that reads only the header, without writing hundreds of megabytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00" * (width + 1))))
    return path


def mask(path: Path, array, mode: str = "L") -> Path:
    """A PNG of ``array`` in ``mode``: L and P from 8-bit values, I;16 from 16-bit ones."""
    if mode == "I;16":
        image = Image.fromarray(np.asarray(array, dtype=np.uint16))
    else:
        image = Image.fromarray(np.asarray(array, dtype=np.uint8)).convert(mode)
    image.save(path)
    return path


def test_the_limit_is_per_call_and_pillows_global_is_left_alone(tmp_path):
    limit = Image.MAX_IMAGE_PIXELS
    big = header_only_png(tmp_path / "aerial.png", 20_000, 20_000)  # past Pillow's own limit
    with open_label_image(big) as image:  # the default limit, 32768 x 32768, lets it through
        assert (image.width, image.height, image.mode) == (20_000, 20_000, "L")
    with pytest.raises(rasters.ImageTooLarge, match=r"20,000 x 20,000 = 400,000,000 pixels, more than the limit of 1,000,000"):
        with open_label_image(big, max_pixels=1_000_000):
            pass
    assert Image.MAX_IMAGE_PIXELS == limit
    with pytest.raises(Image.DecompressionBombError):  # Pillow itself still refuses it
        Image.open(big)


def test_a_header_past_pillows_limit_is_read_without_a_warning(tmp_path):
    big = header_only_png(tmp_path / "aerial.png", 15_000, 9_000)  # between Pillow's warning and its error
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with open_header(big) as image:
            assert image.size == (15_000, 9_000)


@pytest.mark.parametrize("make, reason", [
    (lambda d: d / "missing.png", "no such file"),
    (lambda d: (d / "folder.png").mkdir() or d / "folder.png", "is a folder"),
    (lambda d: _write(d / "empty.png", b""), "the file is empty"),
    (lambda d: _write(d / "text.png", b"no image here"), r"not an image \(no image format recognised\)"),
    (lambda d: _write(d / "short.png", b"\x89PNG\r\n\x1a\n\x00\x00"), "corrupt image header"),
])
def test_unreadable_files_say_why(tmp_path, make, reason):
    with pytest.raises(ImageError, match=reason):
        with open_label_image(make(tmp_path)) as image:
            image.load()


def test_truncated_pixels_are_reported_when_decoded(tmp_path):
    path = mask(tmp_path / "a.png", np.arange(10_000, dtype=np.uint8).reshape(100, 100) % 7)
    path.write_bytes(path.read_bytes()[:-60])  # the end of the pixel data cut off
    with open_label_image(path) as image:
        assert (image.width, image.height) == (100, 100)  # the header is fine
        with pytest.raises(ImageError, match="truncated or corrupt pixel data"):
            image.load()


@pytest.mark.parametrize("max_pixels", [0, -1, 1.5, True, "10"])
def test_max_pixels_is_checked(tmp_path, max_pixels):
    path = mask(tmp_path / "a.png", [[1]])
    with pytest.raises(ValueError, match=r"`max_pixels` must be a whole number of at least 1, or None"):
        with open_label_image(path, max_pixels):
            pass


@pytest.mark.parametrize("strip_pixels, align", [(1, 1), (7, 1), (7, 4), (1 << 22, 1)])
def test_strips_cover_the_image_once_in_order(tmp_path, monkeypatch, strip_pixels, align):
    monkeypatch.setattr(rasters, "STRIP_PIXELS", strip_pixels)
    array = np.arange(13 * 5, dtype=np.uint8).reshape(13, 5)
    with open_label_image(mask(tmp_path / "a.png", array)) as image:
        strips = list(image.strips(align))
        counted = list(image.counted_strips(align))
    assert np.array_equal(np.concatenate([s for _, s in strips]), array)
    assert [top for top, _ in strips] == [top for top, *_ in counted]
    assert all(top % align == 0 for top, _ in strips)
    values = np.concatenate([v for _, _, v, _ in counted])
    assert sorted(values.tolist()) == list(range(65))  # every value once, across strips


@pytest.mark.parametrize("array, expected", [
    (np.array([[0, 0, 3], [3, 3, 255]], np.uint8), ([0, 3, 255], [2, 3, 1])),
    (np.array([[0, 40_000], [40_000, 40_000]], np.uint16), ([0, 40_000], [1, 3])),
    (np.array([[-5, 7], [7, 2**31 - 1]], np.int32), ([-5, 7, 2**31 - 1], [1, 2, 1])),  # no 2**31 bins
    (np.array([[True, False, True]]), ([0, 1], [1, 2])),
])
def test_value_counts(array, expected):
    values, pixels = value_counts(array)
    assert (values.tolist(), pixels.tolist()) == expected and values.dtype == pixels.dtype == np.int64


@pytest.mark.parametrize("mode", ["L", "P", "I;16"])
def test_counted_strips_agree_with_numpy_in_every_mode(tmp_path, monkeypatch, mode):
    monkeypatch.setattr(rasters, "STRIP_PIXELS", 10)
    array = (np.arange(12 * 9).reshape(12, 9) * 7) % 5
    with open_label_image(mask(tmp_path / "a.png", array.astype(np.uint8), mode)) as image:
        assert image.mode == mode
        decoded = image.array().astype(np.int64)
        total: dict[int, int] = {}
        for _, strip, values, pixels in image.counted_strips():
            for v, n in zip(values.tolist(), pixels.tolist()):
                total[v] = total.get(v, 0) + n
    values, pixels = np.unique(decoded, return_counts=True)
    assert total == dict(zip(values.tolist(), pixels.tolist()))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
