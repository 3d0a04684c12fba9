"""The quota workspace: projects, per-class targets and append-only snapshots in one DuckDB file.

A workspace is a single embedded database file (default ``./imbal_workspace.duckdb``; the
environment variable ``IMBAL_WORKSPACE`` or the ``path`` argument choose another). It is created
on the first write, never by reading: opening a workspace that does not exist shows no projects.

What it holds
    ``projects``: name, the recent window for the daily rate (working days) and the working-day
    mask. ``targets``: per project and class, a target count in a unit (images / instances /
    pixels), a deadline, a priority (1 = first) and a critical flag; editing a target replaces it.
    ``snapshots``: one row per ingested export (its content hash, the time it stands for, where it
    came from) with its per-class, per-split counts (``snapshot_counts``, zeros included), its
    per-day, per-annotator, per-class counts rebuilt from ``annotated_at`` / ``annotator``
    (``snapshot_daily``, where the export has them) and its per-condition counts
    (``snapshot_conditions``, for sourcing advice).

Guarantees
    Snapshots are append-only: nothing here updates or deletes one. Re-ingesting an export
    whose content hash (:attr:`Dataset.key`) the project already has is a no-op that returns the
    existing snapshot. Each ingest is one transaction: a process killed mid-ingest (even with
    SIGKILL) loses at most that snapshot; DuckDB's write-ahead log restores every committed one
    on the next open. The schema carries a version (``imbal_meta.schema_version``); opening an
    older workspace migrates it in one transaction, and a newer one is refused with a message.

Connections are short-lived (one per call), so the app, the CLI and a pipeline can take turns on
one file; when another process holds the file, a call waits up to ``timeout`` seconds, then raises
:class:`WorkspaceError` naming the file.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, TypeVar

import duckdb
import pyarrow as pa

from ..report import safe_text, shorten
from .records import (DEFAULT_WINDOW, DEFAULT_WORKDAYS, IngestResult, Project, ProjectData, QuotaTarget, Snapshot,
                      WorkspaceError)
from .schema import first, migrate
from .snapshot import SnapshotRows, export_hash, parse_moment, snapshot_rows

if TYPE_CHECKING:
    from ..dataset import Dataset

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_PATH = "imbal_workspace.duckdb"
ENV_VAR = "IMBAL_WORKSPACE"


def default_path() -> Path:
    """``$IMBAL_WORKSPACE`` if set, else ``./imbal_workspace.duckdb`` (relative to the working directory)."""
    return Path(os.environ.get(ENV_VAR) or DEFAULT_PATH)


class Workspace:
    """A quota workspace file. Every method opens the file, does its work and closes it again.

    ``path`` (None): the DuckDB file; None means :func:`default_path` (``$IMBAL_WORKSPACE`` or
    ``./imbal_workspace.duckdb``). ``timeout`` (10.0): seconds to wait while another process
    holds the file.
    """

    def __init__(self, path: str | Path | None = None, timeout: float = 10.0) -> None:
        self.path = Path(path) if path is not None else default_path()
        if self.path.is_dir():
            raise WorkspaceError(f"`workspace` must be a file. Got the folder {self.path} instead.")
        if self.path.exists() and not self.path.is_file():  # DuckDB would wait on a pipe for ever
            raise WorkspaceError(f"`workspace` must be a regular file. Got {self.path}, a pipe or device, instead.")
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    @property
    def exists(self) -> bool:
        return self.path.is_file()

    # ----------------------------------------------------------------- connections

    def _open(self) -> duckdb.DuckDBPyConnection:
        shown = safe_text(str(self.path))
        if shown != str(self.path):  # DuckDB takes paths as UTF-8 text only (it fails with std::bad_cast)
            raise WorkspaceError(f"{shown}: the workspace's path is not valid UTF-8 (bytes shown as \\x escapes), "
                                 "which DuckDB cannot open; choose another file.")
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return duckdb.connect(str(self.path))
            except duckdb.IOException as exc:
                text = str(exc)
                if "lock" in text.lower() and time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                if "lock" in text.lower():
                    raise WorkspaceError(f"The workspace {self.path} is in use by another process and stayed busy "
                                         f"for {self.timeout:g} s; try again. ({text.split('. See')[0]})") from None
                raise WorkspaceError(f"{self.path} cannot be opened as an imbal workspace: {text}") from None
            except (duckdb.Error, RuntimeError) as exc:  # not a database file, a pipe, a special file ...
                raise WorkspaceError(f"{self.path} cannot be opened as an imbal workspace: "
                                     f"{shorten(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 300)}") from None

    @contextmanager
    def _connect(self, write: bool) -> Iterator[duckdb.DuckDBPyConnection | None]:
        """A connection with the schema up to date; ``None`` when reading a workspace that does not exist yet."""
        if not write and not self.exists:
            yield None
            return
        if write:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self._open()
        try:
            try:
                migrate(con)
            except WorkspaceError as exc:  # not a workspace, or a newer one: say which file
                raise WorkspaceError(str(exc) if str(self.path) in str(exc) else f"{self.path}: {exc}") from None
            except (duckdb.Error, RuntimeError) as exc:  # a file DuckDB opened but cannot write (a pipe ...)
                raise WorkspaceError(f"{self.path} cannot be used as an imbal workspace: "
                                     f"{shorten(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 300)}") from None
            yield con
        finally:
            con.close()

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction; writers of one process take turns (DuckDB's Python scans of Arrow
        tables are not safe from several threads writing to one database at once)."""
        with _write_lock(self.path), self._connect(write=True) as con:
            assert con is not None
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    # ----------------------------------------------------------------- projects

    def projects(self) -> list[Project]:
        """Every project, by name (empty when the workspace does not exist yet)."""
        with self._connect(write=False) as con:
            if con is None:
                return []
            rows = con.execute("SELECT name, window_days, workdays, created_at FROM projects ORDER BY name").fetchall()
        return [Project(n, w, d, c) for n, w, d, c in rows]

    def project(self, name: str) -> Project:
        for p in self.projects():
            if p.name == name:
                return p
        raise ValueError(self._unknown(name))

    def _unknown(self, name: str) -> str:
        known = [p.name for p in self.projects()]
        hint = f"Projects here: {', '.join(known)}." if known else "It has no projects yet."
        return f"`project` {name!r} is not in the workspace {self.path}. {hint}"

    def create_project(self, name: str, *, window_days: int = DEFAULT_WINDOW, workdays: str = DEFAULT_WORKDAYS,
                       created_at: datetime | None = None, exist_ok: bool = False) -> Project:
        """Add a project. ``window_days`` (5): working days the daily rate averages over; ``workdays``
        ("1111100"): the working-day mask, Monday first. ``exist_ok`` (False): return an existing project
        of that name (its settings unchanged) instead of raising."""
        name = _project_name(name)
        _check_settings(window_days, workdays)
        with self._transaction() as con:
            row = first(con, "SELECT 1 FROM projects WHERE name = ?", [name])
            if row is None:
                con.execute("INSERT INTO projects (project_id, name, created_at, window_days, workdays) "
                            "VALUES (nextval('project_ids'), ?, ?, ?, ?)",
                            [name, parse_moment(created_at) if created_at else None, window_days, workdays])
            elif not exist_ok:
                raise ValueError(f"`project` {name!r} already exists in {self.path}.")
        return self.project(name)

    def update_project(self, name: str, *, window_days: int | None = None, workdays: str | None = None) -> Project:
        """Change a project's rate window or working days (snapshots are not touched)."""
        current = self.project(name)
        window_days = current.window_days if window_days is None else window_days
        workdays = current.workdays if workdays is None else workdays
        _check_settings(window_days, workdays)
        with self._transaction() as con:
            con.execute("UPDATE projects SET window_days = ?, workdays = ? WHERE name = ?", [window_days, workdays, name])
        return self.project(name)

    # ----------------------------------------------------------------- targets

    def targets(self, project: str) -> list[QuotaTarget]:
        """The project's quota targets, highest priority first, then by class name."""
        with self._connect(write=False) as con:
            if con is None:
                raise ValueError(self._unknown(project))
            pid = _project_id(con, project, self._unknown)
            rows = con.execute("SELECT category, target, deadline, unit, priority, critical FROM targets "
                               "WHERE project_id = ? ORDER BY priority, category", [pid]).fetchall()
        return [QuotaTarget(c, int(t), d, u, int(p or 1), bool(k)) for c, t, d, u, p, k in rows]

    def set_targets(self, project: str, targets: Iterable[QuotaTarget], *, replace: bool = False,
                    remove: Iterable[str] = ()) -> list[QuotaTarget]:
        """Add or replace the given classes' targets in one transaction.

        ``replace`` (False): True drops every target not given. ``remove``: class names whose
        targets are dropped. Returns the project's targets afterwards.
        """
        targets = list(targets)
        for t in targets:
            if not isinstance(t, QuotaTarget):
                raise ValueError(f"`targets` must hold QuotaTarget objects. Got {t!r} instead.")
        names = [t.category for t in targets]
        if len(set(names)) != len(names):
            raise ValueError(f"`targets` names a class twice: {sorted({n for n in names if names.count(n) > 1})}.")
        def write() -> None:
            with self._transaction() as con:
                pid = _project_id(con, project, self._unknown)
                if replace:
                    con.execute("DELETE FROM targets WHERE project_id = ?", [pid])
                for name in remove:
                    con.execute("DELETE FROM targets WHERE project_id = ? AND category = ?", [pid, name])
                for t in targets:
                    con.execute("INSERT OR REPLACE INTO targets (project_id, category, target, unit, deadline, priority, "
                                "critical) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                [pid, t.category, t.target, t.unit, t.deadline, t.priority, t.critical])

        _retrying(write)
        return self.targets(project)

    # ----------------------------------------------------------------- snapshots

    def ingest(self, project: str, dataset: "Dataset", at: datetime | date | str | None = None,
               source: str | None = None) -> IngestResult:
        """Append a snapshot of ``dataset`` to ``project``; a no-op when the project already has this content.

        ``at``: the moment the export stands for (a date means that day); default its latest
        ``annotated_at`` (see :func:`snapshot_rows`). ``source`` (the dataset's file names): shown in
        the history. One transaction: either the whole snapshot is written or none of it.
        """
        digest = export_hash(dataset)
        with self._connect(write=False) as con:  # seen before: nothing to compute or write
            if con is None:
                raise ValueError(self._unknown(project))
            pid = _project_id(con, project, self._unknown)
            row = first(con, f"{_SNAPSHOT_SELECT} WHERE s.project_id = ? AND s.content_hash = ?", [pid, digest])
        if row is not None:
            return IngestResult(_snapshot_record(row), created=False)
        rows = snapshot_rows(dataset, at, content_hash=digest)
        source = safe_text(source) if source is not None else _source_names(dataset)

        def write() -> IngestResult:
            with self._transaction() as con:
                snapshot_id, created = write_snapshot(con, project, rows, source, self._unknown)
                row = first(con, f"{_SNAPSHOT_SELECT} WHERE s.snapshot_id = ?", [snapshot_id])
            return IngestResult(_snapshot_record(row), created=created)

        return _retrying(write)

    def snapshots(self, project: str) -> list[Snapshot]:
        """The project's snapshots in the order of the time they stand for (then of ingest)."""
        return list(self.load(project).snapshots)

    def load(self, project: str) -> ProjectData:
        """Everything about ``project`` that progress needs, read in one connection."""
        with self._connect(write=False) as con:
            if con is None:
                raise ValueError(self._unknown(project))
            return read_project(con, project, self._unknown)

    def counts(self, snapshot_ids: Iterable[int]) -> pa.Table:
        """``snapshot_id``, ``class``, ``split``, ``images``, ``instances``, ``pixels`` of the given snapshots."""
        ids = [int(i) for i in snapshot_ids]
        with self._connect(write=False) as con:
            if con is None or not ids:
                return _empty(con, "snapshot_counts")
            marks = ", ".join("?" for _ in ids)
            return con.sql(f"SELECT * {_AS_CLASS} FROM snapshot_counts WHERE snapshot_id IN ({marks}) "
                           "ORDER BY snapshot_id, \"class\", split", params=ids).to_arrow_table()


_LOCKS: dict[str, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


def _write_lock(path: Path) -> threading.RLock:
    key = str(path.resolve())
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.RLock())


def _retrying(write: Callable[[], "T"], attempts: int = 3) -> "T":
    """Run a write again when another writer in this process got there first (DuckDB's optimistic
    concurrency: a conflict aborts the later transaction, which then sees the earlier one's rows)."""
    for attempt in range(attempts):
        try:
            return write()
        except (duckdb.TransactionException, duckdb.ConstraintException):
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


#: The workspace stores the class in a column ``category`` (files on disk keep it); what this module
#: returns calls it ``class``, as every result table does.
_AS_CLASS = 'RENAME (category AS "class")'

_SNAPSHOT_SELECT = ("SELECT s.snapshot_id, p.name, s.content_hash, s.taken_at, s.source, s.images, s.annotations, "
                    "s.has_timestamps FROM snapshots s JOIN projects p USING (project_id)")


def _empty(con: duckdb.DuckDBPyConnection | None, table: str) -> pa.Table:
    """The empty table with ``table``'s columns; without a workspace, from a scratch database
    that is closed at once (an open one keeps DuckDB's threads alive at interpreter exit)."""
    if con is not None:
        return con.sql(f"SELECT * {_AS_CLASS} FROM {table} LIMIT 0").to_arrow_table()
    with duckdb.connect() as scratch:
        migrate(scratch)
        return scratch.sql(f"SELECT * {_AS_CLASS} FROM {table} LIMIT 0").to_arrow_table()


def _project_id(con: duckdb.DuckDBPyConnection, name: str, unknown: Callable[[str], str]) -> int:
    row = first(con, "SELECT project_id FROM projects WHERE name = ?", [name])
    if row is None:
        raise ValueError(unknown(name))
    return int(row[0])


def write_snapshot(con: duckdb.DuckDBPyConnection, project: str, rows: SnapshotRows, source: str,
                   unknown: Callable[[str], str] = lambda n: f"`project` {n!r} does not exist.",
                   between: Callable[[], None] | None = None) -> tuple[int, bool]:
    """Write one snapshot inside the caller's transaction: ``(snapshot_id, created)``.

    When the project already has this content hash nothing is written and the existing id comes
    back with ``created=False``. ``between`` runs after the snapshot's first row is written (the
    crash test kills the process there).
    """
    pid = _project_id(con, project, unknown)
    row = first(con, "SELECT snapshot_id FROM snapshots WHERE project_id = ? AND content_hash = ?", [pid, rows.content_hash])
    if row is not None:
        return int(row[0]), False
    snapshot_id = int(first(con, "SELECT nextval('snapshot_ids')")[0])
    con.execute("INSERT INTO snapshots (snapshot_id, project_id, content_hash, taken_at, ingested_at, source, images, "
                "annotations, has_timestamps) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [snapshot_id, pid, rows.content_hash, rows.taken_at,
                 datetime.now(timezone.utc).replace(tzinfo=None),  # bookkeeping only, never an "as of"
                 source, rows.images, rows.annotations, rows.has_timestamps])
    if between is not None:
        between()
    for table, name, columns in (
        (rows.counts, "snapshot_counts", "category, split, images, instances, pixels"),
        (rows.daily, "snapshot_daily", "day, annotator, category, images, instances, pixels"),
        (rows.conditions, "snapshot_conditions", "condition, value, category, images, instances"),
    ):
        con.register("incoming", table)
        picked = columns.replace("category", '"class"')  # the rows say `class`; the stored column is `category`
        con.execute(f"INSERT INTO {name} (snapshot_id, {columns}) SELECT ?, {picked} FROM incoming", [snapshot_id])
        con.unregister("incoming")
    return snapshot_id, True


def read_project(con: duckdb.DuckDBPyConnection, name: str,
                 unknown: Callable[[str], str] = lambda n: f"`project` {n!r} does not exist.") -> ProjectData:
    """A project's settings, targets, snapshots and their counts (see :class:`ProjectData`)."""
    pid = _project_id(con, name, unknown)
    n, window, workdays, created = first(con, "SELECT name, window_days, workdays, created_at FROM projects "
                                              "WHERE project_id = ?", [pid])
    project = Project(n, int(window), workdays, created)
    targets = tuple(QuotaTarget(c, int(t), d, u, int(p or 1), bool(k)) for c, t, d, u, p, k in con.execute(
        "SELECT category, target, deadline, unit, priority, critical FROM targets WHERE project_id = ? "
        "ORDER BY priority, category", [pid]).fetchall())
    snapshots = tuple(_snapshot_record(r) for r in con.execute(
        f"{_SNAPSHOT_SELECT} WHERE s.project_id = ? ORDER BY s.taken_at, s.snapshot_id", [pid]).fetchall())
    stamped = [s.snapshot_id for s in snapshots if s.has_timestamps]
    latest_stamped = stamped[-1] if stamped else -1
    mine = "SELECT snapshot_id FROM snapshots WHERE project_id = ?"

    def table(sql: str, params: list) -> pa.Table:
        return con.sql(sql, params=params).to_arrow_table()

    return ProjectData(
        project=project, targets=targets, snapshots=snapshots,
        totals=table(f"SELECT snapshot_id, category AS \"class\", CAST(sum(images) AS BIGINT) AS images, "
                     f"CAST(sum(instances) AS BIGINT) AS instances, sum(pixels) AS pixels FROM snapshot_counts "
                     f"WHERE snapshot_id IN ({mine}) GROUP BY ALL ORDER BY ALL", [pid]),
        daily=table(f"SELECT snapshot_id, day, category AS \"class\", CAST(sum(images) AS BIGINT) AS images, "
                    f"CAST(sum(instances) AS BIGINT) AS instances, sum(pixels) AS pixels FROM snapshot_daily "
                    f"WHERE snapshot_id IN ({mine}) GROUP BY ALL ORDER BY ALL", [pid]),
        labellers=table("SELECT day, CAST(count(DISTINCT annotator) AS BIGINT) AS labellers FROM snapshot_daily "
                        "WHERE snapshot_id = ? AND day IS NOT NULL AND annotator IS NOT NULL GROUP BY day ORDER BY day",
                        [latest_stamped]),
        splits=table(f"SELECT * {_AS_CLASS} FROM snapshot_counts WHERE snapshot_id IN ({mine}) ORDER BY ALL", [pid]),
        conditions=table(f"SELECT * {_AS_CLASS} FROM snapshot_conditions WHERE snapshot_id IN ({mine}) "
                         "ORDER BY snapshot_id, condition, value, \"class\" NULLS FIRST", [pid]),
    )


def project_data(dataset: "Dataset", targets: Iterable[QuotaTarget] = (), at: datetime | date | str | None = None,
                 project: Project | None = None) -> ProjectData:
    """A one-snapshot :class:`ProjectData` for an export, without a workspace file (same code path, in memory).

    Progress from it is rebuilt from the export's ``annotated_at`` timestamps.
    """
    project = project or Project("(this export)")
    rows = snapshot_rows(dataset, at)
    with duckdb.connect() as con:
        migrate(con)
        con.execute("INSERT INTO projects (project_id, name, window_days, workdays) VALUES (1, ?, ?, ?)",
                    [project.name, project.window_days, project.workdays])
        for t in targets:
            con.execute("INSERT INTO targets VALUES (1, ?, ?, ?, ?, ?, ?)",
                        [t.category, t.target, t.unit, t.deadline, t.priority, t.critical])
        write_snapshot(con, project.name, rows, _source_names(dataset))
        return read_project(con, project.name)


def _source_names(dataset: "Dataset") -> str:
    """The dataset's file names, as the history shows them (a name that is not UTF-8 with ``\\xff``)."""
    return safe_text(", ".join(Path(s).name for s in dataset.sources))


def _snapshot_record(row: tuple) -> Snapshot:
    sid, project, digest, taken_at, source, images, annotations, stamped = row
    return Snapshot(int(sid), project, digest, taken_at, source or "", int(images or 0), int(annotations or 0), bool(stamped))


def _project_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"`project` must be a non-empty name. Got {name!r} instead.")
    if len(name.strip()) > 100:
        raise ValueError(f"`project` must be at most 100 characters. Got {len(name.strip())} instead.")
    return name.strip()


def _check_settings(window_days: int, workdays: str) -> None:
    if isinstance(window_days, bool) or not isinstance(window_days, int) or window_days < 1:
        raise ValueError(f"`window_days` must be a whole number of at least 1. Got {window_days!r} instead.")
    if not (isinstance(workdays, str) and len(workdays) == 7 and set(workdays) <= {"0", "1"} and "1" in workdays):
        raise ValueError(f"`workdays` must be 7 characters of 0 and 1, Monday first, with at least one 1 "
                         f"(e.g. '1111100'). Got {workdays!r} instead.")
