"""render: what is drawn, where, and in which colour (checked on the returned geometry and on the pixels)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import imbal_core
from imbal_core.gallery import class_color, render, report_images, select_images, thumbnails
from imbal_core.gallery.palette import HIGHLIGHT_COLOR, rgb
from imbal_core.gallery.drawing import BLANK_COLOR
from imbal_core.io.predictions import read_predictions


def _edge_pixels(pixels: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """The pixels on the outline of a canvas box (x0, y0, x1, y1): its four sides, sampled."""
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    h, w = pixels.shape[:2]
    xs = np.clip(np.arange(x0, x1 + 1), 0, w - 1)
    ys = np.clip(np.arange(y0, y1 + 1), 0, h - 1)
    sides = [pixels[np.clip(y0, 0, h - 1), xs], pixels[np.clip(y1, 0, h - 1), xs],
             pixels[ys, np.clip(x0, 0, w - 1)], pixels[ys, np.clip(x1, 0, w - 1)]]
    return np.concatenate(sides)


def _share_of(pixels: np.ndarray, color: str) -> float:
    return float((pixels == np.array(rgb(color))).all(axis=-1).mean())


@pytest.mark.realdata
def test_each_platelets_render_draws_its_platelets_boxes(bccd, bccd_xml):
    color = class_color(bccd.class_names.index("Platelets"))
    chosen = select_images(bccd, "Platelets")
    for image_id, stem in list(zip(chosen.image_ids, chosen.table.column("source_id").to_pylist()))[:30]:
        drawn = render(bccd, image_id, size=320)
        assert drawn.source.status == "found" and drawn.note == ""
        assert drawn.count("Platelets") == bccd_xml[stem]["Platelets"]
        assert sum(1 for s in drawn.shapes if s.origin == "ground_truth") == sum(bccd_xml[stem].values())
        pixels = np.asarray(drawn.image)
        for shape in (s for s in drawn.shapes if s.class_name == "Platelets"):
            assert shape.color == color
            # most of the outline is the class colour (other boxes drawn later may cross it)
            assert _share_of(_edge_pixels(pixels, drawn.canvas_box(shape)), color) > 0.5, (stem, shape.box)


@pytest.mark.realdata
def test_no_platelets_colour_on_images_without_platelets(bccd):
    color = class_color(bccd.class_names.index("Platelets"))
    for image_id in select_images(bccd, without_class="Platelets").image_ids[:10]:
        drawn = render(bccd, image_id, size=320)
        assert drawn.count("Platelets") == 0
        assert _share_of(np.asarray(drawn.image), color) < 1e-4  # a photograph hardly ever hits the exact colour


@pytest.mark.realdata
def test_the_flagged_box_of_a_report_row_is_highlighted(bccd):
    row = next(r for r in bccd.report if r.code == "non_positive_box")
    image_id = bccd.images.column("source_id").to_pylist().index(row.record.split("#")[0])
    drawn = render(bccd, image_id, highlight=row)
    marked = [s for s in drawn.shapes if s.highlighted]
    assert [s.source_id for s in marked] == [row.record]
    x0, y0, x1, y1 = drawn.canvas_box(marked[0])
    pixels = np.asarray(drawn.image)
    around = pixels[max(0, int(y0) - 8):int(y1) + 9, max(0, int(x0) - 8):int(x1) + 9]
    assert (around == np.array(rgb(HIGHLIGHT_COLOR))).all(axis=-1).any()
    plain = render(bccd, image_id)
    assert not any(s.highlighted for s in plain.shapes)
    assert not (np.asarray(plain.image) == np.array(rgb(HIGHLIGHT_COLOR))).all(axis=-1).any()


@pytest.mark.realdata
def test_predictions_are_dashed_with_their_score(bccd, tmp_path):
    image_id = 0
    row = bccd.annotations.filter(bccd.annotations.column("image_id").to_numpy() == image_id).to_pylist()[0]
    source = bccd.images.column("source_id")[image_id].as_py()
    name = bccd.class_names[row["category_id"]]
    shifted = [row["x"] + 40, row["y"] + 30, row["w"], row["h"]]  # off the ground-truth box, so its edge shows
    path = tmp_path / "pred.json"
    path.write_text(json.dumps([{"image_id": source, "category_id": name, "score": 0.87, "bbox": shifted},
                                {"image_id": source, "category_id": name, "score": 0.2, "bbox": shifted}]))
    predictions = read_predictions(path, bccd)
    drawn = render(bccd, image_id, predictions)
    preds = [s for s in drawn.shapes if s.origin == "prediction"]
    assert [(p.class_name, p.score) for p in preds] == [(name, 0.87)]  # the 0.2 one is below the threshold
    pixels = np.asarray(drawn.image)
    x0, y0, x1, y1 = drawn.canvas_box(preds[0])
    right_side = pixels[int(y0) + 2:int(y1) - 1, int(round(x1))]
    on = (right_side == np.array(rgb(preds[0].color))).all(axis=-1)
    assert 0.3 < on.mean() < 0.9  # dashes and gaps, not a solid line
    assert render(bccd, image_id, predictions, score_threshold=0.1).count(name, "prediction") == 2


def test_a_missing_image_is_a_blank_canvas_with_its_boxes(tmp_path, own_cache):
    doc = {"images": [{"id": 1, "file_name": "gone.jpg", "width": 400, "height": 200}],
           "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 2, "bbox": [100, 50, 100, 100], "area": 1e4}]}
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "a.json").write_text(json.dumps(doc))
    ds = imbal_core.load(tmp_path / "export" / "a.json")
    drawn = render(ds, 0, size=200)
    assert drawn.image.size == (200, 100) and drawn.missing and drawn.source.status == "missing"
    assert drawn.note == "image not found" and drawn.problem is None
    pixels = np.asarray(drawn.image)
    assert tuple(pixels[5, 5]) in (BLANK_COLOR, (212, 212, 212))  # the hatched canvas
    x0, y0, x1, y1 = drawn.canvas_box(drawn.shapes[0])
    assert (x0, y0, x1, y1) == (50, 25, 100, 75)
    assert _share_of(_edge_pixels(pixels, (x0, y0, x1, y1)), class_color(1)) > 0.7
    page = thumbnails(ds, [0])
    assert (page.missing, page.refused, page.unreadable) == (1, 0, 0)
    assert "1 without a usable image file" in page.summary()


@pytest.mark.realdata
def test_normalised_boxes_of_a_yolo_export_without_images(realdata, own_cache):
    ds = imbal_core.load(realdata / "garbage_yolo")
    drawn = render(ds, 0, size=256)
    assert drawn.missing and drawn.image.size == (256, 192)
    boxes = [drawn.canvas_box(s) for s in drawn.shapes]
    assert boxes and all(0 <= v <= 256 for b in boxes for v in b)


def test_polygons_of_a_coco_segmentation_are_drawn(own_cache):
    lanes = Path(__file__).resolve().parents[2] / "sample_data" / "lanes" / "annotations.json"
    ds = imbal_core.load(lanes)
    drawn = render(ds, 0, size=320)
    polygons = [s for s in drawn.shapes if s.kind == "polygon"]
    doc = json.loads(lanes.read_text())
    first = doc["images"][0]["id"]
    expected = [a for a in doc["annotations"] if a["image_id"] == first and isinstance(a.get("segmentation"), list)]
    assert len(polygons) == len(expected) > 0
    assert sorted(p.polygons[0] for p in polygons) == sorted(tuple(map(float, a["segmentation"][0])) for a in expected)


def test_bad_size_is_refused(bccd):
    with pytest.raises(ValueError, match=r"`size` must be at least 16 pixels or None. Got 4"):
        render(bccd, 0, size=4)


@pytest.mark.realdata
def test_a_page_of_report_rows_highlights_each_image_s_own_box(bccd):
    rows = [r for r in bccd.report if r.code == "non_positive_box"]
    pairs = report_images(bccd, rows)
    page = thumbnails(bccd, [i for i, _ in pairs], highlight={i: record for i, record in pairs})
    for thumb, (_, record) in zip(page.thumbnails, pairs):
        assert [s.source_id for s in thumb.shapes if s.highlighted] == [record]
