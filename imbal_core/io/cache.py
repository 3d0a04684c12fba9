"""Parse once: parsed exports are cached as Parquet, keyed by a content hash of the inputs.

The key of a load is the SHA-256 of (cache version, format, reader options, each input's
fingerprint). A file's fingerprint is the SHA-256 of its bytes; a folder's is the SHA-256 of
every file below it by relative path, size and modification time (hashing a folder of images by
content would cost more than parsing it). To make a warm reopen cost only a ``stat``, a small
index maps (path, size, mtime, inode) to the file's content hash; on a miss the hash is computed
in a background thread while the file is being parsed, so a cold load does not wait for it.

Layout under :func:`cache_dir` (``$IMBAL_CACHE_DIR``, default ``~/.cache/imbal``)::

    v{VERSION}/<key>/{images,annotations,categories,report}.parquet + meta.json
    stat/<hash of path, size, mtime, inode>   (the content hash, as text)

Entries are written to a temporary folder and renamed into place, so a reader never sees a
half-written entry; the oldest entries beyond :data:`MAX_ENTRIES` are removed.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterable

import pyarrow.parquet as pq

from ..dataset import Dataset, validate
from ..report import LoadReport

log = logging.getLogger(__name__)

VERSION = 1
MAX_ENTRIES = 32
_TABLES = ("images", "annotations", "categories")


def cache_dir() -> Path:
    return Path(os.environ.get("IMBAL_CACHE_DIR") or Path.home() / ".cache" / "imbal")


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(8 << 20):
            h.update(chunk)  # releases the GIL: runs beside the parser
    return h.hexdigest()


def _stat_key(path: Path) -> str:
    st = path.stat()
    text = f"{path.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}"
    return hashlib.sha1(text.encode()).hexdigest()


def _walk(root: Path) -> Iterable[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(dirpath) / name


def _folder_fingerprint(root: Path) -> str:
    h = hashlib.sha256()
    for p in _walk(root):
        try:
            st = p.stat()
        except OSError:
            continue
        h.update(f"{p.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


class InputKey:
    """The cache key of a load; :attr:`known` at once when every file hits the stat index,
    otherwise :meth:`start` hashes the rest in a background thread and :meth:`result` joins it."""

    def __init__(self, paths: list[Path], fmt: str, options: dict[str, Any]):
        self._head = json.dumps([VERSION, fmt, sorted((k, repr(v)) for k, v in options.items())])
        # Options naming files (a label config, a names file) count by content too.
        paths = list(paths) + [Path(v) for v in options.values() if isinstance(v, (str, Path)) and Path(v).is_file()]
        self._paths = paths
        self._prints: list[str | None] = []
        self._missing: list[int] = []
        for i, p in enumerate(paths):
            if p.is_dir():
                self._prints.append(_folder_fingerprint(p))
                continue
            self._prints.append(self._stat_lookup(p))
            if self._prints[-1] is None:
                self._missing.append(i)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @staticmethod
    def _stat_lookup(path: Path) -> str | None:
        try:
            return (cache_dir() / "stat" / _stat_key(path)).read_text().strip() or None
        except OSError:
            return None

    @property
    def known(self) -> str | None:
        return None if self._missing else self._combine()

    def _combine(self) -> str:
        return hashlib.sha256((self._head + json.dumps(self._prints)).encode()).hexdigest()

    def _hash_missing(self) -> None:
        try:
            for i in self._missing:
                p = self._paths[i]
                digest = _sha256_file(p)
                self._prints[i] = digest
                try:
                    stat_dir = cache_dir() / "stat"
                    stat_dir.mkdir(parents=True, exist_ok=True)
                    (stat_dir / _stat_key(p)).write_text(digest)
                except OSError as exc:
                    log.warning("cannot write the cache index: %s", exc)
        except BaseException as exc:  # re-raised in result()
            self._error = exc

    def start(self) -> None:
        if self._missing and self._thread is None:
            self._thread = threading.Thread(target=self._hash_missing, name="imbal-hash", daemon=True)
            self._thread.start()

    def result(self) -> str:
        if self._missing:
            if self._thread is None:
                self._hash_missing()
            else:
                self._thread.join()
            if self._error is not None:
                raise self._error
            self._missing = []
        return self._combine()


def get(key: str) -> Dataset | None:
    """The cached dataset for ``key``, or None (also when the entry is unreadable)."""
    entry = cache_dir() / f"v{VERSION}" / key
    if not (entry / "meta.json").is_file():
        return None
    try:
        meta = json.loads((entry / "meta.json").read_text())
        tables = {name: pq.read_table(entry / f"{name}.parquet") for name in _TABLES}
        report = LoadReport.from_arrow(pq.read_table(entry / "report.parquet"))
        validate(tables["images"], tables["annotations"], tables["categories"])
        os.utime(entry)  # recently used: kept by the pruning
    except Exception as exc:  # a damaged entry is a miss, never an error
        log.warning("ignoring unreadable cache entry %s: %s", entry, exc)
        return None
    return Dataset(
        images=tables["images"],
        annotations=tables["annotations"],
        categories=tables["categories"],
        task=meta["task"],
        report=report,
        format=meta["format"],
        sources=tuple(meta["sources"]),
        conditions=tuple(meta["conditions"]),
        key=key,
    )


_pending: list[threading.Thread] = []


def put(key: str, dataset: Dataset, background: bool = False) -> None:
    """Store ``dataset`` under ``key``; with ``background`` the write runs in a thread, so the
    caller has its dataset at once (:func:`wait_for_writes` joins such threads)."""
    if background:
        thread = threading.Thread(target=_put, args=(key, dataset), name="imbal-cache-write")
        _pending[:] = [t for t in _pending if t.is_alive()] + [thread]
        thread.start()
        return
    _put(key, dataset)


def wait_for_writes() -> None:
    """Block until every background cache write has finished."""
    while _pending:
        _pending.pop().join()


def _put(key: str, dataset: Dataset) -> None:
    root = cache_dir() / f"v{VERSION}"
    target = root / key
    if target.exists():
        return
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
        for name in _TABLES:
            pq.write_table(getattr(dataset, name), tmp / f"{name}.parquet", compression="lz4")
        pq.write_table(dataset.report.to_arrow(), tmp / "report.parquet", compression="lz4")
        meta = {"task": dataset.task, "format": dataset.format, "sources": list(dataset.sources),
                "conditions": list(dataset.conditions), "version": VERSION}
        (tmp / "meta.json").write_text(json.dumps(meta))
        try:
            os.rename(tmp, target)
        except OSError:  # another process stored the same key first
            shutil.rmtree(tmp, ignore_errors=True)
        _prune(root)
    except OSError as exc:
        log.warning("cannot write the parse cache at %s: %s", root, exc)


def _prune(root: Path) -> None:
    entries = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                     key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[MAX_ENTRIES:]:
        shutil.rmtree(old, ignore_errors=True)


def clear() -> None:
    shutil.rmtree(cache_dir(), ignore_errors=True)
