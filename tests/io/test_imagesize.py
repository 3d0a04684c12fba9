"""Image sizes from headers: real PNG / JPEG files made with Pillow, EXIF rotation, broken files."""
from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageFile

from imbal_core.io.imagesize import image_size


def _image(path: Path, width: int, height: int, fmt: str, orientation: int | None = None) -> Path:
    image = Image.new("RGB", (width, height), (200, 30, 30))
    if orientation is None:
        image.save(path, fmt)
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.save(path, fmt, exif=exif.tobytes())
    return path


def _png_bytes(width: int, height: int) -> bytes:
    from io import BytesIO

    buffer = BytesIO()
    Image.new("L", (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d: _image(d / "a.png", 31, 17, "PNG"), (31, 17)),
        (lambda d: _image(d / "a.jpg", 64, 48, "JPEG"), (64, 48)),
        (lambda d: _image(d / "a.bmp", 5, 9, "BMP"), (5, 9)),
        (lambda d: _image(d / "a.webp", 12, 7, "WEBP"), (12, 7)),
        # EXIF orientation 6 (rotate 90): labels are drawn on the upright 48x64 picture
        (lambda d: _image(d / "rot6.jpg", 64, 48, "JPEG", orientation=6), (48, 64)),
        (lambda d: _image(d / "rot8.jpg", 64, 48, "JPEG", orientation=8), (48, 64)),
        (lambda d: _image(d / "rot3.jpg", 64, 48, "JPEG", orientation=3), (64, 48)),  # 180: no swap
        (lambda d: _image(d / "rot1.jpg", 64, 48, "JPEG", orientation=1), (64, 48)),
        # a wrong extension does not matter: the header decides
        (lambda d: _image(d / "really_png.jpg", 3, 4, "PNG"), (3, 4)),
        # a truncated PNG (its end cut off) still has its header
        (lambda d: _write(d / "cut.png", _png_bytes(40, 30)[:-5]), (40, 30)),
        # unreadable: not an image, empty, header cut short, missing, a folder
        (lambda d: _write(d / "text.png", b"this is not an image"), None),
        (lambda d: _write(d / "empty.jpg", b""), None),
        (lambda d: _write(d / "short.png", _png_bytes(40, 30)[:12]), None),
        (lambda d: _write(d / "short.jpg", _image(d / "a.jpg", 64, 48, "JPEG").read_bytes()[:100]), None),
        (lambda d: d / "missing.png", None),
        (lambda d: _mkdir(d / "folder.png"), None),
    ],
)
def test_image_size(tmp_path, make, expected):
    assert image_size(make(tmp_path)) == expected


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def test_image_size_never_decodes_pixels(tmp_path, monkeypatch):
    path = _image(tmp_path / "big.jpg", 640, 480, "JPEG", orientation=6)
    png = _image(tmp_path / "big.png", 320, 200, "PNG")

    def no_decoding(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(Image.Image, "load", no_decoding)
    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    assert image_size(path) == (480, 640)
    assert image_size(png) == (320, 200)


def test_image_size_accepts_str_paths(tmp_path):
    path = _image(tmp_path / "a.png", 2, 3, "PNG")
    assert image_size(str(path)) == (2, 3)


def _header_only_png(path: Path, width: int, height: int) -> Path:
    """A PNG declaring ``width`` x ``height`` whose pixel data is cut short: a header to read."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00" * (width + 1))))
    return path


@pytest.mark.parametrize("width, height", [(20_000, 20_000), (12_000, 9_000)])
def test_sizes_past_pillows_decompression_bomb_limit(tmp_path, width, height):
    """A 20000 x 20000 aerial image is legitimate: only its header is read, so Pillow's limit on
    decoded pixels (an error past about 179 million, a warning past half that) does not apply."""
    import warnings

    path = _header_only_png(tmp_path / "aerial.png", width, height)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not even a DecompressionBombWarning
        assert image_size(path) == (width, height)
