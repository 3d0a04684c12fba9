"""Stand-in frames of the bundled samples: rendered on first use into the cache, true to the annotations."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import imbal_core
from imbal_core.gallery import render, sample_frame, sample_name, select_images, thumbnails
from imbal_core.gallery.frames import frames_dir, render_frame
from imbal_core.gallery.geometry import ground_truth_shapes

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"


@pytest.fixture(scope="module")
def street():
    return imbal_core.load(SAMPLES / "street" / "annotations.json")


def _luminance(path: Path) -> float:
    from PIL import Image

    with Image.open(path) as image:
        return float(np.asarray(image.convert("L"), dtype=np.float64).mean())


def test_night_frames_are_darker_than_day_frames(street, own_cache):
    night = select_images(street, where={"time_of_day": "night"}).image_ids[:15]
    day = select_images(street, where={"time_of_day": "day"}).image_ids[:15]
    lum_night = [_luminance(sample_frame(street, i)) for i in night]
    lum_day = [_luminance(sample_frame(street, i)) for i in day]
    assert np.mean(lum_night) < 0.5 * np.mean(lum_day)
    assert max(lum_night) < min(lum_day)
    assert all(str(sample_frame(street, i)).startswith(str(frames_dir())) for i in night)
    assert str(frames_dir()).startswith(str(own_cache))  # the cache folder, never the project


def test_a_frame_is_rendered_once_then_reused(street, own_cache):
    first = sample_frame(street, 5)
    stamp = first.stat().st_mtime_ns
    assert sample_frame(street, 5) == first and first.stat().st_mtime_ns == stamp
    drawn = render(street, 5, size=320)
    assert drawn.source.status == "rendered" and drawn.note == "rendered sample frame" and not drawn.missing
    page = thumbnails(street, [5, 6])
    assert page.rendered == 2 and page.missing == 0 and "2 rendered sample frames" in page.summary()


def test_objects_are_painted_where_their_boxes_are(street):
    image_id = select_images(street, "Car").image_ids[0]
    row = street.images.slice(image_id, 1).to_pylist()[0]
    shapes = ground_truth_shapes(street, image_id)
    with_objects = np.asarray(render_frame(row, shapes, street.conditions, seed=11, scene="street"), dtype=np.int16)
    empty = np.asarray(render_frame(row, [], street.conditions, seed=11, scene="street"), dtype=np.int16)
    scale = with_objects.shape[1] / row["width"]
    inside = np.zeros(empty.shape[:2], bool)
    for s in shapes:
        x, y, w, h = (v * scale for v in s.box)
        inside[int(y):int(np.ceil(y + h)) + 1, int(x):int(np.ceil(x + w)) + 1] = True
    changed = np.abs(with_objects - empty).sum(axis=-1) > 0
    assert changed[inside].mean() > 0.3  # the objects are there
    assert not changed[~inside].any()  # and nowhere else


def test_rain_draws_streaks(street):
    image_id = select_images(street, where={"weather": "clear", "time_of_day": "day"}).image_ids[0]
    row = street.images.slice(image_id, 1).to_pylist()[0]
    clear = np.asarray(render_frame(row, [], street.conditions, seed=3, scene="street"), dtype=np.int16)
    rainy = np.asarray(render_frame({**row, "weather": "rain"}, [], street.conditions, seed=3, scene="street"),
                       dtype=np.int16)
    streaks = np.abs(rainy - clear).sum(axis=-1) > 30
    assert 0.005 < streaks.mean() < 0.2  # thin streaks over the picture, not a wash
    assert streaks[: len(streaks) // 3].any() and streaks[-len(streaks) // 3:].any()  # from top to bottom


def test_only_the_bundled_samples_are_recognised(street, bccd, tmp_path):
    assert sample_name(street) == "street"
    assert sample_name(imbal_core.load(SAMPLES / "surface" / "labels.csv")) == "surface"
    assert sample_name(bccd) is None and sample_frame(bccd, 0) is None
    copy = tmp_path / "street.json"
    shutil.copy(SAMPLES / "street" / "annotations.json", copy)
    assert sample_name(imbal_core.load(copy)) is None  # a copy elsewhere is an export like any other


def test_every_sample_renders(own_cache):
    from imbal_core.samples import SAMPLES as BUNDLED

    for sample in BUNDLED.values():
        ds = imbal_core.load([str(p) for p in sample.files()], format=sample.format)
        page = thumbnails(ds, range(3), size=128)
        assert page.rendered == 3 and page.missing == 0, sample.name
