"""The dashboard shell: samples, uploads, server paths and errors, driven through AppTest."""
from __future__ import annotations

import io
import json
import zipfile

import pytest

from imbal_core.samples import SAMPLES

from .conftest import ROOT, metric, texts

PAGES = ["views/overview.py"]


def test_opens_on_the_street_sample(app):
    assert metric(app, "Task") == "detection"
    assert metric(app, "Classes") == "10 of 10"
    assert "Street scenes" in texts(app)
    assert int(metric(app, "Images").replace(",", "")) > 2500


def test_switching_samples_changes_the_figures(app):
    before = (metric(app, "Task"), metric(app, "Images"))
    app.selectbox(key="sample_name").set_value("surface").run()
    assert not app.exception
    assert (metric(app, "Task"), metric(app, "Images")) != before
    assert metric(app, "Task") == "classification"


@pytest.mark.parametrize("sample", list(SAMPLES))
@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_every_sample(app, sample, page):
    app.selectbox(key="sample_name").set_value(sample).run()
    app.switch_page(page).run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]


def upload(app, name, data):
    app.button_group(key="source_kind").set_value("Upload").run()
    app.file_uploader(key="upload_files").set_value((name, data, "application/octet-stream")).run()
    assert not app.exception, [e.value for e in app.exception]


def test_a_broken_upload_shows_the_error_not_a_traceback(app):
    upload(app, "instances_val.json", b'{"images": [{"id": 1}], "annotations": [')
    errors = [e.value for e in app.error]
    assert any("not valid JSON" in e and "ends early" in e for e in errors), errors
    assert "Still showing" in texts(app)  # the sample stays on screen


def test_an_upload_with_bad_records_loads_with_its_report(app):
    doc = {"images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2]},
                           {"id": 2, "image_id": 7, "category_id": 1, "bbox": [1, 1, 2, 2]}],
           "categories": [{"id": 1, "name": "=HYPERLINK(\"x\")"}]}
    upload(app, "mine.json", json.dumps(doc).encode())
    assert metric(app, "Annotations") == "1"
    assert "dangling_image" in texts(app) or any("dangling_image" in str(d.value) for d in app.dataframe)
    assert any(b.label.startswith("Download the report") for b in app.get("download_button"))


@pytest.mark.parametrize(
    "members, message",
    [
        ({"../evil.txt": b"x"}, "would be written outside the extraction folder"),
        ({"/etc/evil.txt": b"x"}, "would be written outside the extraction folder"),
        ({"bomb.txt": b"0" * (8 << 20)}, "a zip bomb?"),
    ],
)
def test_a_hostile_zip_is_refused_with_a_message(app, members, message):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    upload(app, "export.zip", buffer.getvalue())
    assert any(message in e.value for e in app.error), [e.value for e in app.error]


def serve_path(app, text):
    app.button_group(key="source_kind").set_value("Server path").run()
    app.text_input(key="server_path").set_value(text).run()
    assert not app.exception, [e.value for e in app.exception]


@pytest.mark.parametrize("text", ["/etc/passwd", "../shared", "sample_data/../../"])
def test_paths_outside_the_data_root_are_refused(app, text):
    serve_path(app, text)
    assert any("outside the data root" in e.value or "no such file" in e.value for e in app.error), [e.value for e in app.error]


def test_a_symlink_out_of_the_root_is_refused(app, tmp_path):
    link = ROOT / "test-artifacts" / "outside-link"
    link.parent.mkdir(exist_ok=True)
    if link.is_symlink():
        link.unlink()
    link.symlink_to(tmp_path)
    try:
        serve_path(app, "test-artifacts/outside-link")
        assert any("outside the data root" in e.value for e in app.error), [e.value for e in app.error]
    finally:
        link.unlink()


def test_a_path_inside_the_root_loads(app):
    serve_path(app, "sample_data/lanes/annotations.json")
    assert metric(app, "Task") == "segmentation"
