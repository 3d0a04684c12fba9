"""Fixtures for the shared report: run `imbal report` and the commands it must agree with, and open
a report in headless Chromium with the network cut off (the browser tests' Chromium and flags)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from imbal_core.cli import main

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_data"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


def run_cli(capsys, *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def cli_json(capsys, *argv: object) -> dict:
    code, out, err = run_cli(capsys, *argv, "--json")
    assert code in (0, 1), err
    return json.loads(out)


@dataclass
class Opened:
    """A report open in Chromium, with what happened while it loaded."""

    page: object
    url: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def table(self, name: str) -> list[dict[str, str]]:
        """The rows of ``table[data-table=name]`` as {header: cell text}."""
        return self.page.evaluate(
            """(name) => {
                const t = [...document.querySelectorAll('table[data-table]')].find(e => e.dataset.table === name);
                if (!t) return null;
                const heads = [...t.querySelectorAll('thead th')].map(th => th.textContent);
                return [...t.querySelectorAll('tbody tr')].map(tr =>
                    Object.fromEntries([...tr.children].map((td, i) => [heads[i], td.textContent])));
            }""", name)

    def tables(self) -> list[str]:
        return self.page.evaluate("() => [...document.querySelectorAll('table[data-table]')].map(t => t.dataset.table)")


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def open_report(browser):
    """``open_report(path)``: the report in a fresh page whose every request but the file itself is
    aborted (and recorded); waits until the page script has drawn every chart."""
    pages = []

    def opener(path: Path, viewport=(1280, 900)) -> Opened:
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        page = context.new_page()
        pages.append(context)
        url = path.resolve().as_uri()
        opened = Opened(page, url)

        def route(r):
            opened.requests.append(r.request.url)
            if r.request.url == url:
                r.continue_()
            else:
                r.abort()

        page.route("**/*", route)
        page.on("console", lambda m: opened.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: opened.errors.append(str(e)))
        page.on("requestfailed", lambda r: opened.errors.append(f"request failed: {r.url}"))

        def dialog(d):
            opened.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", dialog)
        page.goto(url)
        page.wait_for_selector("body[data-charts-drawn]", state="attached", timeout=90_000)
        return opened

    yield opener
    for context in pages:
        context.close()


def number(text: str) -> float:
    """``1,234`` / ``0.512`` / ``12.5%`` as a number (the page's formatting undone)."""
    return float(re.sub(r"[,%]", "", text.strip()))


SCRIPT_NAME = "<script>alert(1)</script>"
FORMULA_NAME = '=HYPERLINK("http://example.com/x","click me")'
PIPE_NAME = "Car | Truck"
HTML_FILE = "<img src=x onerror=alert(2)>"
HTML_VALUE = "<b onmouseover=alert(3)>night</b>"


def hostile_export(folder: Path) -> Path:
    """A small COCO export whose class names, image file names, condition values and own file name
    are HTML, a spreadsheet formula and a Markdown table's `|`: the report must show them as text."""
    import random

    rng = random.Random(0)
    categories = [{"id": i + 1, "name": n} for i, n in enumerate([SCRIPT_NAME, FORMULA_NAME, PIPE_NAME, "Bus"])]
    images, annotations = [], []
    for i in range(120):
        split = "train" if i % 10 < 7 else "val" if i % 10 < 9 else "test"
        images.append({"id": i + 1, "file_name": f"{HTML_FILE}_{i}.jpg", "width": 640, "height": 480, "split": split,
                       "time_of_day": HTML_VALUE if i % 3 == 0 else "day"})
        for _ in range(rng.randint(1, 4)):
            # the script-named class is rare, and absent at "night"
            cat = rng.choice([2, 3, 3, 4, 4, 4] + ([] if i % 3 == 0 else [1]))
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "category_id": cat,
                                "bbox": [rng.uniform(0, 500), rng.uniform(0, 380), 40, 30], "area": 1200, "iscrowd": 0})
    annotations[0]["bbox"] = [620, 10, 60, 30]  # crosses the border: clipped, so the load report quotes a record
    path = folder / f"{HTML_FILE}.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return path
