"""Stratified, group-aware split generation and the export of new splits in the source format.

>>> from imbal_core.splitting import make_splits, export_splits
>>> result = make_splits(dataset, (0.8, 0.1, 0.1), stratify_by=("class", "time_of_day"), seed=0)
>>> export_splits(result.dataset).write("out/")      # COCO files per split, YOLO lists, VOC ImageSets, CSV
"""
from .export import EXPORT_FORMATS, ExportFormat, SplitExport, export_formats, export_splits
from .generate import GeneratedSplits, apply_splits, blocks_of, check_ratios, make_splits

__all__ = [
    "EXPORT_FORMATS", "ExportFormat", "GeneratedSplits", "SplitExport", "apply_splits", "blocks_of", "check_ratios",
    "export_formats", "export_splits", "make_splits",
]
