"""format="auto": each real export is recognised; an unknown input says what is supported."""
from __future__ import annotations

import pytest

from imbal_core.io.sniff import sniff
from imbal_core.report import LoadError


@pytest.mark.realdata
@pytest.mark.parametrize(
    "relative, expected",
    [
        ("coco_val2014_100/instances_val2014_100.json", "coco"),
        ("taco/annotations.json", "coco"),
        ("lvis_val_100/lvis_val_100.json", "coco"),
        ("garbage_yolo", "yolo"),
        ("garbage_yolo/data.yaml", "yolo"),
        ("bccd_voc", "voc"),
        ("bccd_voc/BCCD", "voc"),
        ("exdark", "exdark"),
        ("exdark/imageclasslist.txt", "exdark"),
        ("places_lt/Places_LT_train.txt", "list"),
        ("places_lt", "list"),
        ("labelstudio/test_export_yolo_data.json", "labelstudio"),
        ("labelstudio/test_export_yolo_data_polygons.json", "labelstudio"),
    ],
)
def test_real_exports(realdata, relative, expected):
    assert sniff([realdata / relative]) == expected


@pytest.mark.realdata
def test_a_results_file_is_named_as_predictions(realdata):
    with pytest.raises(LoadError, match="COCO results \\(predictions\\) file"):
        sniff([realdata / "coco_val2014_100" / "instances_val2014_fakebbox100_results.json"])


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("labels.csv", b"image,label\na.jpg,cat\n", "csv"),
        ("labels.parquet", b"PAR1", "csv"),
        ("list.txt", b"train/a/1.jpg 0\ntrain/b/2.jpg 1\n", "list"),
        ("task.json", b'{"id": 1, "data": {"image": "x.jpg"}, "annotations": []}', "labelstudio"),
        ("x.xml", b"<annotation/>", "voc"),
    ],
)
def test_files(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    assert sniff([path]) == expected


@pytest.mark.parametrize(
    "name, content, match",
    [
        ("notes.md", b"# hi", r"no reader for \.md"),
        ("empty.json", b"", r"the file is empty"),
        ("readme.txt", b"hello world, this is prose\n", r"neither a 'path label' list"),
    ],
)
def test_unsupported_inputs_list_the_formats(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LoadError, match=match) as info:
        sniff([path])
    if "empty" not in name:
        assert "Supported formats" in str(info.value) and "coco" in str(info.value)


def test_a_folder_of_images_is_an_image_folder(tmp_path):
    (tmp_path / "train" / "cat").mkdir(parents=True)
    (tmp_path / "train" / "cat" / "1.jpg").write_bytes(b"\xff\xd8")
    assert sniff([tmp_path]) == "folder"


def test_mixed_formats_are_refused(tmp_path):
    (tmp_path / "a.csv").write_text("image,label\n")
    (tmp_path / "b.xml").write_text("<annotation/>")
    with pytest.raises(LoadError, match="look like different formats"):
        sniff([tmp_path / "a.csv", tmp_path / "b.xml"])
