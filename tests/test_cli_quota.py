"""``imbal quota ...`` and ``imbal select``: exit codes, JSON shape, files written, the same numbers as the library."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from imbal_core.cli import main
from imbal_core.quotas import Workspace
from imbal_core.quotas.progress import project_progress

ROOT = Path(__file__).resolve().parent.parent
DAILY = ROOT / "sample_data" / "street_daily"
DAYS = [date(2026, 11, 16) + timedelta(days=k) for k in range(12) if (date(2026, 11, 16) + timedelta(days=k)).weekday() < 5]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def ws_path(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "ws.duckdb"
    monkeypatch.setenv("IMBAL_WORKSPACE", str(path))
    return path


@pytest.fixture(scope="module")
def ten_day_workspace(tmp_path_factory) -> Path:
    """day01..day10 ingested with --at their day, through the CLI; read-only for the tests."""
    path = tmp_path_factory.mktemp("cli") / "ws.duckdb"
    assert main(["quota", "set", "street push", "--target", "Wheelchair=600,Bicycle=500", "--deadline", "2026-12-10",
                 "--critical", "Wheelchair", "--workspace", str(path)]) == 0
    for k, day in enumerate(DAYS, start=1):
        assert main(["quota", "ingest", "street push", str(DAILY / f"day{k:02d}.json"), "--at", day.isoformat(),
                     "--workspace", str(path)]) == 0
    return path


@pytest.fixture
def ten_days(ten_day_workspace, monkeypatch, capsys) -> Path:
    monkeypatch.setenv("IMBAL_WORKSPACE", str(ten_day_workspace))
    out, err = capsys.readouterr()
    return ten_day_workspace


def test_set_and_ingest_print_what_they_did(ws_path, capsys):
    code, _, err = run(capsys, "quota", "set", "p", "--target", "Wheelchair=600", "--deadline", "2026-12-10")
    assert code == 0 and "Created project 'p'" in err
    code, out, _ = run(capsys, "quota", "ingest", "p", DAILY / "day01.json", "--at", "2026-11-16")
    assert code == 0 and out.startswith("Snapshot 1 of 'p': 47 images, 315 annotations, as of 2026-11-16 00:00:00 UTC")


def test_status_json_gives_the_library_numbers(ten_days, capsys):
    code, out, _ = run(capsys, "quota", "status", "street push", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["project"] == "street push" and data["as_of"] == "2026-11-27"
    rows = {c["class"]: c for c in data["classes"]}
    for row in rows.values():
        assert {"class", "target", "current", "remaining", "rate_per_day", "projected_date", "status", "advice"} <= set(row)
    assert (rows["Wheelchair"]["current"], rows["Wheelchair"]["rate_per_day"], rows["Wheelchair"]["status"]) == (252, 21.2, "off_track")
    assert (rows["Bicycle"]["projected_date"], rows["Bicycle"]["status"]) == ("2026-12-04", "on_track")
    library = project_progress(Workspace(ten_days), "street push").to_dict()
    assert data["classes"] == library["classes"]


def test_status_table_and_fail_on(ten_days, capsys):
    code, out, _ = run(capsys, "quota", "status", "street push")
    assert code == 0
    assert "Wheelchair  off track" in out and "- Wheelchair needs 38.7/day to make 2026-12-10" in out
    code, out, _ = run(capsys, "quota", "status", "street push", "--fail-on", "off_track", "--json")
    assert code == 1 and json.loads(out)["failing"] == ["Wheelchair"]
    assert run(capsys, "quota", "status", "street push", "--fail-on", "off_track", "--as-of", "2026-11-18")[0] == 0


def test_reingest_is_a_no_op(ten_days, capsys):
    code, out, _ = run(capsys, "quota", "ingest", "street push", DAILY / "day10.json", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["created"] is False and data["snapshot_id"] == 10 and data["day"] == "2026-11-27"
    assert len(Workspace(ten_days).snapshots("street push")) == 10


def test_playbook_files_respect_capacity(ten_days, capsys, tmp_path):
    plan, sheet = tmp_path / "plan.md", tmp_path / "sheet.csv"
    code, out, _ = run(capsys, "quota", "playbook", "street push", "--days", "10", "--capacity", "60",
                       "-o", plan, "--csv", sheet)
    assert code == 0 and "Wrote the plan" in out
    rows = list(csv.DictReader(io.StringIO(sheet.read_text())))
    assert len(rows) == 10 and rows[0]["day"] == "2026-11-30"
    assert all(int(r["total"]) + int(r["free"]) == 60 and int(r["total"]) <= 60 for r in rows)
    assert sum(int(r["Wheelchair"]) for r in rows) == 348  # critical, and it fits
    text = plan.read_text()
    assert text.startswith("# Annotation plan — street push") and "## Stop / adjust rules" in text
    code, out, _ = run(capsys, "quota", "playbook", "street push", "--capacity", "400", "--json")
    assert code == 0 and json.loads(out)["capacity"] == 400


def test_list(ten_days, capsys):
    code, out, _ = run(capsys, "quota", "list", "--json")
    assert code == 0 and [p["name"] for p in json.loads(out)["projects"]] == ["street push"]
    code, out, _ = run(capsys, "quota", "list", "street push", "--json")
    data = json.loads(out)
    assert len(data["snapshots"]) == 10 and data["targets"][1] == {
        "class": "Wheelchair", "target": 600, "unit": "instances", "deadline": "2026-12-10", "priority": 1,
        "critical": True}


def test_workspace_option_beats_the_environment(ws_path, tmp_path, capsys):
    other = tmp_path / "other.duckdb"
    assert run(capsys, "quota", "set", "p", "--target", "A=5", "--deadline", "2026-12-10", "--workspace", other)[0] == 0
    assert other.exists() and not ws_path.exists()
    code, out, _ = run(capsys, "quota", "list")
    assert code == 0 and "does not exist yet" in out


@pytest.mark.parametrize("argv, message", [
    (["quota", "status", "nope"], "`project` 'nope' is not in the workspace"),
    (["quota", "set", "p", "--target", "Wheelchair", "--deadline", "2026-12-10"], "`--target` must be CLASS=N pairs"),
    (["quota", "set", "p", "--target", "A=0", "--deadline", "2026-12-10"], "`target` of A must be a whole number of at least 1"),
    (["quota", "ingest", "nope", str(DAILY / "day01.json")], "`project` 'nope' is not in the workspace"),
    (["quota", "playbook", "p", "--capacity", "0"], "`project` 'p' is not in the workspace"),
])
def test_bad_input_exits_2_with_the_message(ws_path, capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err


def test_a_bad_date_is_an_argument_error(ws_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["quota", "set", "p", "--target", "A=1", "--deadline", "10/12/2026"])
    assert exc.value.code == 2
    assert "must be a date like 2026-12-10" in capsys.readouterr().err


def test_playbook_refuses_zero_capacity(ten_days, capsys):
    code, _, err = run(capsys, "quota", "playbook", "street push", "--capacity", "0")
    assert code == 2 and "`capacity` must be a whole number of at least 1 per day. Got 0" in err


def test_ingest_without_timestamps_is_dated_now(ws_path, capsys):
    run(capsys, "quota", "set", "s", "--target", "Crack=200", "--deadline", "2026-12-10")
    code, out, err = run(capsys, "quota", "ingest", "s", ROOT / "sample_data" / "surface" / "labels.csv")
    assert code == 0 and "has no annotated_at timestamps; dated now" in err and out.startswith("Snapshot 1 of 's'")
    assert "export has no class" not in err
    code, _, err = run(capsys, "quota", "ingest", "s", DAILY / "day01.json")  # the wrong project's export
    assert code == 0 and "this export has no class 'Crack' of the project's targets" in err


def test_select_fills_the_project_quotas(ten_days, capsys, tmp_path):
    batch = tmp_path / "batch.csv"
    code, out, _ = run(capsys, "select", "--pool", ROOT / "sample_data" / "street" / "predictions.json",
                       "--images", ROOT / "sample_data" / "street" / "annotations.json", "--project", "street push",
                       "--n", "200", "--group", "sequence", "-o", batch, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["selected"] == 200 and data["max_per_group"] == 10 and data["group"] == "group"
    shares = {c["class"]: c["share"] for c in data["classes"]}
    assert shares == {"Wheelchair": 140, "Bicycle": 60}  # 348 : 148 of 200
    rows = list(csv.DictReader(io.StringIO(batch.read_text())))
    assert len(rows) == 200 and list(rows[0]) == ["rank", "image", "file_name", "score", "predicted", "reason", "group",
                                                 "uncertainty"]
    per_group: dict[str, int] = {}
    for r in rows:
        per_group[r["group"]] = per_group.get(r["group"], 0) + 1
    assert max(per_group.values()) <= 10


def test_select_on_a_classification_pool(capsys):
    code, out, _ = run(capsys, "select", "--pool", ROOT / "sample_data" / "surface" / "predictions.csv", "--n", "25",
                       "--rule", "margin")
    assert code == 0 and out.startswith("Selected 25 of 6,000 pool images by margin")


@pytest.mark.parametrize("argv, message", [
    (["select", "--pool", "missing.json", "--n", "5"], "missing.json: no such file"),
    (["select", "--pool", str(ROOT / "sample_data" / "surface" / "predictions.csv"), "--n", "0"], "`n` must be a whole number"),
])
def test_select_bad_input(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err
