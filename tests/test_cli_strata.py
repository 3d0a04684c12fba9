"""`imbal strata`: Wheelchair at night first on the street sample, the JSON shape, exit codes."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from imbal_core.cli import main

ROOT = Path(__file__).resolve().parents[1]
STREET = str(ROOT / "sample_data" / "street" / "annotations.json")
SURFACE = str(ROOT / "sample_data" / "surface" / "labels.csv")


def run(capsys, *args):
    code = main(["strata", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_street_by_time_of_day_names_wheelchair_at_night_first(capsys):
    code, out, _ = run(capsys, STREET, "--by", "time_of_day")
    assert code == 0
    lines = out.splitlines()
    first = next(line for line in lines if line.strip().startswith("1."))
    # 9 of 4,903 night instances vs 191 of 14,367 by day; expected 200 x 4,903 / 19,270 = 50.9 (counted from the JSON)
    assert first.strip() == "1. Wheelchair at night: 9 instances, 0.2% of night instances vs 1.3% of day; expected 51."
    assert "Independence tests:" in out and "Cramér's V" in out


def test_json_has_findings_and_tests(capsys):
    code, out, _ = run(capsys, STREET, "--by", "time_of_day", "--json")
    assert code == 0 and out.count("\n") == 1
    doc = json.loads(out)
    top = doc["findings"][0]
    assert (top["class"], top["condition"], top["count"], top["split"]) == ("Wheelchair", {"time_of_day": "night"}, 9, None)
    assert round(top["expected"]) == 51 and top["share"] == pytest.approx(9 / 4903)  # 200 x 4,903 / 19,270 = 50.9
    assert set(top) >= {"class", "condition", "count", "expected", "share", "share_elsewhere", "residual", "split", "text"}
    assert [t["split"] for t in doc["tests"]] == [None, "train", "val", "test"]
    assert set(doc["tests"][0]) >= {"condition", "chi2", "p_value", "cramers_v"}


def test_critical_classes_rank_first_and_strict_gates(capsys):
    code, out, _ = run(capsys, STREET, "--by", "camera", "--critical", "Traffic light", "--json", "--strict")
    doc = json.loads(out)
    assert code == 1 and doc["findings"][0]["class"] == "Traffic light" and doc["findings"][0]["critical"]
    assert doc["settings"]["critical"] == ["Traffic light"]


def test_a_pair_and_a_table(capsys):
    code, out, _ = run(capsys, STREET, "--by", "time_of_day,weather", "--table", "--no-splits")
    assert code == 0 and "night · clear" in out and "Wheelchair at night, clear" in out
    assert "adjusted residual" in out


def test_no_gap_says_so(capsys):
    code, out, _ = run(capsys, SURFACE, "--by", "lighting", "--max-ratio", "0.01", "--strict")
    assert code == 0 and "No hidden-subgroup gap" in out


@pytest.mark.parametrize("args, message", [
    (["--by", "season"], "`--by` may be a condition: ['time_of_day', 'weather', 'camera']. Got 'season' instead."),
    (["--by", "time_of_day", "--critical", "Tank"], "`--critical` names classes the dataset does not have: ['Tank']"),
    (["--by", "time_of_day", "--alpha", "2"], "`--alpha` must be a number between 0.0 and 1.0. Got 2.0 instead."),
])
def test_bad_input_exits_2_with_the_message(capsys, args, message):
    code, out, err = run(capsys, STREET, *args)
    assert code == 2 and out == "" and message in err


def test_a_missing_file_exits_2(capsys, tmp_path):
    code, _, err = run(capsys, tmp_path / "nope.json", "--by", "x")
    assert code == 2 and "no such file" in err


def test_a_condition_goes_by_the_exports_own_field_name(capsys, tmp_path):
    # an export whose image field is `Time of day` (imbal's column: time_of_day) is asked about as it names it
    doc = json.loads(Path(STREET).read_text())
    for image in doc["images"]:
        image["Time of day"] = image.pop("time_of_day")
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(doc))
    code, out, err = run(capsys, path, "--by", "Time of day", "--json")
    assert code == 0 and err == "" and json.loads(out)["findings"][0]["condition"] == {"time_of_day": "night"}
    code, again, _ = run(capsys, path, "--by", "time_of_day", "--json")
    assert again == out
