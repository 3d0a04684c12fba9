"""subset_choices: the condition values the Long tail page offers as a subset, listed by the library."""
from __future__ import annotations

from dataclasses import replace

import pytest

from imbal_core.dataset import build_dataset
from imbal_core.longtail import long_tail
from imbal_core.longtail.subsets import MAX_SUBSET_VALUES, subset_choices


def dataset(**conditions):
    n = len(next(iter(conditions.values())))
    return build_dataset(images={"source_id": [str(i) for i in range(n)], **conditions},
                         annotations={"image": list(range(n)), "category": [0] * n}, categories={"name": ["Car"]},
                         task="detection", format="t", sources=[], conditions=list(conditions))


def test_values_sorted_nulls_left_out_one_value_and_identifiers_dropped():
    ds = dataset(weather=["sun", "rain", None, "fog"], camera=["front"] * 4, frame=["f1", "f2", "f3", "f4"])
    assert subset_choices(ds, max_values=3) == {"weather": ["fog", "rain", "sun"]}
    assert subset_choices(ds) == {"weather": ["fog", "rain", "sun"], "frame": ["f1", "f2", "f3", "f4"]}
    assert list(subset_choices(ds, max_values=4)) == ["weather", "frame"]  # the dataset's order


def test_the_default_limit_is_fifty():
    ds = dataset(site=[f"s{i:02d}" for i in range(MAX_SUBSET_VALUES)], frame=[f"f{i}" for i in range(MAX_SUBSET_VALUES)])
    ds_more = dataset(frame=[f"f{i}" for i in range(MAX_SUBSET_VALUES + 1)])
    assert len(subset_choices(ds)["site"]) == 50
    assert subset_choices(ds_more) == {}


def test_only_values_images_have_not_every_dictionary_word():
    ds = dataset(weather=["sun", "rain", "fog"])
    kept = ds.images.filter([True, True, False])  # the dictionary still holds "fog"
    assert "fog" in kept.column("weather").combine_chunks().dictionary.to_pylist()
    smaller = replace(ds, images=kept, annotations=ds.annotations.filter([True, True, False]))
    assert subset_choices(smaller) == {"weather": ["rain", "sun"]}


def test_every_choice_selects_images():
    ds = dataset(weather=["sun", "rain", "sun", "fog"])
    for condition, values in subset_choices(ds).items():
        for value in values:
            assert long_tail(ds, "instances", where={condition: [value]}).classes.column("count")[0].as_py() > 0


@pytest.mark.parametrize("bad", [1, 0, 2.5, True, "50"])
def test_max_values_must_be_a_whole_number_of_at_least_two(bad):
    with pytest.raises(ValueError, match="`max_values` must be a whole number of at least 2. Got"):
        subset_choices(dataset(weather=["a", "b"]), max_values=bad)
