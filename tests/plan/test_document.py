"""The plan document: every export parses back to the plan's numbers; the charts carry them too."""
from __future__ import annotations

import dataclasses
import io
import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

import imbal_core
from imbal_core.charts.plan import achieved_chart, plan_chart
from imbal_core.plan import (PlanSource, build_document, fit_weights, incidence, make_spec, plan_for_dataset,
                             repeat_factor_weights, solve, weights_csv, weights_parquet)
from imbal_core.plan.document import markdown_table
from imbal_core.samples import SAMPLES

EXERCISE = {"Car": 6000, "Pedestrian": 2500, "Bicycle": 1200, "Wheelchair": 300}


@pytest.fixture(scope="module")
def street_doc():
    ds = imbal_core.load([str(p) for p in SAMPLES["street"].files()])
    plan = plan_for_dataset(ds, make_spec("balanced"), "train")
    inc = incidence(ds, "train")
    doc = build_document(plan, weights=fit_weights(inc, plan), alternative=repeat_factor_weights(inc, plan),
                         critical=["Wheelchair"])
    return ds, doc


def test_json_is_complete_and_parses_back(street_doc):
    _, doc = street_doc
    data = json.loads(doc.json_bytes())
    assert data["inputs"]["strategy"] == "balanced" and data["inputs"]["source"]["split"] == "train"
    assert data["inputs"]["counts"] == {c: int(n) for c, n in zip(doc.plan.classes, doc.plan.counts)}
    assert [c["effective"] for c in data["plan"]["classes"]] == doc.plan.effective.tolist()
    # balanced target 5,538 / 10 = 554 images per class (train images holding each class, counted from the JSON):
    # Wheelchair, the rarest (114 images), is repeated 4.9x (strong, from 3x); Stroller (230) 2.4x (moderate)
    assert data["augmentation"]["classes"]["Wheelchair"] == "strong"
    assert data["augmentation"]["classes"]["Stroller"] == "moderate"
    assert data["epoch_quotas"]["epochs"] == 10
    fitted = data["per_image"]["fitted"]
    assert [c["achieved"] for c in fitted["classes"]] == pytest.approx(doc.weights.achieved.tolist(), abs=0.06)
    assert fitted["best_worst_error"] == pytest.approx(doc.weights.best_worst_error, abs=1e-4)
    assert "Wheelchair" in data["metrics_to_track"][0] and "cap" in data["stop_rule"]


def test_csv_has_one_row_per_class(street_doc):
    _, doc = street_doc
    table = pd.read_csv(io.BytesIO(doc.csv_bytes()))
    assert table["class"].tolist() == list(doc.plan.classes)
    assert table["effective"].tolist() == doc.plan.effective.tolist()
    assert {"augmentation", "achieved_fitted", "achieved_repeat_factor"} <= set(table.columns)


def test_markdown_table_parses_back(street_doc):
    _, doc = street_doc
    text = doc.markdown()
    table = markdown_table(text)
    assert table["class"].tolist() == list(doc.plan.classes)
    assert [int(v.replace(",", "")) for v in table["planned"]] == doc.plan.effective.tolist()
    for heading in ("## Per-image weights", "## Augmentation", "## Metrics to track", "## Stop rule"):
        assert heading in text
    assert "best possible worst miss" in text and "WeightedRandomSampler" in text


def test_weights_exports_parse_back(street_doc):
    ds, doc = street_doc
    from_csv = pd.read_csv(io.BytesIO(weights_csv(doc.weights, ds, doc.policy)))
    from_parquet = pq.read_table(io.BytesIO(weights_parquet(doc.weights, ds, doc.policy))).to_pandas()
    for table in (from_csv, from_parquet):
        assert table.columns.tolist() == ["image_id", "file_name", "split", "weight", "expected_repeats", "augmentation"]
        assert len(table) == len(doc.weights.image_ids) and set(table["split"]) == {"train"}
        assert table["weight"].sum() == pytest.approx(1.0)
        assert table["expected_repeats"].to_numpy() == pytest.approx(doc.weights.repeats, abs=1e-6)


def test_a_plan_for_a_dataset_says_where_its_counts_come_from(street_doc):
    ds, doc = street_doc
    source = doc.plan.source
    assert source == PlanSource(dataset=tuple(ds.sources), format=ds.format, task="detection", split="train",
                                images=source.images)
    assert source.images == sum(1 for s in ds.images.column("split").to_pylist() if s == "train")
    assert source.multi_label and "macro mAP" in doc.stop_rule()
    assert json.loads(doc.json_bytes())["inputs"]["source"] == {
        "dataset": list(ds.sources), "format": ds.format, "task": "detection", "split": "train",
        "images": source.images}
    with pytest.raises(dataclasses.FrozenInstanceError):
        source.split = "val"
    assert plan_for_dataset(ds, make_spec("balanced"), "all").source.split == "all"
    assert plan_for_dataset(ds, make_spec("balanced")).source.images == ds.num_images


def test_counts_given_directly_make_a_document_without_weights():
    doc = build_document(solve(EXERCISE, budget=8000, cap=5))
    data = json.loads(doc.json_bytes())
    assert data["per_image"] is None and data["inputs"]["source"] == {"counts": "given"}
    assert doc.plan.source is None and "macro F1" in doc.stop_rule()
    assert "**Capped at 5x:** Wheelchair." in doc.markdown()
    assert doc.rare_classes == ["Bicycle", "Wheelchair"]


def test_class_names_cannot_inject_formulas_into_the_csv():
    doc = build_document(solve({"=HYPERLINK(\"x\")": 10, "b": 5}))
    assert b"'=HYPERLINK" in doc.csv_bytes()
    assert markdown_table(build_document(solve({"a|b": 10, "c": 5})).markdown())["class"].tolist() == ["a|b", "c"]


def test_critical_classes_must_exist():
    with pytest.raises(ValueError, match=r"`critical` names classes the plan does not have: \['Truck'\]"):
        build_document(solve(EXERCISE), critical=["Truck"])


def test_plan_chart_draws_counts_plan_and_caps():
    plan = solve(EXERCISE, budget=8000, cap=5)
    fig = plan_chart(plan)
    current, planned, cap = fig.data[:3]
    assert list(current.x) == ["Car", "Pedestrian", "Bicycle", "Wheelchair"]
    assert list(current.y) == [6000, 2500, 1200, 300] and list(planned.y) == [2166, 2167, 2167, 1500]
    # caps far above the tallest bar are left off the chart; Bicycle's (6,000) and Wheelchair's (1,500) show
    assert list(cap.x) == ["Bicycle", "Wheelchair"] and list(cap.y) == [6000, 1500]
    assert len(plan_chart(solve(EXERCISE, budget=8000, cap=5, floor=0.5)).data) == 4  # + the floor


def test_achieved_chart_has_both_methods_and_the_plan(street_doc):
    _, doc = street_doc
    fig = achieved_chart(doc.weights, doc.alternative)
    names = [trace.name for trace in fig.data]
    assert names == ["fitted weights", "LVIS repeat factors", "planned"]
    assert sorted(fig.data[2].y) == sorted(doc.plan.effective.tolist())


def test_plan_chart_log_scale():
    fig = plan_chart(solve(EXERCISE, budget=8000, cap=5), log_scale=True)
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis.range is None
