"""The parse cache: a second load of the same content skips parsing; changes are noticed."""
from __future__ import annotations

import json
import shutil

import pytest

import imbal_core
from imbal_core.io import cache, coco


def doc(n_images=3):
    return {
        "images": [{"id": i, "file_name": f"{i}.jpg", "width": 10, "height": 10, "weather": "rain"} for i in range(n_images)],
        "annotations": [{"id": i, "image_id": i, "category_id": 1, "bbox": [1, 1, 2, 2]} for i in range(n_images)],
        "categories": [{"id": 1, "name": "Car"}],
    }


@pytest.fixture
def calls(monkeypatch):
    """Counts how often the COCO reader really parses."""
    seen = []
    real = coco.read_coco

    def counting(*args, **kwargs):
        seen.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(coco, "read_coco", counting)
    return seen


def load(path, **kw):
    ds = imbal_core.load(path, **kw)
    cache.wait_for_writes()
    return ds


def same(a, b):
    return all(getattr(a, t).equals(getattr(b, t)) for t in ("images", "annotations", "categories")) and \
        a.conditions == b.conditions and a.task == b.task and a.report.rows == b.report.rows


def test_second_load_comes_from_the_cache(tmp_path, calls):
    path = tmp_path / "instances_train.json"
    path.write_text(json.dumps(doc()))
    first = load(path)
    second = load(path)
    assert len(calls) == 1
    assert same(first, second) and first.key == second.key
    assert second.images.schema.field("weather").type == first.images.schema.field("weather").type


def test_a_changed_file_is_parsed_again(tmp_path, calls):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(doc(3)))
    assert load(path).num_images == 3
    path.write_text(json.dumps(doc(4)))
    assert load(path).num_images == 4
    assert len(calls) == 2


def test_the_same_content_elsewhere_is_a_hit(tmp_path, calls):
    a = tmp_path / "a.json"
    a.write_text(json.dumps(doc()))
    load(a)
    b = tmp_path / "copy" / "a.json"
    b.parent.mkdir()
    shutil.copy(a, b)
    assert load(b).key == load(a).key


def test_cache_false_always_parses(tmp_path, calls):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(doc()))
    load(path, cache=False)
    load(path, cache=False)
    assert len(calls) == 2


def test_a_damaged_entry_is_a_miss(tmp_path, calls):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(doc()))
    key = load(path).key
    (cache.cache_dir() / f"v{cache.VERSION}" / key / "annotations.parquet").write_bytes(b"not parquet")
    assert load(path).num_annotations == 3
    assert len(calls) == 2


def test_an_unwritable_cache_still_loads(tmp_path, monkeypatch, calls):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    monkeypatch.setenv("IMBAL_CACHE_DIR", str(blocker / "cache"))
    path = tmp_path / "a.json"
    path.write_text(json.dumps(doc()))
    assert load(path).num_images == 3
    assert load(path).num_images == 3


def test_a_masks_class_file_one_folder_up_is_part_of_the_key(tmp_path):
    import numpy as np
    from PIL import Image

    (tmp_path / "masks").mkdir()
    Image.fromarray(np.array([[0, 1], [1, 2]], np.uint8)).save(tmp_path / "masks" / "a.png")
    names = tmp_path / "classes.txt"
    names.write_text("background\nroad\nlane\n")
    assert load(tmp_path / "masks", format="masks").class_names == ["road", "lane"]
    names.write_text("background\nroad\nmarking\n")
    assert load(tmp_path / "masks", format="masks").class_names == ["road", "marking"]
