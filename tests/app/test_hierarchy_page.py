"""The Label hierarchy page, driven: suggestions, ticking a merge, and a merged COCO download that reloads."""
from __future__ import annotations

import json
from pathlib import PurePosixPath

import pytest

import imbal_core
from imbal_core.cube import class_totals
from imbal_core.samples import SAMPLES

from .conftest import metric, open_on, texts

PAGE = "views/hierarchy.py"


def download(at, downloads, label: str) -> bytes:
    button = next(b for b in at.get("download_button") if b.label == label)
    return downloads[PurePosixPath(button.proto.url).stem]


@pytest.fixture
def page(app):
    app.switch_page(PAGE).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def editor(at):
    return at.data_editor[0]


def test_street_has_nothing_sparse_at_50(page):
    table = editor(page).value
    # smallest first, counted from annotations.json: Wheelchair 200, Stroller 360, Bus 380 (all above 50)
    assert list(table["class"][:3]) == ["Wheelchair", "Stroller", "Bus"] and not table["merge"].any()
    assert "0 of 10 classes are below 50 instances" in texts(page) and "No merge chosen" in texts(page)


def test_merging_a_sparse_class_downloads_a_coco_that_reloads(page, downloads, tmp_path):
    # counted from annotations.json: Wheelchair 200, then Stroller 360. A minimum of 300 (the Long tail page's floor
    # for a critical class) lies between them, so exactly one class falls below it: Wheelchair
    page.number_input(key="hier_min").set_value(300).run()
    table = editor(page).value
    assert list(table.loc[table["merge"], "class"]) == ["Wheelchair"]  # suggested, ticked
    # after the merge the smallest class is Stroller: Car 10,300 / Stroller 360 = 28.6
    assert metric(page, "Classes with data") == "9" and metric(page, "Imbalance ratio") == "28.6"
    assert "**Wheelchair** → Person" in texts(page)
    path = tmp_path / "instances_merged.json"
    path.write_bytes(download(page, downloads, "Merged export (COCO JSON)"))
    reloaded = imbal_core.load(path, cache=False)
    counts = {r["class"]: r["instances"] for r in class_totals(reloaded).to_pylist()}
    assert "Wheelchair" not in counts and counts["Person"] == 4500 + 200 and len(counts) == 9
    mapping = json.loads(download(page, downloads, "Mapping (JSON)"))
    assert mapping == {"merges": {"Wheelchair": "person"}, "resolved": {"Wheelchair": "Person"}}


def test_ticking_a_merge_changes_the_counts(page):
    key, rows = editor(page).key, list(editor(page).value["class"])
    ticked = {rows.index("Motorcycle"): {"merge": True}, rows.index("Bus"): {"merge": True}}
    page.session_state[key] = {"edited_rows": ticked, "added_rows": [], "deleted_rows": []}
    page.run()
    assert not page.exception
    assert metric(page, "Classes with data") == "9"
    chart = next(c for c in page.get("plotly_chart") if c.proto.id.endswith("hier_before_after"))
    after = json.loads(chart.proto.spec)["data"][1]
    heights = dict(zip(after["x"], after["y"]))
    # Motorcycle 410 + Bus 380 (counted from annotations.json) become the new class "vehicle"
    assert heights["vehicle"] == 410 + 380 and heights["Motorcycle"] == 0 and heights["Bus"] == 0


def test_critical_classes_are_not_suggested(page):
    page.switch_page("views/longtail.py").run()
    page.multiselect(key="lt_critical").set_value(["Wheelchair"]).run()
    page.switch_page(PAGE).run()
    # as in the merge demo: Wheelchair (200) is the only class below 300 (Stroller, next, has 360)
    page.number_input(key="hier_min").set_value(300).run()
    table = editor(page).value
    row = table[table["class"] == "Wheelchair"].iloc[0]
    assert not row["merge"] and "flagged critical" in row["reason"] and not table["merge"].any()


def test_a_mapping_upload_gives_classification_a_hierarchy(app):
    app.selectbox(key="sample_name").set_value("surface").run()
    app.switch_page(PAGE).run()
    assert "names no parent" in texts(app)
    app.button_group(key="hier_source").set_value("Upload a mapping").run()
    mapping = b"child,parent\nEfflorescence,Defect\nExposed rebar,Defect\nSpalling,Defect\n"
    app.file_uploader(key="hier_mapping").set_value(("mapping.csv", mapping, "text/csv")).run()
    assert not app.exception and not app.error
    table = editor(app).value
    assert set(table.loc[table["merge"], "class"]) == {"Efflorescence", "Exposed rebar"}  # 35 + 20 >= 50
    assert any(b.label == "Merged labels (CSV)" for b in app.get("download_button"))


def test_a_bad_mapping_is_explained(app):
    app.switch_page(PAGE).run()
    app.button_group(key="hier_source").set_value("Upload a mapping").run()
    app.file_uploader(key="hier_mapping").set_value(("m.csv", b"Ghost,vehicle\n", "text/csv")).run()
    assert any("does not have: ['Ghost']" in e.value for e in app.error)


@pytest.mark.parametrize("sample", list(SAMPLES))
def test_every_sample(app, sample):
    open_on(app, PAGE, sample)
