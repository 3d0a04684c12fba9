"""The Quotas page, driven through AppTest on a workspace in a temporary folder."""
from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import imbal_core
from imbal_core.quotas import Workspace, targets_from_mapping

from .conftest import APP, ROOT, TIMEOUT, metric, open_on, texts

PAGE = "views/quotas.py"
DAILY = ROOT / "sample_data" / "street_daily"
DAYS = [date(2026, 11, 16) + timedelta(days=k) for k in range(12) if (date(2026, 11, 16) + timedelta(days=k)).weekday() < 5]


@pytest.fixture(scope="module")
def exports():
    return [imbal_core.load(DAILY / f"day{k:02d}.json") for k in range(1, 11)]


@pytest.fixture(scope="module")
def templates(tmp_path_factory, exports) -> dict[int, Path]:
    """Workspaces of "street push" (Wheelchair 600, Bicycle 500 by 2026-12-10) holding the first 3, 9 or 10 days."""
    folder = tmp_path_factory.mktemp("quota-templates")
    out = {}
    for days in (3, 9, 10):
        ws = Workspace(folder / f"days{days}.duckdb")
        ws.create_project("street push")
        ws.set_targets("street push", targets_from_mapping({"Wheelchair": 600, "Bicycle": 500}, date(2026, 12, 10)))
        for export, day in zip(exports[:days], DAYS):
            ws.ingest("street push", export, at=day)
        out[days] = ws.path
    return out


@pytest.fixture
def use_workspace(tmp_path, monkeypatch, templates):
    """Copy a template workspace into this test's folder and point the app at it."""
    def use(days: int) -> Path:
        path = tmp_path / "ws.duckdb"
        shutil.copy(templates[days], path)
        monkeypatch.setenv("IMBAL_WORKSPACE", str(path))
        return path
    return use


def open_page(app: AppTest, sample: str = "street_daily") -> AppTest:
    return open_on(app, PAGE, sample)


def burn_points(app: AppTest) -> int:
    chart = next(c for c in app.get("plotly_chart") if "burn" in json.loads(c.proto.spec)["layout"].get("title", {}).get("text", ""))
    actual = next(t for t in json.loads(chart.proto.spec)["data"] if t["name"] == "actual")
    return len(actual["x"])


def test_without_a_workspace_the_page_explains_and_writes_nothing(app, tmp_path, monkeypatch):
    path = tmp_path / "ws.duckdb"
    monkeypatch.setenv("IMBAL_WORKSPACE", str(path))
    open_page(app)
    assert "No quota project yet" in texts(app)
    assert str(path) in texts(app) and "not created yet" in texts(app)
    assert not path.exists()


def test_create_a_project_from_the_page(app, tmp_path, monkeypatch):
    path = tmp_path / "ws.duckdb"
    monkeypatch.setenv("IMBAL_WORKSPACE", str(path))
    open_page(app)
    app.text_input(key="quota_new_name").set_value("december push").run()
    app.button(key="quota_create").click().run()
    assert not app.exception
    assert [p.name for p in Workspace(path).projects()] == ["december push"]
    assert app.selectbox(key="quota_project").value == "december push"
    assert "Give at least one class a target" in texts(app)
    assert len(app.data_editor[0].value) == 10  # every class of the loaded export, ready for a target


def test_the_sample_project_opens_with_one_click_on_any_loaded_export(app, tmp_path, monkeypatch):
    # the default sample (street) is loaded, not street_daily: the button brings its own export
    path = tmp_path / "ws.duckdb"
    monkeypatch.setenv("IMBAL_WORKSPACE", str(path))
    open_page(app, sample="street")
    app.button(key="quota_sample").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert app.selectbox(key="quota_project").value == "street push (sample)"
    # the same story as ingesting the ten days one by one (test below, from the workspace built day by day)
    assert (metric(app, "As of"), metric(app, "Off track")) == ("2026-11-27", "1")
    assert "Wheelchair needs 38.7/day to make 2026-12-10" in texts(app) and "Bicycle is on track" in texts(app)
    ws = Workspace(path)
    assert {t.category: t.target for t in ws.targets("street push (sample)")} == {"Wheelchair": 600, "Bicycle": 500}
    assert len(ws.snapshots("street push (sample)")) == 1
    assert "quota_sample" not in [b.key for b in app.button]  # the empty state is gone


def test_the_ten_day_story_and_an_edited_target(app, use_workspace):
    path = use_workspace(10)
    open_page(app)
    assert (metric(app, "As of"), metric(app, "Off track")) == ("2026-11-27", "1")
    page = texts(app)
    assert "Wheelchair needs 38.7/day to make 2026-12-10" in page and "Bicycle is on track" in page
    table = app.dataframe[1].value
    assert table.set_index("class").loc["Wheelchair", "rate_per_day"] == pytest.approx(21.2)

    editor = app.data_editor[0]
    row = list(editor.value["class"]).index("Wheelchair")
    app.session_state[editor.key] = {"edited_rows": {row: {"target": 400}}, "added_rows": [], "deleted_rows": []}
    next(b for b in app.button if b.label == "Save targets").click().run()
    assert not app.exception and not app.error
    assert metric(app, "Off track") == "0"  # 443 projected by the deadline: 400 is on track
    assert "Wheelchair is on track" in texts(app)
    assert {t.category: t.target for t in Workspace(path).targets("street push")}["Wheelchair"] == 400


def test_a_bad_target_is_refused_with_a_message(app, use_workspace):
    path = use_workspace(3)
    open_page(app)
    editor = app.data_editor[0]
    row = list(editor.value["class"]).index("Bus")
    app.session_state[editor.key] = {"edited_rows": {row: {"target": 50, "deadline": None}}, "added_rows": [],
                                     "deleted_rows": []}
    next(b for b in app.button if b.label == "Save targets").click().run()
    assert any("`deadline` of Bus is empty" in e.value for e in app.error)
    assert "Bus" not in {t.category for t in Workspace(path).targets("street push")}


def test_ingesting_the_next_day_extends_the_burn_down(app, use_workspace):
    path = use_workspace(9)
    open_page(app)  # the sidebar holds day10.json
    assert metric(app, "As of") == "2026-11-26" and burn_points(app) == 9
    assert app.date_input(key="quota_at").value == date(2026, 11, 27)  # its latest annotated_at
    app.button(key="quota_ingest").click().run()
    assert not app.exception and not app.error
    assert metric(app, "As of") == "2026-11-27" and burn_points(app) == 10
    app.segmented_control(key="quota_burn_mode").set_value("down").run()
    assert burn_points(app) == 10
    app.button(key="quota_ingest").click().run()  # the same export again: nothing new
    assert len(Workspace(path).snapshots("street push")) == 10


def test_everything_is_there_after_a_restart(app, use_workspace):
    use_workspace(10)
    open_page(app)
    first = (metric(app, "As of"), metric(app, "Off track"), app.dataframe[1].value.to_dict())
    again = AppTest.from_file(APP, default_timeout=TIMEOUT)  # a new server session
    again.run()
    open_page(again)
    assert (metric(again, "As of"), metric(again, "Off track"), again.dataframe[1].value.to_dict()) == first


def test_playbook_sheet_and_downloads(app, use_workspace):
    use_workspace(10)
    open_page(app)
    app.number_input(key="quota_labellers").set_value(2).run()
    app.number_input(key="quota_per_labeller").set_value(20).run()
    sheet = next(d.value for d in app.dataframe if "free" in d.value.columns)
    assert (sheet["total"] <= 40).all() and len(sheet) == 10
    assert any("cannot" in w.value or "short" in w.value for w in app.warning)  # 40 a day cannot fit 496
    labels = [b.label for b in app.get("download_button")]
    assert "Download the daily sheet (CSV)" in labels and "Download the plan (Markdown)" in labels


@pytest.mark.parametrize("sample", ["street", "surface", "lanes", "street_daily"])
def test_the_page_runs_whatever_export_is_loaded(app, use_workspace, sample):
    use_workspace(10)
    open_page(app, sample)
    assert metric(app, "Quota classes") == "2"
    assert "Today's export:" in texts(app)
