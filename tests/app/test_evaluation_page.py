"""The Evaluation page on the bundled samples: what it shows, and what changes when the controls move."""
from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from .conftest import metric, open_on, texts

PAGE = "views/evaluation.py"


def open_page(app, sample: str | None = None):
    return open_on(app, PAGE, sample)


def decoded(value):
    """Plotly writes NumPy arrays as typed arrays ({"dtype", "bdata", "shape"}); read them back as lists."""
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        if "shape" in value:
            array = array.reshape([int(n) for n in str(value["shape"]).split(",")])
        return array.tolist()
    if isinstance(value, dict):
        return {k: decoded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decoded(v) for v in value]
    return value


def figures(app) -> list[dict]:
    return [decoded(json.loads(chart.proto.spec)) for chart in app.get("plotly_chart")]


def heatmaps(app) -> list[dict]:
    return [f for f in figures(app) if f["data"][0]["type"] == "heatmap"]


def table(app, first_column: str):
    """The dataframe on the page whose first column is ``first_column``."""
    return next(d.value for d in app.dataframe if d.value.columns[0] == first_column)


def test_street_shows_the_confusion_matrix_the_table_the_night_gap_and_hard_negatives(app):
    open_page(app)
    # pycocotools' COCOeval (bbox) on sample_data/street/annotations.json and predictions.json: AP 0.5084
    assert metric(app, "mAP (box)") == "0.508"
    # confusion matrix: rows = ground truth, classes by frequency, background last, rows normalised by default
    confusion = heatmaps(app)[0]["data"][0]
    assert confusion["y"][0] == "Car" and confusion["y"][-1] == "background"
    assert "<b>★ Wheelchair</b>" in confusion["y"]  # a rare class, highlighted
    assert sum(confusion["z"][0]) == pytest.approx(1.0)
    # per-class table with the macro averages
    per_class = table(app, "class")
    assert list(per_class["class"][:2]) == ["Car", "Person"]
    assert list(per_class["class"][-2:]) == ["macro average", "weighted average"]
    assert {"precision", "recall", "f1", "ap", "ap50"} <= set(per_class.columns)
    # per-condition recall: the detector is weaker at night
    by = heatmaps(app)[1]["data"][0]
    assert by["x"] == ["day", "night"]
    assert all(night < day for day, night in by["z"])
    assert "Widest gaps" in texts(app) and ", night 0." in texts(app)
    assert any("n=9*" in cell for row in by["text"] for cell in row)  # the 9 night wheelchairs, flagged
    # hard negatives, downloadable
    labels = [b.label for b in app.get("download_button")]
    assert "Download the hard negatives (CSV)" in labels
    assert any("hard negatives" in m.value and "ranked per class" in m.value for m in app.markdown)


def test_moving_the_score_threshold_changes_the_figures(app):
    open_page(app)
    before = metric(app, "Macro recall")
    app.slider(key="eval_threshold").set_value(0.9).run()
    assert not app.exception
    after = metric(app, "Macro recall")
    assert float(after) < float(before)
    assert metric(app, "mAP (box)") == "0.508"  # AP does not depend on the operating point (pycocotools: 0.5084)


def test_raw_counts_and_another_condition(app):
    open_page(app)
    app.toggle(key="eval_normalized").set_value(False).run()
    confusion = heatmaps(app)[0]["data"][0]
    assert confusion["z"][0][0] > 1000  # counts, not shares
    app.selectbox(key="eval_by").set_value("weather").run()
    assert set(heatmaps(app)[1]["data"][0]["x"]) == {"clear", "snow", "rain", "fog"}


def test_hard_negatives_of_one_class(app):
    open_page(app)
    app.selectbox(key="eval_negative_class").set_value("Wheelchair").run()
    shown = table(app, "predicted")
    # counted from the two JSON files with plain Python: 210 Wheelchair predictions score 0.5 or more (the default
    # threshold), and 96 of them overlap no ground-truth Wheelchair at IoU 0.5 or more
    assert len(shown) == 96 and set(shown["predicted"]) == {"Wheelchair"}
    assert set(shown["confused_with"]) <= {"Person", "Stroller", "background"}


def test_evaluating_one_split(app):
    open_page(app)
    app.selectbox(key="eval_split").set_value("val").run()
    assert not app.exception
    assert "430 images evaluated" in texts(app)


def test_surface_classification(app):
    open_page(app, "surface")
    assert 0 < float(metric(app, "Balanced accuracy")) < float(metric(app, "Accuracy"))
    assert "pr_auc" in table(app, "class").columns
    assert heatmaps(app)[1]["data"][0]["x"] == ["daylight", "overcast", "artificial", "low"]
    pr = [f for f in figures(app) if f["data"][0]["type"] == "scatter" and f["data"][0].get("mode") == "lines"]
    assert pr and {t["name"] for t in pr[0]["data"]} <= {"Crack", "Spalling", "Efflorescence", "Exposed rebar", "Background"}


def test_lanes_segmentation(app):
    open_page(app, "lanes")
    assert 0.4 < float(metric(app, "mIoU")) < 0.7
    assert "iou" in table(app, "class").columns


def test_a_sample_without_predictions_says_so(app):
    app.selectbox(key="sample_name").set_value("street_daily").run()
    app.switch_page(PAGE).run()
    assert not app.exception and not app.error
    assert any("No predictions for this dataset yet" in i.value for i in app.info)


def test_an_uploaded_file_that_is_not_predictions_shows_an_error(app):
    open_page(app)
    app.file_uploader(key="eval_upload").set_value(("preds.json", b"[", "application/json")).run()
    assert not app.exception
    assert any("not valid JSON" in e.value for e in app.error)


def test_an_uploaded_predictions_file_replaces_the_samples(app):
    open_page(app)
    results = [{"image_id": 1, "category_id": 1, "bbox": [891.6, 375.0, 75.9, 143.8], "score": 0.9},
               {"image_id": 424242, "category_id": 1, "bbox": [1, 1, 2, 2], "score": 0.9}]
    app.file_uploader(key="eval_upload").set_value(("mine.json", json.dumps(results).encode(), "application/json")).run()
    assert not app.exception and not app.error
    shown = texts(app)
    assert "2 detection predictions from mine.json; 1 matched — 1 prediction for 1 unknown image" in shown
