"""The lake's layout: file names, columns and format version, and :class:`LakeError`.

The lowest module of the package (it imports nothing of it), so that the manifest and the
registered tables can both use it. The layout itself is described in :mod:`.manifest`.
"""
from __future__ import annotations

#: The lake format version this code writes and reads; a newer manifest is refused.
VERSION = 1
MANIFEST = "manifest.json"
CATEGORIES = "categories.parquet"
TABLES = ("images", "annotations")
#: The hive partition key of copied sources: ``images/source=<SID>/``.
PARTITION_KEY = "source"
#: Column name -> Arrow type name of the tables (conditions: one more string column each).
IMAGE_COLUMNS = {"image_id": "int64", "source_id": "string", "file_name": "string", "width": "int64",
                 "height": "int64", "split": "string", "group": "string"}
ANNOTATION_COLUMNS = {"image_id": "int64", "category_id": "int64", "area": "double", "pixels": "double"}
CATEGORY_COLUMNS = {"category_id": "int64", "name": "string", "supercategory": "string", "critical": "bool"}
#: Names a condition may not take: the image columns, the partition key, the cube's own columns.
RESERVED_NAMES = frozenset({*IMAGE_COLUMNS, PARTITION_KEY, "category", "category_id", "class", "images",
                            "instances", "pixels", "area", "annotated_at", "annotator"})
#: Entries a folder may hold and still be taken as a new lake (what an add killed early leaves).
LAYOUT_NAMES = frozenset({".lock", CATEGORIES, *TABLES})


class LakeError(ValueError):
    """A folder that is not a usable lake, or input a lake cannot take: the message names the file
    (or the parameter) and the reason. The CLI prints it and exits 2."""
