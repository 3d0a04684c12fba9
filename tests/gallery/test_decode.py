"""Bounded decoding: corrupt, truncated, empty and enormous images become placeholders, never exceptions."""
from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import textwrap
import time
import zlib
from pathlib import Path

import pytest

import imbal_core
from imbal_core.gallery import decoding as decode_module
from imbal_core.gallery import render, thumbnails
from imbal_core.gallery.decoding import decode
from imbal_core.gallery.drawing import CODE_UNREADABLE


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def huge_png(width: int = 30000, height: int = 30000) -> bytes:
    """A valid PNG header claiming ``width`` x ``height`` 8-bit gray pixels, with a few bytes of data (cheap to write)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + _chunk(b"IEND", b"")


def _photo(width: int = 640, height: int = 480) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((width, height)).convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


BAD_FILES = {
    "empty.jpg": (b"", "the file is empty"),
    "corrupt.jpg": (None, "corrupt or unreadable"),  # a real JPEG with a broken Huffman table
    "bad_header.jpg": (b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8, "corrupt image header"),
    "truncated.jpg": (None, "truncated"),  # the first half of a real JPEG, filled in below
    "huge.png": (None, "30,000 x 30,000 pixels, more than the limit"),
    "text.jpg": (b"hello, I am no image\n", "not an image"),
}


@pytest.fixture()
def bad_folder(tmp_path) -> Path:
    folder = tmp_path / "export"
    folder.mkdir()
    for name, (data, _) in BAD_FILES.items():
        if name == "truncated.jpg":
            data = _photo()[:6000]
        elif name == "corrupt.jpg":
            data = _photo().replace(b"\xff\xc4", b"\xff\xc4\x00\x03\x00", 1)  # a Huffman table 3 bytes long
        elif name == "huge.png":
            data = huge_png()
        (folder / name).write_bytes(data)
    return folder


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_a_bad_file_is_a_problem_not_an_exception(bad_folder, name):
    result = decode(bad_folder / name, 256)
    assert result.image is None
    assert BAD_FILES[name][1] in result.problem


def test_a_missing_file_is_a_problem(tmp_path):
    assert decode(tmp_path / "nope.jpg").problem == "no such file"


def test_the_pixel_limit_applies_to_what_is_decoded(tmp_path):
    path = tmp_path / "big.jpg"
    path.write_bytes(_photo(4000, 3000))
    small = decode(path, 256, max_pixels=600 * 500)  # draft mode decodes 1/8: 500 x 375
    assert small.image is not None and max(small.image.size) == 256 and small.size == (4000, 3000)
    full = decode(path, None, max_pixels=600 * 500)
    assert full.image is None and "4,000 x 3,000 pixels, more than the limit of 300,000" in full.problem


def test_a_slow_decode_is_given_up(tmp_path, monkeypatch):
    path = tmp_path / "a.jpg"
    path.write_bytes(_photo())
    real = decode_module._decode

    def slow(*args):
        time.sleep(0.6)
        return real(*args)

    monkeypatch.setattr(decode_module, "_decode", slow)
    started = time.perf_counter()
    result = decode(path, 64, timeout=0.1)
    assert time.perf_counter() - started < 0.5
    assert result.image is None and result.problem == "decoding took more than 0.1 s"


def test_enormous_header_stays_in_bounded_memory(bad_folder):
    """In a fresh process: the 30000 x 30000 PNG (900 MB of pixels if decoded) leaves the peak memory small."""
    script = textwrap.dedent(f"""
        import json, resource, sys
        from imbal_core.gallery.decoding import decode
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result = decode({str(bad_folder / 'huge.png')!r}, 256)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({{"problem": result.problem, "grown_kb": after - before, "peak_kb": after}}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    report = json.loads(done.stdout)
    assert "more than the limit" in report["problem"]
    assert report["grown_kb"] < 100_000, report  # < 100 MB grown; decoding would take 900 MB


def test_render_draws_placeholders_and_reports_them(bad_folder, own_cache):
    names = list(BAD_FILES)
    doc = {"images": [{"id": i + 1, "file_name": n, "width": 320, "height": 240} for i, n in enumerate(names)],
           "categories": [{"id": 1, "name": "thing"}],
           "annotations": [{"id": i + 1, "image_id": i + 1, "category_id": 1, "bbox": [10, 10, 50, 50], "area": 2500}
                           for i in range(len(names))]}
    (bad_folder / "annotations.json").write_text(json.dumps(doc))
    ds = imbal_core.load(bad_folder / "annotations.json")
    for i in range(ds.num_images):
        drawn = render(ds, i, size=160)
        assert drawn.missing and drawn.image.size == (160, 120)
        assert drawn.note.startswith("image unreadable: ") and drawn.problem.code == CODE_UNREADABLE
        assert drawn.count("thing") == 1
    first = thumbnails(ds, range(ds.num_images))
    again = thumbnails(ds, range(ds.num_images))  # from the cache: the problem rides along
    for page in (first, again):
        assert (page.missing, page.unreadable, page.refused) == (len(names), len(names), 0)
        assert sorted(r.record for r in page.report) == [str(i + 1) for i in range(len(names))]
    assert all(t.cached for t in again.thumbnails) and not any(t.cached for t in first.thumbnails)
