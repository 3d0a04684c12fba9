"""The shared names of imbal_core.types: units, splits, the split check and the quota statuses."""
from __future__ import annotations

import json
from importlib import import_module

import pytest

from imbal_core import longtail, plan, quotas
from imbal_core.cli.quota import FAIL_LEVELS
from imbal_core.types import PLAN_UNITS, SPLITS, UNITS, QuotaStatus, check_split

# --------------------------------------------------------------------------- units


def test_every_old_name_of_the_units_is_the_one_definition():
    assert UNITS == ("images", "instances", "pixels") and PLAN_UNITS == ("images", "instances")
    cube_module = import_module("imbal_core.cube")  # `imbal_core.cube` is the function
    assert cube_module.UNITS is longtail.UNITS is quotas.UNITS is UNITS
    assert plan.UNITS is PLAN_UNITS


# --------------------------------------------------------------------------- check_split

AVAILABLE = ("train", "val", "test")


@pytest.mark.parametrize("name, allow_all, expected", [
    ("val", False, "val"), (None, False, None), ("all", True, None), (None, True, None), ("train", True, "train"),
])
def test_check_split_accepts(name, allow_all, expected):
    assert check_split(name, AVAILABLE, allow_all=allow_all) == expected


@pytest.mark.parametrize("name, available, kwargs, match", [
    ("dev", AVAILABLE, {}, r"^`split` must be one of \['train', 'val', 'test'\] or None\. Got 'dev' instead\.$"),
    ("all", AVAILABLE, {}, r"^`split` must be one of \['train', 'val', 'test'\] or None\. Got 'all' instead\.$"),
    ("dev", AVAILABLE, {"allow_all": True},
     r"^`split` must be one of \['train', 'val', 'test'\] or 'all'\. Got 'dev' instead\.$"),
    ("test", ("val",), {"parameter": "splits"}, r"^`splits` must be one of \['val'\] or None\. Got 'test' instead\.$"),
    (3, iter(SPLITS), {}, r"^`split` must be one of \['train', 'val', 'test'\] or None\. Got 3 instead\.$"),
    ("train", (), {}, r"^`split` must be one of \[\] or None\. Got 'train' instead\.$"),
])
def test_check_split_messages(name, available, kwargs, match):
    with pytest.raises(ValueError, match=match):
        check_split(name, available, **kwargs)


# --------------------------------------------------------------------------- QuotaStatus


def test_quota_statuses_are_told_apart_by_every_attribute():
    members = list(QuotaStatus)
    assert [s.value for s in members] == ["done", "on_track", "at_risk", "off_track", "unknown"]
    for attribute in ("rank", "label", "legend", "colour"):
        values = [getattr(s, attribute) for s in members]
        assert len(set(values)) == len(members), attribute
    assert sorted(s.rank for s in members) == list(range(len(members)))
    assert len({s.badge for s in members}) == len(members)


@pytest.mark.parametrize("status, label, legend, colour, badge", [
    (QuotaStatus.DONE, "done", "done — stop collecting", "#1b7837", ":green-badge[done]"),
    (QuotaStatus.ON_TRACK, "on track", "on track", "#5aae61", ":green-badge[on track]"),
    (QuotaStatus.AT_RISK, "at risk", "at risk", "#f1a340", ":orange-badge[at risk]"),
    (QuotaStatus.OFF_TRACK, "off track", "off track", "#d73027", ":red-badge[off track]"),
    (QuotaStatus.UNKNOWN, "no pace yet", "no pace yet", "#9e9e9e", ":gray-badge[no pace yet]"),
])
def test_quota_status_shows_as_before(status, label, legend, colour, badge):
    assert (status.label, status.legend, status.colour, status.badge) == (label, legend, colour, badge)


def test_a_quota_status_is_its_name_as_text():
    assert QuotaStatus("at_risk") is QuotaStatus.AT_RISK and QuotaStatus.AT_RISK == "at_risk"
    assert f"{QuotaStatus.OFF_TRACK}" == "off_track" and json.dumps([QuotaStatus.DONE]) == '["done"]'
    assert {"on_track": 1}[QuotaStatus.ON_TRACK] == 1


def test_worst_first_is_off_track_at_risk_unknown_on_track_done():
    by_rank = sorted(QuotaStatus, key=lambda s: s.rank)
    assert by_rank == [QuotaStatus.OFF_TRACK, QuotaStatus.AT_RISK, QuotaStatus.UNKNOWN, QuotaStatus.ON_TRACK,
                       QuotaStatus.DONE]


# --fail-on LEVEL fails the classes at LEVEL or worse: the table the CLI had before QuotaStatus.
FAILING = {"at_risk": {"at_risk", "off_track"}, "off_track": {"off_track"}}


@pytest.mark.parametrize("level", sorted(FAILING))
def test_fail_on_levels(level):
    assert {s.value for s in QuotaStatus if s.at_least_as_bad_as(level)} == FAILING[level]
    assert [s.value for s in FAIL_LEVELS] == ["at_risk", "off_track"]
