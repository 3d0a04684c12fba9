"""Annotation quotas: a workspace of projects, targets and daily snapshots; progress, forecast, playbook.

>>> from imbal_core.quotas import Workspace, QuotaTarget
>>> ws = Workspace("imbal_workspace.duckdb")
>>> ws.create_project("street push", exist_ok=True)
>>> ws.ingest("street push", imbal_core.load("day10.json"))
"""
from .records import UNITS, IngestResult, Project, QuotaTarget, Snapshot, Unit, WorkspaceError, targets_from_mapping
from .store import Workspace, default_path

__all__ = [
    "UNITS", "IngestResult", "Project", "QuotaTarget", "Snapshot", "Unit", "Workspace", "WorkspaceError",
    "default_path", "targets_from_mapping",
]
