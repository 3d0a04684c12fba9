"""Input that is HTML, a formula or Markdown shows as text in the report and the summary: no script
runs, no link appears, a `|` does not split a Markdown cell."""
from __future__ import annotations

import pytest

from imbal_core.sharing.html import esc, safe_json, table

from .conftest import FORMULA_NAME, HTML_FILE, HTML_VALUE, PIPE_NAME, SCRIPT_NAME, hostile_export, run_cli


@pytest.mark.parametrize("value, expected", [
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ('a "quoted" & \'single\'', "a &quot;quoted&quot; &amp; &#x27;single&#x27;"),
    ("exp\udcff", "exp\\xff"),  # a file name that was not UTF-8 keeps its byte, as text
    (3, "3"),
])
def test_esc(value, expected):
    assert esc(value) == expected


def test_safe_json_cannot_close_its_script():
    text = safe_json({"name": "</script><script>alert(1)</script>", "a&b": 1})
    assert "<" not in text and ">" not in text and "&" not in text
    import json
    assert json.loads(text) == {"name": "</script><script>alert(1)</script>", "a&b": 1}


def test_table_escapes_every_cell_and_header():
    html = table(["<th>", "n"], [[SCRIPT_NAME, 1234], [FORMULA_NAME, None]], name="x<y")
    assert "<script>" not in html and "<th>" not in html.replace('<th scope="col"', "")
    assert "1,234" in html and "—" in html and 'data-table="x&lt;y"' in html


@pytest.mark.browser
def test_hostile_names_show_as_text_and_run_nothing(capsys, tmp_path, open_report):
    export = hostile_export(tmp_path)
    out, md = tmp_path / "r.html", tmp_path / "s.md"
    code, _, err = run_cli(capsys, "report", export, "--out", out, "--markdown", md)
    assert code == 0, err
    source = out.read_text(encoding="utf-8")
    for raw in (SCRIPT_NAME, HTML_FILE, HTML_VALUE):
        assert raw not in source  # only ever escaped (in HTML) or \u003c-encoded (in JSON)

    opened = open_report(out)
    page = opened.page
    page.wait_for_timeout(500)
    assert opened.dialogs == [] and opened.errors == [] and opened.requests == [opened.url]
    # the page's own two scripts run; every other script element is inert JSON
    assert page.evaluate("() => document.querySelectorAll('script:not([type=\"application/json\"])').length") == 2
    cells = page.evaluate("() => [...document.querySelectorAll('td')].map(td => td.textContent)")
    assert SCRIPT_NAME in cells and FORMULA_NAME in cells and PIPE_NAME in cells
    assert any(HTML_VALUE in c for c in cells)  # the condition value, as a column of the heatmap table
    assert page.locator("a[href*='example.com']").count() == 0
    header = page.locator("header.top").inner_text()
    assert f"{HTML_FILE}.json" in header  # the export's own file name, as text
    assert page.title() == f"imbal report — {HTML_FILE}.json"
    # plotly draws the names as text too (its own tags are a short list; <script> is not one)
    ticks = page.evaluate("() => [...document.querySelectorAll('.chart text')].map(t => t.textContent)")
    assert any("alert(1)" in t for t in ticks)
    assert page.locator(".chart script").count() == 0
