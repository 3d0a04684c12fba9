"""The real app in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium)")
    port = free_port()
    env = dict(os.environ, IMBAL_CACHE_DIR=str(tmp_path_factory.mktemp("cache")),
               IMBAL_UPLOAD_DIR=str(tmp_path_factory.mktemp("uploads")))
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read().strip() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail(f"the app did not start: {proc.stderr.read().decode()[-2000:]}")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def settle(page, seconds=90):
    """Wait until Streamlit has finished running the script."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=seconds * 1000)
    deadline = time.time() + seconds
    while time.time() < deadline:
        time.sleep(0.5)
        if page.locator('[data-testid="stStatusWidget"]').count() == 0:
            time.sleep(0.5)
            if page.locator('[data-testid="stStatusWidget"]').count() == 0:
                return
    raise AssertionError("the app kept running for more than %d s" % seconds)


def test_overview_then_another_page(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server)
    settle(page)
    page.get_by_text("Overview", exact=True).first.wait_for(timeout=60_000)
    classes = page.locator('[data-testid="stMetric"]', has_text="Classes")
    assert "10 of 10" in classes.inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0
    page.locator('[data-testid="stDataFrame"] canvas').first.wait_for(timeout=60_000)
    page.wait_for_timeout(1000)  # the grid draws on its canvas just after it appears
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-overview.png"), full_page=True)

    links = page.locator('[data-testid="stSidebarNav"] a')
    # a link's text is its icon's ligature name, then the title: keep the title
    names = [links.nth(i).inner_text().strip().splitlines()[-1].strip() for i in range(links.count())]
    others = [n for n in names if n != "Overview"]
    if others:  # later issues add pages: visit one and check it renders without an error box
        page.locator('[data-testid="stSidebarNav"] a', has_text=others[0]).first.click()
        settle(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        page.screenshot(path=str(ARTIFACTS / "browser-second-page.png"), full_page=True)
    else:  # one page so far: switch the sample instead and see the figures change
        page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
        page.get_by_role("option", name="Surface inspection (classification)").click()
        settle(page)
        page.locator('[data-testid="stMetric"]', has_text="classification").first.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "browser-surface.png"), full_page=True)
    assert not errors, errors
