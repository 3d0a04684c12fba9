"""The Conditions page, driven: Wheelchair at night first and outlined, a per-split finding switching the view,
two conditions, a unit, and the findings download."""
from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from .conftest import open_on, texts

PAGE = "views/conditions.py"


@pytest.fixture
def page(app):
    app.switch_page(PAGE).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def figure(at) -> dict:
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def outlined(at) -> tuple[str, str] | None:
    """(class, value) of the outlined heatmap cell."""
    fig = figure(at)
    shapes = fig["layout"].get("shapes", [])
    if not shapes:
        return None
    heat = fig["data"][0]
    x0, y0 = shapes[0]["x0"], shapes[0]["y0"]
    return heat["y"][round(y0 + 0.5)], heat["x"][round(x0 + 0.5)]


def test_street_names_wheelchair_at_night_first_and_outlines_it(downloads, page):
    radio = page.radio(key="cond_finding")
    # counted from annotations.json: 9 of 4,903 night instances are Wheelchair (0.18%) against 191 of 14,367 by day
    # (1.33%); expected at night = 200 Wheelchairs x 4,903 night instances / 19,270 instances = 50.9
    assert radio.options[0] == "1. Wheelchair at night: 9 instances, 0.2% of night instances vs 1.3% of day; expected 51."
    assert radio.value == radio.options[0]
    assert outlined(page) == ("Wheelchair", "night")
    heat = figure(page)["data"][0]
    assert heat["y"][0] == "Car" and heat["x"] == ["day", "night"] and heat["zmid"] == 0  # residuals, diverging
    findings = pd.read_csv(io.BytesIO(downloads["imbal_findings_time_of_day.csv"]))
    assert findings.loc[0, "class"] == "Wheelchair" and findings.loc[0, "time_of_day"] == "night"
    assert findings.loc[0, "count"] == 9


def test_clicking_a_per_split_finding_shows_that_split(page):
    page.multiselect(key="cond_by").set_value(["camera"]).run()
    radio = page.radio(key="cond_finding")
    assert radio.value == radio.options[0] and " in val:" in radio.options[0]
    assert outlined(page) is None and "choose val in Split" in texts(page)  # the view shows all splits
    pick = next(o for o in radio.options if " in test:" in o)
    radio.set_value(pick).run()
    assert page.selectbox(key="cond_split").value == "test"
    assert "in test" in figure(page)["layout"]["title"]["text"]
    cls = pick.split(". ", 1)[1].split(" at ")[0]
    assert outlined(page)[0] == cls


def test_two_conditions_and_another_unit_change_the_table(page):
    page.multiselect(key="cond_by").set_value(["time_of_day", "weather"]).run()
    assert "night · clear" in figure(page)["data"][0]["x"]
    # counted from annotations.json: no Wheelchair among the 1,061 night-and-snow instances, against 200 of the other
    # 18,209 (1.1%); expected 200 x 1,061 / 19,270 = 11.0. An absent cell ranks before a thin one (night, clear:
    # 6 of an expected 33), so it comes first
    first = page.radio(key="cond_finding").options[0]
    assert first == "1. Wheelchair at night, snow: 0 instances, 0% of night, snow instances vs 1.1% elsewhere; expected 11."
    page.segmented_control(key="cond_unit").set_value("images").run()
    assert "(images)" in figure(page)["layout"]["title"]["text"]
    page.selectbox(key="cond_mode").set_value("counts").run()
    heat = figure(page)["data"][0]
    assert "zmid" not in heat and heat["colorscale"][0][1] != heat["colorscale"][-1][1]


def test_a_sample_without_gaps_says_so(app):
    app.selectbox(key="sample_name").set_value("surface").run()
    app.switch_page(PAGE).run()
    assert not app.exception and not app.error
    assert "No gaps found" in texts(app) and "lighting" in figure(app)["layout"]["title"]["text"]


@pytest.mark.parametrize("sample", ["street", "surface", "lanes", "street_daily"])
def test_runs_on_every_sample(app, sample):
    open_on(app, PAGE, sample)
    assert figure(app)["data"][0]["type"] == "heatmap"
