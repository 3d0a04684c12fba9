"""The gallery from every entry point, driven through the app: the street sample and the real BCCD export.

Each test reads which images a gallery shows from its *Enlarge* buttons (one per thumbnail, keyed by
the image id) and checks them against :func:`imbal_core.gallery.select_images` called directly with
what the page was asked for; the CSV download against the whole selection. BCCD is read in place
(../shared/realdata) as a server path; its predictions and its conditions sidecar are made here.
"""
from __future__ import annotations

import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import imbal_core
from imbal_core.evaluate import evaluate, hard_negatives
from imbal_core.gallery import report_images, select_images
from imbal_core.io.predictions import read_predictions

from .conftest import APP, ROOT, TIMEOUT, open_on, texts

STREET = ROOT / "sample_data" / "street"
PAGE = 24


@pytest.fixture
def street():
    return imbal_core.load(STREET / "annotations.json")


def shown(at: AppTest, key: str) -> list[int]:
    """Image ids of the thumbnails gallery ``key`` shows, in order."""
    prefix = f"{key}_open_"
    return [int(b.key[len(prefix):]) for b in at.button if b.key and b.key.startswith(prefix)]


def headlines(at: AppTest) -> list[int]:
    """The counts the galleries on the page say they hold (``**9 images** with …``), in order."""
    found = (re.match(r"\*\*([\d,]+) images?\*\*", e.value) for e in at.markdown)
    return [int(m.group(1).replace(",", "")) for m in found if m]


def csv_of(downloads: dict, name: str) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(downloads[name]), dtype={"source_id": str, "image": str})


def check_csv(downloads: dict, name: str, selection) -> None:
    table = csv_of(downloads, name)
    assert table["image_id"].tolist() == list(selection.image_ids)
    assert table["source_id"].tolist() == selection.table.column("source_id").to_pylist()


def images_on(at: AppTest) -> int:
    return len(at.get("image"))


# ---------------------------------------------------------------------------------------------- street sample

def test_conditions_finding_shows_the_cell_and_beside_it_the_condition_without_the_class(app, street, downloads):
    at = open_on(app, "views/conditions.py")
    assert at.radio(key="cond_finding").value.startswith("1. Wheelchair at night")
    cell = select_images(street, "Wheelchair", where={"time_of_day": "night"})
    other = select_images(street, where={"time_of_day": "night"}, without_class="Wheelchair")
    assert len(cell) == 9  # the finding's own figure: 9 Wheelchairs at night, one to an image
    assert shown(at, "cond_cell_left") == list(cell.image_ids)
    assert shown(at, "cond_cell_right") == list(other.page(0))
    assert images_on(at) == len(cell) + PAGE
    assert {9, len(other)} <= set(headlines(at))
    assert "rendered sample frames" in texts(at)
    check_csv(downloads, "cond_cell_images.csv", cell)
    check_csv(downloads, "cond_cell_comparison_images.csv", other)
    # paging the comparison grid leaves the cell's grid alone
    at.number_input(key="cond_cell_right_page").set_value(3).run()
    assert shown(at, "cond_cell_right") == list(other.page(2))
    assert shown(at, "cond_cell_left") == list(cell.image_ids)
    assert f"of {other.pages(PAGE)}: images 49–72 of {len(other):,}" in texts(at)


def test_conditions_any_cell_can_be_picked(app, street):
    at = open_on(app, "views/conditions.py")
    at.selectbox(key="cond_gal_class").set_value("Stroller").run()
    at.selectbox(key="cond_gal_cell").set_value("day").run()
    assert shown(at, "cond_cell_left") == list(select_images(street, "Stroller", where={"time_of_day": "day"}).page(0))
    assert shown(at, "cond_cell_right") == list(
        select_images(street, where={"time_of_day": "day"}, without_class="Stroller").page(0))


def test_conditions_an_absent_cell_says_so_and_still_compares(app, street):
    at = open_on(app, "views/conditions.py")
    at.multiselect(key="cond_by").set_value(["time_of_day", "weather"]).run()
    assert at.radio(key="cond_finding").value.startswith("1. Wheelchair at night, snow: 0 instances")
    assert shown(at, "cond_cell_left") == []
    assert "No image matches." in [i.value for i in at.info]
    where = {"time_of_day": "night", "weather": "snow"}
    assert shown(at, "cond_cell_right") == list(select_images(street, where=where, without_class="Wheelchair").page(0))


def test_enlarge_shows_the_image_with_its_split_conditions_and_file_name(app, street):
    at = open_on(app, "views/conditions.py")
    first = shown(at, "cond_cell_left")[0]
    before = images_on(at)
    at.button(key=f"cond_cell_left_open_{first}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert images_on(at) == before + 1
    row = street.images.slice(first, 1).to_pylist()[0]
    page = texts(at)
    assert f"**`{row['file_name']}`**" in page
    assert f"**split** {row['split']}" in page and "**time of day** night" in page
    assert f"**weather** {row['weather']}" in page and f"**camera** {row['camera']}".replace("_", "\\_") in page
    ground_truth = next(m.value for m in at.markdown if m.value.startswith("Ground truth (solid):"))
    assert "1 Wheelchair" in ground_truth


def test_long_tail_class_pages_and_follows_the_split(app, street, downloads):
    at = open_on(app, "views/longtail.py")
    assert not shown(at, "lt_gallery") and "lt_gallery_csv" not in [b.key for b in at.get("download_button")]
    at.selectbox(key="lt_gallery_class").set_value("Wheelchair").run()
    chosen = select_images(street, "Wheelchair")
    assert shown(at, "lt_gallery") == list(chosen.page(0)) and len(chosen) > 2 * PAGE
    assert len(chosen) in headlines(at)
    check_csv(downloads, "imbal_images_Wheelchair.csv", chosen)
    at.number_input(key="lt_gallery_page").set_value(2).run()
    assert shown(at, "lt_gallery") == list(chosen.page(1))
    at.selectbox(key="lt_split").set_value("val").run()
    in_val = select_images(street, "Wheelchair", split="val")
    assert shown(at, "lt_gallery") == list(in_val.page(0))  # a new selection starts on its first page
    assert len(in_val) in headlines(at)


def test_evaluation_confusion_cell_and_hard_negatives(app, street):
    at = open_on(app, "views/evaluation.py")
    predictions = read_predictions(STREET / "predictions.json", street)
    truth, predicted = at.selectbox(key="eval_cell_truth").value, at.selectbox(key="eval_cell_predicted").value
    assert truth != predicted
    # the library's own evaluation (operating point 0.5 / 0.5, as the page's defaults) picks the same images
    cell = select_images(street, predictions=predictions, confusion=(truth, predicted))
    assert shown(at, "eval_cell") == list(cell.page(0)) and len(cell) in headlines(at)
    at.selectbox(key="eval_cell_truth").set_value("background").run()
    at.selectbox(key="eval_cell_predicted").set_value("Wheelchair").run()
    alarms = select_images(street, predictions=predictions, confusion=("background", "Wheelchair"))
    assert len(alarms) and shown(at, "eval_cell") == list(alarms.page(0))
    negatives = hard_negatives(evaluate(street, predictions), street).to_pandas()
    ranked = list(dict.fromkeys(negatives["image_id"].tolist()))
    assert shown(at, "eval_negatives_gallery") == ranked[:PAGE]
    at.selectbox(key="eval_negative_class").set_value("Wheelchair").run()
    only = list(dict.fromkeys(negatives.loc[negatives["predicted"] == "Wheelchair", "image_id"].tolist()))
    assert only and shown(at, "eval_negatives_gallery") == only[:PAGE]


def test_active_learning_batch_gallery_is_the_batch(app, downloads):
    at = open_on(app, "views/active_learning.py")
    batch = [name for name in downloads if str(name).startswith("active_batch_") and not str(name).startswith("active_batch_images")]
    assert len(batch) == 1
    ranked = csv_of(downloads, batch[0])["image"].tolist()
    gallery = csv_of(downloads, batch[0].replace("active_batch_", "active_batch_images_"))
    assert gallery["source_id"].tolist() == ranked
    assert shown(at, "al_gallery") == gallery["image_id"].tolist()[:PAGE]


def test_splits_a_group_in_two_splits(app, street, tmp_path):
    # a sidecar moves five frames of drive_000 (all in train) to val: the drive now straddles two splits
    sidecar = pd.DataFrame({"file_name": [f"drive_000_{i:03d}.jpg" for i in range(5)], "split": "val"})
    at = app
    at.file_uploader(key="upload_conditions").set_value(("moved.csv", sidecar.to_csv(index=False).encode(), "text/csv")).run()
    at = open_on(at, "views/splits.py")
    path = tmp_path / "moved.csv"
    sidecar.to_csv(path, index=False)
    moved = imbal_core.load(STREET / "annotations.json", conditions=str(path))
    assert "drive_000" in at.selectbox(key="splits_gallery_group").options
    assert not shown(at, "splits_gallery")
    at.selectbox(key="splits_gallery_group").set_value("drive_000").run()
    chosen = select_images(moved, group="drive_000")
    assert shown(at, "splits_gallery") == list(chosen.page(0))
    assert set(chosen.table.column("split").to_pylist()) == {"train", "val"}


def test_a_sample_without_load_problems_shows_no_problem_gallery(app):
    at = open_on(app, "views/overview.py")
    assert not shown(at, "ov_gallery") and images_on(at) == 0


# ---------------------------------------------------------------------------------------------- BCCD, real

@pytest.fixture
def bccd_app(realdata, monkeypatch, tmp_path):
    """The app on ../shared/realdata/bccd_voc as a server path (the data root is the realdata folder)."""
    root = realdata / "bccd_voc" / "BCCD" / "JPEGImages"
    if not root.is_dir():
        pytest.skip(f"the BCCD images are not at {root}")
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("IMBAL_UPLOAD_DIR", str(tmp_path / "uploads"))
    monkeypatch.setenv("IMBAL_DATA_ROOT", str(realdata))
    monkeypatch.setenv("IMBAL_WORKSPACE", str(tmp_path / "workspace.duckdb"))

    def start(extras: dict[str, tuple] | None = None) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.run()
        at.button_group(key="source_kind").set_value("Server path").run()
        for key, upload in (extras or {}).items():
            at.file_uploader(key=key).set_value(upload).run()
        at.text_input(key="server_path").set_value("bccd_voc").run()
        assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
        return at
    return start


@pytest.fixture
def bccd(realdata):
    return imbal_core.load(realdata / "bccd_voc")


def swapped_predictions(bccd, seed: int = 3, share: float = 0.1) -> tuple[bytes, set[str]]:
    """Every ground-truth box as a prediction (score 0.9), a seeded share of the RBC boxes of positive size
    predicted WBC instead (0.8): the results JSON and the source ids of the images with a swapped box."""
    rng = np.random.default_rng(seed)
    names, source = bccd.class_names, bccd.images.column("source_id").to_pylist()
    results, swapped = [], set()
    for r in bccd.annotations.select(["image_id", "category_id", "x", "y", "w", "h"]).to_pylist():
        label, score = names[r["category_id"]], 0.9
        if label == "RBC" and r["w"] > 0 and r["h"] > 0 and rng.random() < share:
            label, score = "WBC", 0.8
            swapped.add(source[r["image_id"]])
        results.append({"image_id": source[r["image_id"]], "category_id": label, "score": score,
                        "bbox": [r["x"], r["y"], r["w"], r["h"]]})
    return json.dumps(results).encode(), swapped


@pytest.mark.realdata
def test_bccd_long_tail_platelets_real_images_paging_and_csv(bccd_app, bccd, downloads):
    at = open_on(bccd_app(), "views/longtail.py")
    at.selectbox(key="lt_gallery_class").set_value("Platelets").run()
    chosen = select_images(bccd, "Platelets")
    assert len(chosen) > 4 * PAGE and len(chosen) in headlines(at)
    assert shown(at, "lt_gallery") == list(chosen.page(0))
    assert "On this page: 24 images shown." in texts(at)  # every thumbnail a real picture: nothing missing
    check_csv(downloads, "imbal_images_Platelets.csv", chosen)
    last = chosen.pages(PAGE)
    at.number_input(key="lt_gallery_page").set_value(last).run()
    assert shown(at, "lt_gallery") == list(chosen.page(last - 1)) and 0 < len(shown(at, "lt_gallery")) <= PAGE
    at.button(key=f"lt_gallery_open_{chosen.page(last - 1)[0]}").click().run()
    assert "Image file: `bccd_voc/BCCD/JPEGImages/" in texts(at)


@pytest.mark.realdata
def test_bccd_overview_load_report_images_with_the_flagged_box(bccd_app, bccd):
    at = open_on(bccd_app(), "views/overview.py")
    flagged = [image_id for image_id, _ in report_images(bccd, bccd.report.rows)]
    names = bccd.images.column("source_id").to_pylist()
    assert sorted(names[i] for i in flagged) == ["BloodImage_00338", "BloodImage_00343"]  # the two zero-size boxes
    assert shown(at, "ov_gallery") == list(select_images(bccd, ids=flagged).image_ids)
    at.button(key=f"ov_gallery_open_{flagged[0]}").click().run()
    assert "The shape a load-report row names is framed in yellow." in texts(at)


@pytest.mark.realdata
def test_bccd_evaluation_rbc_to_wbc_cell_is_the_swapped_images(bccd_app, bccd, tmp_path):
    data, swapped = swapped_predictions(bccd)
    at = open_on(bccd_app(), "views/evaluation.py")
    at.file_uploader(key="eval_upload").set_value(("swapped.json", data, "application/json")).run()
    at.selectbox(key="eval_cell_truth").set_value("RBC").run()
    at.selectbox(key="eval_cell_predicted").set_value("WBC").run()
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    path = tmp_path / "swapped.json"
    path.write_bytes(data)
    cell = select_images(bccd, predictions=read_predictions(path, bccd), confusion=("RBC", "WBC"))
    assert set(cell.table.column("source_id").to_pylist()) == swapped
    assert len(swapped) in headlines(at)
    assert shown(at, "eval_cell") == list(cell.page(0))


@pytest.mark.realdata
def test_bccd_active_learning_conditions_and_splits_from_a_sidecar(bccd_app, bccd, realdata, tmp_path, downloads):
    data, _ = swapped_predictions(bccd)
    names = bccd.images.column("file_name").to_pylist()
    rng = np.random.default_rng(11)
    # a made-up stain per image and a patient per ten consecutive images (so patients straddle the splits)
    sidecar = pd.DataFrame({"file_name": names, "stain": rng.choice(["giemsa", "wright"], len(names)),
                            "patient": [f"p{i // 10:02d}" for i in range(len(names))]})
    at = bccd_app({"upload_conditions": ("stains.csv", sidecar.to_csv(index=False).encode(), "text/csv"),
                   "upload_predictions": ("swapped.json", data, "application/json")})
    path = tmp_path / "stains.csv"
    sidecar.to_csv(path, index=False)
    stained = imbal_core.load(realdata / "bccd_voc", conditions=str(path))

    at = open_on(at, "views/conditions.py")
    at.selectbox(key="cond_gal_class").set_value("Platelets").run()
    at.selectbox(key="cond_gal_cell").set_value("wright").run()
    cell = select_images(stained, "Platelets", where={"stain": "wright"})
    assert shown(at, "cond_cell_left") == list(cell.page(0)) and len(cell) in headlines(at)
    assert shown(at, "cond_cell_right") == list(select_images(stained, where={"stain": "wright"},
                                                              without_class="Platelets").page(0))

    at = open_on(at, "views/active_learning.py")
    batch = [n for n in downloads if str(n).startswith("active_batch_") and not str(n).startswith("active_batch_images")]
    gallery = csv_of(downloads, batch[-1].replace("active_batch_", "active_batch_images_"))
    assert gallery["source_id"].tolist() == csv_of(downloads, batch[-1])["image"].tolist()
    assert shown(at, "al_gallery") == gallery["image_id"].tolist()[:PAGE]

    at = open_on(at, "views/splits.py")
    leaking = at.selectbox(key="splits_gallery_group").options
    assert leaking
    at.selectbox(key="splits_gallery_group").set_value(leaking[0]).run()
    chosen = select_images(stained, group=leaking[0])
    assert shown(at, "splits_gallery") == list(chosen.page(0))
    assert len(set(chosen.table.column("split").to_pylist())) > 1


# ---------------------------------------------------------------------------------------------- images folder

def test_images_folder_in_the_sidebar_finds_images_kept_elsewhere(monkeypatch, tmp_path):
    from PIL import Image

    (tmp_path / "export").mkdir()
    (tmp_path / "photos").mkdir()
    Image.new("RGB", (64, 48), (40, 90, 160)).save(tmp_path / "photos" / "a.jpg")
    doc = {"images": [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [4, 4, 20, 20], "area": 400, "iscrowd": 0}],
           "categories": [{"id": 1, "name": "thing"}]}
    (tmp_path / "export" / "ann.json").write_text(json.dumps(doc))
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("IMBAL_UPLOAD_DIR", str(tmp_path / "uploads"))
    monkeypatch.setenv("IMBAL_DATA_ROOT", str(tmp_path))
    monkeypatch.setenv("IMBAL_WORKSPACE", str(tmp_path / "workspace.duckdb"))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.button_group(key="source_kind").set_value("Server path").run()
    at.text_input(key="server_path").set_value("export/ann.json").run()
    at = open_on(at, "views/longtail.py")
    at.selectbox(key="lt_gallery_class").set_value("thing").run()
    assert shown(at, "lt_gallery") == [0]
    assert "1 without a usable image file" in texts(at) and "Images folder" in texts(at)
    at.text_input(key="images_folder").set_value("/etc").run()  # outside the data root: refused, said
    assert any("Images folder not used" in w.value for w in at.warning)
    assert "1 without a usable image file" in texts(at)
    at.text_input(key="images_folder").set_value("photos").run()
    assert not at.warning and "On this page: 1 image shown." in texts(at)
