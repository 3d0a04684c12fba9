"""The Rebalancing plan page, driven: every sample, the cap slider changing the table and the
downloads, every download parsing back, and plain warnings when a plan cannot be met."""
from __future__ import annotations

import io
import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

from imbal_core.plan.document import markdown_table
from imbal_core.samples import SAMPLES

from .conftest import metric, open_on, texts

PAGE = "views/plan.py"


@pytest.fixture
def page(app):
    app.switch_page(PAGE).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def plan_table(at) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "strategy target" in str(d.proto.columns) or "effective" in d.value.columns)


@pytest.mark.parametrize("sample", list(SAMPLES))
def test_the_page_works_on_every_sample(app, sample):
    open_on(app, PAGE, sample)
    assert int(metric(app, "Planned samples").replace(",", "")) > 0
    assert len(app.main.get("download_button")) == 5


def test_street_opens_on_a_plan_its_images_can_meet(page):
    assert page.selectbox(key="plan_strategy").value == "sqrt" and page.selectbox(key="plan_split").value == "train"
    assert metric(page, "Fitted: classes within 5%") == "10 of 10"
    assert metric(page, "Best possible worst miss") == "all met"
    table = plan_table(page)
    assert table["effective"].sum() == int(metric(page, "Planned samples").replace(",", ""))


def test_moving_the_cap_changes_the_table_and_the_downloads(page, downloads):
    page.selectbox(key="plan_strategy").set_value("balanced").run()
    before_table = plan_table(page).set_index("class")
    before = {name: data for name, data in downloads.items()}
    downloads.clear()
    page.slider(key="plan_cap").set_value(2.0).run()
    assert not page.exception
    after_table = plan_table(page).set_index("class")
    assert (after_table["effective"] != before_table["effective"]).any()
    assert (after_table["multiplier"] <= 2.0 + 1e-9).all() and (before_table["multiplier"] > 2.0).any()
    assert "Stroller" in metric_help(page, "Classes at the cap")
    for name in ("imbal_plan_balanced_train.json", "imbal_plan_balanced_train.csv", "imbal_plan_balanced_train.md",
                 "imbal_plan_balanced_train_weights.csv", "imbal_plan_balanced_train_weights.parquet"):
        assert downloads[name] != before[name], name
    doc = json.loads(downloads["imbal_plan_balanced_train.json"])
    assert doc["inputs"]["cap"] == 2.0
    assert {c["class"]: c["effective"] for c in doc["plan"]["classes"]} == after_table["effective"].to_dict()


def metric_help(at, label: str) -> str:
    return next(m.proto.help for m in at.metric if m.label == label)


def test_every_download_parses_back(page, downloads):
    page.run()
    table = plan_table(page).set_index("class")
    stem = "imbal_plan_sqrt_train"
    doc = json.loads(downloads[f"{stem}.json"])
    assert {c["class"]: c["effective"] for c in doc["plan"]["classes"]} == table["effective"].to_dict()
    per_class = pd.read_csv(io.BytesIO(downloads[f"{stem}.csv"])).set_index("class")
    assert per_class["effective"].to_dict() == table["effective"].to_dict()
    markdown = markdown_table(downloads[f"{stem}.md"].decode()).set_index("class")
    assert {c: int(v.replace(",", "")) for c, v in markdown["planned"].items()} == table["effective"].to_dict()
    weights_csv = pd.read_csv(io.BytesIO(downloads[f"{stem}_weights.csv"]))
    weights_pq = pq.read_table(io.BytesIO(downloads[f"{stem}_weights.parquet"])).to_pandas()
    epoch = int(metric(page, "Images per epoch").replace(",", ""))
    for weights in (weights_csv, weights_pq):
        assert len(weights) == 2096 and set(weights["split"]) == {"train"}
        assert round(weights["expected_repeats"].sum()) == epoch and weights["weight"].sum() == pytest.approx(1.0)


def test_balanced_targets_that_images_cannot_meet_are_said_plainly(page):
    page.selectbox(key="plan_strategy").set_value("balanced").run()
    warning = " ".join(str(w.value) for w in page.warning)
    assert "No weights within the floor and cap can meet them all" in warning and "also hold" in warning
    assert metric(page, "Best possible worst miss").endswith("%")


def test_a_budget_beyond_every_cap_warns(page):
    page.slider(key="plan_cap").set_value(1.5).run()
    page.slider(key="plan_budget").set_value(page.slider(key="plan_budget").max).run()
    assert any("more than the cap allows" in str(w.value) for w in page.warning)
    assert int(metric(page, "Planned samples").replace(",", "")) < page.slider(key="plan_budget").value


def test_classification_weights_are_the_class_multipliers(app):
    app.selectbox(key="sample_name").set_value("surface").run()
    app.switch_page(PAGE).run()
    assert app.selectbox(key="plan_strategy").value == "balanced"
    assert "each image's weight is its class's multiplier" in texts(app)
    assert metric(app, "Fitted: classes within 5%") == "5 of 5"


def test_each_dataset_opens_on_its_own_default_strategy(page):
    assert page.selectbox(key="plan_strategy").value == "sqrt"
    page.selectbox(key="sample_name").set_value("surface").run()
    assert page.selectbox(key="plan_strategy").value == "balanced"
