"""Shared fixtures: the real exports in ../shared/realdata (read in place, never copied)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REALDATA = Path(os.environ.get("IMBAL_REALDATA", ROOT.parent / "shared" / "realdata"))


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The folder of real exports; tests using it skip with a reason when it is absent, and fail
    instead when ``IMBAL_REQUIRE_REALDATA=1`` (CI sets it: there a skip would hide the tests)."""
    if not REALDATA.is_dir():
        message = f"real exports not found at {REALDATA} (set IMBAL_REALDATA)"
        if os.environ.get("IMBAL_REQUIRE_REALDATA") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return REALDATA


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Each test session gets its own parse cache, so tests never read a developer's cache."""
    monkeypatch.setenv("IMBAL_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "imbal-cache"))
