"""`imbal check` (exit codes, JSON shape, the verdicts of the library) and `imbal hierarchy`."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import imbal_core
from imbal_core.cli import main
from imbal_core.health import RULES, check
from imbal_core.samples import SAMPLES

STREET = str(SAMPLES["street"].files()[0])
DAILY = str(SAMPLES["street_daily"].files()[0])


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def check_json(capsys, *args):
    code, out, err = run(capsys, "check", "--json", *args)
    assert out.count("\n") == 1, out  # exactly one JSON object
    return code, json.loads(out)


def test_street_fails_with_the_libraries_verdicts(capsys):
    code, doc = check_json(capsys, STREET)
    assert code == 1 and doc["status"] == "fail"
    assert [r["rule"] for r in doc["rules"]] == list(RULES)
    for rule in doc["rules"]:
        assert set(rule) >= {"rule", "status", "detail", "classes"}
        assert rule["status"] in ("pass", "warn", "fail") and isinstance(rule["classes"], list)
    expected = check(imbal_core.load(STREET)).to_dict()["rules"]
    assert [(r["rule"], r["status"], r["detail"], r["classes"]) for r in doc["rules"]] == \
           [(r["rule"], r["status"], r["detail"], r["classes"]) for r in expected]
    failing = {r["rule"]: r["classes"] for r in doc["rules"] if r["status"] == "fail"}
    # counted from the JSON with pandas (images holding the class / images of the split): Truck in 99 of 430 val
    # images vs 316 of 2,096 train (+53%, beyond the 50% fail line, 4.1 sd beyond chance), then Traffic light in
    # test (88 of 479 vs 527 of 2,096: -27%, 3.1 sd). Stroller in test (-36%) and Bus in val (-26%) are beyond 25%
    # but within chance (2.6 and 1.8 sd). Car 10,300 / Wheelchair 200 = 51.5 > 50
    assert failing == {"splits_stratified": ["Truck", "Traffic light"],
                       "long_tail_ratio": ["Wheelchair", "Car"]}


def test_warnings_alone_exit_0(capsys):
    code, doc = check_json(capsys, DAILY)
    assert code == 0 and doc["status"] == "warn"
    assert {r["status"] for r in doc["rules"]} == {"pass", "warn"}


@pytest.mark.parametrize(
    "flags, status",
    [
        (["--max-ratio", "60", "--tolerance", "0.3"], "pass"),  # ratio 51.5 passes; Truck val +53% < 60% only warns
        (["--max-ratio", "60", "--tolerance", "0.3", "--critical", "Wheelchair"], "fail"),  # 200 < 300
        (["--max-ratio", "60", "--tolerance", "0.3", "--critical", "Wheelchair", "--critical-min", "150"], "pass"),
        (["--max-ratio", "60", "--tolerance", "0.3", "--min-instances", "201"], "fail"),  # Wheelchair 200
    ],
)
def test_flags_move_the_verdict(capsys, flags, status):
    code, doc = check_json(capsys, STREET, *flags)
    assert doc["status"] in (status, "warn" if status == "pass" else status)
    assert code == (1 if status == "fail" else 0)


def test_critical_flags_reach_the_rule(capsys):
    _, doc = check_json(capsys, STREET, "--critical", "Wheelchair, Stroller")
    rule = next(r for r in doc["rules"] if r["rule"] == "critical_min_instances")
    # Wheelchair 200 is below the critical 300 (fail), Stroller 360 below the comfortable 500: worst first
    assert rule["status"] == "fail" and rule["classes"] == ["Wheelchair", "Stroller"]
    assert doc["config"]["critical"] == ["Wheelchair", "Stroller"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--critical", "Nope"], "`--critical` names classes the dataset does not have: ['Nope']"),
        (["--min-instances", "0"], "`--min-instances` must be a whole number of at least 1. Got 0 instead."),
        (["--tolerance", "-1"], "`--tolerance` must be a number of at least 0. Got -1.0 instead."),
        (["--min-instances", "300", "--comfortable", "200"],
         "`--comfortable` must be at least `--min-instances` (300). Got 200 instead."),
    ],
)
def test_bad_settings_exit_2(capsys, args, message):
    code, out, err = run(capsys, "check", STREET, *args)
    assert code == 2 and message in err and out == ""


def test_unusable_input_exits_2(capsys, tmp_path):
    broken = tmp_path / "instances.json"
    broken.write_text('{"images": [{"id": 1}], "annotations": [')
    code, out, err = run(capsys, "check", broken)
    assert code == 2 and "not valid JSON" in err
    code, _, err = run(capsys, "check", tmp_path / "missing.json")
    assert code == 2 and "no such file" in err


def test_readable_output(capsys):
    code, out, _ = run(capsys, "check", STREET)
    assert code == 1
    # Car 10,300 / Wheelchair 200 = 51.5 (counted from the JSON); 1/50 of Car is 206, only Wheelchair is below it
    assert "FAIL  Long-tail ratio: Car 10,300 / Wheelchair 200 = 51.5, above 50. Below 1/50 of Car (206 instances): " \
           "Wheelchair 200." in out
    assert out.rstrip().endswith("check FAILED (2 rules: splits_stratified, long_tail_ratio)")


def test_the_installed_command_exits_1():
    exe = Path(sys.executable).with_name("imbal")
    proc = subprocess.run([str(exe), "check", STREET, "--json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["status"] == "fail"


# --------------------------------------------------------------------------- imbal hierarchy


def test_hierarchy_writes_a_merged_coco_that_reloads(capsys, tmp_path):
    out = tmp_path / "merged.json"
    # At 400, Wheelchair 200, Stroller 360 and Bus 380 fall below (Motorcycle 410 is next; counted from the JSON).
    # Wheelchair is flagged critical, so only Stroller joins Person (4,500 + 360 = 4,860); Bus alone would make a
    # 'vehicle' of only 380.
    code, text, err = run(capsys, "hierarchy", STREET, "--min-instances", "400", "--critical", "Wheelchair",
                          "--apply-suggestions", "--out", out)
    assert code == 0, err
    assert "3 classes below 400 instances:" in text
    assert "Stroller    person         360         4,860  yes" in text and "merges: Stroller -> Person" in text
    assert "Wheelchair  person         200         4,860           flagged critical" in text
    assert "'vehicle' would still have only 380 instances" in text
    merged = imbal_core.load(out, cache=False)
    totals = {r["class"]: r["instances"] for r in imbal_core.class_totals(merged).to_pylist()}
    assert "Stroller" not in totals and totals["Person"] == 4500 + 360 and totals["Wheelchair"] == 200
    assert sum(totals.values()) == 19270


def test_hierarchy_json_and_explicit_merges(capsys, tmp_path):
    code, out, _ = run(capsys, "hierarchy", STREET, "--merge", "Motorcycle=vehicle", "--merge", "Bus=vehicle", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["resolved"] == {"Motorcycle": "vehicle", "Bus": "vehicle"}
    changes = {r["class"]: r["after"] for r in doc["what_if"]["changes"]}
    assert changes["vehicle"] == 410 + 380 and changes["Bus"] == 0  # Motorcycle + Bus


@pytest.mark.parametrize(
    "args, message",
    [
        (["--merge", "Nope=x"], "`merges` names classes the dataset does not have: ['Nope']"),
        (["--merge", "Stroller"], "`--merge` must be CHILD=PARENT. Got 'Stroller' instead."),
        (["--out", "x.json"], "`--out` needs merges"),
    ],
)
def test_hierarchy_bad_input_exits_2(capsys, args, message):
    code, _, err = run(capsys, "hierarchy", STREET, *args)
    assert code == 2 and message in err
