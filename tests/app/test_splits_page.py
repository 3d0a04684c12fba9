"""The Splits page, driven: the current splits' verdicts, generating new splits, and downloads that reload with the
same split membership."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

import imbal_core

from .conftest import metric, open_on, texts

PAGE = "views/splits.py"
STREET = Path(__file__).resolve().parents[2] / "sample_data" / "street" / "annotations.json"


def instance_ld_error(split_of_image: dict[str, str]) -> float:
    """Label-distribution error in instances, counted with pandas from the annotations: the mean over splits and
    classes of |class share in the split - class share in the whole|."""
    doc = json.loads(STREET.read_text())
    boxes = pd.DataFrame(doc["annotations"])
    boxes["split"] = boxes["image_id"].astype(str).map(split_of_image)
    counts = pd.crosstab(boxes["split"], boxes["category_id"])  # rows = splits, cols = classes
    shares = counts.div(counts.sum(axis=1), axis=0)
    whole = counts.sum() / counts.to_numpy().sum()
    return float((shares - whole).abs().to_numpy().mean())


@pytest.fixture
def page(app):
    app.switch_page(PAGE).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def generate(at, ratios="0.8, 0.1, 0.1", seed=0):
    at.text_input(key="gen_ratios").set_value(ratios)
    at.number_input(key="gen_seed").set_value(seed)
    at.button[0].click().run()  # the form's submit button
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_current_splits_are_judged(page):
    assert metric(page, "Groups in several splits") == "0" and metric(page, "File names in several splits") == "0"
    own = {str(image["id"]): image["split"] for image in json.loads(STREET.read_text())["images"]}
    assert instance_ld_error(own) == pytest.approx(0.0075129, abs=1e-7)
    assert metric(page, "Label-distribution error") == "0.00751"
    text = texts(page)
    assert "**val** — 430 images (14.3%)" in text and "camera divergence" in text


def test_generating_beats_the_old_splits_and_downloads_coco_that_reloads(downloads, page, tmp_path):
    generate(page)
    after = float(metric(page, "LD error, instances"))
    assignment = pd.read_csv(io.BytesIO(downloads["imbal_split_assignment.csv"]))
    new = instance_ld_error(dict(zip(assignment["source_id"].astype(str), assignment["split"])))
    assert after == pytest.approx(new, abs=5e-6)  # the card shows the error of the splits it hands out
    # the search is a seeded heuristic, so no exact figure: it must cut the export's own error (0.00751) to under a third
    assert after < 0.00751 / 3
    assert metric(page, "Units placed whole") == "73"
    assert "Not kept in proportion, so free to drift" in texts(page)
    data = downloads["splits_coco.zip"]
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert sorted(zf.namelist()) == ["instances_test.json", "instances_train.json", "instances_val.json"]
        zf.extractall(tmp_path)
    again = imbal_core.load(sorted(tmp_path.glob("*.json")), cache=False)
    reloaded = dict(zip(again.images.column("source_id").to_pylist(),
                        again.images.column("split").combine_chunks().dictionary_decode().to_pylist()))
    assert reloaded == dict(zip(assignment["source_id"].astype(str), assignment["split"]))


def test_a_different_seed_and_csv_format(downloads, page):
    generate(page, seed=1)
    first = downloads["imbal_split_assignment.csv"]
    page.segmented_control(key="gen_format").set_value("csv").run()
    table = pd.read_csv(io.BytesIO(downloads["splits.csv"]))
    assert list(table.columns) == ["image", "split"] and len(table) == 3005
    generate(page, seed=2)
    assert downloads["imbal_split_assignment.csv"] != first


def test_bad_ratios_show_an_error_not_a_traceback(page):
    generate(page, ratios="0.8, 0.3")
    assert any("`ratios` must add up to 1" in e.value for e in page.error)


def test_two_splits_on_another_sample(app):
    app.selectbox(key="sample_name").set_value("surface").run()
    app.switch_page(PAGE).run()
    assert not app.exception and not app.error
    generate(app, ratios="0.7, 0.3")
    assert metric(app, "Units placed whole") == "6,000"  # no groups: every image on its own
    assert "**val** — 1,800 images (30.0%)" in texts(app)


@pytest.mark.parametrize("sample", ["street", "surface", "lanes", "street_daily"])
def test_runs_on_every_sample(app, sample):
    open_on(app, PAGE, sample)
    assert "Generate new splits" in texts(app)
