"""Paths typed by a user of the app, confined to a data root; file names shown safely.

The dashboard may read files on the server, but only below ``IMBAL_DATA_ROOT`` (default: the
working directory). A path outside it — absolute, through ``..``, or through a symbolic link
that leaves the root — is refused with a message saying so.

A file name need not be UTF-8 on Linux: Python hands its bytes over as surrogate escapes
(``b'\\xff.txt'`` becomes ``'\\udcff.txt'``), which Arrow, JSON and msgspec refuse to encode.
Every folder reader checks each name with :func:`skip_undecodable_name`: such a file is reported
(``undecodable_name``, its name shown by :func:`safe_name` with ``\\xff`` escapes) and skipped,
and the rest of the folder is read.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..report import LoadError
from .files import safe_name, skip_undecodable_name

__all__ = ["data_root", "resolve_in_root", "safe_name", "skip_undecodable_name"]


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
        raise LoadError(f"{text}: no such file or folder below the data root {root}.", file=text) from None
    except (OSError, RuntimeError, ValueError) as exc:  # ValueError: a NUL character in the text
        raise LoadError(f"{text}: cannot be opened ({exc}).", file=text) from None
    if real != root and root not in real.parents:
        raise LoadError(
            f"{text}: refused — it is outside the data root {root} (set IMBAL_DATA_ROOT to read elsewhere).", file=text
        )
    return real

