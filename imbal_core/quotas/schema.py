"""The workspace schema and its migrations: version n -> n + 1, each applied in one transaction.

``imbal_meta.schema_version`` says which version a file has. Opening a file runs the migrations it
lacks; a file newer than this code is refused. To change the schema, add ``MIGRATIONS[n]`` (the
statements taking version n to n + 1) and raise :data:`SCHEMA_VERSION`; never edit a released one.
"""
from __future__ import annotations

import logging

import duckdb

from .records import WorkspaceError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2

_V1 = """
CREATE TABLE imbal_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE SEQUENCE project_ids START 1;
CREATE SEQUENCE snapshot_ids START 1;
CREATE TABLE projects (
    project_id BIGINT PRIMARY KEY, name VARCHAR NOT NULL UNIQUE, created_at TIMESTAMP);
CREATE TABLE targets (
    project_id BIGINT NOT NULL, category VARCHAR NOT NULL, target BIGINT NOT NULL, unit VARCHAR NOT NULL,
    deadline DATE NOT NULL, PRIMARY KEY (project_id, category));
CREATE TABLE snapshots (
    snapshot_id BIGINT PRIMARY KEY, project_id BIGINT NOT NULL, content_hash VARCHAR NOT NULL,
    taken_at TIMESTAMP NOT NULL, ingested_at TIMESTAMP, source VARCHAR, images BIGINT, annotations BIGINT,
    UNIQUE (project_id, content_hash));
CREATE TABLE snapshot_counts (
    snapshot_id BIGINT NOT NULL, category VARCHAR NOT NULL, split VARCHAR NOT NULL,
    images BIGINT NOT NULL, instances BIGINT NOT NULL, pixels DOUBLE);
"""

# Version 2: priorities and critical flags on targets, per-project rate window and working days,
# per-day / per-annotator counts rebuilt from timestamps, per-condition counts for sourcing advice.
_V2 = """
ALTER TABLE targets ADD COLUMN priority INTEGER DEFAULT 1;
ALTER TABLE targets ADD COLUMN critical BOOLEAN DEFAULT FALSE;
ALTER TABLE projects ADD COLUMN window_days INTEGER DEFAULT 5;
ALTER TABLE projects ADD COLUMN workdays VARCHAR DEFAULT '1111100';
ALTER TABLE snapshots ADD COLUMN has_timestamps BOOLEAN DEFAULT FALSE;
CREATE TABLE snapshot_daily (
    snapshot_id BIGINT NOT NULL, day DATE, annotator VARCHAR, category VARCHAR NOT NULL,
    images BIGINT NOT NULL, instances BIGINT NOT NULL, pixels DOUBLE);
CREATE TABLE snapshot_conditions (
    snapshot_id BIGINT NOT NULL, condition VARCHAR NOT NULL, value VARCHAR, category VARCHAR,
    images BIGINT NOT NULL, instances BIGINT NOT NULL);
"""

#: MIGRATIONS[v] takes a workspace from version v to v + 1 (v = 0: an empty file).
MIGRATIONS: dict[int, str] = {0: _V1, 1: _V2}


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """0 for an empty database; raises :class:`WorkspaceError` for a database that is not a workspace."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if not tables:
        return 0
    if "imbal_meta" not in tables:
        raise WorkspaceError(f"This DuckDB file is not an imbal workspace (it has tables {sorted(tables)[:5]} "
                             "but no imbal_meta); choose another file.")
    row = first(con, "SELECT value FROM imbal_meta WHERE key = 'schema_version'")
    return int(row[0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection, to_version: int = SCHEMA_VERSION) -> int:
    """Bring the database to ``to_version`` in one transaction; returns the version found before."""
    found = schema_version(con)
    if found > SCHEMA_VERSION:
        raise WorkspaceError(f"The workspace has schema version {found}, newer than this imbal understands "
                             f"({SCHEMA_VERSION}); upgrade imbal to open it.")
    if found >= to_version:
        return found
    con.execute("BEGIN TRANSACTION")
    try:
        for version in range(found, to_version):
            for statement in _statements(MIGRATIONS[version]):
                con.execute(statement)
            log.info("workspace migrated from schema version %d to %d", version, version + 1)
        con.execute("INSERT OR REPLACE INTO imbal_meta VALUES ('schema_version', ?)", [str(to_version)])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return found


def first(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple | None:
    """The first row or None (fetching everything, so the connection is free for the next statement)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


