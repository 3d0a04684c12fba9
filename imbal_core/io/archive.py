"""Safe extraction of uploaded zip archives (a YOLO, VOC or image-folder tree).

Refused, with a message naming the archive and the entry: absolute paths, ``..`` components,
drive letters, symbolic links, more than ``max_files`` entries, more than ``max_bytes`` once
uncompressed (checked against the declared sizes first, then while writing, since declared
sizes can lie), and entries compressed more than ``max_ratio`` times (zip bombs).
"""
from __future__ import annotations

import stat
import zipfile
from pathlib import Path, PurePosixPath

from ..report import LoadError

MAX_FILES = 200_000
MAX_BYTES = 4 << 30
MAX_RATIO = 200
_BLOCK = 1 << 20


def _safe_name(name: str, archive: str) -> PurePosixPath:
    clean = name.replace("\\", "/")
    parts = PurePosixPath(clean).parts
    if clean.startswith("/") or (parts and parts[0].endswith(":")) or ".." in parts:
        raise LoadError(f"{archive}: refused — the entry {name!r} would be written outside the extraction folder.", file=archive)
    return PurePosixPath(*[p for p in parts if p not in ("", ".")])


def extract_zip(
    source: str | Path,
    dest: str | Path,
    *,
    max_files: int = MAX_FILES,
    max_bytes: int = MAX_BYTES,
    max_ratio: float = MAX_RATIO,
) -> Path:
    """Extract ``source`` into ``dest`` and return the folder holding the export: ``dest`` itself,
    or its only top-level folder when the archive wraps everything in one."""
    archive = str(source)
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
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
        for info in infos:
            name = _safe_name(info.filename, archive)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise LoadError(f"{archive}: refused — the entry {info.filename!r} is a symbolic link.", file=archive)
            if info.compress_size and info.file_size / info.compress_size > max_ratio and info.file_size > _BLOCK:
                raise LoadError(
                    f"{archive}: refused — the entry {info.filename!r} is compressed {info.file_size / info.compress_size:,.0f} times "
                    f"(more than {max_ratio:g}): a zip bomb?",
                    file=archive,
                )
            target = dest.joinpath(*name.parts) if name.parts else dest
            if info.is_dir() or not name.parts:
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, open(target, "wb") as out:
                    while block := src.read(_BLOCK):
                        written += len(block)
                        if written > max_bytes:
                            raise LoadError(
                                f"{archive}: refused — it unpacks to more than {max_bytes / 1e9:.1f} GB.", file=archive
                            )
                        out.write(block)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
                raise LoadError(f"{archive}: the entry {info.filename!r} cannot be extracted ({exc}).", file=archive) from None
    entries = [p for p in dest.iterdir() if not p.name.startswith(("__MACOSX", "."))]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return dest
