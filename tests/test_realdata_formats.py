"""`imbal summary` with format=auto reads each real export of issue 14 in ../shared/realdata with the
counts its README gives (images, annotations, classes declared), in place, without the cache."""
from __future__ import annotations

import json

import pytest

from imbal_core.cli import main

# (path below realdata, format sniffed, images, annotations, classes declared). The figures are the
# README's where it gives them (its "what is in it" column, quoted in the comment), else recounted
# by hand from the files, as said.
EXPORTS = [
    # README: "project: 6 images, boxes, polygons, polylines and points (3 each) over label1 / label2"
    pytest.param("cvat/for_images/export_project", "cvat", 6, 12, 2, id="cvat project"),
    # README: "task: 2 images, two shapes with an empty label": of its 4 shapes, those 2 are skipped
    pytest.param("cvat/for_images/export_task", "cvat", 2, 2, 2, id="cvat task"),
    # README: "video: 3 tracks whose keyframes switch outside on and off". By hand: frames 10, 13, 16,
    # 19 (start 10, stop 19, step 3); one keyframe with outside="0" per track; 3 labels declared
    pytest.param("cvat/for_video", "cvat", 4, 3, 3, id="cvat video"),
    # the whole folder: the three files above, one dataset (5 labels: label1, label2, klhg, z U k, II)
    pytest.param("cvat", "cvat", 12, 17, 5, id="cvat all"),
    # README: "instance_segmentation: 3 images, 18 polygons (2 __ignore__)". The reader gives 12, not
    # 16: shapes of one image sharing a label and group_id are one object (as labelme2coco merges
    # them): 2 person parts -> 1, 4 sofa parts -> 1. labels.txt declares 20 classes (+ __ignore__,
    # _background_, which are not classes)
    pytest.param("labelme/instance_segmentation", "labelme", 3, 12, 20, id="labelme instance_segmentation"),
    # README: "bbox_detection: 3 images, 9 rectangles"; the same 20-class labels.txt
    pytest.param("labelme/bbox_detection", "labelme", 3, 9, 20, id="labelme bbox_detection"),
    # README: "classification: 2 images labelled by flags": cat on one, dog on the other
    pytest.param("labelme/classification", "labelme", 2, 2, 2, id="labelme classification"),
    # README: "video_annotation: 5 frames, 15 polygons"; labels.txt: car, track
    pytest.param("labelme/video_annotation", "labelme", 5, 15, 2, id="labelme video_annotation"),
    # the whole folder: the four above, one dataset; the 21 classes are labels.txt's 20 and track
    # (the classification folder's flags become a condition, as the folder has shapes)
    pytest.param("labelme", "labelme", 13, 36, 21, id="labelme all"),
    # README: "a handful of images per subset" (no figures). By hand: image_ids_and_rotation.csv
    # lists a, b, c, d; one box in oidv6-train-annotations-bbox.csv, one in test-annotations-bbox.csv;
    # oidv6-class-descriptions.csv names 4 classes
    pytest.param("open_images/v6", "openimages", 4, 2, 4, id="open_images v6"),
    # By hand: the two image lists name aa (train) and cc (test); no box or label file; 2 classes described
    pytest.param("open_images/v5", "openimages", 2, 0, 2, id="open_images v5"),
    # README: "2 frames, 5 objects: Truck 1, Van 4"
    pytest.param("kitti", "kitti", 2, 5, 2, id="kitti"),
    # README: "one box in one frame", in each of the two sequences; labels.txt lists label_0..label_9
    pytest.param("mot", "mot", 2, 2, 10, id="mot"),
    pytest.param("mot/mot_seq_with_seqinfo", "mot", 1, 1, 10, id="mot with seqinfo"),
    # README: "1 image"; by hand: obj_train_data/1.txt holds 2 boxes; obj.names lists label_0..label_9
    pytest.param("darknet_yolo", "yolo", 1, 2, 10, id="darknet_yolo"),
    # README: "1 frame, 4 car polygons; a second file with an ignored label": that file holds 2 frames,
    # one with an `other person` and a `person` box, one without labels. BDD100K's evaluation ignores
    # `other person`; the reader keeps the classes the file names (car, other person, person)
    pytest.param("bdd100k", "scalabel", 3, 6, 3, id="bdd100k"),
    pytest.param("bdd100k/example_annotation.json", "scalabel", 1, 4, 1, id="bdd100k one file"),
]


def summary(capsys, path) -> dict:
    code = main(["summary", "--json", "--no-cache", str(path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Traceback" not in err
    return json.loads(out)


@pytest.mark.realdata
@pytest.mark.parametrize("relative, fmt, images, annotations, classes", EXPORTS)
def test_summary_auto_gives_the_readme_counts(realdata, capsys, relative, fmt, images, annotations, classes):
    doc = summary(capsys, realdata / relative)
    assert doc["format"] == fmt
    assert (doc["images"], doc["annotations"], doc["classes_declared"]) == (images, annotations, classes)
    assert sum(c["instances"] for c in doc["classes"]) == annotations


@pytest.mark.realdata
def test_labelme_merge_is_in_the_report(realdata, capsys):
    doc = summary(capsys, realdata / "labelme" / "instance_segmentation")
    rows = [r for r in doc["report"] if r["code"] == "merged_shapes"]
    assert len(rows) == 1 and rows[0]["record"] == "group_id"
    assert rows[0]["problem"].startswith("16 polygons merged into 12 objects by group_id")
