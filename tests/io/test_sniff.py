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


def _mask_png(path, mode="L"):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, (4, 3)).save(path)


@pytest.mark.parametrize(
    "layout, given, expected",
    [
        ({"masks/a.png": "L", "classes.txt": None}, ".", "masks"),  # a folder holding masks/ and its names
        ({"masks/train/a.png": "P", "classes.txt": None}, ".", "masks"),  # palette masks in split folders
        ({"masks/a.png": "L", "classes.txt": None}, "masks", "masks"),  # the mask folder, names one up
        ({"a.png": "L", "labels.txt": None}, ".", "masks"),  # masks beside their names file
        ({"masks/a.png": "L", "classes.txt": None, "instances.json": '{"images": []}'}, ".", "coco"),  # COCO wins
    ],
)
def test_semantic_mask_folders(tmp_path, layout, given, expected):
    for name, kind in layout.items():
        if name.endswith(".png"):
            _mask_png(tmp_path / name, kind)
        else:
            (tmp_path / name).write_text(kind or "background\nroad\n")
    assert sniff([tmp_path / given]) == expected


def test_colour_pngs_with_a_names_file_are_not_masks(tmp_path):
    _mask_png(tmp_path / "cat" / "a.png", "RGB")
    (tmp_path / "classes.txt").write_text("cat\n")
    assert sniff([tmp_path]) == "folder"


def test_the_lanes_sample_masks_are_sniffed():
    from imbal_core.samples import sample_root

    assert sniff([sample_root() / "lanes" / "masks"]) == "masks"


def test_grey_images_in_class_folders_are_an_image_folder(tmp_path):
    _mask_png(tmp_path / "3" / "a.png", "L")  # MNIST-like: root/class/image.png, grey
    (tmp_path / "classes.txt").write_text("0\n1\n2\n3\n")
    assert sniff([tmp_path]) == "folder"


def test_a_results_file_beside_the_export_is_not_the_export(tmp_path):
    (tmp_path / "annotations.json").write_text('{"images": [], "annotations": [], "categories": []}')
    (tmp_path / "predictions.json").write_text('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}]')
    assert sniff([tmp_path]) == "coco"


def test_mixed_formats_name_each_input_by_its_path(tmp_path):
    (tmp_path / "a.csv").write_text("image,label\n")
    (tmp_path / "b.xml").write_text("<annotation/>")
    with pytest.raises(LoadError) as info:
        sniff([tmp_path / "a.csv", tmp_path / "b.xml"])
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'a.csv'}: the inputs look like different formats")
    assert f"{tmp_path / 'b.xml'}: voc" in message and info.value.file == str(tmp_path / "a.csv")
