"""MOT reader: the real datumaro sequences, generated sequences with seqinfo.ini, MOT15 lines, every
report case, `imbal summary` in-process, and a property test (random gt.txt -> the counts written)."""
from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from imbal_core.cli import main
from imbal_core.cube import cube
from imbal_core.io import load
from imbal_core.io.mot import MOT_CLASSES, read_mot
from imbal_core.io.sniff import sniff
from imbal_core.report import LoadError, LoadReport

SEQINFO = "[Sequence]\nname={name}\nimDir=img1\nframeRate=30\nseqLength={length}\nimWidth=1920\nimHeight=1080\nimExt=.jpg\n"


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".jpg"):
            Image.new("RGB", tuple(int(v) for v in text.split("x"))).save(path)
        else:
            path.write_text(text, encoding="utf-8")
    return root


def read(root: Path, files: dict[str, str], where: str = ".", **options):
    write(root, files)
    report = LoadReport()
    return read_mot([root / where], report, **options), report


def instances(dataset) -> dict[str, int]:
    counted = cube(dataset, ())
    return dict(zip(counted.column("class").to_pylist(), counted.column("instances").to_pylist()))


def codes(report: LoadReport) -> Counter:
    return Counter(r.code for r in report)


# --------------------------------------------------------------------------- the real sequences


@pytest.mark.realdata
def test_real_mot_sequences(realdata):
    # Counted by hand: each of mot/mot_seq and mot/mot_seq_with_seqinfo has gt/gt.txt with the one line
    # `1,-1,0,4,4,8,1,3,1.0` (frame 1, box 0,4 4x8, considered, class 3 = third line of labels.txt, label_2,
    # fully visible) and a labels.txt of 10 lines label_0..label_9. seqinfo.ini says name=Test, seqLength=1,
    # 16 x 16; mot_seq has img1/000001.jpg, 16 x 16 (`file` says so).
    dataset = read_mot([realdata / "mot"])
    assert dataset.num_images == 2 and dataset.num_annotations == 2
    assert dataset.class_names == [f"label_{i}" for i in range(10)]
    assert dataset.categories.column("source_id").to_pylist() == [str(i) for i in range(1, 11)]
    assert cube(dataset, ()).to_pydict()["class"] == ["label_2"]
    images = dataset.images.to_pydict()
    assert images["group"] == ["mot_seq", "Test"]
    assert images["source_id"] == ["mot_seq/000001", "Test/000001"]
    assert (images["width"], images["height"]) == ([16, 16], [16, 16])
    assert images["visibility"] == ["full", "full"]
    box = dataset.annotations.slice(0, 1).to_pylist()[0]
    assert (box["x"], box["y"], box["w"], box["h"], box["difficult"]) == (0, 4, 4, 8, False)


@pytest.mark.realdata
@pytest.mark.parametrize("where", ["mot", "mot/mot_seq", "mot/mot_seq_with_seqinfo/gt/gt.txt"])
def test_sniffed(realdata, where):
    assert sniff([realdata / where]) == "mot"


@pytest.mark.realdata
def test_imbal_summary_reads_the_real_folder(realdata, capsys):
    code = main(["summary", str(realdata / "mot"), "--json", "--no-cache"])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["format"], doc["images"], doc["annotations"], doc["classes_declared"]) == ("mot", 2, 2, 10)
    assert {c["class"]: c["instances"] for c in doc["classes"] if c["instances"]} == {"label_2": 2}


# --------------------------------------------------------------------------- generated sequences


def test_seqinfo_gives_every_frame_size_and_name(tmp_path):
    gt = "\n".join(["1,1,10,10,50,100,1,1,1.0", "1,2,100,10,50,100,0,7,0.3", "3,1,12,10,50,100,1,1,0.6"])
    dataset, report = read(tmp_path, {"MOT17/train/MOT17-02/seqinfo.ini": SEQINFO.format(name="MOT17-02", length=4),
                                      "MOT17/train/MOT17-02/gt/gt.txt": gt}, where="MOT17")
    images = dataset.images.to_pydict()
    assert dataset.num_images == 4  # seqLength: frames 2 and 4 have no boxes and still count
    assert images["file_name"] == [f"img1/{i:06d}.jpg" for i in range(1, 5)]
    assert set(images["split"]) == {"train"} and set(images["group"]) == {"MOT17-02"}
    assert set(images["width"]) == {1920}
    assert dataset.class_names == list(MOT_CLASSES)  # no labels.txt: MOT's own classes
    assert instances(dataset) == {"pedestrian": 2, "static person": 1}
    assert dataset.annotations.column("difficult").to_pylist() == [False, True, False]  # consider 0 -> difficult
    assert images["visibility"] == ["mixed", None, "partial", None]
    assert not codes(report) - Counter({"object_flag": 1})


def test_mot15_lines_have_no_class(tmp_path):
    dataset, report = read(tmp_path, {"ADL-Rundle-6/gt/gt.txt": "1,1,10,10,50,100,1,-1,-1,-1\n2,1,12,10,50,100,1,-1,-1,-1\n"},
                           where="ADL-Rundle-6")
    assert dataset.num_annotations == 2 and cube(dataset, ()).column("class").to_pylist() == ["pedestrian"]
    assert [r.code for r in report] == ["no_class"]  # once per file; no visibility, so no condition
    assert dataset.conditions == ()


def test_frames_from_the_image_folder_without_seqinfo(tmp_path):
    dataset, report = read(tmp_path, {"seq/img1/000001.jpg": "64x48", "seq/img1/000002.jpg": "64x48",
                                      "seq/gt/gt.txt": "2,1,1,1,5,5,1,1,1\n5,1,1,1,5,5,1,1,1\n"}, where="seq")
    assert dataset.images.column("source_id").to_pylist() == ["seq/000001", "seq/000002", "seq/000005"]
    assert set(dataset.images.column("width").to_pylist()) == {64}
    assert [r.record for r in report if r.code == "frame_outside"] == ["seq/gt/gt.txt:2"]


def test_two_sequences_with_one_name_stay_apart(tmp_path):
    files = {f"{split}/a/seqinfo.ini": SEQINFO.format(name="same", length=1) for split in ("train", "test")}
    files.update({f"{split}/a/gt/gt.txt": "1,1,1,1,5,5,1,1,1\n" for split in ("train", "test")})
    dataset, report = read(tmp_path, files)
    assert len(set(dataset.images.column("group").to_pylist())) == 2
    assert codes(report)["duplicate_id"] == 1


def test_load_auto_reads_a_gt_file(tmp_path):
    write(tmp_path, {"s/gt/gt.txt": "1,1,1,1,5,5,1,1,1\n"})
    assert load(tmp_path / "s" / "gt" / "gt.txt", cache=False).format == "mot"


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("line, code, action", [
    ("1,1,10,10", "bad_line", "skipped"),
    ("1,1,ten,10,50,100,1,1,1", "bad_line", "skipped"),
    ("0,1,10,10,50,100,1,1,1", "bad_line", "skipped"),  # frames start at 1
    ("1,1,10,10,50,100,1,99,1", "unknown_class", "skipped"),
    ("1,1,nan,10,50,100,1,1,1", "non_finite_box", "skipped"),
    ("1,1,60,10,-50,100,1,1,1", "non_positive_box", "kept"),  # x2 < x1
    ("1,1,-10,10,50,100,1,1,1", "box_clipped", "clipped"),
    ("1,1,10,10,50,100,2,1,1", "bad_flag", "kept with difficult unknown"),
    ("1,1,10,10,50,100,1,1,1.5", "bad_flag", "kept with visibility unknown"),
    ("9,1,10,10,50,100,1,1,1", "frame_outside", "added the frame"),
])
def test_bad_lines_are_reported(tmp_path, line, code, action):
    dataset, report = read(tmp_path, {"s/seqinfo.ini": SEQINFO.format(name="s", length=2),
                                      "s/gt/gt.txt": "1,1,10,10,50,100,1,1,1\n" + line + "\n"}, where="s")
    rows = [r for r in report if r.code == code]
    assert len(rows) == 1 and rows[0].action == action, report.rows
    assert rows[0].record == "s/gt/gt.txt:2"


@pytest.mark.parametrize("seqinfo, problem", [
    ("not an ini file", "not readable as an INI file"),
    ("[Other]\nname=x\n", "no [Sequence] section"),
    ("[Sequence]\nseqLength=-3\n", "seqlength '-3' is not a whole number from 1"),
    ("[Sequence]\nimWidth=99999999999\n", "imwidth '99999999999' is not a whole number from 1"),
    ("[Sequence]\nseqLength=2000000000\n", "seqlength '2000000000' is not a whole number from 1 to 1,000,000"),
])
def test_bad_seqinfo_is_reported_and_ignored(tmp_path, seqinfo, problem):
    dataset, report = read(tmp_path, {"s/seqinfo.ini": seqinfo, "s/gt/gt.txt": "1,1,10,10,50,100,1,1,1\n"}, where="s")
    assert dataset.num_images == 1
    assert any(r.code == "bad_seqinfo" and problem in r.problem for r in report), report.rows


def test_a_folder_without_gt_is_refused(tmp_path):
    (tmp_path / "img1").mkdir()
    with pytest.raises(LoadError, match="no gt/gt.txt"):
        read_mot([tmp_path])


def test_imbal_summary_exits_2_without_a_traceback(tmp_path, capsys):
    (tmp_path / "img1").mkdir()
    assert main(["summary", str(tmp_path), "--format", "mot"]) == 2
    _, err = capsys.readouterr()
    assert "no gt/gt.txt" in err and "Traceback" not in err


# --------------------------------------------------------------------------- property


_line = st.tuples(st.integers(1, 6), st.integers(1, 3), st.integers(0, 50), st.integers(0, 50), st.integers(1, 30),
                  st.integers(1, 30), st.sampled_from([0, 1]), st.integers(1, 12), st.sampled_from([0.0, 0.4, 1.0]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_line, max_size=12), st.integers(1, 8))
def test_counts_equal_what_was_written(lines, length):
    with tempfile.TemporaryDirectory() as tmp:
        text = "\n".join(",".join(map(str, line)) for line in lines)
        dataset, report = read(Path(tmp), {"s/seqinfo.ini": SEQINFO.format(name="s", length=length),
                                           "s/gt/gt.txt": text}, where="s")
        written = Counter(MOT_CLASSES[line[7] - 1] for line in lines)
        assert instances(dataset) == written
        assert dataset.num_images == len(set(range(1, length + 1)) | {line[0] for line in lines})
        assert sum(dataset.annotations.column("difficult").to_pylist()) == sum(line[6] == 0 for line in lines)


def test_a_sequence_whose_name_is_not_utf8_is_skipped(tmp_path):
    write(tmp_path, {"a/gt/gt.txt": "1,1,1,1,5,5,1,1,1\n"})
    odd = Path(os.fsdecode(bytes(tmp_path) + b"/b\xff"))
    (odd / "gt").mkdir(parents=True)
    (odd / "gt" / "gt.txt").write_text("1,1,1,1,5,5,1,1,1\n")
    dataset = read_mot([tmp_path])
    assert dataset.num_images == 1 and codes(dataset.report)["undecodable_name"] == 1
    dataset.report.to_arrow()
