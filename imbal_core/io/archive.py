"""Safe extraction of uploaded zip archives (a YOLO, VOC or image-folder tree).

Refused, with a message naming the archive and the entry: absolute paths, ``..`` components,
drive letters, symbolic links, more than ``max_files`` entries, more than ``max_bytes`` once
uncompressed (checked against the declared sizes first, then while writing, since declared
sizes can lie), and entries compressed more than ``max_ratio`` times (zip bombs).

An entry that cannot be extracted — encrypted (password-protected), compressed with a method
Python's ``zipfile`` cannot read (Deflate64, Zstandard ...), corrupt, or clashing with another
entry (``a.txt`` and ``a.txt/x.txt``: a file cannot also be a folder) — refuses the archive with
:class:`LoadError` naming it and the entry; given a ``report``, the entry is reported there
(``bad_archive_entry``) and skipped instead, and the other entries are extracted.
"""
from __future__ import annotations

import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from ..report import LoadError, LoadReport

MAX_FILES = 200_000
MAX_BYTES = 4 << 30
MAX_RATIO = 200
_BLOCK = 1 << 20
_SHOWN = 80  # the most characters of an entry name quoted in a message
#: Compression methods by number (APPNOTE 4.4.5), for saying which one an entry uses.
_METHODS = {6: "Implode", 9: "Deflate64", 12: "BZIP2", 14: "LZMA", 93: "Zstandard", 95: "XZ", 96: "JPEG",
            97: "WavPack", 98: "PPMd", 99: "AES encryption"}
_ENTRY_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError,
                 RuntimeError, zlib.error)


def _shown(name: str) -> str:
    return repr(name) if len(name) <= _SHOWN else repr(name[:_SHOWN]) + "…"


def _safe_name(name: str, archive: str) -> PurePosixPath:
    clean = name.replace("\\", "/")
    parts = PurePosixPath(clean).parts
    if clean.startswith("/") or (parts and parts[0].endswith(":")) or ".." in parts:
        raise LoadError(f"{archive}: refused — the entry {_shown(name)} would be written outside the extraction folder.",
                        file=archive)
    return PurePosixPath(*[p for p in parts if p not in ("", ".")])


def _clash(name: PurePosixPath, is_dir: bool, files: set[PurePosixPath], dirs: set[PurePosixPath]) -> str | None:
    """Why ``name`` cannot be written beside the entries already extracted, or None."""
    for parent in reversed(name.parents[:-1] if name.parts else ()):
        if parent in files:
            return f"'{parent}' is a file in the archive, so it cannot also be a folder"
    if not is_dir and name in dirs:
        return f"'{name}' is a folder in the archive, so it cannot also be a file"
    if is_dir and name in files:
        return f"'{name}' is a file in the archive, so it cannot also be a folder"
    return None


def _unreadable(info: zipfile.ZipInfo) -> str | None:
    """Why the entry cannot be decompressed at all (before trying), or None."""
    if info.flag_bits & 0x1 or info.compress_type == 99:
        return "it is encrypted (password-protected); imbal reads only unencrypted archives"
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        method = _METHODS.get(info.compress_type, "unknown")
        return (f"it is compressed with method {info.compress_type} ({method}), which cannot be read here; "
                "re-create the archive with the usual Deflate method")
    return None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, NotImplementedError):
        return f"its compression method cannot be read here ({exc})"
    if isinstance(exc, (zipfile.BadZipFile, EOFError, zlib.error)):
        return f"the entry is corrupt ({exc})"
    if isinstance(exc, OSError):
        return f"it cannot be written ({exc.strerror or exc})"
    return f"{type(exc).__name__}: {exc}"


def extract_zip(
    source: str | Path,
    dest: str | Path,
    *,
    max_files: int = MAX_FILES,
    max_bytes: int = MAX_BYTES,
    max_ratio: float = MAX_RATIO,
    report: LoadReport | None = None,
) -> Path:
    """Extract ``source`` into ``dest`` and return the folder holding the export: ``dest`` itself,
    or its only top-level folder when the archive wraps everything in one.

    ``report`` (None): where entries that cannot be extracted are reported and skipped; without
    one, such an entry refuses the archive (:class:`LoadError`). Unsafe entries always refuse it.
    """
    archive = str(source)
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
        raise LoadError(f"{archive}: not a readable zip archive ({exc}).", file=archive) from None
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    with zf:
        infos = zf.infolist()
        if len(infos) > max_files:
            raise LoadError(f"{archive}: refused — {len(infos):,} entries, more than the limit of {max_files:,}.", file=archive)
        declared = sum(i.file_size for i in infos)
        if declared > max_bytes:
            raise LoadError(
                f"{archive}: refused — it would unpack to {declared / 1e9:.1f} GB, more than the limit of {max_bytes / 1e9:.1f} GB.",
                file=archive,
            )
        written = 0
        files: set[PurePosixPath] = set()
        dirs: set[PurePosixPath] = set()
        for info in infos:
            name = _safe_name(info.filename, archive)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise LoadError(f"{archive}: refused — the entry {_shown(info.filename)} is a symbolic link.", file=archive)
            if info.compress_size and info.file_size / info.compress_size > max_ratio and info.file_size > _BLOCK:
                raise LoadError(
                    f"{archive}: refused — the entry {_shown(info.filename)} is compressed "
                    f"{info.file_size / info.compress_size:,.0f} times (more than {max_ratio:g}): a zip bomb?",
                    file=archive,
                )
            is_dir = info.is_dir() or not name.parts
            problem = _clash(name, is_dir, files, dirs) or (None if is_dir else _unreadable(info))
            if problem is None:
                try:
                    written = _extract(zf, info, dest, name, is_dir, written, max_bytes, archive)
                except _ENTRY_ERRORS as exc:
                    problem = _reason(exc)
            if problem is not None:
                if report is None:
                    raise LoadError(f"{archive}: the entry {_shown(info.filename)} cannot be extracted — {problem}.",
                                    file=archive)
                report.add(archive, info.filename[:_SHOWN], "bad_archive_entry", f"entry cannot be extracted: {problem}",
                           "skipped")
                continue
            (dirs if is_dir else files).add(name)
            dirs.update(name.parents[:-1] if name.parts else ())
    entries = [p for p in dest.iterdir() if not p.name.startswith(("__MACOSX", "."))]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return dest


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, name: PurePosixPath, is_dir: bool,
             written: int, max_bytes: int, archive: str) -> int:
    """Write one entry below ``dest``; the bytes written so far, this entry's included. A
    partly written file is removed when the entry turns out unreadable."""
    target = dest.joinpath(*name.parts) if name.parts else dest
    if is_dir:
        target.mkdir(parents=True, exist_ok=True)
        return written
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with zf.open(info) as src, open(target, "wb") as out:
            while block := src.read(_BLOCK):
                written += len(block)
                if written > max_bytes:
                    raise LoadError(f"{archive}: refused — it unpacks to more than {max_bytes / 1e9:.1f} GB.", file=archive)
                out.write(block)
    except _ENTRY_ERRORS:
        if target.is_file():
            target.unlink()
        raise
    return written
