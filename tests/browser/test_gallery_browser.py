"""The gallery in headless Chromium on the street sample: Conditions -> the Wheelchair-at-night finding ->
its 9 thumbnails load as pictures; Enlarge opens the image with its annotations; no console error."""
from __future__ import annotations

import pytest

import imbal_core
from imbal_core.gallery import select_images

from .test_browser import ARTIFACTS, ROOT, browser, server, settle  # noqa: F401 — the shared fixtures

pytestmark = pytest.mark.browser

LOADED = "els => els.map(e => e.complete ? e.naturalWidth : 0)"


def test_conditions_finding_opens_its_images_and_enlarges_one(server, browser):  # noqa: F811
    expected = select_images(imbal_core.load(ROOT / "sample_data" / "street" / "annotations.json"), "Wheelchair",
                             where={"time_of_day": "night"})
    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.goto(server)
    settle(page)
    page.locator('[data-testid="stSidebarNav"] a', has_text="Conditions").first.click()
    settle(page)
    finding = page.get_by_text("1. Wheelchair at night", exact=False).first
    finding.wait_for(timeout=60_000)
    finding.click()
    settle(page)

    cell = page.locator(".st-key-cond_cell_left_gallery")
    cell.get_by_text(f"{len(expected)} images", exact=False).first.wait_for(timeout=60_000)
    images = cell.locator('[data-testid="stImage"] img')
    page.wait_for_function(
        "n => { const els = [...document.querySelectorAll('.st-key-cond_cell_left_gallery [data-testid=\"stImage\"] img')];"
        " return els.length === n && els.every(e => e.complete && e.naturalWidth > 0); }",
        arg=len(expected), timeout=60_000)
    widths = images.evaluate_all(LOADED)
    assert len(widths) == len(expected) == 9
    assert all(w > 0 for w in widths), widths
    # the comparison grid beside it: a full first page of the night images without a Wheelchair
    beside = page.locator('.st-key-cond_cell_right_gallery [data-testid="stImage"] img')
    assert beside.count() == 24
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-gallery-conditions.png"), full_page=True)

    first = expected.image_ids[0]
    page.locator(f".st-key-cond_cell_left_open_{first} button").click()
    dialog = page.locator('[role="dialog"]')
    dialog.wait_for(timeout=60_000)
    dialog.get_by_text("Ground truth (solid):", exact=False).wait_for(timeout=60_000)
    page.wait_for_function(
        "() => { const e = document.querySelector('[role=\"dialog\"] [data-testid=\"stImage\"] img');"
        " return e && e.complete && e.naturalWidth > 0; }", timeout=60_000)
    big = dialog.locator('[data-testid="stImage"] img').evaluate_all(LOADED)
    assert len(big) == 1 and big[0] > max(widths), (big, widths)  # the enlarged render, not the thumbnail
    text = dialog.inner_text()
    assert "Wheelchair" in text and "split" in text and "time of day" in text and "night" in text
    file_name = expected.table.column("file_name")[0].as_py()
    assert file_name in text
    page.screenshot(path=str(ARTIFACTS / "browser-gallery-enlarged.png"), full_page=True)
    assert not errors, errors


def test_long_tail_a_clicked_bar_opens_its_class(server, browser):  # noqa: F811
    street = imbal_core.load(ROOT / "sample_data" / "street" / "annotations.json")
    expected = select_images(street, "Wheelchair")
    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.goto(server)
    settle(page)
    page.locator('[data-testid="stSidebarNav"] a', has_text="Long tail").first.click()
    settle(page)
    bars = page.locator('[data-testid="stPlotlyChart"]').first.locator("g.point path")
    bars.last.wait_for(timeout=60_000)
    bars.last.click(force=True)  # bars run largest first: the last is the rarest, Wheelchair
    settle(page)
    gallery = page.locator(".st-key-lt_gallery_gallery")
    gallery.get_by_text(f"{len(expected)} images with Wheelchair", exact=False).wait_for(timeout=60_000)
    page.wait_for_function(
        "() => { const els = [...document.querySelectorAll('.st-key-lt_gallery_gallery [data-testid=\"stImage\"] img')];"
        " return els.length === 24 && els.every(e => e.complete && e.naturalWidth > 0); }", timeout=60_000)
    assert not errors, errors
