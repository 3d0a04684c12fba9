"""Traversal: an image path that leads outside the export, the images folder and the data root is never opened.

A COCO export whose file names are ``../../secret.jpg``, an absolute path, a symbolic link to a file
outside and a path through a folder link outside. Every open (``open``, ``io.open``, ``os.open``)
is watched; the outside files are real red JPEGs, so a render that read one would show red.
"""
from __future__ import annotations

import builtins
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest

import imbal_core
from imbal_core.cli import main
from imbal_core.gallery import ImageResolver, render, thumbnails
from imbal_core.gallery.resolve import CODE_OUTSIDE, unsafe_reason


def _jpeg(path: Path, color) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 48), color).save(path, "JPEG")


@pytest.fixture()
def hostile(tmp_path):
    """(annotation file, outside folder): the export in data/export/, the files it must not reach in outside/."""
    outside = tmp_path / "outside"
    for name in ("abs.jpg", "target.jpg", "target2.jpg"):
        _jpeg(outside / name, (255, 0, 0))
    _jpeg(tmp_path / "secret.jpg", (255, 0, 0))
    export = tmp_path / "data" / "export"
    _jpeg(export / "images" / "good.jpg", (0, 0, 255))
    (export / "link.jpg").symlink_to(outside / "target.jpg")
    (export / "imgs").symlink_to(outside, target_is_directory=True)
    names = ["../../secret.jpg", str(outside / "abs.jpg"), "link.jpg", "imgs/target2.jpg", "good.jpg"]
    doc = {"images": [{"id": i + 1, "file_name": n, "width": 64, "height": 48} for i, n in enumerate(names)],
           "categories": [{"id": 1, "name": "thing"}],
           "annotations": [{"id": i + 1, "image_id": i + 1, "category_id": 1, "bbox": [8, 8, 20, 20], "area": 400}
                           for i in range(len(names))]}
    (export / "annotations.json").write_text(json.dumps(doc))
    return export / "annotations.json", outside, tmp_path / "secret.jpg"


@pytest.fixture()
def opened(monkeypatch):
    """Every path opened from now on (builtins.open, io.open, os.open), resolved."""
    seen: list[Path] = []
    real_open, real_os_open = builtins.open, os.open

    def watch(target):
        if isinstance(target, (str, bytes, os.PathLike)):
            try:
                seen.append(Path(os.fsdecode(target)).resolve())
            except (OSError, ValueError):
                pass

    def fake_open(file, *args, **kwargs):
        watch(file)
        return real_open(file, *args, **kwargs)

    def fake_os_open(path, *args, **kwargs):
        watch(path)
        return real_os_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(io, "open", fake_open)
    monkeypatch.setattr(os, "open", fake_os_open)
    return seen


def _outside(paths: list[Path], outside: Path, secret: Path) -> list[Path]:
    return [p for p in paths if p == secret or outside in p.parents]


def test_nothing_outside_is_opened_and_all_is_reported(hostile, opened, own_cache):
    annotations, outside, secret = hostile
    ds = imbal_core.load(annotations)
    page = thumbnails(ds, range(ds.num_images), cache=False)
    drawn = [render(ds, i, size=64) for i in range(ds.num_images)]
    assert _outside(opened, outside, secret) == []
    statuses = [d.source.status for d in drawn]
    assert statuses == ["refused", "refused", "refused", "refused", "found"]
    for d in drawn[:4]:  # blank canvases, not red pictures
        assert d.missing and d.problem is not None and d.problem.code == CODE_OUTSIDE
        pixels = np.asarray(d.image)
        assert not ((pixels[..., 0] > 200) & (pixels[..., 1] < 60)).any()
    assert drawn[4].source.path == (annotations.parent / "images" / "good.jpg").resolve()
    assert (page.missing, page.refused, page.unreadable) == (4, 4, 0)
    records = {r.record: r.problem for r in page.report}
    assert set(records) == {"1", "2", "3", "4"}
    assert "climbs out of its folder" in records["1"] and "absolute path" in records["2"]
    assert "outside the export's folder" in records["3"] and "outside the export's folder" in records["4"]
    # control: with the whole temporary folder as data root the same renders do open those files (the watch works)
    wide = ImageResolver(ds, data_root=annotations.parents[2])
    assert [render(ds, i, resolver=wide).source.status for i in range(ds.num_images)] == ["found"] * 5
    assert set(_outside(opened, outside, secret)) == {secret, outside / "abs.jpg", outside / "target.jpg",
                                                      outside / "target2.jpg"}


def test_the_images_folder_given_is_allowed(hostile, opened, own_cache):
    annotations, outside, secret = hostile
    ds = imbal_core.load(annotations)
    resolver = ImageResolver(ds, images_dir=outside)
    statuses = [resolver.resolve(i).status for i in range(ds.num_images)]
    # the absolute path's base name and the links now land in the folder the user named; the secret does not
    assert statuses == ["refused", "found", "found", "found", "found"]
    assert secret not in opened


def test_the_cli_reports_the_refused_images(hostile, opened, own_cache, tmp_path, capsys):
    annotations, outside, secret = hostile
    out = tmp_path / "sheet.html"
    assert main(["gallery", str(annotations), "--out", str(out), "--no-cache"]) == 0
    captured = capsys.readouterr()
    assert "5 images matched" in captured.out
    assert "5 shown" in captured.out and "4 without a usable image file (4 refused" in captured.out
    assert captured.err.count("is not opened") == 4
    assert _outside(opened, outside, secret) == []
    assert out.read_text().count("data:image/jpeg;base64,") == 5


@pytest.mark.parametrize(
    "name, reason",
    [
        ("a/b.jpg", None), ("a/../b.jpg", None), ("./b.jpg", None),
        ("../b.jpg", "it climbs out of its folder (..)"), ("a/../../b.jpg", "it climbs out of its folder (..)"),
        ("/etc/passwd", "it is an absolute path"), ("C:\\data\\x.jpg", "it is an absolute path"),
        ("\\\\server\\share\\x.jpg", "it is an absolute path"), ("~/x.jpg", "it is an absolute path"),
        ("http://example.com/x.jpg", "it is a URL"), ("a\0b.jpg", "it holds a NUL character"),
    ],
)
def test_unsafe_names(name, reason):
    assert unsafe_reason(name) == reason
