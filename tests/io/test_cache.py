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


# --------------------------------------------------------------------------- a hit names the current inputs


def clipped_doc():
    """doc() with one box reaching past its image, so that the report names the file."""
    d = doc()
    d["annotations"][0]["bbox"] = [5, 5, 10, 10]
    return d


def test_a_hit_from_other_paths_names_the_current_inputs(tmp_path, calls):
    # b/annotations.json is identical to a/annotations.json, loaded (and cached) before a/ was deleted
    a, b = tmp_path / "a" / "annotations.json", tmp_path / "b" / "annotations.json"
    for p in (a, b):
        p.parent.mkdir()
        p.write_text(json.dumps(clipped_doc()))
    first = load(a)
    assert first.sources == (str(a),) and {r.file for r in first.report.rows} == {str(a)}
    shutil.rmtree(a.parent)
    second = load(b)
    assert second.key == first.key and second.sources == (str(b),)
    assert {r.file for r in second.report.rows} == {str(b)}
    third = load(b)  # now a hit by the stat index
    assert len(calls) == 2 and third.sources == (str(b),) and {r.file for r in third.report.rows} == {str(b)}


VOC_XML = """<annotation><filename>{name}.jpg</filename><size><width>10</width><height>10</height></size>
<object><name>Car</name><bndbox><xmin>5</xmin><ymin>5</ymin><xmax>15</xmax><ymax>8</ymax></bndbox></object>
</annotation>"""


def test_a_moved_folder_is_a_hit_that_names_the_new_folder(tmp_path):
    old = tmp_path / "voc_old"
    (old / "Annotations").mkdir(parents=True)
    for name in ("a", "b"):
        (old / "Annotations" / f"{name}.xml").write_text(VOC_XML.format(name=name))
    first = load(old)
    assert first.sources == (str(old),) and all(r.file.startswith(str(old) + "/") for r in first.report.rows)
    new = tmp_path / "voc_new"
    old.rename(new)  # same relative paths, sizes and times: the same folder fingerprint, a hit without a parse
    second = load(new)
    assert second.key == first.key and second.sources == (str(new),)
    assert sorted(r.file for r in second.report.rows) == sorted(
        r.file.replace(str(old), str(new)) for r in first.report.rows)


def test_relocate_moves_only_paths_under_an_input():
    ds = imbal_core.dataset.build_dataset(images={"file_name": ["x.jpg"]}, annotations={"image": [], "category": []},
                                          categories={"name": ["Car"]}, task="detection", format="coco",
                                          sources=["/d/a", "/d/ab/x.json", "/elsewhere/a"])
    moved = cache.relocate(ds, ["/d/a", "/d/ab/x.json"], ["/e/a", "/e/ab/x.json"])
    assert moved.sources == ("/e/a", "/e/ab/x.json", "/elsewhere/a")
    assert cache.relocate(ds, ["/d/a"], ["/e/a", "/f"]).sources == ds.sources  # inputs that do not pair up


# --------------------------------------------------------------------------- hostile input and threads


@pytest.mark.parametrize("value, is_file", [
    ("<View><Image name='image' value='$image'/></View>", False),
    ("<?xml version='1.0'?><!-- " + "x" * 5000 + " --><View/>", False),  # once ENAMETOOLONG from is_file()
    ("x" * 5000, False),
    ("a\nb", False),
    ("nul\0byte", False),
    ("does/not/exist.xml", False),
    (3, False),
    (None, False),
])
def test_only_paths_are_taken_for_paths(value, is_file):
    assert (cache.option_file(value) is not None) == is_file


def test_a_file_option_is_a_path(tmp_path):
    config = tmp_path / "config.xml"
    config.write_text("<View/>")
    assert cache.option_file(str(config)) == config and cache.option_file(config) == config


def test_a_long_xml_label_config_is_a_value_in_the_key(tmp_path):
    task = [{"id": 1, "data": {"image": "a.jpg"}, "annotations": [{"result": [{"type": "choices", "from_name": "c",
             "to_name": "image", "value": {"choices": ["Cat"]}}]}]}]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(task))
    config = ("<?xml version='1.0'?><!-- " + "x" * 5000 + " --><View><Image name='image' value='$image'/>"
              "<Choices name='c' toName='image'><Choice value='Cat'/><Choice value='Dog'/></Choices></View>")
    first = load(path, label_config=config)
    again = load(path, label_config=config)
    assert first.class_names == again.class_names == ["Cat", "Dog"] and first.key == again.key


def test_a_hashing_error_loads_without_caching_and_prints_no_traceback(tmp_path, monkeypatch, capfd, caplog):
    def broken(path, cancelled=None):
        raise MemoryError("hostile input")

    monkeypatch.setattr(cache, "_sha256_file", broken)
    path = tmp_path / "a.json"
    path.write_text(json.dumps(doc(12)))  # content no other test caches
    ds = load(path)
    assert ds.num_images == 12 and ds.key is None
    assert "not caching this load" in caplog.text and "Traceback" not in capfd.readouterr().err


def test_a_failing_cache_write_prints_no_traceback(tmp_path, monkeypatch, capfd, caplog):
    import pyarrow.parquet as pq

    def broken(*args, **kwargs):
        raise MemoryError("hostile input")

    monkeypatch.setattr(pq, "write_table", broken)
    path = tmp_path / "a.json"
    path.write_text(json.dumps(doc(13)))  # content no other test caches
    assert load(path).num_images == 13
    assert "cannot write the parse cache" in caplog.text and "Traceback" not in capfd.readouterr().err
    assert not list((cache.cache_dir() / f"v{cache.VERSION}").glob(".tmp-*"))  # the half-written entry is gone


def test_a_failed_load_leaves_no_hashing_thread(tmp_path, monkeypatch):
    # A thread still running when the interpreter shuts down can abort it (native code losing its
    # interpreter): a load that fails must stop and join its hasher. This hasher ends only when stopped.
    import threading

    released = threading.Event()

    def slow(path, cancelled=None):
        while not released.is_set() and not (cancelled is not None and cancelled.is_set()):
            released.wait(0.01)
        return None

    monkeypatch.setattr(cache, "_sha256_file", slow)
    path = tmp_path / "instances.json"
    path.write_text('{"images": [')
    try:
        with pytest.raises(imbal_core.LoadError):
            imbal_core.load(path, format="coco")
        assert not [t for t in threading.enumerate() if t.name == "imbal-hash"]
    finally:
        released.set()
