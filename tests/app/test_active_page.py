"""The Active learning page, driven through AppTest on the samples' predictions."""
from __future__ import annotations

from datetime import date

import pytest

import imbal_core
from imbal_core.quotas import Workspace, targets_from_mapping

from .conftest import ROOT, metric, open_on, texts

PAGE = "views/active_learning.py"


def open_page(app, sample: str = "street"):
    return open_on(app, PAGE, sample)


@pytest.fixture
def no_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("IMBAL_WORKSPACE", str(tmp_path / "none.duckdb"))


def batch(app):
    return next(d.value for d in app.dataframe if "rank" in d.value.columns)


def test_street_pool_batch_with_a_cap_per_drive(app, no_workspace):
    open_page(app)
    assert metric(app, "Pool images") == "3,005" and metric(app, "Selected") == "500"
    table = batch(app)
    assert len(table) == 500 and table["group"].value_counts().max() <= 25  # a twentieth of 500 per drive
    app.number_input(key="al_n").set_value(100).run()
    assert metric(app, "Selected") == "100" and len(batch(app)) == 100
    app.number_input(key="al_cap").set_value(2).run()
    assert batch(app)["group"].value_counts().max() <= 2
    assert any(b.label == "Download the batch (CSV)" for b in app.get("download_button"))


def test_the_rule_changes_the_ranking(app, no_workspace):
    open_page(app, "surface")
    assert metric(app, "Pool images") == "6,000"
    before = list(batch(app)["file_name"])
    app.segmented_control(key="al_rule").set_value("least-confidence").run()
    assert not app.exception
    after = list(batch(app)["file_name"])
    assert before != after and set(batch(app)["reason"].str.contains("least-confidence"))


def test_a_quota_project_shares_the_batch(app, tmp_path, monkeypatch):
    path = tmp_path / "ws.duckdb"
    ws = Workspace(path)
    ws.create_project("street push")
    ws.set_targets("street push", targets_from_mapping({"Wheelchair": 600, "Bicycle": 500}, date(2026, 12, 10)))
    ws.ingest("street push", imbal_core.load(ROOT / "sample_data" / "street_daily" / "day10.json"))
    monkeypatch.setenv("IMBAL_WORKSPACE", str(path))
    open_page(app)
    app.selectbox(key="al_source").set_value("street push").run()
    assert not app.exception and not app.error
    classes = next(d.value for d in app.dataframe if "share" in d.value.columns).set_index("class")
    assert classes.loc["Wheelchair", "remaining"] == 348 and classes.loc["Bicycle", "remaining"] == 148
    assert classes["share"].sum() <= 500 and (classes["selected"] <= classes["share"]).all()
    assert classes.loc["Wheelchair", "share"] > 0 and metric(app, "Selected") == "500"
    assert batch(app)["fills"].notna().sum() > 0


def test_without_predictions_the_page_says_what_it_needs(app, no_workspace):
    open_page(app, "street_daily")
    assert "add a predictions file in the sidebar" in texts(app)


def test_segmentation_results_work_too(app, no_workspace):
    open_page(app, "lanes")
    assert metric(app, "Pool images") == "150" and int(metric(app, "Selected")) > 0
