"""Paths typed by a user of the app, confined to a data root.

The dashboard may read files on the server, but only below ``IMBAL_DATA_ROOT`` (default: the
working directory). A path outside it — absolute, through ``..``, or through a symbolic link
that leaves the root — is refused with a message saying so.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..report import LoadError


def data_root() -> Path:
    return Path(os.environ.get("IMBAL_DATA_ROOT") or os.getcwd()).resolve()


def resolve_in_root(text: str, root: Path | None = None) -> Path:
    """The real path of ``text`` (relative to the root, or absolute), if it lies inside the root."""
    root = (root or data_root()).resolve()
    text = text.strip().strip('"').strip("'")
    if not text:
        raise LoadError("Give a path to a file or folder below the data root.")
    candidate = Path(text).expanduser()
    if not candidate.is_absolute():
        candidate = root / candidate
    try:
        real = candidate.resolve(strict=True)
    except FileNotFoundError:
        raise LoadError(f"{text}: no such file or folder below the data root {root}.") from None
    except (OSError, RuntimeError) as exc:
        raise LoadError(f"{text}: cannot be opened ({exc}).") from None
    if real != root and root not in real.parents:
        raise LoadError(
            f"{text}: refused — it is outside the data root {root} (set IMBAL_DATA_ROOT to read elsewhere)."
        )
    return real
