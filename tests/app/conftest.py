"""AppTest fixtures: the real app script, run headless against the bundled samples."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TIMEOUT = 120


@pytest.fixture
def app(monkeypatch, tmp_path) -> AppTest:
    """A fresh session of the dashboard (uploads and parse cache in tmp)."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("IMBAL_UPLOAD_DIR", str(tmp_path / "uploads"))
    monkeypatch.setenv("IMBAL_DATA_ROOT", str(ROOT))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def texts(at: AppTest) -> str:
    """Everything a person would read on the page and in the sidebar, as one string."""
    parts = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success", "title", "subheader"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)
