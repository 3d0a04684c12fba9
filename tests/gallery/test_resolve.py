"""Image files found from each format's own layout (real exports read in place), or in a folder the user names."""
from __future__ import annotations

import json

import pytest

import imbal_core
from imbal_core.gallery import ImageResolver


@pytest.mark.realdata
@pytest.mark.parametrize(
    "folder, expected",
    [
        ("bccd_voc", {"BloodImage_00000": "bccd_voc/BCCD/JPEGImages/BloodImage_00000.jpg"}),
        ("kitti", {"000030_10": "kitti/training/image_2/000030_10.png"}),
        ("labelme/instance_segmentation",
         {"data_annotated/2011_000003": "labelme/instance_segmentation/data_annotated/2011_000003.jpg"}),
        ("darknet_yolo", {"obj_train_data/1.jpg": "darknet_yolo/obj_train_data/1.jpg"}),
        ("open_images", {"v5/images/test/cc.jpg": "open_images/v5/images/test/cc.jpg"}),
        ("mot", {"mot_seq/000001": "mot/mot_seq/img1/000001.jpg", "Test/000001": None}),  # no img1/ in that sequence
        ("cvat", {"for_images/export_project/annotations:Train/0":
                  "cvat/for_images/export_project/images/Train/img0.jpg",
                  "for_images/export_project/annotations:Validation/0":
                  "cvat/for_images/export_project/images/Validation/img0.jpg"}),
    ],
)
def test_each_format_finds_its_images(realdata, folder, expected):
    ds = imbal_core.load(realdata / folder)
    resolver = ImageResolver(ds)
    ids = ds.images.column("source_id").to_pylist()
    for source_id, path in expected.items():
        found = resolver.resolve(ids.index(source_id))
        if path is None:
            assert found.status == "missing" and found.path is None
        else:
            assert found.status == "found" and found.path == (realdata / path).resolve()


def _coco(folder, names):
    doc = {"images": [{"id": i + 1, "file_name": n, "width": 32, "height": 32} for i, n in enumerate(names)],
           "categories": [{"id": 1, "name": "a"}], "annotations": []}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "instances_val2017.json").write_text(json.dumps(doc))
    return folder / "instances_val2017.json"


def _touch(path):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (32, 32)).save(path)


def test_coco_layout_with_annotations_folder(tmp_path):
    path = _coco(tmp_path / "coco" / "annotations", ["x.jpg", "sub/y.jpg", "../val2017/z.jpg"])
    for rel in ("val2017/x.jpg", "images/sub/y.jpg", "val2017/z.jpg"):
        _touch(tmp_path / "coco" / rel)
    resolver = ImageResolver(imbal_core.load(path))
    assert [resolver.resolve(i).path for i in range(3)] == [
        (tmp_path / "coco" / rel).resolve() for rel in ("val2017/x.jpg", "images/sub/y.jpg", "val2017/z.jpg")]


def test_an_images_folder_given_by_the_user(tmp_path):
    path = _coco(tmp_path / "export", ["a.jpg", "deep/b.jpg", "c.jpg"])
    _touch(tmp_path / "pictures" / "a.jpg")
    _touch(tmp_path / "pictures" / "nested" / "more" / "b.jpg")  # found by its unique name
    _touch(tmp_path / "pictures" / "one" / "c.jpg")
    _touch(tmp_path / "pictures" / "two" / "c.jpg")  # ambiguous: not guessed
    ds = imbal_core.load(path)
    assert [ImageResolver(ds).resolve(i).status for i in range(3)] == ["missing"] * 3
    resolver = ImageResolver(ds, images_dir=tmp_path / "pictures")
    assert [resolver.resolve(i).status for i in range(3)] == ["found", "found", "missing"]
    assert resolver.resolve(1).path == (tmp_path / "pictures" / "nested" / "more" / "b.jpg").resolve()
    assert resolver.counts() == {"found": 2, "rendered": 0, "missing": 1, "refused": 0}
    with pytest.raises(ValueError, match=r"`images_dir` must be a folder. Got '.*nothing', which is not one."):
        ImageResolver(ds, images_dir=tmp_path / "nothing")
