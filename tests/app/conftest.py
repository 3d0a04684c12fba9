"""AppTest fixtures: the real app script, run headless against the bundled samples."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
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
    monkeypatch.setenv("IMBAL_WORKSPACE", str(tmp_path / "workspace.duckdb"))  # never the repo's default file
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


@pytest.fixture
def downloads(monkeypatch):
    """The bytes of every download button the runs rendered, by file name and by media file id (the stem of
    the button's URL): AppTest keeps no media server, so a test cannot fetch them."""
    files: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        files[file_id] = path_or_data
        if filename:
            files[filename] = path_or_data
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return files


def open_on(at: AppTest, page: str, sample: str | None = None) -> AppTest:
    """Choose ``sample`` in the sidebar (when given), switch to ``page`` and check that no exception or
    error is shown."""
    if sample:
        at.selectbox(key="sample_name").set_value(sample).run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at
