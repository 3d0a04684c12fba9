"""The Long tail page, driven: units, subsets, critical classes and the checklist, the same verdicts as `imbal check`."""
from __future__ import annotations

import json

import pytest

from imbal_core.cli import main
from imbal_core.samples import SAMPLES

from .conftest import metric, open_on, texts

PAGE = "views/longtail.py"


@pytest.fixture
def page(app):
    app.switch_page(PAGE).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def bars(at) -> dict[str, float]:
    """Class -> bar height in the long-tail chart (summed over its traces)."""
    chart = next(c for c in at.get("plotly_chart") if c.proto.id.endswith("lt_bars"))
    out: dict[str, float] = {}
    for trace in json.loads(chart.proto.spec)["data"]:
        for x, y in zip(trace["x"], trace["y"]):
            out[x] = out.get(x, 0.0) + y
    return out


def verdicts(at) -> dict[str, str]:
    """Rule title -> status, as the checklist shows them."""
    out = {}
    for md in at.markdown:
        text = str(md.value)  # ":green-badge[:material/check: pass] **Title** — detail"
        for status in ("pass", "warn", "fail"):
            if text.startswith(":") and f" {status}] **" in text and "** — " in text:
                out[text.split("**")[1]] = status
    return out


def test_the_unit_toggle_changes_the_chart(page):
    # counted from annotations.json with pandas: boxes per class, distinct images per class, sum of bbox w x h
    instances = bars(page)
    assert instances["Car"] == 10300 and instances["Wheelchair"] == 200
    page.button_group(key="lt_unit").set_value("images").run()
    images = bars(page)
    assert images["Car"] == 2500 and images["Wheelchair"] == 166
    page.button_group(key="lt_unit").set_value("pixels").run()
    assert bars(page)["Wheelchair"] == pytest.approx(731_474.15, abs=0.1)
    assert "boxes only, no masks" in texts(page) and "box area" in texts(page)  # honest about the unit


@pytest.mark.parametrize("unit", ["images", "instances", "pixels"])
def test_at_night_wheelchair_is_the_rare_class_in_every_unit(page, unit):
    page.button_group(key="lt_unit").set_value(unit).run()
    page.multiselect(key="lt_where_time_of_day").set_value(["night"]).run()
    assert not page.exception
    heights = bars(page)
    assert min(heights, key=heights.get) == "Wheelchair"
    line = next(str(m.value) for m in page.markdown if str(m.value).startswith("**Rarest"))
    # the 9 night Wheelchairs are in 9 images, 4 of them in train (val 3, test 2; counted from annotations.json):
    # LVIS rare is 1-10 training images
    assert "Wheelchair" in line and "LVIS group **rare** (4 training images)" in line


def test_over_the_whole_dataset_the_smallest_class_is_wheelchair(page):
    # counted from annotations.json: Car 10,300 / Wheelchair 200 = 51.5; Wheelchair is also last in images (166)
    # and box area (731,474 px²)
    assert metric(page, "Imbalance ratio") == "51.5" and metric(page, "Classes with data") == "10 of 10"
    assert "Rarest by instances (over all splits): Wheelchair" in texts(page)
    for unit, label in [("images", "images"), ("pixels", "box area (px²)")]:
        page.button_group(key="lt_unit").set_value(unit).run()
        assert f"Rarest by {label} (over all splits): Wheelchair" in texts(page)


def test_flagging_a_critical_class_changes_the_checklist(page):
    assert verdicts(page)["Critical classes meet their minimum"] == "pass"
    page.multiselect(key="lt_critical").set_value(["Wheelchair"]).run()
    assert verdicts(page)["Critical classes meet their minimum"] == "fail"
    assert "1 critical class below 300 instances: Wheelchair 200." in texts(page)  # 200 counted from annotations.json
    assert page.session_state["imbal.critical"] == {next(iter(page.session_state["imbal.critical"])): ["Wheelchair"]}
    page.number_input(key="lt_critical_min").set_value(150).run()
    assert verdicts(page)["Critical classes meet their minimum"] == "warn"  # 200 clears 150 but not the comfortable 500


@pytest.mark.parametrize(
    "unit, standing",
    # counted from annotations.json with pandas; shares are of the per-class totals in that unit (19,270 boxes;
    # 7,707 class-image pairs; 122,722,063 px² of box area); Wheelchair is in 121 train images (LVIS frequent: more
    # than 100)
    [("instances", "200 instances (1.04%), 10 of 10 by size, in the tail; LVIS frequent (121 training images)"),
     ("images", "166 images (2.15%), 10 of 10 by size, in the tail"),
     ("pixels", "731,474 box area (px²) (0.60%), 10 of 10 by size, in the tail")],
)
def test_a_critical_class_shows_its_standing_in_each_unit(page, unit, standing):
    page.multiselect(key="lt_critical").set_value(["Wheelchair"]).run()
    page.button_group(key="lt_unit").set_value(unit).run()
    line = next(str(m.value) for m in page.markdown if "Critical **Wheelchair**" in str(m.value))
    assert standing in line
    chart = next(c for c in page.get("plotly_chart") if c.proto.id.endswith("lt_bars"))
    trace = json.loads(chart.proto.spec)["data"][0]  # every street class is LVIS-frequent: one trace
    outline = dict(zip(trace["x"], trace["marker"]["line"]["width"]))
    assert outline["Wheelchair"] > 0 and outline["Car"] == 0


def test_thresholds_change_the_verdicts(page):
    page.number_input(key="lt_max_ratio").set_value(60.0).run()
    assert verdicts(page)["Long-tail ratio"] == "warn"  # 51.5 (Car 10,300 / Wheelchair 200) is under 60, over 10
    page.number_input(key="lt_min").set_value(201).run()
    assert verdicts(page)["Minimum instances per class"] == "fail"  # Wheelchair 200, one short of the floor
    assert bars(page)["Wheelchair"] == 200


def test_the_page_shows_the_verdicts_of_imbal_check(page, capsys):
    assert main(["check", "--json", str(SAMPLES["street"].files()[0])]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert verdicts(page) == {r["title"]: r["status"] for r in doc["rules"]}
    assert "2 of 6 rules fail" in texts(page) and "`imbal check` exits 1" in texts(page)


def test_split_facets_and_colours(page):
    page.selectbox(key="lt_split").set_value("test").run()
    assert bars(page)["Wheelchair"] == 27  # train 144 / val 29 / test 27, counted from annotations.json
    page.selectbox(key="lt_split").set_value("all splits").run()
    page.button_group(key="lt_colour").set_value("split").run()
    chart = next(c for c in page.get("plotly_chart") if c.proto.id.endswith("lt_bars"))
    assert [t["name"] for t in json.loads(chart.proto.spec)["data"]] == ["train", "val", "test"]
    page.toggle(key="lt_facets").set_value(True).run()
    assert not page.exception and bars(page)["Wheelchair"] == 200


@pytest.mark.parametrize("sample", list(SAMPLES))
def test_every_sample(app, sample):
    open_on(app, PAGE, sample)
    units = app.button_group(key="lt_unit").options
    if sample == "surface":  # classification: no pixel unit, and the page says why
        assert list(units) == ["images", "instances"] and "Pixels are not available" in texts(app)
    else:
        assert len(units) == 3
