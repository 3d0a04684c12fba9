"""dataset_key: the loader's key when set, else a content hash of the tables; never shared by two contents."""
from __future__ import annotations

from dataclasses import replace

import pyarrow as pa
import pytest

import imbal_core
from imbal_core import fingerprint
from imbal_core.dataset import DICT_STRING, build_dataset
from imbal_core.fingerprint import CONTENT_PREFIX, content_key, dataset_key
from imbal_core.samples import SAMPLES


def make_annotations():
    return {"image": [0, 0, 1], "category": [0, 1, 1], "x": [1.0, 2.0, 3.0], "y": [1.0, 1.0, 1.0],
            "w": [5.0, 5.0, 5.0], "h": [5.0, 5.0, 5.0]}


def make(**change):
    """Two images, two classes, three boxes; ``change`` overrides a part (images=..., task=...)."""
    parts = dict(
        images={"source_id": ["a", "b"], "file_name": ["a.jpg", "b.jpg"], "width": [100, 100], "height": [50, 50],
                "split": ["train", "val"], "weather": ["rain", "sun"]},
        annotations=make_annotations(),
        categories={"name": ["Car", "Wheelchair"]},
        task="detection", format="coco", sources=["mem"], conditions=["weather"],
    )
    parts.update(change)
    return build_dataset(**parts)


def with_images(**columns):
    images = {k: v for k, v in make().images.to_pydict().items() if k != "image_id"}
    images.update(columns)
    return make(images=images)


def test_equal_content_gives_equal_key():
    first, second = make(), make()
    assert first is not second and first.key is None
    assert dataset_key(first) == dataset_key(second)
    assert dataset_key(first).startswith(CONTENT_PREFIX)


@pytest.mark.parametrize("changed", [
    pytest.param(lambda: make(categories={"name": ["Car", "Bicycle"]}), id="a class name"),
    pytest.param(lambda: make(annotations={**make_annotations(), "x": [1.0, 2.0, 3.5]}), id="one box coordinate"),
    pytest.param(lambda: make(annotations={**make_annotations(), "category": [0, 0, 1]}), id="one annotation's class"),
    pytest.param(lambda: with_images(split=["train", "train"]), id="one image's split"),
    pytest.param(lambda: with_images(weather=["rain", "fog"]), id="one condition value"),
    pytest.param(lambda: make(conditions=[]), id="a condition column less"),
    pytest.param(lambda: make(task="segmentation"), id="the task"),
    pytest.param(lambda: make(format="yolo"), id="the format"),
    pytest.param(lambda: replace(make(), uncounted=None), id="uncounted unknown"),
    pytest.param(lambda: make(categories={"name": ["Car", "Wheelchair"], "critical": [False, True]}), id="a critical flag"),
])
def test_any_difference_in_content_gives_another_key(changed):
    assert dataset_key(changed()) != dataset_key(make())


def test_memory_layout_does_not_change_the_key():
    """The same values in two chunks, as a slice, or under another dictionary order: one key."""
    base = make()
    images = base.images
    chunked = pa.concat_tables([images.slice(0, 1), images.slice(1, 1)])
    assert chunked.column("split").num_chunks == 2
    split = images.column("split").combine_chunks()
    reordered = pa.DictionaryArray.from_arrays(
        pa.array([1, 0], pa.int32()), pa.array(split.dictionary_decode().to_pylist()[::-1]))
    assert reordered.dictionary.to_pylist() != split.dictionary.to_pylist()
    reordered_images = images.set_column(images.schema.get_field_index("split"), pa.field("split", DICT_STRING, False),
                                         reordered)
    sliced_annotations = pa.concat_tables([base.annotations, base.annotations]).slice(0, base.annotations.num_rows)
    assert dataset_key(replace(base, images=chunked)) == dataset_key(base)
    assert dataset_key(replace(base, images=reordered_images)) == dataset_key(base)
    assert dataset_key(replace(base, annotations=sliced_annotations)) == dataset_key(base)


def test_the_loaders_key_is_used_when_set():
    sample = SAMPLES["street"]
    loaded = imbal_core.load([str(p) for p in sample.files()], format=sample.format)
    assert loaded.key and dataset_key(loaded) == loaded.key
    unkeyed = imbal_core.load([str(p) for p in sample.files()], format=sample.format, cache=False)
    assert unkeyed.key is None
    assert dataset_key(unkeyed) == content_key(loaded)  # the same tables, hashed
    assert dataset_key(unkeyed) != dataset_key(loaded)  # one namespace for input hashes, one for tables


def test_the_content_key_is_computed_once_per_object(monkeypatch):
    ds = make()
    calls = []
    original = fingerprint.content_key
    monkeypatch.setattr(fingerprint, "content_key", lambda d: calls.append(d) or original(d))
    first = dataset_key(ds)
    assert dataset_key(ds) == first and len(calls) == 1
    assert ds.key is None  # remembered beside the fields, not in one
    other = replace(ds, categories=make(categories={"name": ["Car", "Bicycle"]}).categories)
    assert dataset_key(other) != first and len(calls) == 2  # a copy does not inherit the remembered key


def test_not_a_dataset_is_refused():
    with pytest.raises(TypeError, match="`dataset` must be a Dataset. Got dict instead."):
        dataset_key({"images": None})
