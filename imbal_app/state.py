"""The session's shared state: the loaded dataset, its label, predictions and the last load error."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from imbal_core.cube import is_count_source
from imbal_core.dataset import Dataset
from imbal_core.fingerprint import dataset_key
from imbal_core.report import LoadReport

_DATASET = "imbal.dataset"
_LABEL = "imbal.label"
_TOKEN = "imbal.token"
_PREDICTIONS = "imbal.predictions"
_ERROR = "imbal.error"
_CRITICAL = "imbal.critical"
_IMAGES_DIR = "imbal.images_dir"


def dataset() -> Dataset | None:
    return st.session_state.get(_DATASET)


def label() -> str:
    return st.session_state.get(_LABEL, "")


def token() -> tuple | None:
    return st.session_state.get(_TOKEN)


def predictions() -> Path | None:
    """The predictions file chosen with the dataset (a sample's own, or an upload)."""
    return st.session_state.get(_PREDICTIONS)


def error() -> tuple[str, LoadReport] | None:
    return st.session_state.get(_ERROR)


def set_dataset(ds: Dataset, text: str, tok: tuple, preds: Path | None) -> None:
    st.session_state[_DATASET] = ds
    st.session_state[_LABEL] = text
    st.session_state[_TOKEN] = tok
    st.session_state[_PREDICTIONS] = preds
    st.session_state.pop(_ERROR, None)


def set_error(message: str, report: LoadReport, token: tuple | None = None) -> None:
    """Keep the previous dataset (if any) on screen, and say what went wrong with the new one."""
    st.session_state[_ERROR] = (message, report)
    if token is not None:
        st.session_state[_TOKEN] = token


def clear_error() -> None:
    if st.session_state.pop(_ERROR, None) is not None:
        st.session_state.pop(_TOKEN, None)


def images_dir() -> str | None:
    """The images folder the user gave in the sidebar (a real path below the data root), or None."""
    return st.session_state.get(_IMAGES_DIR)


def set_images_dir(path: str | None) -> None:
    st.session_state[_IMAGES_DIR] = path


def critical_classes() -> list[str]:
    """Classes the user flagged as critical (rare but important) for the loaded dataset.

    Flagged on the Long tail page, used wherever critical classes rank first. Defaults to the
    export's own ``critical`` flags; names the dataset does not have are dropped.
    """
    ds = dataset()
    if ds is None:
        return []
    chosen = st.session_state.get(_CRITICAL, {}).get(dataset_key(ds))
    names = ds.critical_classes if chosen is None else chosen
    return [n for n in names if n in set(ds.class_names)]


def set_critical_classes(names: list[str]) -> None:
    ds = dataset()
    if ds is not None:
        st.session_state.setdefault(_CRITICAL, {})[dataset_key(ds)] = list(names)


def require_dataset() -> Dataset:
    """The loaded dataset, or a prompt to load one (and the page stops there)."""
    ds = dataset()
    if ds is None:
        st.info("Choose a dataset in the sidebar: a bundled sample, an upload, or a path on the server.")
        st.stop()
    return ds


def is_lake(ds: object) -> bool:
    """True when ``ds`` is a lake opened from a server path (counts only, no annotation rows)."""
    return is_count_source(ds)


def unavailable_on_lake(ds: object, what: str, why: str) -> bool:
    """When ``ds`` is a lake: say on the page that ``what`` is not available there and ``why``, and
    return True (the caller skips the part, or the page stops); else False."""
    if not is_count_source(ds):
        return False
    st.info(f"**{what} is not available on a lake**: {why}. A lake holds the counts of its exports, not their "
            "rows; open an export itself (a sample, an upload or its path) to use it.", icon=":material/database:")
    return True


def keep_valid(key: str, options: list) -> None:
    """Drop a remembered widget choice the current dataset does not offer (e.g. after switching samples):
    a single value not in ``options`` is forgotten, a multiselect keeps only its values still offered."""
    value = st.session_state.get(key)
    if isinstance(value, list):
        kept = [v for v in value if v in options]
        if kept != value:
            st.session_state[key] = kept
    elif key in st.session_state and value not in options:
        del st.session_state[key]
