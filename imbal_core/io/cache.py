"""Parse once: parsed exports are cached as Parquet, keyed by a content hash of the inputs.

The key of a load is the SHA-256 of (cache version, format, reader options, each input's
fingerprint). A file's fingerprint is the SHA-256 of its bytes; a folder's is the SHA-256 of
every file below it by relative path, size and modification time (hashing a folder of images by
content would cost more than parsing it). To make a warm reopen cost only a ``stat``, a small
index maps (path, size, mtime, inode) to the file's content hash; on a miss the hash is computed
in a background thread while the file is being parsed, so a cold load does not wait for it.

A hit is the content of an earlier load, perhaps from other paths (a copy, a renamed folder):
:func:`get` re-points every path in it — ``sources`` and the report's file names — from the
inputs of the load that stored the entry to the current inputs.

Layout under :func:`cache_dir` (``$IMBAL_CACHE_DIR``, default ``~/.cache/imbal``)::

    v{VERSION}/<key>/{images,annotations,categories,report}.parquet (+ uncounted.parquet) + meta.json
                     (+ records_{documents,images,annotations}.parquet: the export's own records)
    stat/<hash of path, size, mtime, inode>   (the content hash, as text)

The export's own records (:attr:`Dataset.records`, hundreds of MB for a large COCO file) are
written uncompressed, in the background writer like the rest, and read back only when a step
first uses them: a warm load maps the files, and pays nothing more for them.

Entries are written to a temporary folder and renamed into place, so a reader never sees a
half-written entry; the oldest entries beyond :data:`MAX_ENTRIES` are removed. The cache never
fails a load: an input it cannot hash, an entry it cannot read or write is logged and skipped.
Its threads (the hasher, the background writes) are not daemons: a load stops and joins its
hasher before it returns or raises, and Python joins the writes before it shuts down, so no
thread is still running (in native code or not) while the interpreter finalizes;
:func:`shutdown` does both at once for callers that want it earlier.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, Sequence

import pyarrow.parquet as pq

from ..dataset import Dataset, validate
from ..report import LoadReport, excerpt

log = logging.getLogger(__name__)

VERSION = 5
MAX_ENTRIES = 32
_TABLES = ("images", "annotations", "categories")
#: Tables a Dataset may hold or not (None); stored when present.
_OPTIONAL_TABLES = ("uncounted",)
#: The parts of :class:`~imbal_core.source_records.SourceRecords`, one file each.
_RECORD_PARTS = ("documents", "images", "annotations")
#: The longest option value taken for a path (longer text is a value, e.g. a label config).
MAX_PATH_LENGTH = 4096
_CHUNK = 8 << 20


def cache_dir() -> Path:
    return Path(os.environ.get("IMBAL_CACHE_DIR") or Path.home() / ".cache" / "imbal")


def _sha256_file(path: Path, cancelled: threading.Event | None = None) -> str | None:
    """The file's SHA-256, or None when ``cancelled`` was set meanwhile."""
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)  # releases the GIL: runs beside the parser
            if cancelled is not None and cancelled.is_set():
                return None
    return h.hexdigest()


def _stat_key(path: Path) -> str:
    st = path.stat()
    text = f"{path.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}"
    return hashlib.sha1(text.encode("utf-8", "surrogateescape")).hexdigest()


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
        h.update(f"{p.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))  # file names need not be UTF-8
    return h.hexdigest()


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def option_file(value: Any) -> Path | None:
    """The file an option value names, or None when the value is not a path to a file.

    Only a :class:`~pathlib.Path`, or one line of text that could be a path (no newline, no
    ``<``, at most :data:`MAX_PATH_LENGTH` characters) naming an existing file, is a path: a
    label config given as XML text is a value, and stat-ing it is never tried. Errors of the
    file system (a name too long, a permission) mean "not a file", never an exception.
    """
    if isinstance(value, Path):
        text = str(value)
    elif isinstance(value, str):
        text = value
        if not text or len(text) > MAX_PATH_LENGTH or any(c in text for c in "\n\r\0<"):
            return None
    else:
        return None
    try:
        return Path(text) if os.path.isfile(text) else None
    except (OSError, ValueError):
        return None


_live_keys: "set[InputKey]" = set()
_live_lock = threading.Lock()


class InputKey:
    """The cache key of a load; :attr:`known` at once when every file hits the stat index,
    otherwise :meth:`start` hashes the rest in a background thread and :meth:`result` joins it.

    :meth:`close` stops and joins the thread (the load calls it on every path, errors included).
    :meth:`result` returns None when an input could not be hashed: that load is not cached.
    """

    def __init__(self, paths: list[Path], fmt: str, options: dict[str, Any]):
        self._head = json.dumps([VERSION, fmt, sorted((k, repr(v)) for k, v in options.items())])
        # Options naming files (a label config, a names file) count by content too.
        files = [f for f in (option_file(v) for v in options.values()) if f is not None]
        paths = list(paths) + files
        self._paths = paths
        self._prints: list[str | None] = []
        self._missing: list[int] = []
        for i, p in enumerate(paths):
            if _is_dir(p):
                self._prints.append(_folder_fingerprint(p))
                continue
            self._prints.append(self._stat_lookup(p))
            if self._prints[-1] is None:
                self._missing.append(i)
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._error: BaseException | None = None

    @property
    def inputs(self) -> list[str]:
        """The keyed paths, as given (the inputs, then any files named by options)."""
        return [str(p) for p in self._paths]

    @staticmethod
    def _stat_lookup(path: Path) -> str | None:
        try:
            return (cache_dir() / "stat" / _stat_key(path)).read_text().strip() or None
        except (OSError, ValueError):
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
                digest = _sha256_file(p, self._cancel)
                if digest is None:
                    return
                self._prints[i] = digest
                try:
                    stat_dir = cache_dir() / "stat"
                    stat_dir.mkdir(parents=True, exist_ok=True)
                    (stat_dir / _stat_key(p)).write_text(digest)
                except OSError as exc:
                    log.warning("cannot write the cache index: %s", excerpt(str(exc), 200))
        except BaseException as exc:  # noqa: BLE001 - reported by result(); a thread must not print a traceback
            self._error = exc

    def start(self) -> None:
        if self._missing and self._thread is None:
            self._thread = threading.Thread(target=self._hash_missing, name="imbal-hash")
            with _live_lock:
                _live_keys.add(self)
            self._thread.start()

    def result(self) -> str | None:
        """The key, once every input is hashed; None when one could not be (the load is not cached)."""
        if self._missing:
            if self._thread is None:
                self._hash_missing()
            else:
                self.close(cancel=False)
            if self._error is not None or any(self._prints[i] is None for i in self._missing):
                error, self._error = self._error, None
                log.warning("not caching this load: cannot hash %s (%s)", excerpt(str(self._paths[self._missing[0]]), 120),
                            excerpt(str(error) if error is not None else "cancelled", 200))
                return None
            self._missing = []
        return self._combine()

    def close(self, cancel: bool = True) -> None:
        """Join the hashing thread; with ``cancel`` (the load failed), stop it first."""
        if cancel:
            self._cancel.set()
        thread = self._thread
        if thread is not None:
            thread.join()
        with _live_lock:
            _live_keys.discard(self)


def _pairs(old: Sequence[str], new: Sequence[str]) -> list[tuple[str, str]]:
    """(old, new) spellings of each input that moved: as given, absolute and resolved, longest first."""
    out = []
    for o, n in zip(old, new):
        if o == n:
            continue
        for form in (lambda p: p, os.path.abspath, os.path.realpath):
            try:
                pair = (form(o), form(n))
            except (OSError, ValueError):
                continue
            if pair[0] != pair[1] and pair not in out:
                out.append(pair)
    return sorted(out, key=lambda p: -len(p[0]))


def relocate(dataset: Dataset, old: Sequence[str], new: Sequence[str]) -> Dataset:
    """``dataset`` with every path under input ``old[i]`` re-pointed under ``new[i]``: its
    ``sources`` and the file of each report row (the inputs of one load, in order)."""
    if len(old) != len(new):
        return dataset
    pairs = _pairs(old, new)
    if not pairs:
        return dataset

    def move(text: str) -> str:
        for o, n in pairs:
            if text == o:
                return n
            if text.startswith(o) and text[len(o): len(o) + 1] in ("/", os.sep):
                return n + text[len(o):]
        return text

    report = LoadReport([replace(r, file=move(r.file)) if move(r.file) != r.file else r for r in dataset.report.rows])
    origin = dataset.origin
    if origin is not None and isinstance(origin.get("root"), str):
        origin = {**origin, "root": move(origin["root"])}
    return replace(dataset, sources=tuple(move(s) for s in dataset.sources), report=report, origin=origin)


def get(key: str, inputs: Sequence[str] | None = None) -> Dataset | None:
    """The cached dataset for ``key``, or None (also when the entry is unreadable).

    ``inputs`` (the current load's keyed paths, :attr:`InputKey.inputs`): paths in the entry
    are re-pointed from the inputs that stored it to these (:func:`relocate`).
    """
    entry = cache_dir() / f"v{VERSION}" / key
    try:
        meta = json.loads((entry / "meta.json").read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable cache entry %s: %s", entry, excerpt(str(exc), 200))
        return None
    try:
        tables = {name: pq.read_table(entry / f"{name}.parquet") for name in _TABLES}
        optional = {name: pq.read_table(entry / f"{name}.parquet") for name in meta.get("optional", [])
                    if name in _OPTIONAL_TABLES}
        report = LoadReport.from_arrow(pq.read_table(entry / "report.parquet"))
        validate(tables["images"], tables["annotations"], tables["categories"])
        os.utime(entry)  # recently used: kept by the pruning
        dataset = Dataset(
            images=tables["images"],
            annotations=tables["annotations"],
            categories=tables["categories"],
            task=meta["task"],
            report=report,
            format=meta["format"],
            sources=tuple(meta["sources"]),
            conditions=tuple(meta["conditions"]),
            key=key,
            records=_lazy_records(entry) if meta.get("records") else None,
            origin=_load_origin(meta.get("origin")),
            **optional,
        )
        if inputs is not None:
            dataset = relocate(dataset, [str(p) for p in meta.get("inputs", [])], list(inputs))
    except Exception as exc:  # noqa: BLE001 - a damaged entry is a miss, never an error
        log.warning("ignoring unreadable cache entry %s: %s", entry, excerpt(str(exc), 200))
        return None
    return dataset


def _lazy_records(entry: Path):
    """The entry's records, read when first used. The files are mapped now (a few system calls):
    an entry pruned meanwhile by another load is gone from the folder, not from the mapping."""
    import pyarrow as pa

    from ..source_records import SourceRecords

    sources = [pa.memory_map(str(entry / f"records_{part}.parquet")) for part in _RECORD_PARTS]

    def load():
        return tuple(pq.read_table(source) for source in sources)

    return SourceRecords.lazy(load)


def _save_origin(origin: Any) -> str | None:
    if origin is None:
        return None
    import yaml  # YAML keeps what a data.yaml holds (dates ...) as it was read; JSON would not

    return yaml.safe_dump(dict(origin), sort_keys=False, allow_unicode=True)


def _load_origin(text: str | None) -> dict | None:
    if text is None:
        return None
    import yaml

    return yaml.safe_load(text)


def touch(key: str) -> bool:
    """Mark the entry for ``key`` recently used; False when there is none."""
    entry = cache_dir() / f"v{VERSION}" / key
    try:
        if not (entry / "meta.json").is_file():
            return False
        os.utime(entry)
    except OSError:
        return False
    return True


_pending: list[threading.Thread] = []
_pending_lock = threading.Lock()


def put(key: str, dataset: Dataset, background: bool = False, inputs: Sequence[str] = ()) -> None:
    """Store ``dataset`` under ``key``; with ``background`` the write runs in a thread, so the
    caller has its dataset at once (:func:`wait_for_writes` joins such threads). ``inputs``: the
    load's keyed paths, so that a later hit from other paths can re-point the entry's paths."""
    if background:
        thread = threading.Thread(target=_put, args=(key, dataset, list(inputs)), name="imbal-cache-write")
        with _pending_lock:
            _pending[:] = [t for t in _pending if t.is_alive()] + [thread]
        thread.start()
        return
    _put(key, dataset, list(inputs))


def wait_for_writes() -> None:
    """Block until every background cache write has finished."""
    while True:
        with _pending_lock:
            if not _pending:
                return
            thread = _pending.pop()
        thread.join()


def shutdown() -> None:
    """Stop every hashing thread and finish every background write."""
    with _live_lock:
        keys = list(_live_keys)
    for k in keys:
        k.close()
    wait_for_writes()



def _put(key: str, dataset: Dataset, inputs: list[str]) -> None:
    """Write the entry; any failure is logged, never raised (this runs in a thread, too)."""
    root = cache_dir() / f"v{VERSION}"
    target = root / key
    tmp: Path | None = None
    try:
        if target.exists():
            return
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
        for name in _TABLES:
            pq.write_table(getattr(dataset, name), tmp / f"{name}.parquet", compression="lz4")
        optional = [name for name in _OPTIONAL_TABLES if getattr(dataset, name, None) is not None]
        for name in optional:
            pq.write_table(getattr(dataset, name), tmp / f"{name}.parquet", compression="lz4")
        pq.write_table(dataset.report.to_arrow(), tmp / "report.parquet", compression="lz4")
        records = dataset.records
        if records is not None:
            with records.borrowed() as parts:  # not copied into memory for this (see SourceRecords.borrowed)
                for part, table in zip(_RECORD_PARTS, parts):
                    # uncompressed and without statistics (min / max of 300 MB of text): JSON text
                    # compresses 2.3x with lz4, but the write (which an exit waits for) then took
                    # 0.9 s of CPU instead of 0.2 s for the bench file; statistics, 0.5 s more
                    pq.write_table(table, tmp / f"records_{part}.parquet", compression="none", use_dictionary=False,
                                   write_statistics=False)
        meta = {"task": dataset.task, "format": dataset.format, "sources": list(dataset.sources),
                "conditions": list(dataset.conditions), "version": VERSION, "inputs": inputs, "optional": optional,
                "records": records is not None, "origin": _save_origin(dataset.origin)}
        (tmp / "meta.json").write_text(json.dumps(meta))
        try:
            os.rename(tmp, target)
            tmp = None
        except OSError:  # another process stored the same key first
            pass
        _prune(root)
    except Exception as exc:  # noqa: BLE001 - the cache never fails a load, nor prints a traceback from its thread
        log.warning("cannot write the parse cache at %s: %s", root, excerpt(str(exc), 200))
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _prune(root: Path) -> None:
    entries = []
    for p in root.iterdir():
        try:
            if p.is_dir() and not p.name.startswith("."):
                entries.append((p.stat().st_mtime, p))
        except OSError:  # removed meanwhile by another process
            continue
    entries.sort(key=lambda e: e[0], reverse=True)
    for _, old in entries[MAX_ENTRIES:]:
        shutil.rmtree(old, ignore_errors=True)


def clear() -> None:
    shutil.rmtree(cache_dir(), ignore_errors=True)
