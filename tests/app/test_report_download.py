"""The "Download report" button: on the Overview page and in the sidebar, it downloads the report the
library builds for the same dataset and the choices made on the other pages (critical classes,
conditions, plan settings, the sample's predictions) — byte for byte but the time it was made."""
from __future__ import annotations

import re

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager

from imbal_core.samples import SAMPLES
from imbal_core.sharing import PlanSettings, ReportSettings, build_report

from .conftest import open_on

STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture
def deferred(monkeypatch):
    """The callable behind each deferred download button, by file name: the server runs it when the
    button is clicked (AppTest has no server, so the test runs it)."""
    builders: dict[str, object] = {}
    original = MediaFileManager.add_deferred

    def record(self, callable_, mimetype, coordinates, file_name=None, element_id=""):
        builders[file_name] = callable_
        return original(self, callable_, mimetype, coordinates, file_name=file_name, element_id=element_id)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    return builders


def without_time(data: bytes) -> str:
    text = data.decode("utf-8")
    assert len(STAMP.findall(text)) >= 1
    return STAMP.sub("<time>", text)


def test_overview_button_carries_the_choices_of_other_pages(app, deferred):
    # choices on three other pages
    open_on(app, "views/longtail.py")
    app.multiselect(key="lt_critical").set_value(["Wheelchair", "Stroller"]).run()
    open_on(app, "views/conditions.py")
    app.multiselect(key="cond_by").set_value(["weather", "camera"]).run()
    open_on(app, "views/plan.py")
    app.slider(key="plan_cap").set_value(3.0).run()
    app.slider(key="plan_budget").set_value(2000).run()
    open_on(app, "views/overview.py")

    button = app.download_button(key="report_download_overview")
    assert button.label == "Download report"
    button.click().run()
    assert not app.exception
    name = "imbal_report_street_scenes_detection.html"
    downloaded = deferred[name]()

    street = SAMPLES["street"]
    dataset = app.session_state["imbal.dataset"]
    expected = ReportSettings(
        title="imbal report — Street scenes (detection)", critical=("Wheelchair", "Stroller"),
        # the pair chosen on the Conditions page first, then each condition alone (as the report does by default)
        by=(("weather", "camera"), ("time_of_day",), ("weather",), ("camera",)),
        plan=PlanSettings(budget=2000, cap=3.0, strategy="sqrt", unit="images", split="train", floor=0.0),
        predictions=str(street.predictions_file()))
    library = build_report(dataset, expected, html_name=name)
    assert without_time(downloaded) == without_time(library.html_bytes())
    html = downloaded.decode()
    assert '<dd>Wheelchair, Stroller</dd>' in html
    assert 'data-table="findings-weather x camera"' in html and 'id="plan"' in html and 'id="evaluation"' in html


def test_sidebar_button_on_another_page_downloads_the_same(app, deferred):
    open_on(app, "views/splits.py")
    button = app.download_button(key="report_download_sidebar")
    button.click().run()
    assert not app.exception
    downloaded = deferred["imbal_report_street_scenes_detection.html"]()
    dataset = app.session_state["imbal.dataset"]
    street = SAMPLES["street"]
    expected = ReportSettings(title="imbal report — Street scenes (detection)", critical=(),
                              predictions=str(street.predictions_file()))
    assert without_time(downloaded) == without_time(build_report(dataset, expected, html_name=
                                                                 "imbal_report_street_scenes_detection.html").html_bytes())
    assert 'id="plan"' not in downloaded.decode()  # the plan page was never opened: no plan section
