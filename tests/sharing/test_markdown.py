"""The Markdown summary: GitHub-flavoured tables a Markdown parser reads as tables, under 60 lines,
numbers equal to `imbal check / strata / summary / eval --json`, input text escaped."""
from __future__ import annotations

import math

import pytest
from markdown_it import MarkdownIt

from imbal_core.samples import SAMPLES
from imbal_core.sharing.markdown import MAX_LINES, TOP_FINDINGS, md_table, md_text

from .conftest import FORMULA_NAME, PIPE_NAME, SCRIPT_NAME, cli_json, hostile_export, number, run_cli

STREET = SAMPLES["street"]
STREET_PATH = str(STREET.files()[0])
STREET_PRED = str(STREET.predictions_file())
VERDICT = {"✅ pass": "pass", "⚠️ warn": "warn", "❌ fail": "fail"}


def parser() -> MarkdownIt:
    """CommonMark with GitHub's tables and strikethrough (what a GitHub job summary renders)."""
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def tables(text: str) -> list[list[list[str]]]:
    """Each table the parser finds: rows (header first) of cell texts as rendered."""
    tokens = parser().parse(text)
    out, rows, row = [], None, None
    for t in tokens:
        if t.type == "table_open":
            rows = []
        elif t.type == "tr_open":
            row = []
        elif t.type == "inline" and row is not None and rows is not None:
            row.append("".join(c.content for c in t.children if c.type in ("text", "code_inline")))
        elif t.type == "tr_close":
            rows.append(row)
            row = None
        elif t.type == "table_close":
            out.append(rows)
            rows = None
    return out


def summary_of(capsys, tmp_path, *args) -> str:
    md = tmp_path / "s.md"
    code, _, err = run_cli(capsys, "report", *args, "--out", tmp_path / "r.html", "--markdown", md)
    assert code == 0, err
    return md.read_text(encoding="utf-8")


def test_street_summary_numbers_equal_the_json(capsys, tmp_path):
    text = summary_of(capsys, tmp_path, STREET_PATH, "--pred", STREET_PRED)
    assert len(text.splitlines()) < MAX_LINES
    checklist, findings, rarest, evaluation = tables(text)

    check = cli_json(capsys, "check", STREET_PATH)
    assert checklist[0] == ["check", "verdict", "detail"]
    assert [(r[0], VERDICT[r[1]]) for r in checklist[1:]] == [(r["title"], r["status"]) for r in check["rules"]]

    # the top findings: each condition's rank 1, then rank 2 ... as `imbal strata --by C --json` ranks them
    docs = {c: cli_json(capsys, "strata", STREET_PATH, "--by", c)["findings"] for c in check_conditions(capsys)}
    expected = []
    for rank in range(max(len(f) for f in docs.values())):
        expected += [(c, f[rank]) for c, f in docs.items() if rank < len(f)]
    got = [(r[2], r[1], r[3], r[4], number(r[5])) for r in findings[1:]]
    want = [(c, f["class"], f["condition"][c], f["split"] or "all splits", f["count"]) for c, f in expected[:TOP_FINDINGS]]
    assert got == want and got[0][:3] == ("time_of_day", "Wheelchair", "night")

    summary = cli_json(capsys, "summary", STREET_PATH)
    by_size = sorted((c for c in summary["classes"] if c["instances"]), key=lambda c: c["instances"])
    assert [(r[0], number(r[1]), number(r[2])) for r in rarest[1:]] == [
        (c["class"], c["instances"], c["images"]) for c in by_size[:5]]

    doc = cli_json(capsys, "eval", STREET_PATH, "--pred", STREET_PRED)
    figures = dict(zip(evaluation[0], evaluation[1]))
    assert number(figures["mAP (box)"]) == pytest.approx(doc["coco"]["ap"], abs=5e-4)
    assert number(figures["Macro recall"]) == pytest.approx(doc["macro"]["recall"], abs=5e-4)


def check_conditions(capsys) -> list[str]:
    return cli_json(capsys, "summary", STREET_PATH)["conditions"]


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_sample_summary_is_short_and_its_tables_parse(capsys, tmp_path, name):
    sample = SAMPLES[name]
    args = [str(p) for p in sample.files()] + (["--pred", str(sample.predictions_file())] if sample.predictions else [])
    text = summary_of(capsys, tmp_path, *args, "--plan-budget", "1000", "--plan-cap", "3")
    assert len(text.splitlines()) < MAX_LINES
    found = tables(text)
    assert len(found) >= 2
    source_tables = [block for block in text.split("\n\n") if block.startswith("|")]
    assert len(source_tables) == len(found)  # every table written is read as a table
    for block, parsed in zip(source_tables, found):
        assert len(parsed) == len(block.splitlines()) - 1  # every row (the delimiter row is not one)
        assert len({len(r) for r in parsed}) == 1
    assert "### Rebalancing plan" in text


def test_hostile_names_stay_text_in_the_summary(capsys, tmp_path):
    text = summary_of(capsys, tmp_path, hostile_export(tmp_path))
    rendered = parser().render(text)
    assert "<script>" not in rendered and "<a " not in rendered and "<img" not in rendered
    cells = [cell for t in tables(text) for row in t for cell in row]
    # the rarest-classes table holds all four names, each whole in one cell (the | did not split it)
    assert {SCRIPT_NAME, FORMULA_NAME, PIPE_NAME, "Bus"} <= set(cells)


@pytest.mark.parametrize("value", [SCRIPT_NAME, FORMULA_NAME, PIPE_NAME, "a_b*c*", "[link](http://x)", "`code`",
                                   "line\nbreak", "&lt;", "back\\slash"])
def test_md_text_renders_back_to_the_value(value):
    rendered = parser().parse("| h |\n| --- |\n| " + md_text(value) + " |\n")
    inline = [t for t in rendered if t.type == "inline"][-1]
    assert [c.type for c in inline.children] == ["text"] * len(inline.children)
    assert "".join(c.content for c in inline.children) == " ".join(value.split())


def test_md_table_right_aligns_numbers():
    lines = md_table(["class", "n"], [["a|b", 1234], ["c", math.nan]], [False, True])
    assert lines[1] == "| --- | ---: |" and lines[2] == "| a\\|b | 1,234 |" and lines[3] == "| c | — |"
