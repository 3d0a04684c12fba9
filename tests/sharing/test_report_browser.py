"""`imbal report` of every sample and of three real exports, opened in headless Chromium with the
network cut off: nothing is requested but the file, no console error, every chart drawn, and the
page's checklist and findings equal what `imbal check --json` and `imbal strata --json` say."""
from __future__ import annotations

from pathlib import Path

import pytest

from imbal_core.samples import SAMPLES, sample_root
from imbal_core.sharing.sections import MAX_DEFAULT_CONDITIONS

from .conftest import cli_json, number, run_cli

pytestmark = pytest.mark.browser

SAMPLE_CASES = [pytest.param([str(p) for p in s.files()], str(s.predictions_file()) if s.predictions else None, id=name)
                for name, s in SAMPLES.items()]
REAL_CASES = [
    pytest.param(["coco_val2014_100/instances_val2014_100.json"], "coco_val2014_100/instances_val2014_fakebbox100_results.json",
                 id="coco_val2014_100"),
    pytest.param(["taco/annotations.json"], None, id="taco"),
    pytest.param(["bccd_voc"], None, id="bccd_voc"),
]


def test_every_sample_folder_is_a_case():
    folders = {p.name for p in sample_root().iterdir()
               if p.is_dir() and not p.name.startswith((".", "_")) and not (p / "__init__.py").exists()}
    assert folders == {s.paths[0].split("/")[0] for s in SAMPLES.values()}


def make_report(capsys, tmp_path: Path, paths: list[str], pred: str | None) -> tuple[Path, Path]:
    out, md = tmp_path / "r.html", tmp_path / "s.md"
    code, _, err = run_cli(capsys, "report", *paths, *(["--pred", pred] if pred else []), "--out", out, "--markdown", md)
    assert code == 0, err
    assert out.is_file() and md.is_file()
    return out, md


def check_report(capsys, opened, paths: list[str], pred: str | None) -> None:
    page = opened.page
    assert opened.requests == [opened.url], "the report asked for something besides itself"
    assert opened.errors == []
    assert opened.dialogs == []

    # every chart drawn: a plotly graph with its SVG, of some size, each beside its own table
    charts = page.evaluate("""() => [...document.querySelectorAll('.chart')].map(el => ({
        id: el.id, drawn: el.classList.contains('js-plotly-plot') && !!el.querySelector('svg.main-svg'),
        width: el.getBoundingClientRect().width, height: el.getBoundingClientRect().height,
        section: el.closest('section').getAttribute('aria-labelledby'),
        paired: !!el.closest('.pair') && !!el.closest('.pair').querySelector('.pair-table table')}))""")
    assert charts and all(c["drawn"] and c["width"] > 100 and c["height"] > 100 and c["paired"] for c in charts), charts
    assert int(page.get_attribute("body", "data-charts-drawn")) == len(charts)
    drawn_in = {c["section"] for c in charts}

    summary = cli_json(capsys, "summary", *paths)
    units = page.locator("section[aria-labelledby=long-tail] h3").count()
    assert units >= 2  # images and instances at least, pixels where the dataset has them
    assert sum(c["section"] == "long-tail" for c in charts) == units
    expected = {"checklist", "long-tail", "load-report"} | ({"evaluation"} if pred else set())
    anchors = set(page.evaluate("() => [...document.querySelectorAll('nav.toc a')].map(a => a.hash.slice(1))"))
    assert expected <= anchors
    assert "long-tail" in drawn_in and (not pred or "evaluation" in drawn_in)
    if len([s for s in summary["splits"] if s != "unassigned"]) >= 2:
        assert "splits" in drawn_in

    # the checklist equals `imbal check --json`
    check = cli_json(capsys, "check", *paths)
    shown = {row["rule"]: row["verdict"] for row in opened.table("checklist")}
    assert shown == {r["rule"]: r["status"] for r in check["rules"]}

    # the findings of each condition equal `imbal strata --by C --json`
    conditions = summary["conditions"][:MAX_DEFAULT_CONDITIONS]
    for condition in conditions:
        doc = cli_json(capsys, "strata", *paths, "--by", condition)
        rows = opened.table(f"findings-{condition}") or []
        got = [(r["class"].removesuffix(" ★"), r[condition], r["split"], r["kind"], number(r["count"])) for r in rows]
        want = [(f["class"], f["condition"].get(condition, "(whole split)") if f["condition"] else "(whole split)",
                 f["split"] or "all splits", f["kind"], float(f["count"])) for f in doc["findings"]]
        assert got == want, condition
        if doc["table"]["classes"]:
            assert "subgroups" in drawn_in


@pytest.mark.parametrize("paths, pred", SAMPLE_CASES)
def test_sample_report_offline(capsys, tmp_path, open_report, paths, pred):
    out, _ = make_report(capsys, tmp_path, paths, pred)
    check_report(capsys, open_report(out), paths, pred)


@pytest.mark.realdata
@pytest.mark.parametrize("paths, pred", REAL_CASES)
def test_real_export_report_offline(capsys, tmp_path, open_report, realdata, paths, pred):
    paths = [str(realdata / p) for p in paths]
    pred = str(realdata / pred) if pred else None
    out, _ = make_report(capsys, tmp_path, paths, pred)
    check_report(capsys, open_report(out), paths, pred)


def test_report_reads_on_a_phone(capsys, tmp_path, open_report):
    """At a phone's width nothing but a table scrolls sideways: the page itself fits the screen."""
    street = SAMPLES["street"]
    out, _ = make_report(capsys, tmp_path, [str(p) for p in street.files()], None)
    opened = open_report(out, viewport=(390, 844))
    page = opened.page
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    widths = page.evaluate("() => [...document.querySelectorAll('.chart')].map(e => e.getBoundingClientRect().right)")
    assert widths and max(widths) <= 390


def test_print_shows_static_images_of_the_charts(capsys, tmp_path, open_report):
    """In print, each chart is a PNG the page made of it (plotly.js in the browser, no kaleido);
    the interactive chart is hidden and the tables print whole."""
    street = SAMPLES["street"]
    out, _ = make_report(capsys, tmp_path, [str(p) for p in street.files()], None)
    page = open_report(out).page
    charts = page.locator(".chart").count()
    page.wait_for_function(f"document.querySelectorAll('img.print-image').length === {charts}", timeout=90_000)
    page.emulate_media(media="print")
    images = page.evaluate("""() => [...document.querySelectorAll('img.print-image')].map(img => ({
        src: img.src.slice(0, 22), shown: getComputedStyle(img).display !== 'none', width: img.naturalWidth,
        chart: getComputedStyle(img.previousElementSibling).display}))""")
    assert len(images) == charts
    assert all(i["src"] == "data:image/png;base64," and i["shown"] and i["width"] > 0 and i["chart"] == "none"
               for i in images), images
    scroll = page.evaluate("() => [...document.querySelectorAll('.table-wrap')].map(e => getComputedStyle(e).maxHeight)")
    assert set(scroll) == {"none"}
    page.pdf(path=str(tmp_path / "r.pdf"))
    assert (tmp_path / "r.pdf").stat().st_size > 10_000
