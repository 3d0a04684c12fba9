"""Reading files for the readers: bytes, text with a report for bad encodings, JSON, split names."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import msgspec

from ..report import LoadError, LoadReport

_SPLIT_IN_NAME = re.compile(r"(?<![a-z])(train|training|val|valid|validation|test|testing|dev)(?![a-z])")


def split_from_name(path: str | Path) -> str | None:
    """``instances_val2014.json`` -> ``val``; ``trainval.json`` -> None (ambiguous: not a word of its own)."""
    name = Path(path).name.lower()
    found = {m.group(1) for m in _SPLIT_IN_NAME.finditer(name)}
    if len(found) != 1:
        return None
    from ..dataset import normalize_split

    return normalize_split(found.pop())


def read_bytes(path: str | Path) -> bytes:
    """The whole file, or :class:`LoadError` naming it and why it cannot be read."""
    try:
        return Path(path).read_bytes()
    except IsADirectoryError:
        raise LoadError(f"{path}: is a folder, not a file.", file=str(path)) from None
    except FileNotFoundError:
        raise LoadError(f"{path}: no such file.", file=str(path)) from None
    except PermissionError:
        raise LoadError(f"{path}: permission denied.", file=str(path)) from None
    except OSError as exc:
        raise LoadError(f"{path}: cannot be read ({exc.strerror or exc}).", file=str(path)) from None


def decode_text(data: bytes, path: str | Path, report: LoadReport) -> str:
    """UTF-8 text (a BOM is dropped). Invalid bytes are replaced by U+FFFD and reported once per file."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        report.add(
            path,
            f"byte {exc.start}",
            "not_utf8",
            f"text is not valid UTF-8 (first bad byte 0x{data[exc.start]:02x} at offset {exc.start})",
            "replaced invalid bytes",
        )
        return data.decode("utf-8", errors="replace")


def read_text(path: str | Path, report: LoadReport) -> str:
    return decode_text(read_bytes(path), path, report)


def parse_json(data: bytes, path: str | Path, report: LoadReport) -> Any:
    """Parse JSON: msgspec first (fast); on failure the standard library, which also accepts the
    ``NaN`` / ``Infinity`` that Python's own ``json.dump`` writes; non-UTF-8 bytes are replaced
    and reported. Anything else raises :class:`LoadError` with the position."""
    if not data.strip():
        raise LoadError(f"{path}: the file is empty.", report, str(path))
    truncated = False
    try:
        return msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        truncated = "truncated" in str(exc)
    except UnicodeDecodeError:
        pass
    text = decode_text(data, path, report)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        at_end = truncated or exc.pos >= len(text.rstrip()) - 1
        reason = "it ends early (truncated?)" if at_end else exc.msg
        raise LoadError(
            f"{path}: not valid JSON — {reason} at line {exc.lineno}, column {exc.colno}.", report, str(path)
        ) from None
    except RecursionError:
        raise LoadError(f"{path}: not valid JSON — nested too deeply.", report, str(path)) from None
    except ValueError as exc:  # e.g. an integer past Python's 4,300-digit limit
        raise LoadError(f"{path}: not valid JSON — {exc}.", report, str(path)) from None


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def as_float(value: Any) -> float | None:
    """A number as float; numeric text is accepted; anything else None."""
    if is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None
