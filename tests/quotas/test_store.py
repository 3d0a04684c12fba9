"""The workspace store: projects, targets, append-only idempotent snapshots, transactions, crashes, migrations."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import date, datetime

import duckdb
import pytest

from imbal_core.quotas import QuotaTarget, Workspace, WorkspaceError, targets_from_mapping
from imbal_core.quotas.schema import MIGRATIONS, SCHEMA_VERSION, migrate, schema_version
from imbal_core.quotas.snapshot import snapshot_rows
from imbal_core.quotas.store import default_path, write_snapshot

from .conftest import ROOT, daily_export

D1, D2, D3 = date(2026, 1, 5), date(2026, 1, 6), date(2026, 1, 7)


def test_reading_a_missing_workspace_creates_no_file(tmp_path):
    ws = Workspace(tmp_path / "none.duckdb")
    assert ws.projects() == []
    assert not ws.exists
    with pytest.raises(ValueError, match="is not in the workspace .* no projects yet"):
        ws.load("p")
    assert not (tmp_path / "none.duckdb").exists()


def test_default_path_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("IMBAL_WORKSPACE", raising=False)
    assert default_path().name == "imbal_workspace.duckdb"
    monkeypatch.setenv("IMBAL_WORKSPACE", str(tmp_path / "mine.duckdb"))
    assert Workspace().path == tmp_path / "mine.duckdb"


def test_projects_and_targets_round_trip(workspace):
    workspace.create_project("push", window_days=3, workdays="1111110")
    assert [p.name for p in workspace.projects()] == ["push"]
    assert workspace.project("push").window_days == 3
    saved = workspace.set_targets("push", [QuotaTarget("B", 50, D3, "images", 2, True), QuotaTarget("A", 10, D2)])
    assert [(t.category, t.target, t.unit, t.priority, t.critical) for t in saved] == [
        ("A", 10, "instances", 1, False), ("B", 50, "images", 2, True)]
    workspace.set_targets("push", [QuotaTarget("A", 20, D3)], remove=["B"])
    assert [(t.category, t.target, t.deadline) for t in workspace.targets("push")] == [("A", 20, D3)]
    workspace.set_targets("push", [QuotaTarget("C", 5, D3)], replace=True)
    assert [t.category for t in workspace.targets("push")] == ["C"]


@pytest.mark.parametrize("call, match", [
    (lambda ws: ws.create_project(""), "`project` must be a non-empty name"),
    (lambda ws: ws.create_project("p", window_days=0), "`window_days` must be a whole number of at least 1. Got 0"),
    (lambda ws: ws.create_project("p", workdays="11111"), "`workdays` must be 7 characters"),
    (lambda ws: ws.create_project("p", workdays="0000000"), "with at least one 1"),
    (lambda ws: ws.set_targets("nope", []), "`project` 'nope' is not in the workspace"),
    (lambda ws: QuotaTarget("A", 0, D1), "`target` of A must be a whole number of at least 1. Got 0"),
    (lambda ws: QuotaTarget("A", 5, D1, unit="boxes"), "`unit` of A must be one of"),
    (lambda ws: QuotaTarget("A", 5, "2026-01-01"), "`deadline` of A must be a date"),
    (lambda ws: QuotaTarget("A", 5, D1, priority=0), "`priority` of A must be a whole number of at least 1"),
    (lambda ws: targets_from_mapping({"A": 2.5}, D1), "`target` of A must be a whole number"),
])
def test_bad_input_is_refused_with_a_message(workspace, call, match):
    with pytest.raises(ValueError, match=match):
        call(workspace)


def test_creating_a_project_twice(workspace):
    workspace.create_project("p")
    with pytest.raises(ValueError, match="already exists"):
        workspace.create_project("p")
    assert workspace.create_project("p", exist_ok=True).name == "p"


def test_ingest_is_idempotent_by_content(workspace):
    workspace.create_project("p")
    export = daily_export({D1: {"A": 3}, D2: {"A": 2, "B": 1}})
    first = workspace.ingest("p", export)
    again = workspace.ingest("p", daily_export({D1: {"A": 3}, D2: {"A": 2, "B": 1}}), at=D3)  # same content, other day
    assert first.created and not again.created
    assert again.snapshot == first.snapshot
    assert len(workspace.snapshots("p")) == 1
    assert first.snapshot.day == D2  # dated by its latest annotated_at
    workspace.create_project("q")
    assert workspace.ingest("q", export).created  # another project keeps its own history


def test_snapshots_are_append_only(workspace):
    workspace.create_project("p")
    days = {D1: {"A": 3}, D2: {"A": 2, "B": 1}, D3: {"B": 4}}
    ids, before = [], None
    for k in range(1, 4):
        export = daily_export(dict(list(days.items())[:k]))
        ids.append(workspace.ingest("p", export).snapshot.snapshot_id)
        if k == 1:
            before = workspace.counts([ids[0]])
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert workspace.counts([ids[0]]).equals(before)  # later ingests never touch an earlier snapshot
    totals = {(r["snapshot_id"], r["class"]): r["instances"] for r in workspace.load("p").totals.to_pylist()}
    assert [totals[(i, "A")] for i in ids] == [3, 5, 5]
    assert [totals[(i, "B")] for i in ids] == [0, 1, 5]


def test_a_snapshot_holds_counts_per_split_day_annotator_and_condition(workspace):
    workspace.create_project("p")
    export = daily_export({D1: {"A": 3, "B": 1}, D2: {"A": 2}}, annotators=("ana", "ben"), unstamped={"B": 2},
                          conditions={"time_of_day": ["day", "night"]})
    snap = workspace.ingest("p", export, at=D3).snapshot
    assert (snap.images, snap.annotations, snap.has_timestamps) == (4, 8, True)
    data = workspace.load("p")
    splits = data.splits.to_pylist()
    assert {(r["class"], r["split"]) for r in splits} == {(c, s) for c in "ABC" for s in ("train", "val")}  # zeros kept
    assert sum(r["instances"] for r in splits if r["class"] == "A") == 5
    daily = data.daily.to_pylist()
    assert {(r["day"], r["class"]): r["instances"] for r in daily} == {
        (D1, "A"): 3, (D1, "B"): 1, (D2, "A"): 2, (None, "B"): 2}
    assert data.labellers.to_pylist() == [{"day": D1, "labellers": 2}, {"day": D2, "labellers": 1}]
    cond = {(r["value"], r["class"]): (r["images"], r["instances"]) for r in data.conditions.to_pylist()}
    assert cond[("day", None)] == (2, 0) and cond[("night", None)] == (2, 0)
    assert cond[("day", "A")] == (2, 5)


def test_an_export_without_timestamps_needs_a_date(workspace):
    workspace.create_project("p")
    export = daily_export({D1: {"A": 3}}, stamped=False)
    with pytest.raises(ValueError, match="`at` is required: this export has no `annotated_at`"):
        workspace.ingest("p", export)
    with pytest.raises(ValueError, match="`at` must be an ISO date"):
        workspace.ingest("p", export, at="yesterday")
    assert workspace.ingest("p", export, at="2026-01-05T18:00:00+02:00").snapshot.taken_at == datetime(2026, 1, 5, 16)


def test_a_failure_inside_the_transaction_leaves_no_trace(workspace):
    workspace.create_project("p")
    workspace.ingest("p", daily_export({D1: {"A": 3}}))
    rows = snapshot_rows(daily_export({D1: {"A": 3}, D2: {"B": 1}}))

    def fail() -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        with workspace._transaction() as con:
            write_snapshot(con, "p", rows, "x", between=fail)
    data = workspace.load("p")
    assert len(data.snapshots) == 1
    assert set(data.totals.column("snapshot_id").to_pylist()) == {data.snapshots[0].snapshot_id}


CRASH_MID_TRANSACTION = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, sys.argv[3])
    from conftest import daily_export
    from datetime import date
    from imbal_core.quotas import Workspace
    from imbal_core.quotas.snapshot import snapshot_rows
    from imbal_core.quotas.store import write_snapshot
    ws = Workspace(sys.argv[1])
    rows = snapshot_rows(daily_export({date(2026, 1, d): {"A": 2, "B": d} for d in range(5, 10)}, annotators=("x", "y")))

    def pause():
        print("written, not committed", flush=True)
        time.sleep(120)

    with ws._transaction() as con:
        write_snapshot(con, sys.argv[2], rows, "crash", between=pause)
""")

CRASH_LOOP = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[3])
    from conftest import daily_export
    from datetime import date, timedelta
    from imbal_core.quotas import Workspace
    ws = Workspace(sys.argv[1])
    for k in range(1000):
        days = {date(2026, 2, 1) + timedelta(days=d): {"A": 1 + d, "B": k % 7, "C": 2} for d in range(40)}
        result = ws.ingest(sys.argv[2], daily_export(days, annotators=("x", "y", "z")), at=date(2026, 3, 1))
        print("committed", result.snapshot.snapshot_id, flush=True)
""")


def _kill_after(script: str, ws: Workspace, lines: int) -> list[str]:
    proc = subprocess.Popen([sys.executable, "-c", script, str(ws.path), "p", str(ROOT / "tests" / "quotas")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
    seen = []
    try:
        while len(seen) < lines:
            line = proc.stdout.readline()
            if not line:
                raise AssertionError(f"the ingesting process ended early: {proc.stderr.read()}")
            seen.append(line.strip())
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    return seen


def test_sigkill_mid_ingest_loses_only_that_snapshot(workspace):
    workspace.create_project("p")
    for k in (1, 2, 3):
        workspace.ingest("p", daily_export({date(2026, 1, 4 + d): {"A": d} for d in range(1, k + 1)}))
    before = workspace.load("p")
    _kill_after(CRASH_MID_TRANSACTION, workspace, 1)
    after = workspace.load("p")  # the store opens and reads
    assert [s.snapshot_id for s in after.snapshots] == [s.snapshot_id for s in before.snapshots]
    assert after.totals.equals(before.totals) and after.daily.equals(before.daily)
    assert workspace.ingest("p", daily_export({D1: {"C": 9}})).created  # and takes the next day


def test_sigkill_while_ingesting_keeps_every_committed_snapshot_whole(workspace):
    workspace.create_project("p")
    committed = _kill_after(CRASH_LOOP, workspace, 3)
    data = workspace.load("p")
    ids = [s.snapshot_id for s in data.snapshots]
    assert [int(line.split()[1]) for line in committed] == ids[:3]
    assert len(ids) <= 4  # at most the one in flight got in, and then wholly
    for sid in ids:
        rows = [r for r in data.splits.to_pylist() if r["snapshot_id"] == sid]
        daily = [r for r in data.daily.to_pylist() if r["snapshot_id"] == sid]
        assert len(rows) == 3 * 2 and sum(r["instances"] for r in rows) == data.snapshots[ids.index(sid)].annotations
        assert sum(r["instances"] for r in daily) == data.snapshots[ids.index(sid)].annotations


def test_a_busy_workspace_says_so(workspace):
    workspace.create_project("p")
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('holding', flush=True); time.sleep(60)", str(workspace.path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(WorkspaceError, match="in use by another process and stayed busy for 0.2 s"):
            Workspace(workspace.path, timeout=0.2).projects()
    finally:
        holder.kill()
        holder.wait(timeout=30)
        holder.stdout.close()
    assert [p.name for p in workspace.projects()] == ["p"]


@pytest.mark.parametrize("content, match", [
    (b"not a database at all", "cannot be opened as an imbal workspace"),
])
def test_a_file_that_is_not_a_workspace_is_refused(tmp_path, content, match):
    path = tmp_path / "x.duckdb"
    path.write_bytes(content)
    with pytest.raises(WorkspaceError, match=match):
        Workspace(path).projects()


def test_another_duckdb_database_is_left_alone(tmp_path):
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE sales (x INTEGER)")
    con.close()
    with pytest.raises(WorkspaceError, match="not an imbal workspace .*sales"):
        Workspace(path).create_project("p")


def test_an_older_workspace_is_migrated_with_its_data(tmp_path):
    path = tmp_path / "v1.duckdb"
    con = duckdb.connect(str(path))
    migrate(con, to_version=1)
    con.execute("INSERT INTO projects VALUES (nextval('project_ids'), 'old', TIMESTAMP '2026-01-01 08:00')")
    con.execute("INSERT INTO targets VALUES (1, 'A', 40, 'instances', DATE '2026-01-20')")
    con.execute("INSERT INTO snapshots VALUES (nextval('snapshot_ids'), 1, 'h1', TIMESTAMP '2026-01-05 18:00', NULL, "
                "'old.json', 3, 7)")
    con.execute("INSERT INTO snapshot_counts VALUES (1, 'A', 'train', 3, 7, NULL)")
    con.close()
    assert 1 in MIGRATIONS and SCHEMA_VERSION >= 2
    ws = Workspace(path)
    assert [(t.category, t.target, t.priority, t.critical) for t in ws.targets("old")] == [("A", 40, 1, False)]
    data = ws.load("old")
    assert data.project.window_days == 5 and data.project.workdays == "1111100"
    assert [(s.snapshot_id, s.annotations, s.has_timestamps) for s in data.snapshots] == [(1, 7, False)]
    assert data.totals.to_pylist()[0]["instances"] == 7
    con = duckdb.connect(str(path))
    assert schema_version(con) == SCHEMA_VERSION
    con.close()
    assert ws.ingest("old", daily_export({D2: {"A": 5}})).snapshot.snapshot_id == 2  # the sequence carried on


def test_a_newer_workspace_is_refused(tmp_path):
    path = tmp_path / "future.duckdb"
    ws = Workspace(path)
    ws.create_project("p")
    con = duckdb.connect(str(path))
    con.execute("UPDATE imbal_meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(WorkspaceError, match="schema version 99, newer than this imbal understands"):
        ws.projects()


def test_the_sample_ingests_into_ten_snapshots(sample_workspace):
    snaps = sample_workspace.snapshots("daily")
    assert [s.annotations for s in snaps] == [315, 641, 975, 1319, 1680, 2057, 2379, 2798, 3174, 3734]
    assert all(s.has_timestamps for s in snaps)
    last = sample_workspace.snapshots("last")
    assert len(last) == 1 and last[0].taken_at.date() == date(2026, 11, 27)


def test_threads_of_one_server_can_ingest_at_once(workspace):
    from concurrent.futures import ThreadPoolExecutor

    workspace.create_project("p")
    exports = [daily_export({D1: {"A": k}}) for k in (1, 2, 3)] * 3  # each export three times
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda e: workspace.ingest("p", e), exports))
    assert sum(r.created for r in results) == 3
    assert sorted(s.annotations for s in workspace.snapshots("p")) == [1, 2, 3]
