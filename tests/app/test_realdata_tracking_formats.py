"""The Open Images, KITTI, MOT and BDD100K (Scalabel) real exports load through the sidebar — as a
server path and as a zip upload — with their counts; the Conditions page shows BDD100K's weather,
scene and time of day."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from .conftest import APP, ROOT, TIMEOUT, open_on
from .test_realdata import check, zipped

# (path below realdata, images, annotations, classes used-of-declared), counted by hand in tests/io/test_*.py
EXPORTS = [
    ("open_images/v6", 4, 2, "2 of 4"),
    ("kitti", 2, 5, "2 of 2"),
    ("mot", 2, 2, "1 of 10"),
    ("bdd100k", 3, 6, "3 of 3"),
]


@pytest.fixture
def app_in(monkeypatch, tmp_path):
    def start(root: Path) -> AppTest:
        monkeypatch.chdir(ROOT)
        monkeypatch.setenv("IMBAL_UPLOAD_DIR", str(tmp_path / "uploads"))
        monkeypatch.setenv("IMBAL_DATA_ROOT", str(root))
        monkeypatch.setenv("IMBAL_WORKSPACE", str(tmp_path / "workspace.duckdb"))
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.run()
        return at
    return start


@pytest.mark.realdata
@pytest.mark.parametrize("relative, images, annotations, classes", EXPORTS)
def test_server_path(realdata, app_in, relative, images, annotations, classes):
    at = app_in(realdata)
    at.button_group(key="source_kind").set_value("Server path").run()
    at.text_input(key="server_path").set_value(relative).run()
    check(at, images, annotations, classes)


@pytest.mark.realdata
@pytest.mark.parametrize("relative, images, annotations, classes", EXPORTS)
def test_upload(realdata, app_in, relative, images, annotations, classes):
    at = app_in(ROOT)
    at.button_group(key="source_kind").set_value("Upload").run()
    source = realdata / relative
    at.file_uploader(key="upload_files").set_value((source.name + ".zip", zipped(source), "application/zip")).run()
    check(at, images, annotations, classes)


def test_conditions_page_shows_bdd100k_weather_scene_and_time_of_day(app_in, tmp_path):
    frames = [{"name": f"{i}.jpg", "videoName": f"v{i % 3}", "labels": [{"category": c, "box2d": {
        "x1": 1, "y1": 1, "x2": 20, "y2": 20}} for c in (["car", "person"] if i % 2 else ["car"])],
        "attributes": {"weather": ["clear", "rainy"][i % 2], "scene": "city street",
                       "timeofday": ["daytime", "night"][i % 2]}} for i in range(12)]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "det_train.json").write_text(json.dumps(frames))
    at = app_in(tmp_path / "data")
    at.button_group(key="source_kind").set_value("Server path").run()
    at.text_input(key="server_path").set_value("det_train.json").run()
    check(at, 12, 18, "2 of 2")
    open_on(at, "views/conditions.py")
    assert set(at.multiselect(key="cond_by").options) >= {"weather", "scene", "time of day"}  # as the page labels them
    at.multiselect(key="cond_by").set_value(["time_of_day"]).run()
    heat = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert sorted(heat["x"]) == ["daytime", "night"]
