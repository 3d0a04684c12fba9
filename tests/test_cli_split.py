"""`imbal split`: the check (exit 1 on a leaky export) and generation (files written, group-safe, JSON shape)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import imbal_core
from imbal_core.cli import main

ROOT = Path(__file__).resolve().parents[1]
STREET = ROOT / "sample_data" / "street" / "annotations.json"


def run(capsys, *args):
    code = main(["split", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def leaky(tmp_path):
    """The street export with half of one drive moved from train to test."""
    doc = json.loads(STREET.read_text())
    drive = next(im["sequence"] for im in doc["images"] if im["split"] == "train")
    frames = [im for im in doc["images"] if im["sequence"] == drive]
    for im in frames[: len(frames) // 2]:
        im["split"] = "test"
    path = tmp_path / "leaky.json"
    path.write_text(json.dumps(doc))
    return path, drive


def test_the_check_fails_the_street_sample_on_truck_as_imbal_check_does(capsys):
    # Truck on 23.0% of val images vs 15.1% of train's (+53%): the one stratification rule fails it in both commands
    code, out, _ = run(capsys, STREET)
    assert code == 1 and out.startswith("Split check: fail (class shares of images against train: fail")
    assert "Truck +53%" in out and "leaked groups" in out
    assert "val: furthest from train's class shares: Truck 23.0% vs 15.1% (+53%)" in out


def test_the_check_fails_a_leaky_export(capsys, leaky):
    path, drive = leaky
    code, out, _ = run(capsys, path)
    assert code == 1 and "Split check: fail" in out and f"{drive} in train, test" in out
    code, out, _ = run(capsys, path, "--json")
    doc = json.loads(out)
    assert code == 1 and doc["status"] == "fail" and doc["leaks"][0]["group"] == drive
    assert {v["split"]: v["leaked_groups"] for v in doc["verdicts"]} == {"train": 1, "val": 0, "test": 1}


def test_generation_writes_group_safe_coco_splits(capsys, tmp_path):
    out_dir = tmp_path / "out"
    code, out, _ = run(capsys, STREET, "--ratios", "0.8,0.1,0.1", "--stratify", "class,time_of_day", "--seed", "0",
                       "--out", out_dir)
    assert code == 0 and "Wrote 3 file(s)" in out and "73 units placed whole" in out
    files = sorted(p.name for p in out_dir.iterdir())
    assert files == ["instances_test.json", "instances_train.json", "instances_val.json"]
    again = imbal_core.load(sorted(out_dir.iterdir()), cache=False)
    seen: dict[str, str] = {}
    for group, split in zip(again.images.column("group").to_pylist(),
                            again.images.column("split").combine_chunks().dictionary_decode().to_pylist()):
        assert seen.setdefault(group, split) == split
    code, out, _ = run(capsys, *sorted(out_dir.iterdir()))
    assert code == 0 and "leaked" in out


def test_the_group_goes_by_the_exports_own_field_name(capsys, leaky):
    # the street export names its groups `sequence` (imbal keeps them in `group`): `--group sequence` is that column
    path, drive = leaky
    code, out, err = run(capsys, path, "--group", "sequence", "--json")
    doc = json.loads(out)
    assert code == 1 and err == "" and doc["group_by"] == "group" and doc["leaks"][0]["group"] == drive
    code, out, err = run(capsys, STREET, "--ratios", "0.8,0.2", "--group", "sequence", "--stratify", "class,Time of day",
                         "--json")
    doc = json.loads(out)
    assert code in (0, 1) and err == "" and doc["group_by"] == "group" and doc["stratify_by"] == ["class", "time_of_day"]
    assert doc["blocks"] == 73  # the 73 drives, each placed whole


def test_generation_json_and_a_dry_run(capsys):
    code, out, _ = run(capsys, STREET, "--ratios", "0.9,0.1", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["written"] == [] and doc["format"] is None
    assert doc["splits"] == ["train", "val"] and doc["group_by"] == "group"
    assert doc["label_distribution_error"]["instances"] < doc["before"]["instances"]
    assert [s["split"] for s in doc["sizes"]] == ["train", "val"] and doc["health"]["status"] in ("pass", "warn")
    code, out, _ = run(capsys, STREET, "--ratios", "0.9,0.1")
    assert "Nothing written (dry run)" in out


def test_csv_output_and_no_groups(capsys, tmp_path):
    code, out, _ = run(capsys, STREET, "--ratios", "0.8,0.2", "--group", "none", "--out", tmp_path, "--out-format", "csv")
    assert code == 0 and (tmp_path / "splits.csv").exists() and "no groups" in out


@pytest.mark.parametrize("args, message", [
    (["--ratios", "0.8,0.3"], "`--ratios` must add up to 1. Got 0.8 + 0.3 = 1.1 instead."),
    (["--ratios", "0.8,0.2", "--stratify", "class,season"],
     "`--stratify` may be 'class' or a condition: ['time_of_day', 'weather', 'camera']. Got 'season' instead."),
    (["--ratios", "0.8,0.2", "--group", "season"], "`--group` may be 'group' (or the export's own name for it"),
    (["--group", "season"], "`--group` may be 'group' (or the export's own name for it"),
    (["--ratios", "0.8,0.2", "--out-format", "yolo", "--out", "x"], "`--out-format` 'yolo' needs a yolo export"),
    (["--out", "somewhere"], "`--out` needs `--ratios`"),
])
def test_bad_input_exits_2(capsys, args, message):
    code, out, err = run(capsys, STREET, *args)
    assert code == 2 and message in err


def test_out_that_is_a_file_exits_2_naming_it_before_the_search(capsys, tmp_path, monkeypatch):
    existing = tmp_path / "splits.csv"
    existing.write_text("kept\n")

    def no_search(*args, **kwargs):
        raise AssertionError("the splits were searched for although --out cannot be written")

    monkeypatch.setattr("imbal_core.cli.split.make_splits", no_search)
    for out_path, where in ((existing, "an existing file"), (existing / "new", "below")):
        code, out, err = run(capsys, STREET, "--ratios", "0.8,0.2", "--out-format", "csv", "--out", out_path)
        assert code == 2 and out == "" and "Traceback" not in err
        assert err.startswith("imbal: `--out` must be a folder (created when missing). Got '") and where in err
        assert "splits.csv" in err
    assert existing.read_text() == "kept\n"


def test_out_that_is_an_existing_folder_is_written_into(capsys, tmp_path):
    (tmp_path / "other.txt").write_text("left alone\n")
    code, out, _ = run(capsys, STREET, "--ratios", "0.8,0.2", "--out", tmp_path, "--out-format", "csv")
    assert code == 0 and f"Wrote 1 file(s) to {tmp_path} (csv)" in out
    assert (tmp_path / "splits.csv").read_text().startswith("image,split\n")
    assert (tmp_path / "other.txt").read_text() == "left alone\n"
