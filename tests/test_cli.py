"""`imbal summary`: the JSON figures on every real export, and exit code 2 with a clear message on bad input."""
from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import pytest

from imbal_core.cli import main


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def summary(capsys, *args):
    code, out, err = run(capsys, "summary", "--json", *map(str, args))
    assert code == 0, err
    assert out.count("\n") == 1  # exactly one JSON object
    return json.loads(out)


def classes(doc):
    return {c["class"]: c for c in doc["classes"]}


@pytest.mark.realdata
def test_taco(realdata, capsys):
    doc = summary(capsys, realdata / "taco" / "annotations.json")
    assert (doc["images"], doc["annotations"], doc["classes_declared"], doc["classes_used"]) == (1500, 4784, 60, 59)
    assert doc["conditions"] == ["scene"] and doc["task"] == "segmentation"
    assert all(c["pixels"] is not None for c in doc["classes"] if c["instances"])


@pytest.mark.realdata
def test_bccd(realdata, capsys):
    doc = summary(capsys, realdata / "bccd_voc")
    assert doc["images"] == 364
    assert {n: c["instances"] for n, c in classes(doc).items()} == {"RBC": 4155, "WBC": 372, "Platelets": 361}
    assert doc["split_images"] == {"train": 205, "val": 87, "test": 72}
    assert classes(doc)["RBC"]["pixels"] is None


@pytest.mark.realdata
def test_garbage_yolo(realdata, capsys):
    doc = summary(capsys, realdata / "garbage_yolo" / "data.yaml")
    assert doc["split_images"] == {"train": 5358, "val": 670}
    per_split = {s: sum(c["splits"][s]["instances"] for c in doc["classes"]) for s in ("train", "val")}
    assert per_split == {"train": 14300, "val": 1840}
    missing = [r for r in doc["report"] if r["code"] == "missing_split"]
    assert [r["record"] for r in missing] == ["test"]


@pytest.mark.realdata
def test_coco_val2014(realdata, capsys):
    doc = summary(capsys, realdata / "coco_val2014_100" / "instances_val2014_100.json")
    assert (doc["images"], doc["annotations"], doc["classes_used"], doc["classes_declared"]) == (100, 839, 70, 80)
    assert classes(doc)["person"]["instances"] == 256


@pytest.mark.realdata
def test_places_lt(realdata, capsys):
    lists = sorted((realdata / "places_lt").glob("Places_LT_*.txt"))
    doc = summary(capsys, *lists)
    assert doc["split_images"] == {"train": 62500, "val": 7300, "test": 36500}
    train = [c["splits"]["train"]["images"] for c in doc["classes"]]
    assert (len(train), max(train), min(train)) == (365, 4980, 5)


@pytest.mark.realdata
def test_labelstudio_counts_a_doubly_annotated_task_once(realdata, capsys):
    path = realdata / "labelstudio" / "test_export_yolo_data.json"
    tasks = json.loads(path.read_text())
    doc = summary(capsys, path)
    assert doc["images"] == len(tasks)
    doubled = next(t for t in tasks if len(t["annotations"]) > 1)
    assert [r["code"] for r in doc["report"]].count("duplicate_annotation") == len(doubled["annotations"]) - 1


def _broken(tmp_path, kind):
    """A corrupt export of each format."""
    if kind == "coco":
        p = tmp_path / "instances_train.json"
        p.write_text('{"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"id": 1,')
    elif kind == "yolo":
        p = tmp_path / "data.yaml"
        p.write_text("names: [a, b\ntrain: : :\n")
    elif kind == "voc":
        (tmp_path / "Annotations").mkdir()
        (tmp_path / "Annotations" / "x.xml").write_text("<annotation><object><name>cat</name>")
        p = tmp_path
    elif kind == "csv":
        p = tmp_path / "labels.csv"
        p.write_text("foo,bar\n1,2\n")
    elif kind == "parquet":
        p = tmp_path / "labels.parquet"
        p.write_bytes(b"PAR1 not really parquet")
    elif kind == "list":
        p = tmp_path / "train.txt"
        p.write_text("a.jpg x\nb.jpg y\n")
    elif kind == "labelstudio":
        p = tmp_path / "export.json"
        p.write_text('[{"id": 1, "data": {"image": "a.jpg"}, "annotations": [')
    elif kind == "exdark":
        p = tmp_path / "imageclasslist.txt"
        p.write_text("Name | Class | Light | In/Out | Train/Val/Test\nnot numbers here at all\n")
    elif kind == "zip":
        p = tmp_path / "export.zip"
        with zipfile.ZipFile(p, "w") as zf:
            zf.writestr("../evil.txt", "x")
        return p, "cannot be used: pass the extracted folder"  # zips are for the app; the CLI reads folders
    return p, str(p)


@pytest.mark.parametrize("kind", ["coco", "yolo", "voc", "csv", "parquet", "list", "labelstudio", "exdark"])
def test_a_corrupt_file_of_each_format_exits_2(tmp_path, capsys, kind):
    path, named = _broken(tmp_path, kind)
    code, out, err = run(capsys, "summary", str(path))
    assert code == 2, (out, err)
    first = err.strip().splitlines()[0]
    assert first.startswith("imbal: ") and named in first, err  # the file and the reason, first
    assert "Traceback" not in err and not out


def test_unknown_format_lists_what_is_supported(tmp_path, capsys):
    p = tmp_path / "notes.md"
    p.write_text("# not an export")
    code, _, err = run(capsys, "summary", str(p))
    assert code == 2 and "Supported formats" in err and "labelstudio" in err


def test_the_console_script_is_installed():
    out = subprocess.run([sys.executable, "-m", "imbal_core.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "summary" in out.stdout
    import shutil
    script = shutil.which("imbal", path=str(__import__("pathlib").Path(sys.executable).parent))
    assert script, "the `imbal` console script is not installed next to this Python"
    done = subprocess.run([script, "summary", "--json", "/no/such/file"], capture_output=True, text=True)
    assert done.returncode == 2 and "no such file" in done.stderr and "Traceback" not in done.stderr
