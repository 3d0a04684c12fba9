"""The count cube: exact counts on a hand-built dataset, and additivity for any dataset."""
from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imbal_core.cube import class_totals, cube
from imbal_core.dataset import build_dataset


def make(images, annotations, classes, pixels=None):
    """images: list of (split, time_of_day); annotations: list of (image, class index)."""
    return build_dataset(
        images={
            "source_id": [str(i) for i in range(len(images))],
            "split": [s for s, _ in images],
            "time_of_day": [t for _, t in images],
        },
        annotations={
            "image": [a for a, _ in annotations],
            "category": [c for _, c in annotations],
            "pixels": pixels,
        },
        categories={"name": classes},
        task="segmentation" if pixels else "detection",
        format="test",
        sources=[],
        conditions=["time_of_day"],
    )


@pytest.fixture
def street():
    # 4 images: two train (day, night), one val (day), one test (night); image 3 holds no annotation.
    images = [("train", "day"), ("train", "night"), ("val", "day"), ("test", "night")]
    # Car x3 in image 0, Car in image 1, Wheelchair in image 0 and image 2; Bus declared, never used.
    annotations = [(0, 0), (0, 0), (0, 0), (1, 0), (0, 1), (2, 1)]
    return make(images, annotations, ["Car", "Wheelchair", "Bus"], pixels=[10, 10, 10, 5, 7, None])


def rows(table, *keys):
    return {tuple(r[k] for k in keys): (r["images"], r["instances"], r["pixels"]) for r in table.to_pylist()}


def test_cube_by_split(street):
    assert rows(cube(street, ("split",)), "split", "class") == {
        ("train", "Car"): (2, 4, 35.0),
        ("train", "Wheelchair"): (1, 1, 7.0),
        ("val", "Wheelchair"): (1, 1, None),  # its only annotation has no pixel count
    }


def test_cube_by_split_and_condition(street):
    assert rows(cube(street, ("split", "time_of_day")), "split", "time_of_day", "class") == {
        ("train", "day", "Car"): (1, 3, 30.0),
        ("train", "night", "Car"): (1, 1, 5.0),
        ("train", "day", "Wheelchair"): (1, 1, 7.0),
        ("val", "day", "Wheelchair"): (1, 1, None),
    }


def test_class_totals_include_unused_classes(street):
    assert rows(class_totals(street), "class") == {
        ("Car",): (2, 4, 35.0),
        ("Wheelchair",): (2, 2, 7.0),
        ("Bus",): (0, 0, None),
    }


def test_box_only_data_has_null_pixels():
    ds = make([("train", "day")], [(0, 0)], ["Car"])
    assert cube(ds, ()).column("pixels").to_pylist() == [None]


def test_empty_dataset():
    ds = make([], [], [])
    assert cube(ds, ("split",)).num_rows == 0
    assert class_totals(ds).num_rows == 0


@pytest.mark.parametrize(
    "dims, match",
    [(("weather",), r"`dims` may name \['split', 'group', 'time_of_day'\]. Got 'weather'"),
     (("split", "split"), r"`dims` must not repeat a name")],
)
def test_bad_dims(street, dims, match):
    with pytest.raises(ValueError, match=match):
        cube(street, dims)


splits = st.sampled_from(["train", "val", "test"])
times = st.sampled_from(["day", "night", "dusk"])


@st.composite
def datasets(draw):
    n_classes = draw(st.integers(1, 4))
    images = draw(st.lists(st.tuples(splits, times), min_size=1, max_size=12))
    annotations = draw(st.lists(st.tuples(st.integers(0, len(images) - 1), st.integers(0, n_classes - 1)), max_size=40))
    pixels = draw(st.lists(st.one_of(st.none(), st.integers(0, 50)), min_size=len(annotations), max_size=len(annotations)))
    return images, annotations, [f"c{i}" for i in range(n_classes)], pixels


@settings(max_examples=60, deadline=None)
@given(datasets())
def test_cube_is_additive_and_matches_a_direct_recount(data):
    images, annotations, classes, pixels = data
    ds = make(images, annotations, classes, pixels=pixels or None)
    # direct recount from the raw lists
    expected = defaultdict(lambda: [set(), 0, None])
    for (img, cls), pix in zip(annotations, pixels):
        split, tod = images[img]
        cell = expected[(split, tod, classes[cls])]
        cell[0].add(img)
        cell[1] += 1
        if pix is not None:
            cell[2] = (cell[2] or 0) + pix
    fine = rows(cube(ds, ("split", "time_of_day")), "split", "time_of_day", "class")
    assert fine == {k: (len(v[0]), v[1], None if v[2] is None else float(v[2])) for k, v in expected.items()}
    # additive: summing the fine cube over time_of_day gives the split cube
    coarse = defaultdict(lambda: [0, 0, None])
    for (split, _, cls), (n_img, n_inst, pix) in fine.items():
        acc = coarse[(split, cls)]
        acc[0] += n_img
        acc[1] += n_inst
        if pix is not None:
            acc[2] = (acc[2] or 0) + pix
    assert rows(cube(ds, ("split",)), "split", "class") == {k: tuple(v) for k, v in coarse.items()}
