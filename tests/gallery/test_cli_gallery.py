"""`imbal gallery` end to end: a contact sheet of real BCCD images, and clear refusals of bad input."""
from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest

from imbal_core.cli import main


@pytest.mark.realdata
def test_platelets_sheet_of_real_images(bccd_root, bccd_xml, tmp_path, own_cache, capsys):
    from PIL import Image

    out = tmp_path / "sheet.jpg"
    assert main(["gallery", str(bccd_root), "--class", "Platelets", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    with_platelets = sum(1 for c in bccd_xml.values() if c["Platelets"])
    assert f"{with_platelets:,} images matched" in printed
    assert "24 shown in" in printed and "0 without a usable image file" in printed
    assert 100_000 < out.stat().st_size < 3_000_000
    with Image.open(out) as sheet:
        assert sheet.format == "JPEG"
        width, height = sheet.size
        # 6 columns of 256-pixel thumbnails (BCCD is 640 x 480: 256 x 192) in 4 captioned rows
        assert 6 * 256 < width < 6 * 256 + 100 and 4 * 192 < height < 4 * 192 + 400
        pixels = np.asarray(sheet.convert("RGB").resize((width // 8, height // 8))).reshape(-1, 3)
        assert len(np.unique(pixels, axis=0)) > 500  # photographs, not blank canvases


@pytest.mark.realdata
def test_json_and_html_with_a_confusion_cell(bccd, bccd_root, tmp_path, own_cache, capsys, swapped_predictions):
    predictions, swapped, path = swapped_predictions(bccd, tmp_path)
    out = tmp_path / "cell.html"
    assert main(["gallery", str(bccd_root), "--pred", str(path), "--confusion", "RBC", "WBC", "--n", "12",
                 "--out", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["matched"] == len(swapped) and doc["shown"] == 12 and doc["missing"] == 0
    source = bccd.images.column("source_id").to_pylist()
    most = max(swapped.values())
    assert swapped[source[doc["image_ids"][0]]] == most  # the images with most swaps first
    text = out.read_text()
    assert text.count("data:image/jpeg;base64,") == 12 and "<script" not in text.lower()
    assert not re.search(r'src="(?!data:)', text)  # self-contained: no other file is referenced
    first = re.search(r'data:image/jpeg;base64,([^"]+)"', text).group(1)
    assert base64.b64decode(first)[:2] == b"\xff\xd8"


def test_html_escapes_file_names(tmp_path, own_cache, capsys):
    name = '<img src=x onerror="alert(1)">.jpg'
    doc = {"images": [{"id": 1, "file_name": name, "width": 100, "height": 80}],
           "categories": [{"id": 1, "name": "a<b>"}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 20, 20], "area": 400}]}
    (tmp_path / "a.json").write_text(json.dumps(doc))
    out = tmp_path / "sheet.html"
    assert main(["gallery", str(tmp_path / "a.json"), "--class", "a<b>", "--out", str(out)]) == 0
    text = out.read_text()
    assert name not in text and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;.jpg" in text
    assert "1 without a usable image file" in capsys.readouterr().out


def test_sample_sheet_uses_rendered_frames(tmp_path, own_cache, capsys):
    from imbal_core.samples import SAMPLES

    out = tmp_path / "night.jpg"
    street = str(SAMPLES["street"].files()[0])
    assert main(["gallery", street, "--class", "Wheelchair", "--where", "time_of_day=night", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "9 images matched" in printed and "9 rendered sample frames" in printed
    assert out.stat().st_size > 10_000


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--class", "Wheelchairs"], "`--class` must be one of the dataset's classes: Person, Bicycle, Car"),
        (["--without-class", "x"], "`--without-class` must be one of the dataset's classes"),
        (["--where", "time_of_day"], "`--where` must be COND=VALUE"),
        (["--where", "season=winter"], "`--where` names a condition the dataset does not have: 'season'. Its conditions: time_of_day"),
        (["--where", "time_of_day=dusk"], "`--where` gives time_of_day values it never takes: ['dusk']. Its values: day, night"),
        (["--split", "training"], "`--split` must be one of ['train', 'val', 'test']"),
        (["--confusion", "Car", "Bus"], "`--confusion` needs `--pred`"),
        (["--n", "0"], "`--n` must be between 1 and 500"),
        (["--images", "/no/such/folder"], "`--images` must be a folder"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(extra, message, tmp_path, own_cache, capsys):
    from imbal_core.samples import SAMPLES

    out = tmp_path / "sheet.jpg"
    code = main(["gallery", str(SAMPLES["street"].files()[0]), *extra, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not out.exists()


def test_a_bad_out_name_exits_2(tmp_path, capsys):
    from imbal_core.samples import SAMPLES

    assert main(["gallery", str(SAMPLES["street"].files()[0]), "--out", str(tmp_path / "sheet.png")]) == 2
    assert "`--out` must end in .jpg, .jpeg, .html or .htm. Got" in capsys.readouterr().err
