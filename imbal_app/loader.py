"""The sidebar's data source: a bundled sample, an upload, or a path on the server.

Loading happens once per source: the parsed dataset is kept in the session and, across
sessions, in ``st.cache_resource`` on top of the library's own Parquet cache (keyed by the
inputs' content), so switching pages or moving a widget never parses again.

A server path that is a lake (``imbal lake add``) opens as a lake dataset
(:class:`imbal_core.lake.dataset.LakeDataset`), kept per lake content: its count cubes are built
once, with a progress bar, and every page and session after reuses them.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

import imbal_core
from imbal_core.dataset import Dataset
from imbal_core.io import DESCRIPTIONS
from imbal_core.io.archive import extract_zip
from imbal_core.io.paths import data_root, resolve_in_root
from imbal_core.lake.manifest import is_lake
from imbal_core.downloads import json_bytes
from imbal_core.report import LoadError, LoadReport, ReportRow
from imbal_core.samples import DEFAULT_SAMPLE, SAMPLES

from . import sharing, state

log = logging.getLogger(__name__)

SOURCES = ("Sample", "Upload", "Server path")
FORMAT_LABELS = {"auto": "detect automatically", **DESCRIPTIONS}


@dataclass(frozen=True)
class Request:
    """What to load: the files, how, and a token that changes only when the choice does."""

    label: str
    paths: tuple[str, ...]
    format: str
    conditions: str | None
    predictions: str | None
    token: tuple
    #: Entries of uploaded zips that could not be extracted (skipped): shown first in the load report.
    skipped: tuple[ReportRow, ...] = ()


@dataclass(frozen=True)
class Refused:
    """A choice that cannot be loaded (a path outside the root, a hostile zip): say why."""

    message: str
    report: LoadReport


@st.cache_resource(max_entries=8, show_spinner=False)
def _load(paths: tuple[str, ...], fmt: str, conditions: str | None) -> Dataset:
    return imbal_core.load(list(paths), format=fmt, conditions=conditions)


@st.cache_resource(max_entries=4, show_spinner=False)
def _lake(path: str, manifest: dict):
    """The lake at ``path`` as a dataset, one per content: its ``manifest`` (the commit point, naming
    every source's content hash) is hashed with it, so a lake grown by another add gets a new one.
    The cubes it keeps serve every session."""
    from imbal_core.lake.dataset import open_dataset

    return open_dataset(path)


def uploads_dir() -> Path:
    return Path(os.environ.get("IMBAL_UPLOAD_DIR") or Path(tempfile.gettempdir()) / "imbal-uploads")


def save_upload(name: str, data: bytes, report: LoadReport | None = None) -> Path:
    """Store an uploaded file under its content hash; a .zip is extracted (safely) beside it.

    An entry of the zip that cannot be extracted (encrypted, an unreadable compression method,
    corrupt, clashing with another) is skipped and added to ``report`` under the upload's name;
    the rows are kept beside the extraction, so the same upload reports them again later."""
    digest = hashlib.sha256(data).hexdigest()[:24]
    folder = uploads_dir() / digest
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / Path(name).name
    if not target.exists():
        target.write_bytes(data)
    if target.suffix.lower() != ".zip":
        return target
    extracted = folder / "extracted"
    done = folder / ".extracted"
    kept = folder / ".skipped.json"
    if not done.exists():
        skipped = LoadReport()
        root = extract_zip(target, extracted, report=skipped)
        rows = [dataclasses.replace(r, file=Path(name).name) for r in skipped]
        kept.write_bytes(json_bytes([r.to_dict() for r in rows]))
        done.write_text(str(root))
    if report is not None and kept.exists():
        report.extend(ReportRow(**r) for r in json.loads(kept.read_text(encoding="utf-8")))
    return Path(done.read_text())


def _format_box(key: str) -> str:
    return st.selectbox("Format", list(FORMAT_LABELS), format_func=lambda f: f if f == "auto" else f"{f} — {FORMAT_LABELS[f]}",
                        key=key, help="Leave on auto unless detection picks the wrong reader.")


def _extras(skipped: LoadReport) -> tuple[str | None, str | None, tuple]:
    """Optional conditions sidecar and predictions file (zip entries skipped go to ``skipped``)."""
    with st.expander("Conditions and predictions (optional)"):
        sidecar = st.file_uploader("Conditions sidecar (CSV / Parquet keyed by file name or image id)",
                                   type=["csv", "tsv", "parquet"], key="upload_conditions")
        preds = st.file_uploader("Predictions, for the Evaluation and Active learning pages (COCO results JSON, "
                                 "YOLO txt zip, or CSV)",
                                 type=["json", "csv", "parquet", "zip", "txt"], key="upload_predictions")
    cond_path = str(save_upload(sidecar.name, sidecar.getvalue(), skipped)) if sidecar else None
    pred_path = str(save_upload(preds.name, preds.getvalue(), skipped)) if preds else None
    token = (sidecar.file_id if sidecar else None, preds.file_id if preds else None)
    return cond_path, pred_path, token


def _request() -> Request | Refused | None:
    skipped = LoadReport()
    try:
        request = _choose(skipped)
    except LoadError as exc:  # a hostile zip (an entry outside the folder, a bomb): refused, with the reason
        return Refused(str(exc), LoadReport([*skipped, *exc.report]))
    if request is None or not skipped:
        return request
    return dataclasses.replace(request, skipped=tuple(skipped))


def _choose(skipped: LoadReport) -> Request | None:
    kind = st.segmented_control("Source", SOURCES, default=SOURCES[0], key="source_kind") or SOURCES[0]
    if kind == "Sample":
        name = st.selectbox("Sample", list(SAMPLES), index=list(SAMPLES).index(DEFAULT_SAMPLE),
                            format_func=lambda n: SAMPLES[n].title, key="sample_name")
        sample = SAMPLES[name]
        st.caption(sample.description)
        cond, preds, extra = _extras(skipped)
        default_preds = sample.predictions_file()
        preds = preds or (str(default_preds) if default_preds and default_preds.exists() else None)
        return Request(sample.title, tuple(str(p) for p in sample.files()), sample.format, cond, preds,
                       ("sample", name, extra))
    if kind == "Upload":
        files = st.file_uploader("Export file(s), or a .zip of a YOLO / VOC / image-folder tree",
                                 accept_multiple_files=True, key="upload_files")
        fmt = _format_box("upload_format")
        cond, preds, extra = _extras(skipped)
        if not files:
            st.caption("COCO or Label Studio JSON, YOLO data.yaml with labels in a zip, VOC as a zip, a label CSV…")
            return None
        paths = tuple(str(save_upload(f.name, f.getvalue(), skipped)) for f in files)
        label = ", ".join(f.name for f in files)
        return Request(label, paths, fmt, cond, preds, ("upload", tuple(f.file_id for f in files), fmt, extra))
    root = data_root()
    text = st.text_input("Path below the data root", key="server_path", placeholder="exports/instances_val.json",
                         help=f"Files are read only below {root} (set IMBAL_DATA_ROOT to change it).")
    fmt = _format_box("path_format")
    cond, preds, extra = _extras(skipped)
    st.caption(f"Data root: `{root}`")
    if not text.strip():
        return None
    path = resolve_in_root(text, root)
    return Request(text, (str(path),), fmt, cond, preds, ("path", str(path), fmt, extra))


def sidebar() -> None:
    """Draw the data source in the sidebar and keep the session's dataset in step with it."""
    with st.sidebar:
        st.caption("Per-class dataset health for computer vision")
        st.markdown("### Data")
        request = _request()
        if request is None:
            state.clear_error()  # nothing chosen yet: an earlier source's error no longer applies
        elif isinstance(request, Refused):
            state.set_error(request.message, request.report)
        elif request.token != state.token():
            _load_request(request)
        _show_status()
        _images_folder()


def _images_folder() -> None:
    """The optional folder where the export's images are (the gallery looks there too): kept in the
    session when it is a folder below the data root; otherwise a warning says why it is not used."""
    text = st.text_input("Images folder (optional)", key="images_folder", placeholder="exports/images",
                         help="Where the export's images are, when they are not beside it: the gallery looks here "
                              "too (by file name). Only folders below the data root are read.")
    folder = None
    if text.strip():
        try:
            path = resolve_in_root(text, data_root())
        except LoadError as exc:
            st.warning(f"Images folder not used: {exc}")
        else:
            if path.is_dir():
                folder = str(path)
            else:
                st.warning(f"Images folder not used: {text} is a file, not a folder.")
    state.set_images_dir(folder)


def _progress_to(bar):
    """A ``progress(fraction, text)`` for the lake engine that moves ``bar``; the engine reports
    from its own thread, which gets this script run's context to draw."""
    from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

    context, script = get_script_run_ctx(), threading.current_thread()

    def update(fraction: float, text: str) -> None:
        if threading.current_thread() is not script:
            add_script_run_ctx(threading.current_thread(), context)
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=text)

    return update


def _load_lake(request: Request) -> None:
    """Open the lake of ``request`` and build the counts the pages read first, showing progress."""
    from imbal_core.lake.manifest import read_manifest

    path = request.paths[0]
    slot = st.empty()
    with slot.status(f"Opening the lake {request.label}…", expanded=True) as status:
        bar = st.progress(0.0, text="Checking the lake's files")
        try:
            dataset = _lake(path, read_manifest(Path(path)))
            dataset.prepare(_progress_to(bar))
        except ValueError as exc:  # LakeError: a damaged lake, a newer format, memory too small
            state.set_error(str(exc), LoadReport(), token=request.token)
            status.update(label="Could not open this lake", state="error")
            return
        except Exception as exc:  # never a traceback for the user; the log keeps it
            log.exception("opening the lake %s failed", path)
            state.set_error(f"Unexpected problem while opening the lake {request.label}: {type(exc).__name__}: {exc}",
                            LoadReport(), token=request.token)
            status.update(label="Could not open this lake", state="error")
            return
        status.update(label=dataset.summary_line(), state="complete")
    slot.empty()
    state.set_dataset(dataset, request.label, request.token, None)


def _load_request(request: Request) -> None:
    if len(request.paths) == 1 and is_lake(request.paths[0]):
        _load_lake(request)
        return
    slot = st.empty()  # the progress box goes away once the result is shown below it
    with slot.status(f"Loading {request.label}…", expanded=False) as status:
        st.write(f"Reading {len(request.paths)} input(s); large exports take a few seconds the first time.")
        try:
            dataset = _load(request.paths, request.format, request.conditions)
        except LoadError as exc:
            state.set_error(str(exc), LoadReport([*request.skipped, *exc.report]), token=request.token)
            status.update(label="Could not load this export", state="error")
            return
        except Exception as exc:  # never a traceback for the user; the log keeps it
            log.exception("loading %s failed", request.paths)
            state.set_error(f"Unexpected problem while reading {request.label}: {type(exc).__name__}: {exc}",
                            LoadReport(), token=request.token)
            status.update(label="Could not load this export", state="error")
            return
        status.update(label=dataset.summary_line(), state="complete")
    slot.empty()
    if request.skipped:  # a new object: the cached dataset others share keeps its own report
        dataset = dataclasses.replace(dataset, report=LoadReport([*request.skipped, *dataset.report]))
    state.set_dataset(dataset, request.label, request.token,
                      Path(request.predictions) if request.predictions else None)


def _show_status() -> None:
    error = state.error()
    if error is not None:
        message, report = error
        st.error(message)
        if report:
            st.caption(f"{len(report)} problems were found before stopping; the first:")
            st.dataframe(report.to_pandas().head(20), hide_index=True)
        if state.dataset() is not None:
            st.caption(f"Still showing: {state.label()}")
        return
    dataset = state.dataset()
    if dataset is not None:
        st.success(f"**{state.label()}**  \n{dataset.summary_line()}")
        sharing.download_button("sidebar")
