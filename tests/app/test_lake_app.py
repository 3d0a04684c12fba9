"""A lake opened from a server path: Overview, Long tail, Conditions, Splits, Rebalancing plan and Label
hierarchy run and show the numbers they show for the export the lake was built from; the pages and parts
that need the export's rows (Evaluation, Active learning, quota ingest, image galleries, new splits) say
why they are not available."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from imbal_core.io import load
from imbal_core.lake import add_dataset
from imbal_core.quotas import Workspace
from imbal_core.samples import SAMPLES

from .conftest import APP, ROOT, TIMEOUT, texts

#: The pages that work on a lake, with the numbers they show.
PAGES = ["views/overview.py", "views/longtail.py", "views/conditions.py", "views/splits.py", "views/plan.py",
         "views/hierarchy.py"]
NOT_AVAILABLE = "is not available on a lake"


@pytest.fixture
def app_with_lake(monkeypatch, tmp_path) -> AppTest:
    """The dashboard with the street sample loaded (the default) and a lake of it at the server path `lake`."""
    sample = SAMPLES["street"]
    add_dataset(tmp_path / "lake", load(sample.files(), format=sample.format, cache=False))
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("IMBAL_UPLOAD_DIR", str(tmp_path / "uploads"))
    monkeypatch.setenv("IMBAL_DATA_ROOT", str(tmp_path))
    monkeypatch.setenv("IMBAL_WORKSPACE", str(tmp_path / "workspace.duckdb"))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_lake(at: AppTest) -> AppTest:
    at.button_group(key="source_kind").set_value("Server path").run()
    at.text_input(key="server_path").set_value("lake").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def numbers(at: AppTest, page: str) -> dict:
    """What the page shows as numbers: its metrics, the content of its tables, the findings to pick."""
    at.switch_page(page).run()
    assert not at.exception, (page, [e.value for e in at.exception])
    assert not at.error, (page, [e.value for e in at.error])
    metrics = [(m.label, m.value) for m in at.metric]
    tables = [df.value.astype(str).values.tolist() for df in at.dataframe]
    choices = [list(r.options) for r in at.radio]
    return {"metrics": metrics, "tables": tables, "choices": choices}


def test_the_pages_show_the_export_numbers(app_with_lake):
    at = app_with_lake
    want = {page: numbers(at, page) for page in PAGES}
    open_lake(at)
    assert "a lake of 1 source" in texts(at)
    for page in PAGES:
        got = numbers(at, page)
        assert got["metrics"] or got["tables"], page
        assert got == want[page], page


@pytest.mark.parametrize("page", ["views/evaluation.py", "views/active_learning.py"])
def test_pages_that_need_rows_say_why(app_with_lake, page):
    at = open_lake(app_with_lake)
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = " ".join(i.value for i in at.info)
    assert NOT_AVAILABLE in shown and "open an export itself" in shown
    assert not at.metric and not at.dataframe  # the page stops there


def test_the_parts_that_need_rows_say_why(app_with_lake, tmp_path):
    at = open_lake(app_with_lake)
    at.switch_page("views/longtail.py").run()
    at.selectbox(key="lt_gallery_class").set_value("Car").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(f"The image gallery {NOT_AVAILABLE}" in i.value for i in at.info)
    at.switch_page("views/splits.py").run()
    assert any(f"Generating new splits {NOT_AVAILABLE}" in i.value for i in at.info)
    at.switch_page("views/overview.py").run()
    assert any(f"The load report {NOT_AVAILABLE}" in i.value for i in at.info)
    Workspace(tmp_path / "workspace.duckdb").create_project("push")
    at.switch_page("views/quotas.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(f"Ingesting a snapshot {NOT_AVAILABLE}" in i.value for i in at.info)
