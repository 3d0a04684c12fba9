"""The thumbnail cache: keyed by the image file, the size and everything drawn; never in the way."""
from __future__ import annotations

import json
import os

import pytest

import imbal_core
from imbal_core.gallery import flush, thumbnail, thumbnails
from imbal_core.gallery.thumbs import _jpeg_header, thumbs_dir
from imbal_core.io.predictions import read_predictions


@pytest.fixture()
def small(tmp_path, own_cache):
    """A COCO export of two real (generated) JPEGs, one box each."""
    from PIL import Image

    folder = tmp_path / "export"
    (folder / "images").mkdir(parents=True)
    for name, color in (("a.jpg", (10, 120, 30)), ("b.jpg", (200, 180, 20))):
        Image.new("RGB", (320, 240), color).save(folder / "images" / name, "JPEG")
    doc = {"images": [{"id": 1, "file_name": "a.jpg", "width": 320, "height": 240},
                      {"id": 2, "file_name": "b.jpg", "width": 320, "height": 240}],
           "categories": [{"id": 1, "name": "cat"}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 100, 80], "area": 8000},
                           {"id": 2, "image_id": 2, "category_id": 1, "bbox": [50, 50, 60, 60], "area": 3600}]}
    (folder / "annotations.json").write_text(json.dumps(doc))
    return folder


def _entries():
    flush()
    return sorted(p.name for p in thumbs_dir().glob("*.jpg")) if thumbs_dir().is_dir() else []


def test_a_thumbnail_is_cached_and_read_back_unchanged(small, own_cache):
    ds = imbal_core.load(small / "annotations.json")
    first = thumbnail(ds, 0)
    assert not first.cached and first.size == (256, 192) and _jpeg_header(first.jpeg)[0] == (256, 192)
    assert len(_entries()) == 1 and str(thumbs_dir()).startswith(str(own_cache))
    again = thumbnail(ds, 0)
    assert again.cached and again.jpeg == first.jpeg and again.size == first.size
    assert again.shapes == first.shapes and again.source == first.source


def test_the_key_follows_what_is_drawn(small, tmp_path):
    ds = imbal_core.load(small / "annotations.json")
    plain = thumbnail(ds, 0)
    assert len(_entries()) == 1
    assert not thumbnail(ds, 0, size=128).cached  # another size
    assert not thumbnail(ds, 0, highlight="1").cached  # a highlighted box
    path = tmp_path / "pred.json"
    path.write_text(json.dumps([{"image_id": 1, "category_id": 1, "score": 0.9, "bbox": [12, 12, 90, 70]}]))
    predictions = read_predictions(path, ds)
    assert not thumbnail(ds, 0, predictions).cached  # predictions drawn
    assert thumbnail(ds, 0, predictions).cached
    above = thumbnail(ds, 0, predictions, score_threshold=0.95)  # none drawn: the plain thumbnail
    assert above.cached and above.jpeg == plain.jpeg
    assert len(_entries()) == 4
    # the same image and boxes in another export share the entry
    copy = json.loads((small / "annotations.json").read_text())
    (small / "copy.json").write_text(json.dumps(copy, indent=1))
    assert thumbnail(imbal_core.load(small / "copy.json"), 0).cached


def test_an_edited_image_is_drawn_again(small):
    from PIL import Image

    ds = imbal_core.load(small / "annotations.json")
    before = thumbnail(ds, 1)
    path = small / "images" / "b.jpg"
    Image.new("RGB", (320, 240), (0, 0, 255)).save(path, "JPEG")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    after = thumbnail(ds, 1)
    assert not after.cached and after.jpeg != before.jpeg


def test_an_unwritable_cache_does_not_fail(small, monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("IMBAL_CACHE_DIR", str(blocker))
    ds = imbal_core.load(small / "annotations.json", cache=False)
    page = thumbnails(ds, [0, 1])
    flush()
    assert len(page) == 2 and not any(t.cached for t in page.thumbnails)
    assert not thumbnail(ds, 0).cached


def test_a_damaged_entry_is_made_again(small):
    ds = imbal_core.load(small / "annotations.json")
    thumbnail(ds, 0)
    (entry,) = _entries()
    (thumbs_dir() / entry).write_bytes(b"not a jpeg")
    redone = thumbnail(ds, 0)
    assert not redone.cached and _jpeg_header(redone.jpeg)[0] == (256, 192)
