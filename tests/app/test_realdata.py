"""Each real export loads through the sidebar — as a server path and as an upload — with its counts."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from .conftest import APP, ROOT, TIMEOUT, metric

# (path below realdata, images, annotations, classes used-of-declared)
EXPORTS = [
    ("coco_val2014_100/instances_val2014_100.json", 100, 839, "70 of 80"),
    ("taco/annotations.json", 1500, 4784, "59 of 60"),
    ("lvis_val_100/lvis_val_100.json", 100, 977, "190 of 1,230"),
    ("bccd_voc", 364, 4888, "3 of 3"),
    ("garbage_yolo", 6028, 16140, "3 of 3"),
    ("exdark/imageclasslist.txt", 7363, 7363, "12 of 12"),
    ("labelstudio/test_export_yolo_data.json", 2, 4, "2 of 2"),
    ("places_lt", 106300, 106300, "365 of 365"),
    # issue 14's formats, counted by hand in tests/io/test_cvat.py, test_labelme.py, test_yolo.py
    ("cvat/for_images/export_project", 6, 12, "2 of 2"),
    ("cvat/for_images/export_task", 2, 2, "2 of 2"),  # two shapes with an empty label skipped
    ("cvat/for_video", 4, 3, "2 of 3"),  # frames 10, 13, 16, 19; three counted keyframes; "z U k" unused
    ("labelme/bbox_detection", 3, 9, "3 of 20"),
    ("labelme/instance_segmentation", 3, 12, "6 of 20"),  # 16 class polygons, merged by group_id into 12
    ("labelme/classification", 2, 2, "2 of 2"),
    ("labelme/video_annotation", 5, 15, "2 of 2"),
    ("darknet_yolo", 1, 2, "2 of 10"),  # obj.data, obj.names, train.txt naming data/obj_train_data/1.jpg
]


@pytest.fixture
def app_in(monkeypatch, tmp_path):
    def start(root: Path) -> AppTest:
        monkeypatch.chdir(ROOT)
        monkeypatch.setenv("IMBAL_UPLOAD_DIR", str(tmp_path / "uploads"))
        monkeypatch.setenv("IMBAL_DATA_ROOT", str(root))
        monkeypatch.setenv("IMBAL_WORKSPACE", str(tmp_path / "workspace.duckdb"))  # never the repo's default file
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.run()
        return at
    return start


def check(at, images, annotations, classes):
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert int(metric(at, "Images").replace(",", "")) == images
    assert int(metric(at, "Annotations").replace(",", "")) == annotations
    assert metric(at, "Classes") == classes


@pytest.mark.realdata
@pytest.mark.parametrize("relative, images, annotations, classes", EXPORTS)
def test_server_path(realdata, app_in, relative, images, annotations, classes):
    at = app_in(realdata)
    at.button_group(key="source_kind").set_value("Server path").run()
    at.text_input(key="server_path").set_value(relative).run()
    check(at, images, annotations, classes)


def zipped(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, Path(folder.name) / path.relative_to(folder))
    return buffer.getvalue()


@pytest.mark.realdata
@pytest.mark.parametrize("relative, images, annotations, classes", EXPORTS)
def test_upload(realdata, app_in, relative, images, annotations, classes):
    at = app_in(ROOT)
    source = realdata / relative
    name, data = (source.name + ".zip", zipped(source)) if source.is_dir() else (source.name, source.read_bytes())
    at.button_group(key="source_kind").set_value("Upload").run()
    at.file_uploader(key="upload_files").set_value((name, data, "application/octet-stream")).run()
    check(at, images, annotations, classes)


@pytest.mark.realdata
def test_places_lt_lists_upload_together(realdata, app_in):
    at = app_in(ROOT)
    files = [(p.name, p.read_bytes(), "text/plain") for p in sorted((realdata / "places_lt").glob("Places_LT_*.txt"))]
    at.button_group(key="source_kind").set_value("Upload").run()
    at.file_uploader(key="upload_files").set_value(files).run()
    check(at, 62500 + 7300 + 36500, 62500 + 7300 + 36500, "365 of 365")
