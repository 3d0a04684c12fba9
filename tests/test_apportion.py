"""Largest-remainder apportionment: shares sum to the total, respect caps, and stay within one of the exact share."""
from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imbal_core.apportion import apportion


@pytest.mark.parametrize("total, weights, caps, expected", [
    (10, {"a": 1, "b": 1}, None, {"a": 5, "b": 5}),
    (3, {"a": 1, "b": 1}, None, {"a": 2, "b": 1}),  # a tie goes to the smaller key
    (7, {"a": 0, "b": 2, "c": 1}, None, {"a": 0, "b": 5, "c": 2}),  # 4.67 / 2.33: the larger remainder wins
    (10, {"a": 1, "b": 1}, {"a": 2, "b": 100}, {"a": 2, "b": 8}),  # what a cannot take goes to b
    (10, {"a": 1, "b": 1}, {"a": 2, "b": 3}, {"a": 2, "b": 3}),  # not enough room: the caps are the answer
    (5, {"a": 0.0}, None, {"a": 0}),
])
def test_table(total, weights, caps, expected):
    assert apportion(total, weights, caps) == expected


@given(st.integers(0, 500), st.dictionaries(st.integers(0, 20), st.integers(0, 50), min_size=1, max_size=8))
def test_uncapped_shares_sum_to_the_total_and_stay_within_one_of_the_exact_share(total, weights):
    out = apportion(total, weights)
    whole = sum(weights.values())
    if whole == 0:
        assert set(out.values()) == {0}
        return
    assert sum(out.values()) == total
    for k, w in weights.items():
        exact = total * w / whole
        assert math.floor(exact) <= out[k] <= math.ceil(exact)


@given(st.integers(0, 500), st.dictionaries(st.integers(0, 20), st.tuples(st.integers(1, 50), st.integers(0, 60)),
                                              min_size=1, max_size=8))
def test_capped_shares_never_pass_a_cap_and_fill_what_the_caps_allow(total, spec):
    weights = {k: w for k, (w, _) in spec.items()}
    caps = {k: c for k, (_, c) in spec.items()}
    out = apportion(total, weights, caps)
    assert all(out[k] <= caps[k] for k in out)
    assert sum(out.values()) == min(total, sum(caps.values()))
