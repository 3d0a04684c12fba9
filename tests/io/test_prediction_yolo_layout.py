"""YOLO prediction txt files: an explicit column order (`layout`) and coordinate unit (`coords`)."""
from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import imbal_core
from imbal_core.evaluate import evaluate
from imbal_core.io.predictions import read_predictions, yolo_layout
from imbal_core.io.predictions.yolo import DEFAULT_LAYOUT, LAYOUT_COLUMNS, YoloLayout

W, H = 640, 480
NAMES = ["car", "person"]


def ground_truth(folder: Path):
    """A COCO dataset of 6 images of 640 x 480 (so normalised boxes become pixels), files img_i.jpg."""
    rng = np.random.default_rng(1)
    doc = {"images": [{"id": i + 1, "file_name": f"img_{i}.jpg", "width": W, "height": H} for i in range(6)],
           "annotations": [], "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "person"}]}
    for i in range(6):
        for _ in range(3):
            w, h = float(rng.integers(20, 200)), float(rng.integers(20, 200))
            x, y = float(rng.integers(0, W - 200)), float(rng.integers(0, H - 200))
            doc["annotations"].append({"id": len(doc["annotations"]) + 1, "image_id": i + 1,
                                       "category_id": int(rng.integers(1, 3)), "bbox": [x, y, w, h], "area": w * h,
                                       "iscrowd": 0})
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "gt.json"
    path.write_text(json.dumps(doc))
    return imbal_core.load(path, cache=False), doc


def detections(doc: dict) -> list[tuple[int, dict[str, float]]]:
    """(image index, {cls, x, y, w, h, conf}) normalised: each ground-truth box moved by a few pixels,
    values multiples of 1/64 pixel so both units give the same floats."""
    rng = np.random.default_rng(2)
    out = []
    for a in doc["annotations"]:
        x, y, w, h = a["bbox"]
        dx, dy = (rng.integers(-8, 9, size=2) / 4).tolist()
        out.append((a["image_id"] - 1, {"cls": a["category_id"] - 1, "x": (x + dx + w / 2) / W,
                                        "y": (y + dy + h / 2) / H, "w": w / W, "h": h / H,
                                        "conf": float(rng.integers(1, 64)) / 64}))
    return out


def write_predictions(folder: Path, dets, layout=DEFAULT_LAYOUT, pixels: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines: dict[int, list[str]] = {i: [] for i in range(6)}
    for image, d in dets:
        values = dict(d)
        if pixels:
            values.update(x=d["x"] * W, y=d["y"] * H, w=d["w"] * W, h=d["h"] * H)
        lines[image].append(" ".join(repr(values[c]) if c != "cls" else str(values[c]) for c in layout))
    for image, text in lines.items():
        (folder / f"img_{image}.txt").write_text("\n".join(text) + "\n")
    return folder


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    root = tmp_path_factory.mktemp("layout")
    ds, doc = ground_truth(root / "gt")
    dets = detections(doc)
    reference = read_predictions(write_predictions(root / "default", dets), ds, names=NAMES)
    return ds, dets, reference


def metrics(ds, preds):
    ev = evaluate(ds, preds)
    s = ev.coco.summary
    return (s.ap, s.ap50, s.ap75, s.ar100), ev.classes.select(["class", "tp", "fp", "fn", "ap"]).to_pylist()


def test_the_reference_is_read_as_ultralytics_writes_it(case):
    ds, dets, reference = case
    assert reference.coverage.matched == len(dets) and not reference.report.codes() - {"image_without_predictions"}
    assert metrics(ds, reference)[0][0] > 0.5  # the boxes moved by at most 2 px: most are found


@settings(max_examples=25, deadline=None)
@given(order=st.permutations(LAYOUT_COLUMNS))
def test_any_column_order_read_with_its_layout_gives_the_same_table(case, order):
    ds, dets, reference = case
    with tempfile.TemporaryDirectory() as folder:
        preds = read_predictions(write_predictions(Path(folder) / "p", dets, order), ds, names=NAMES,
                                 options={"layout": ",".join(order)})
        assert preds.table.drop_columns(["record"]).equals(reference.table.drop_columns(["record"]))
        assert preds.report.codes() == reference.report.codes()


@pytest.mark.parametrize("order", [("cls", "conf", "x", "y", "w", "h"), ("x", "y", "w", "h", "conf", "cls")])
def test_a_permuted_layout_gives_identical_metrics(tmp_path, case, order):
    ds, dets, reference = case
    preds = read_predictions(write_predictions(tmp_path / "p", dets, order), ds, names=NAMES,
                             options={"layout": " ".join(order)})
    assert metrics(ds, preds) == metrics(ds, reference)
    # read with the default layout instead, the same file is wrong (and says so)
    wrong = read_predictions(tmp_path / "p", ds, names=NAMES)
    assert metrics(ds, wrong) != metrics(ds, reference)


def test_pixel_coordinates_read_as_pixels_equal_the_normalised_file(tmp_path, case):
    ds, dets, reference = case
    preds = read_predictions(write_predictions(tmp_path / "px", dets, pixels=True), ds, names=NAMES,
                             options={"coords": "pixels"})
    for column in ("x", "y", "w", "h"):
        assert preds.table.column(column).to_pylist() == pytest.approx(reference.table.column(column).to_pylist(), abs=1e-9)
    assert metrics(ds, preds) == metrics(ds, reference)
    assert not preds.report.codes() - {"image_without_predictions"}
    # read as normalised (the default), the pixel file is reported and suggests the option
    default = read_predictions(tmp_path / "px", ds, names=NAMES)
    outside = [r for r in default.report if r.code == "box_outside_image"]
    assert outside and "`--pred-opt coords=pixels`" in outside[0].problem


def test_pixel_mode_on_a_normalised_file_is_reported(tmp_path, case):
    ds, dets, _ = case
    preds = read_predictions(write_predictions(tmp_path / "n", dets), ds, names=NAMES, options={"coords": "pixels"})
    row = next(r for r in preds.report if r.code == "coords_look_normalized")
    assert f"every one of the {len(dets)} boxes lies within 0..1" in row.problem and "coords=normalized" in row.problem


def test_pixel_boxes_on_images_of_unknown_size_are_reported(tmp_path):
    root = tmp_path / "yolo"
    (root / "labels").mkdir(parents=True)
    (root / "data.yaml").write_text("names: [car]\nval: labels\n")
    (root / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    ds = imbal_core.load(root / "data.yaml", cache=False)
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "a.txt").write_text("0 320 240 128 96 0.9\n0 300 200 100 90 0.5\n")
    preds = read_predictions(tmp_path / "p", ds, options={"coords": "pixels"})
    row = next(r for r in preds.report if r.code == "unknown_image_size")
    assert row.problem.startswith("2 pixel boxes on 1 images whose size the dataset does not know")
    assert preds.table.column("x").to_pylist() == [256.0, 250.0]  # kept in pixels


def test_a_layout_without_conf_scores_every_line_1(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "a.txt").write_text("0.5 0.5 0.2 0.2 1\n")
    preds = read_predictions(tmp_path / "p", options={"layout": "x,y,w,h,cls"})
    assert preds.table.column("label").to_pylist() == ["1"] and preds.table.column("score").to_pylist() == [1.0]
    assert preds.report.counts()["no_score"] == 1


def test_conf_may_be_left_out_only_when_it_is_last(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "a.txt").write_text("0 0.9 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.2 0.2\n")
    preds = read_predictions(tmp_path / "p", options={"layout": "cls,conf,x,y,w,h"})
    assert preds.num_predictions == 1 and preds.table.column("score").to_pylist() == [0.9]
    bad = next(r for r in preds.report if r.code == "bad_line")
    assert bad.record == "a.txt:2" and "is not `cls conf x y w h` with numbers" in bad.problem


@pytest.mark.parametrize("layout, coords, expected", [
    (None, "normalized", YoloLayout(DEFAULT_LAYOUT, "normalized")),
    ("class score cx cy width height", "Pixels", YoloLayout(("cls", "conf", "x", "y", "w", "h"), "pixels")),
    (["cls", "x", "y", "w", "h"], "normalised", YoloLayout(("cls", "x", "y", "w", "h"), "normalized")),
])
def test_layouts_and_coords_accepted(layout, coords, expected):
    assert yolo_layout(layout, coords) == expected


@pytest.mark.parametrize("layout, coords, message", [
    ("cls,x,y,w", "normalized", "`layout` must name each of cls, x, y, w, h once and conf at most once"),
    ("cls,x,y,w,h,conf,conf", "normalized", "Got 'cls,x,y,w,h,conf,conf' instead"),
    ("cls,x1,y1,x2,y2,conf", "normalized", "`layout` must name each of"),
    (None, "px", "`coords` must be one of ['normalized', 'pixels']. Got 'px' instead."),
])
def test_bad_layouts_and_coords_are_refused(tmp_path, layout, coords, message):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "a.txt").write_text("0 0.5 0.5 0.2 0.2 0.9\n")
    options = {"coords": coords} if layout is None else {"layout": layout, "coords": coords}
    with pytest.raises(ValueError, match=re.escape(message)):
        read_predictions(tmp_path / "p", options=options)


@pytest.mark.parametrize("name, options, message", [
    ("p", {"layuot": "cls,x,y,w,h"}, "`options` of yolo predictions must be among ['layout', 'coords']. Got ['layuot']"),
    ("r.json", {"coords": "pixels"}, "`options` of coco predictions take none. Got ['coords'] instead."),
    ("p.csv", {"layout": "x"}, "`options` of csv predictions must be among ['image_column', 'label_column']"),
])
def test_an_option_the_format_does_not_take_names_those_it_does(tmp_path, name, options, message):
    path = tmp_path / name
    if name == "p":
        path.mkdir()
        (path / "a.txt").write_text("0 0.5 0.5 0.2 0.2 0.9\n")
    else:
        path.write_text("[]" if name.endswith(".json") else "image,predicted\na.jpg,cat\n")
    with pytest.raises(ValueError) as info:
        read_predictions(path, options=options)
    assert message in str(info.value)


def test_csv_columns_given_as_options(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("shot,guess\na.jpg,cat\n")
    preds = read_predictions(path, options={"image_column": "shot", "label_column": "guess"})
    assert preds.table.column("image").to_pylist() == ["a.jpg"] and preds.table.column("label").to_pylist() == ["cat"]
