"""Hostile input, the leftovers of issue 12: what still crashed or misled after the first corpus.

Each case holds the promise of the other two files: exit 0, 1 or 2; no traceback and no "internal
error"; a short message naming the file; nothing good lost. Classes:

- a root folder whose own name is not UTF-8: every JSON, CSV, Parquet and Markdown output that
  carries its path (``--json``, plan documents, quota snapshots);
- a COCO file (or any JSON) holding an escaped lone surrogate (``"\\udcff"``);
- YAML that PyYAML's reader refuses outright (a NUL byte) or whose constructors fail;
- ``plan --targets`` naming a class the export lacks;
- a zip of predictions (CLI) or an upload (app) with one entry that cannot be extracted: that
  entry is skipped and reported, the rest is read;
- a VOC image past Pillow's decompression-bomb limit whose size the XML lacks;
- DuckDB connections left open (a native thread alive at interpreter exit);
- every command given a folder for a file, a file for a folder, a missing, empty or binary file.
"""
from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from imbal_core import load
from imbal_core.cli import main
from imbal_core.downloads import csv_bytes, json_bytes, parquet_bytes
from imbal_core.io import coco as coco_reader
from imbal_core.io.files import parse_json, parse_yaml
from imbal_core.plan.spec import check_target_classes
from imbal_core.quotas import snapshot as snapshot_module
from imbal_core.quotas import store as store_module
from imbal_core.report import LoadError, LoadReport, safe_text

ROOT = Path(__file__).resolve().parents[2]
STREET = ROOT / "sample_data" / "street" / "annotations.json"
STREET_PRED = ROOT / "sample_data" / "street" / "predictions.json"
STREET_CLASSES = ["Bicycle", "Bus", "Car", "Motorcycle", "Person", "Stroller", "Traffic light", "Traffic sign",
                  "Truck", "Wheelchair"]


# --------------------------------------------------------------------------- helpers


def run(capsys, caplog, *args) -> tuple[int, str, str]:
    """Exit code, stdout, and everything else the user sees (stderr and the warnings logged)."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err + caplog.text


def assert_handled(code: int, text: str, *named: str) -> None:
    assert code in (0, 1, 2), text[-2000:]
    assert "Traceback" not in text and "internal error" not in text, text[-2000:]
    for name in named:
        assert name in text, f"{name!r} not named in: {text[-2000:]}"


def run_process(*args, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """``imbal ARGS`` as a real process (bytes out: a name that is not UTF-8 stays as it is)."""
    exe = Path(sys.executable).with_name("imbal")
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, timeout=120, cwd=cwd,
                          env={**os.environ, **(env or {})})


def bytes_name(folder: Path, name: bytes) -> Path:
    """A path in ``folder`` whose last part is the raw bytes ``name`` (not valid UTF-8)."""
    return Path(os.fsdecode(os.fsencode(folder) + b"/" + name))


@pytest.fixture
def undecodable_root(tmp_path) -> Path:
    """``tmp/exp\\xff/``: a root folder whose own name is not UTF-8, holding a small COCO export."""
    try:
        root = bytes_name(tmp_path, b"exp\xff")
        root.mkdir()
    except (OSError, UnicodeError) as exc:  # macOS and Windows file systems refuse such names
        pytest.skip(f"this file system refuses names that are not UTF-8 ({exc})")
    (root / "annotations.json").write_text(json.dumps(coco_doc()))
    return root


def coco_doc(names=("car", "bus"), images: int = 4) -> dict:
    """Images 1..n, one annotation each, classes alternating; splits train / val."""
    return {
        "images": [{"id": i, "file_name": f"{i}.jpg", "width": 64, "height": 48, "split": "train" if i % 2 else "val"}
                   for i in range(1, images + 1)],
        "annotations": [{"id": i, "image_id": i, "category_id": 1 + i % len(names), "bbox": [1, 1, 10, 10],
                         "area": 100, "iscrowd": 0} for i in range(1, images + 1)],
        "categories": [{"id": i, "name": n} for i, n in enumerate(names, start=1)],
    }


# --------------------------------------------------------------------------- 1. a root folder named in bytes


SHOWN = "exp\\xff"  # how the undecodable part of the name is written out


def test_text_is_made_safe_only_when_it_must_be():
    assert safe_text("exp é") == "exp é"
    assert safe_text(os.fsdecode(b"exp\xff")) == SHOWN
    assert safe_text("a\ud800b") == "a\\ud800b"  # a lone surrogate that is no escaped byte


def test_summary_json_of_a_root_named_in_bytes(capsys, caplog, undecodable_root):
    code, out, err = run(capsys, caplog, "summary", "--json", "--no-cache", undecodable_root)
    assert_handled(code, out + err)
    doc = json.loads(out)
    assert code == 0 and doc["images"] == 4
    assert doc["sources"] == [safe_text(str(undecodable_root / "annotations.json"))]
    assert SHOWN in doc["sources"][0]


def test_summary_json_of_a_root_named_in_bytes_as_a_real_process(undecodable_root):
    done = run_process("summary", "--json", "--no-cache", undecodable_root,
                       env={"IMBAL_CACHE_DIR": str(undecodable_root.parent / "cache")})
    assert done.returncode == 0, done.stderr[-2000:]
    doc = json.loads(done.stdout.decode("utf-8"))  # valid UTF-8 JSON
    assert SHOWN in doc["sources"][0] and doc["images"] == 4


@pytest.fixture
def undecodable_file(undecodable_root) -> Path:
    """``tmp/exp\\xff/ann\\xff.json``: a COCO file given by a name that is not UTF-8 (a folder
    reader would skip and report it; given explicitly, it is read)."""
    path = bytes_name(undecodable_root, b"ann\xff.json")
    path.write_text(json.dumps(coco_doc()))
    return path


@pytest.mark.parametrize("suffix", [".json", ".md", ".csv"])
def test_plan_documents_of_a_file_named_in_bytes(capsys, caplog, tmp_path, undecodable_file, suffix):
    output = tmp_path / f"plan{suffix}"
    code, out, err = run(capsys, caplog, "plan", "--no-cache", "--json", undecodable_file, "--output", output)
    assert_handled(code, out + err)
    assert code == 0
    assert json.loads(out)["source"]["dataset"] == [safe_text(str(undecodable_file))]
    written = output.read_bytes().decode("utf-8")  # valid UTF-8 whatever the document
    if suffix == ".json":
        assert json.loads(written)["inputs"]["source"]["dataset"] == [safe_text(str(undecodable_file))]
    elif suffix == ".md":  # the CSV holds one row per class, no file name
        assert "ann\\xff.json" in written


def test_a_quota_snapshot_of_a_file_named_in_bytes(capsys, caplog, tmp_path, undecodable_file):
    workspace = tmp_path / "ws.duckdb"
    code, _, err = run(capsys, caplog, "quota", "set", "--workspace", workspace, "p", "--target", "car=5",
                       "--deadline", "2030-01-01")
    assert code == 0, err
    code, out, err = run(capsys, caplog, "quota", "ingest", "--workspace", workspace, "--at", "2026-01-05", "--json",
                         "p", undecodable_file)
    assert_handled(code, out + err)
    assert code == 0
    code, out, err = run(capsys, caplog, "quota", "list", "--workspace", workspace, "--json", "p")
    assert code == 0 and json.loads(out)["snapshots"][0]["source"] == "ann\\xff.json"


def test_outputs_write_paths_that_are_not_utf8_with_escapes():
    path = os.fsdecode(b"/data/exp\xff/a.json")
    lone = "cat\udcff"
    doc = json.loads(json_bytes({"sources": [path], path: 1, "as_object": Path(path), "name": lone, "nan": float("nan")}))
    assert doc == {"sources": ["/data/exp\\xff/a.json"], "/data/exp\\xff/a.json": 1,
                   "as_object": "/data/exp\\xff/a.json", "name": "cat\\xff", "nan": None}
    import pandas as pd

    frame = pd.DataFrame({"file": pd.Series([path, "ok.jpg"], dtype=object), "n": [1, 2]})
    assert csv_bytes(frame).decode("utf-8").splitlines() == ["file,n", "/data/exp\\xff/a.json,1", "ok.jpg,2"]
    table = pq.read_table(io.BytesIO(parquet_bytes(frame)))
    assert table.column("file").to_pylist() == ["/data/exp\\xff/a.json", "ok.jpg"]
    assert json_bytes({"plain": "é"}) == '{\n  "plain": "é"\n}'.encode()  # valid text is left alone


# --------------------------------------------------------------------------- 2. escaped lone surrogates in JSON


@pytest.mark.parametrize("fast", [False, True], ids=["per-record path", "fast path first"])
def test_a_coco_name_with_a_lone_surrogate_is_read_and_reported(capsys, caplog, tmp_path, monkeypatch, fast):
    if fast:  # the fast path refuses the escape (msgspec, pyarrow) and hands the file to the per-record path
        monkeypatch.setattr(coco_reader, "FAST_PATH_MIN_BYTES", 0)
    path = tmp_path / "instances.json"
    text = json.dumps(coco_doc(names=("XX", "bus"))).replace("XX", "cat\\udcff")
    path.write_text(text.replace('"1.jpg"', '"a\\ud800.jpg"'))
    code, out, err = run(capsys, caplog, "summary", "--json", "--no-cache", path)
    assert_handled(code, out + err)
    doc = json.loads(out)
    assert code == 0 and doc["images"] == 4 and doc["annotations"] == 4
    assert {c["class"] for c in doc["classes"]} == {"cat\\udcff", "bus"}
    rows = [r for r in doc["report"] if r["code"] == "lone_surrogate"]
    assert len(rows) == 1 and rows[0]["file"] == str(path) and rows[0]["problem"].startswith("2 text value(s)")


def test_parse_json_rewrites_lone_surrogates_in_keys_and_values_and_leaves_pairs():
    report = LoadReport()
    data = b'{"a\\udcff": ["x\\ud800", {"k": "\\ud83d\\ude00 ok"}], "deep": [[["\\udfff"]]]}'
    doc = parse_json(data, "f.json", report)
    assert doc == {"a\\udcff": ["x\\ud800", {"k": "\U0001F600 ok"}], "deep": [[["\\udfff"]]]}
    assert [r.code for r in report] == ["lone_surrogate"] and report.rows[0].file == "f.json"
    clean = LoadReport()
    assert parse_json(b'{"k": "\\ud83d\\ude00"}', "g.json", clean) == {"k": "\U0001F600"} and not clean


# --------------------------------------------------------------------------- 3. YAML PyYAML refuses


@pytest.mark.parametrize("text, match", [
    ("names: ['a\x00b']\n", "unacceptable character #x0000"),
    ("names: [a]\n\x07\n", "unacceptable character #x0007"),
    ("created: !!timestamp 99999-01-01\n", "a value cannot be read"),
])
def test_parse_yaml_turns_every_yaml_error_into_a_load_error(text, match):
    with pytest.raises(LoadError, match=match) as info:
        parse_yaml(text, "data.yaml")
    assert str(info.value).startswith("data.yaml: ") and info.value.file == "data.yaml"


def test_a_data_yaml_with_a_nul_byte_exits_2_naming_it(capsys, caplog, tmp_path):
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    data = tmp_path / "data.yaml"
    data.write_bytes(b"names: ['car\x00']\ntrain: images\n")
    code, out, err = run(capsys, caplog, "summary", "--no-cache", data)
    assert_handled(code, out + err, str(data))
    assert code == 2 and "#x0000" in err


def test_a_hierarchy_mapping_with_a_nul_byte_exits_2_naming_it(capsys, caplog, tmp_path):
    mapping = tmp_path / "mapping.yaml"
    mapping.write_bytes(b"Car: vehicle\nBus: \x00\n")
    code, out, err = run(capsys, caplog, "hierarchy", "--no-cache", STREET, "--mapping", mapping)
    assert_handled(code, out + err, str(mapping))
    assert code == 2


# --------------------------------------------------------------------------- 4. plan --targets


@pytest.mark.parametrize("name, content, counts, expected", [
    ("targets.json", '{"Carr": 100}', None, "Did you mean 'Car'?"),
    ("targets.csv", "class,target\nNoSuch,100\nCar,5\n", None, "'NoSuch'"),
    ("targets.json", '{"Nope": 5}', "Car=100,Bus=5", "not in `--counts`"),
])
def test_unknown_target_classes_name_the_targets_file(capsys, caplog, tmp_path, name, content, counts, expected):
    targets = tmp_path / name
    targets.write_text(content)
    source = ["--counts", counts] if counts else ["--no-cache", STREET]
    code, out, err = run(capsys, caplog, "plan", *source, "--targets", targets)
    assert_handled(code, out + err, str(targets), expected)
    assert code == 2 and err.startswith(f"imbal: {targets}: 1 class(es) not in")


@pytest.mark.parametrize("name, content, expected", [
    ("neg.json", '{"Car": -5}', "must be at least 0"),
    ("text.csv", "class,target\nCar,lots\n", "must be a number"),
    ("folder", None, "is a folder"),
])
def test_other_target_errors_name_the_file(capsys, caplog, tmp_path, name, content, expected):
    targets = tmp_path / name
    if content is None:
        targets.mkdir()
    else:
        targets.write_text(content)
    code, out, err = run(capsys, caplog, "plan", "--counts", "Car=100,Bus=5", "--targets", targets)
    assert_handled(code, out + err, str(targets), expected)
    assert code == 2


def test_check_target_classes_cuts_a_long_list_of_known_classes():
    known = [f"class_{i:04d}" for i in range(2000)]
    with pytest.raises(ValueError, match=r"^t\.csv: 1 class\(es\) not in the export: \['x'\]") as info:
        check_target_classes({"x": 1.0}, known, "t.csv")
    assert len(str(info.value)) < 500
    check_target_classes({"class_0001": 1.0}, known, "t.csv")  # known: no error


# --------------------------------------------------------------------------- 5. zips with one bad entry


def _encrypt_entry(path: Path, entry: str) -> None:
    """Set the encryption flag of ``entry`` in both its local and its central header."""
    data = bytearray(path.read_bytes())
    encoded = entry.encode()
    for signature, flag_at, name_at in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
        start = data.find(signature)
        while start >= 0:
            if data[start + name_at:start + name_at + len(encoded)] == encoded:
                data[start + flag_at] |= 1
            start = data.find(signature, start + 4)
    path.write_bytes(bytes(data))


def _yolo_export(root: Path) -> Path:
    (root / "labels" / "val").mkdir(parents=True)
    (root / "data.yaml").write_text("names: [car, person]\nval: images/val\n")
    (root / "labels" / "val" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (root / "labels" / "val" / "b.txt").write_text("1 0.2 0.2 0.1 0.1\n")
    return root / "data.yaml"


def _predictions_zip(path: Path, bad: str = "predict/labels/b.txt") -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("predict/labels/a.txt", "0 0.5 0.5 0.2 0.2 0.9\n")
        zf.writestr("predict/labels/b.txt", "1 0.2 0.2 0.1 0.1 0.8\n")
    _encrypt_entry(path, bad)
    return path


def test_eval_skips_the_bad_entry_of_a_predictions_zip_and_reads_the_rest(capsys, caplog, tmp_path):
    data = _yolo_export(tmp_path / "yolo")
    archive = _predictions_zip(tmp_path / "pred.zip")
    code, out, err = run(capsys, caplog, "eval", "--json", "--no-cache", data, "--pred", archive)
    assert_handled(code, out + err, str(archive), "'predict/labels/b.txt'", "encrypted")
    assert code == 0
    doc = json.loads(out)
    assert doc["predictions"]["matched"] == 1 and doc["predictions"]["file"] == str(archive)
    first = doc["predictions"]["report"][0]
    assert first["code"] == "bad_archive_entry" and first["file"] == str(archive) and "encrypted" in first["example"]
    # rows = ground truth (car, person, background): the car found; the person's prediction was skipped
    assert doc["confusion"]["matrix"] == [[1, 0, 0], [0, 0, 1], [0, 0, 0]]
    assert "imbal-pred-" not in out + err  # the archive is named, never the temporary folder


def test_eval_text_output_lists_the_skipped_entry(capsys, caplog, tmp_path):
    data = _yolo_export(tmp_path / "yolo")
    archive = _predictions_zip(tmp_path / "pred.zip")
    code, out, err = run(capsys, caplog, "eval", "--no-cache", data, "--pred", archive)
    assert_handled(code, out + err)
    assert code == 0 and "bad_archive_entry" in out
    assert f"imbal: {archive}: skipped the entry 'predict/labels/b.txt'" in err


def test_eval_of_a_zip_whose_only_entry_is_bad_names_the_archive(capsys, caplog, tmp_path):
    data = _yolo_export(tmp_path / "yolo")
    archive = tmp_path / "pred.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("a.txt", "0 0.5 0.5 0.2 0.2 0.9\n")
    _encrypt_entry(archive, "a.txt")
    code, out, err = run(capsys, caplog, "eval", "--no-cache", data, "--pred", archive)
    assert_handled(code, out + err, "'a.txt'", "encrypted")
    assert code == 2 and "imbal-pred-" not in err
    assert f"imbal: {archive}: no .txt prediction files" in err


def test_an_upload_keeps_the_skipped_entries_and_reports_them_again(monkeypatch, tmp_path):
    from imbal_app import loader

    monkeypatch.setenv("IMBAL_UPLOAD_DIR", str(tmp_path / "uploads"))
    archive = _predictions_zip(tmp_path / "pred.zip")
    for _ in range(2):  # the second time from the folder already extracted
        report = LoadReport()
        root = loader.save_upload("my preds.zip", archive.read_bytes(), report)
        assert sorted(p.name for p in root.rglob("*.txt")) == ["a.txt"]
        assert [(r.file, r.record, r.code, r.action) for r in report] == [
            ("my preds.zip", "predict/labels/b.txt", "bad_archive_entry", "skipped")]


def test_the_sidebar_shows_skipped_upload_entries_in_the_load_report(monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("IMBAL_UPLOAD_DIR", str(tmp_path / "uploads"))
    monkeypatch.setenv("IMBAL_DATA_ROOT", str(ROOT))
    monkeypatch.setenv("IMBAL_WORKSPACE", str(tmp_path / "workspace.duckdb"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("export/instances.json", json.dumps(coco_doc()))
        zf.writestr("export/notes.txt", "secret")
    archive = tmp_path / "export.zip"
    archive.write_bytes(buffer.getvalue())
    _encrypt_entry(archive, "export/notes.txt")
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.run()
    app.button_group(key="source_kind").set_value("Upload").run()
    app.file_uploader(key="upload_files").set_value(("export.zip", archive.read_bytes(), "application/zip")).run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    assert next(m.value for m in app.metric if m.label == "Images") == "4"
    shown = "\n".join(str(d.value) for d in app.dataframe)
    assert "bad_archive_entry" in shown and "export.zip" in shown


# --------------------------------------------------------------------------- 6. VOC image sizes from the header


def _png_header(path: Path, width: int, height: int) -> Path:
    """A PNG whose header declares ``width`` x ``height`` (the pixels are never read)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))
    return path


def test_a_voc_image_past_pillows_limit_gives_its_size(tmp_path):
    from PIL import Image

    side = 20000  # 400 million pixels: past twice Pillow's MAX_IMAGE_PIXELS
    assert side * side > 2 * Image.MAX_IMAGE_PIXELS
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "JPEGImages").mkdir()
    _png_header(tmp_path / "JPEGImages" / "aerial.png", side, side)
    (tmp_path / "Annotations" / "aerial.xml").write_text(
        "<annotation><filename>aerial.png</filename><object><name>roof</name>"
        "<bndbox><xmin>10</xmin><ymin>10</ymin><xmax>19000</xmax><ymax>50</ymax></bndbox></object></annotation>")
    ds = load(tmp_path, format="voc", cache=False)
    assert ds.images.column("width").to_pylist() == [side] and ds.images.column("height").to_pylist() == [side]
    row = next(r for r in ds.report if r.code == "bad_image_size")
    assert f"read {side}x{side} from the header" in row.action


# --------------------------------------------------------------------------- 7. DuckDB connections closed


@pytest.fixture
def connections(monkeypatch) -> list:
    """Every DuckDB connection the quota modules open."""
    opened: list = []
    real = duckdb.connect

    def spy(*args, **kwargs):
        con = real(*args, **kwargs)
        opened.append(con)
        return con

    monkeypatch.setattr(store_module.duckdb, "connect", spy)
    return opened


def _closed(con) -> bool:
    try:
        con.execute("SELECT 1")
    except duckdb.ConnectionException:
        return True
    return False


def test_counts_without_a_workspace_close_their_scratch_connection(connections, tmp_path):
    table = store_module.Workspace(tmp_path / "missing.duckdb").counts([1])
    assert table.num_rows == 0 and "snapshot_id" in table.column_names
    assert connections and all(_closed(c) for c in connections)


def test_project_data_closes_its_connection_when_it_fails(connections, monkeypatch):
    ds = load(STREET, cache=False)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(store_module, "write_snapshot", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        store_module.project_data(ds, at="2026-01-05")
    assert connections and all(_closed(c) for c in connections)


def test_snapshot_rows_close_their_connection(connections):
    ds = load(STREET, cache=False)
    assert snapshot_module.duckdb is store_module.duckdb  # the spy sees both modules' connections
    snapshot_module.snapshot_rows(ds, at="2026-01-05")
    assert connections and all(_closed(c) for c in connections)


def test_every_duckdb_connection_in_the_library_is_closed_by_a_with_or_a_finally():
    """A static look at every ``duckdb.connect(``: it opens a ``with`` block, or the function
    closes the connection in a ``finally`` (or hands it to an object that does)."""
    allowed = {  # connections handed to an owner that closes them
        ("io/coco/_jsonfast.py", "self.connection = duckdb.connect()"),  # Warmup.close(), called in io/coco/fast.py's finally
        ("quotas/store.py", "return duckdb.connect(str(self.path))"),  # Workspace._open: closed by _connect's finally
    }
    found = []
    for path in sorted((ROOT / "imbal_core").rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if "duckdb.connect(" not in line:
                continue
            rel = str(path.relative_to(ROOT / "imbal_core"))
            code = line.strip()
            if code.startswith("with ") or (rel, code) in allowed:
                continue
            if "try:" not in "\n".join(lines[i + 1:i + 3]):
                found.append((rel, i + 1, code))
    assert found == []


def test_a_quota_command_as_a_real_process_exits_cleanly(tmp_path):
    done = run_process("quota", "list", "--workspace", tmp_path / "missing.duckdb", "--json")
    assert done.returncode in (0, 2), done.stderr[-2000:]
    assert b"terminate called" not in done.stderr and b"Traceback" not in done.stderr


# --------------------------------------------------------------------------- 8. every command, wrong kinds of input


def _kinds(root: Path) -> dict[str, Path]:
    """One input of each wrong kind, by a path relative to ``root`` (the working folder of the test:
    messages then show the whole name, however long the temporary folder)."""
    (root / "folder").mkdir()
    (root / "empty.json").write_bytes(b"")
    (root / "binary.bin").write_bytes(bytes(range(256)) * 8)
    (root / "binary.json").write_bytes(b"\x00\xff\xfe" * 100)
    (root / "binary.yaml").write_bytes(b"\x00\xff\xfe" * 100)
    (root / "file.txt").write_text("hello\n")
    names = {"folder": "folder", "missing": "missing.json", "empty": "empty.json", "binary": "binary.bin",
             "binary json": "binary.json", "binary yaml": "binary.yaml", "file": "file.txt"}
    return {kind: Path(name) for kind, name in names.items()}


LANES = ROOT / "sample_data" / "lanes"
COMMANDS = {  # {x}: the hostile input; {yolo}: a small YOLO export, {yolo_pred}: its predictions folder
    "summary": ["summary", "--json", "{x}"],
    "check": ["check", "{x}"],
    "strata": ["strata", "--by", "weather", "{x}"],
    "split": ["split", "--json", "{x}"],
    "hierarchy": ["hierarchy", "{x}"],
    "plan": ["plan", "{x}"],
    "conditions": ["summary", str(STREET), "--conditions", "{x}"],
    "mask classes": ["summary", str(LANES / "masks"), "--format", "masks", "--opt", "classes={x}"],
    "eval gt": ["eval", "{x}", "--pred", str(STREET_PRED)],
    "eval pred": ["eval", "--json", str(STREET), "--pred", "{x}"],
    "eval names": ["eval", "{yolo}", "--pred", "{yolo_pred}", "--names", "{x}"],
    "eval hard negatives": ["eval", str(STREET), "--pred", str(STREET_PRED), "--hard-negatives", "{x}"],
    "eval masks": ["eval", str(STREET), "--pred", "{x}", "--gt-masks", "{x}", "--mask-classes", "{x}"],
    "hierarchy mapping": ["hierarchy", str(STREET), "--mapping", "{x}"],
    "hierarchy out": ["hierarchy", str(STREET), "--merge", "Bus=Car", "--out", "{x}"],
    "plan targets": ["plan", "--counts", "Car=5,Bus=1", "--targets", "{x}"],
    "plan output": ["plan", "--counts", "Car=5,Bus=1", "--output", "{x}"],
    "quota list": ["quota", "list", "--workspace", "{x}"],
    "quota status": ["quota", "status", "--workspace", "{x}", "p"],
    "quota set": ["quota", "set", "--workspace", "{x}", "p", "--target", "Car=5", "--deadline", "2030-01-01"],
    "select pool": ["select", "--pool", "{x}", "--n", "5"],
    "select images": ["select", "--pool", str(STREET_PRED), "--images", "{x}", "--n", "5"],
    "select output": ["select", "--pool", str(STREET_PRED), "--n", "5", "-o", "{x}"],
}
#: Commands whose hostile argument is an output file (written where nothing was, or over a file).
WRITES = {"eval hard negatives", "hierarchy out", "plan output", "select output"}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_meets_wrong_kinds_of_input(capsys, caplog, tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    kinds = _kinds(tmp_path)
    yolo = _yolo_export(tmp_path / "yolo")
    (tmp_path / "yolo_pred").mkdir()
    (tmp_path / "yolo_pred" / "a.txt").write_text("0 0.5 0.5 0.2 0.2 0.9\n")
    for kind, path in kinds.items():
        if command == "quota set" and kind == "missing":
            continue  # creates the workspace: no wrong input
        argv = [a.replace("{x}", str(path)).replace("{yolo_pred}", str(tmp_path / "yolo_pred")).replace("{yolo}", str(yolo))
                for a in COMMANDS[command]]
        code, out, err = run(capsys, caplog, *argv)
        text = out + err
        assert code in (0, 1, 2), (kind, code, text[-1500:])
        assert "Traceback" not in text and "internal error" not in text, (kind, text[-1500:])
        if code == 2:  # names the input; class names that match nothing: the predictions they name
            assert str(path) in err or (command == "eval names" and "yolo_pred" in err), (kind, err[-1500:])
        if command in WRITES and kind == "folder":  # an output given a folder: refused by name
            assert code == 2, (kind, text[-1500:])


@pytest.mark.parametrize("argv", [
    ["plan", "--counts", "Car=5,Bus=1", "--output", "{x}.json"],
    ["plan", "--no-cache", str(STREET), "--weights", "{x}.csv"],
    ["eval", "--no-cache", str(STREET), "--pred", str(STREET_PRED), "--hard-negatives", "{x}"],
    ["select", "--pool", str(STREET_PRED), "--n", "5", "-o", "{x}"],
    ["hierarchy", "--no-cache", str(STREET), "--merge", "Bus=Car", "--out", "{x}.json"],
])
def test_an_output_that_is_a_folder_is_refused_by_name(capsys, caplog, tmp_path, argv):
    target = tmp_path / "out"
    argv = [a.replace("{x}", str(target)) for a in argv]
    Path(argv[-1]).mkdir()
    code, out, err = run(capsys, caplog, *argv)
    assert_handled(code, out + err)
    assert code == 2 and err.startswith(f"imbal: {argv[-1]}: is a folder"), err


def test_a_pipe_as_the_quota_workspace_is_refused_not_waited_on(capsys, caplog, tmp_path):
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    code, out, err = run(capsys, caplog, "quota", "set", "--workspace", pipe, "p", "--target", "Car=5",
                         "--deadline", "2030-01-01")
    assert_handled(code, out + err, str(pipe))
    assert code == 2 and "regular file" in err


def test_a_workspace_that_is_not_one_is_named(capsys, caplog, tmp_path):
    other = tmp_path / "other.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("CREATE TABLE t (x INTEGER)")
    code, out, err = run(capsys, caplog, "quota", "list", "--workspace", other)
    assert_handled(code, out + err)
    assert code == 2 and err.startswith(f"imbal: {other}: This DuckDB file is not an imbal workspace")


def test_a_workspace_path_that_is_not_utf8_is_refused_by_name(capsys, caplog, undecodable_root):
    workspace = undecodable_root / "ws.duckdb"
    code, out, err = run(capsys, caplog, "quota", "set", "--workspace", workspace, "p", "--target", "Car=5",
                         "--deadline", "2030-01-01")
    assert_handled(code, out + err, SHOWN)
    assert code == 2 and "not valid UTF-8" in err


def test_a_select_pool_without_predictions_is_refused_naming_it(capsys, caplog, tmp_path):
    code, out, err = run(capsys, caplog, "select", "--pool", STREET, "--n", "5")  # ground truth: no scores
    assert_handled(code, out + err, str(STREET))
    assert code == 2 and "no prediction could be read" in err


def test_object_uncertainty_of_no_object_at_all():
    import numpy as np

    from imbal_core.active.objects import _Objects, _object_uncertainty

    none = _Objects(*(np.zeros(0, np.int64),) * 2, *(np.zeros(0, np.int64),) * 2, np.zeros(0))
    for rule in ("entropy", "margin", "least-confidence"):
        assert _object_uncertainty(none, rule, 3).shape == (0,)
    background_only = _Objects(np.zeros(2, np.int64), np.array([1.0, 0.5]), np.zeros(0, np.int64),
                               np.zeros(0, np.int64), np.zeros(0))
    assert _object_uncertainty(background_only, "entropy", 3) == pytest.approx([0.0, 0.5 * np.log(2) / np.log(3)])


def test_predictions_in_a_folder_named_in_bytes_are_evaluated(capsys, caplog, undecodable_root):
    """The report rows name the file: their text is made safe where they are made (LoadReport.add)."""
    pred = undecodable_root / "pred.json"
    pred.write_bytes(STREET_PRED.read_bytes())
    code, out, err = run(capsys, caplog, "eval", "--no-cache", STREET, "--pred", pred)
    assert_handled(code, out + err)
    assert code == 0 and "predictions report" in out


def test_report_rows_and_load_errors_hold_encodable_text():
    report = LoadReport()
    name = os.fsdecode(b"/d/exp\xff/a.json")
    report.add(name, os.fsdecode(b"img\xff.jpg"), "x", f"problem in {name}", "skipped")
    report.add_many(name, ["r1"], "y", f"in {name}", "kept")
    assert report.to_arrow().column("file").to_pylist() == ["/d/exp\\xff/a.json"] * 2
    assert report.rows[0].record == "img\\xff.jpg" and report.rows[0].problem == "problem in /d/exp\\xff/a.json"
    assert report.summary().num_rows == 2
    error = LoadError(f"{name}: broken.", file=name)
    assert str(error) == "/d/exp\\xff/a.json: broken." and error.file == "/d/exp\\xff/a.json"


def test_a_json_mapping_given_as_yaml_is_read_as_json_quickly():
    """A COCO file given as ``--mapping`` took minutes in PyYAML (20,000 numbers: 0.9 s there, 0.02 s now)."""
    import time

    start = time.perf_counter()
    doc = parse_yaml(json.dumps({"Car": "vehicle", "names": list(range(200_000))}), "big.yaml")
    assert time.perf_counter() - start < 2.0  # PyYAML: about 9 s
    assert doc["Car"] == "vehicle" and len(doc["names"]) == 200_000
    assert parse_yaml("[a, b]", "flow.yaml") == ["a", "b"]  # flow-style YAML, not JSON: still YAML
