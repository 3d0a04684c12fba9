"""Splits: check the splits an export has, make new stratified and group-safe ones, write them out.

>>> from imbal_core.splits import check_splits, make_splits, export_splits
>>> check_splits(dataset).status                     # "pass" / "warn" / "fail": leakage, missing classes, skew
>>> result = make_splits(dataset, (0.8, 0.1, 0.1), stratify_by=("class", "time_of_day"), seed=0)
>>> export_splits(result.dataset).write("out/")      # COCO files per split, YOLO lists, VOC ImageSets, CSV

- ``check.py``: split health (:func:`check_splits`): per split against the whole, leakage of
  groups and file names, the label-distribution error.
- ``stratification.py``: the one definition of "stratified"
  (:func:`imbal_core.splits.stratification.stratification`, not re-exported here: the name is
  the module's), shared by split health and the checklist (``imbal check``).
- ``generate.py`` (and its optimiser ``_search.py``): new stratified, group-aware splits
  (:func:`make_splits`).
- ``export.py``: new splits written as an annotation export in the source's format, or a CSV
  (:func:`export_splits`).

The names below are imported from their module on first use: the checklist needs only
``stratification`` and should not pay for SciPy, which the check and the generator import.
"""
from .._lazy import lazy_names

_LAZY = {
    "JS_WARN": "check",
    "SplitHealth": "check",
    "SplitVerdict": "check",
    "check_group_by": "check",
    "check_splits": "check",
    "js_divergence": "check",
    "label_distribution_error": "check",
    "Stratification": "stratification",
    "GeneratedSplits": "generate",
    "apply_splits": "generate",
    "blocks_of": "generate",
    "check_ratios": "generate",
    "check_stratify_by": "generate",
    "make_splits": "generate",
    "resolve_group_by": "generate",
    "EXPORT_FORMATS": "export",
    "ExportFormat": "export",
    "SplitExport": "export",
    "export_formats": "export",
    "export_splits": "export",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
