"""`imbal report`: the done-when command, one self-contained file, the settings carried to each
section (same numbers as the commands), and clear messages for bad input."""
from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from imbal_core.io import load
from imbal_core.fingerprint import dataset_key
from imbal_core.sharing import PlanSettings, ReportSettings, build_report, timestamp

from .conftest import ROOT, cli_json, run_cli

STREET = ROOT / "sample_data" / "street" / "annotations.json"
STREET_PRED = ROOT / "sample_data" / "street" / "predictions.json"
MAX_BYTES = 5_000_000
WHEN = datetime(2025, 6, 1, 9, 30, tzinfo=timezone.utc)


def table_rows(html: str, name: str) -> list[list[str]]:
    """The body rows of ``table[data-table=name]`` as cell texts (tags stripped, entities kept)."""
    match = re.search(rf'<table data-table="{re.escape(name)}">.*?<tbody>(.*?)</tbody>', html, re.S)
    assert match, name
    return [[re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", match.group(1), re.S)]


def test_the_done_when_command_writes_both_files(tmp_path):
    script = Path(sys.executable).parent / "imbal"
    done = subprocess.run([str(script), "report", str(STREET), "--pred", str(STREET_PRED), "--out", "r.html",
                           "--markdown", "s.md"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert (tmp_path / "s.md").read_text(encoding="utf-8").startswith("## imbal report")
    assert len(html.encode()) <= MAX_BYTES
    from plotly.offline import get_plotlyjs

    assert html.count(get_plotlyjs()[:300]) == 1  # plotly.js inlined once
    assert not re.search(r"""<(script|link|img|iframe)[^>]*\s(src|href)=""", html, re.I)  # nothing loaded from outside
    own = html.replace(get_plotlyjs(), "")  # plotly.js names its CDN for maps, which it fetches only to draw one
    assert not re.search(r"https?://", own.replace("http://www.w3.org/2000/svg", ""))
    assert "wrote the report" in done.stderr


def test_markdown_to_standard_output(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "report", STREET, "--out", tmp_path / "r.html", "--markdown", "-")
    assert code == 0 and out.startswith("## imbal report — annotations.json")


def test_header_names_the_content_hash_and_settings(capsys, tmp_path):
    out = tmp_path / "r.html"
    code, _, err = run_cli(capsys, "report", STREET, "--out", out, "--critical", "Wheelchair,Stroller",
                           "--title", "Street <v2>")
    assert code == 0, err
    html = out.read_text(encoding="utf-8")
    key = dataset_key(load([str(STREET)]))
    assert f'data-key="{key}"' in html
    assert "<title>Street &lt;v2&gt;</title>" in html and "<h1>Street &lt;v2&gt;</h1>" in html
    assert "<dd>Wheelchair, Stroller</dd>" in html
    check = cli_json(capsys, "check", STREET, "--critical", "Wheelchair,Stroller")
    rows = table_rows(html, "checklist")
    assert [(r[0], r[2]) for r in rows] == [(r["rule"], r["status"]) for r in check["rules"]]


def test_a_pair_of_conditions(capsys, tmp_path):
    out = tmp_path / "r.html"
    code, _, err = run_cli(capsys, "report", STREET, "--out", out, "--by", "time_of_day,weather", "camera")
    assert code == 0, err
    html = out.read_text(encoding="utf-8")
    doc = cli_json(capsys, "strata", STREET, "--by", "time_of_day,weather")
    rows = table_rows(html, "findings-time_of_day x weather")
    assert [(r[1], r[2], r[5]) for r in rows] == [
        (f["class"], " · ".join(f["condition"].values()) if f["condition"] else "(whole split)", f"{f['count']:,}")
        for f in doc["findings"]]
    assert 'data-table="strata-camera"' in html and 'data-table="strata-weather"' not in html


def test_plan_section_equals_imbal_plan(capsys, tmp_path):
    out = tmp_path / "r.html"
    code, _, err = run_cli(capsys, "report", STREET, "--out", out, "--plan-budget", "5000", "--plan-cap", "3")
    assert code == 0, err
    doc = cli_json(capsys, "plan", STREET, "--budget", "5000", "--cap", "3")
    shown = {r[0]: (int(r[1].replace(",", "")), int(r[3].replace(",", ""))) for r in table_rows(out.read_text(), "plan")}
    assert shown == {c["class"]: (c["count"], c["effective"]) for c in doc["classes"]}


@pytest.mark.parametrize("args, match", [
    (["--critical", "Unicorn"], "`--critical` names classes the dataset does not have"),
    (["--by", "moon_phase"], "`--by`"),
    (["--out", "report.pdf"], "`--out` must end in .html"),
    (["--pred", "missing.json"], "missing.json: no such file"),
    (["--plan-budget", "-3"], "`--plan-budget`"),
    (["--markdown", "{tmp}"], "`--markdown` must be a file name"),
    (["--markdown", "{tmp}/no/such/s.md"], "`--markdown` must be in a folder that exists"),
])
def test_bad_input_is_refused_with_a_message(capsys, tmp_path, args, match):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code, _, err = run_cli(capsys, "report", STREET, "--out", tmp_path / "r.html", *args)
    assert code == 2 and match in err and "Traceback" not in err, err
    assert not (tmp_path / "r.html").exists()


def test_same_data_same_settings_same_bytes():
    dataset = load([str(STREET)])
    settings = ReportSettings(critical=("Wheelchair",), by=("weather",), plan=PlanSettings(budget=4000, cap=4.0))
    first = build_report(dataset, settings, generated_at=WHEN)
    second = build_report(dataset, settings, generated_at=WHEN)
    assert first.html == second.html and first.markdown == second.markdown
    assert first.generated_at == "2025-06-01T09:30:00Z" and 'datetime="2025-06-01T09:30:00Z"' in first.html


@pytest.mark.parametrize("kwargs, match", [
    ({"critical": "Wheelchair"}, "`critical` must be a list"),
    ({"by": "weather"}, "`by` must be a list"),
])
def test_settings_refuse_text_where_a_list_is_meant(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ReportSettings(**kwargs)


def test_timestamp_needs_a_time_zone():
    with pytest.raises(ValueError, match="`generated_at` must carry a time zone"):
        timestamp(datetime(2025, 1, 1))
