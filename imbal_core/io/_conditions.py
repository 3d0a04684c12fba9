"""Which extra fields of an export become conditions, and which one names the group.

Shared by every reader whose records carry free-form fields (COCO image fields, CSV columns,
Label Studio choices), so the rule is the same everywhere:

- a field is a *condition* when its values are text, whole numbers or booleans, short (at most
  :data:`MAX_VALUE_LENGTH` characters, no links), it has at most :data:`MAX_CONDITION_VALUES`
  distinct values, and it is not an identifier (a distinct value per image, with more than
  :data:`MIN_IMAGES_FOR_ID_RULE` images); fields failing the rule are reported once, as ``ignored``;
- the first field named like a group (:data:`GROUP_FIELDS`) becomes ``group``: frames of one
  sequence, video, site or patient, which must stay in one split.
"""
from __future__ import annotations

from typing import Iterable

import pyarrow as pa
import pyarrow.compute as pc

from ..dataset import IMAGE_SCHEMA, condition_name
from ..report import LoadReport

#: Columns of the count tables (cube, long tail, strata, lake) beside the conditions: a condition
#: may not take one of these names, or a table would hold two columns of one name.
RESERVED_NAMES = frozenset({"class", "category", "images", "instances", "pixels", "source", "area"})

MAX_CONDITION_VALUES = 1000
MAX_VALUE_LENGTH = 64
MIN_IMAGES_FOR_ID_RULE = 20
GROUP_FIELDS = (
    "group", "group_id", "sequence", "sequence_id", "seq", "video", "video_id", "site", "site_id",
    "patient", "patient_id", "drive", "drive_id", "session", "session_id", "location_id",
)
ANNOTATED_AT_FIELDS = ("annotated_at", "created_at", "labeled_at", "labelled_at")
ANNOTATOR_FIELDS = ("annotator", "completed_by", "labeler", "labeller", "annotated_by")


def find_field(names: Iterable[str], candidates: tuple[str, ...]) -> str | None:
    lowered = {n.lower(): n for n in names}
    for c in candidates:
        if c in lowered:
            return lowered[c]
    return None


def as_text(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Values as text (whole floats lose their ``.0``); nulls stay null."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_floating(arr.type):
        ints = pc.cast(arr, pa.int64(), safe=False)
        if pc.all(pc.or_kleene(pc.is_null(arr), pc.equal(pc.cast(ints, arr.type), arr))).as_py():
            arr = ints
    return pc.cast(arr, pa.string())


def _scalar(t: pa.DataType) -> bool:
    return (
        pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t)
        or pa.types.is_boolean(t) or pa.types.is_dictionary(t)
    )


def pick_conditions(
    fields: dict[str, pa.Array],
    n_images: int,
    report: LoadReport,
    file: str,
    exclude: Iterable[str] = (),
) -> dict[str, pa.Array]:
    """Conditions among ``fields`` (name -> one value per image), renamed to column names."""
    excluded = {e.lower() for e in exclude}
    out: dict[str, pa.Array] = {}
    for raw_name, values in fields.items():
        if raw_name.lower() in excluded:
            continue
        name = condition_name(raw_name)
        if name in IMAGE_SCHEMA.names or name in out:
            report.add(file, raw_name, "condition_ignored",
                       f"field `{raw_name}` would be the column `{name}`, which already exists", "ignored")
            continue
        if name in RESERVED_NAMES:
            report.add(file, raw_name, "condition_ignored",
                       f"field `{raw_name}` would be the column `{name}`, a name the result tables use "
                       "(rename it in the export or the sidecar)", "ignored")
            continue
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        if pa.types.is_null(values.type):
            continue
        if not _scalar(values.type):
            report.add(file, raw_name, "condition_ignored",
                       f"field `{raw_name}` holds {values.type} values, not text or whole numbers", "ignored")
            continue
        text = as_text(values)
        longest = pc.max(pc.utf8_length(text)).as_py() or 0
        if longest > MAX_VALUE_LENGTH or pc.any(pc.match_substring(text, "://")).as_py():
            report.add(file, raw_name, "condition_ignored",
                       f"field `{raw_name}` holds free text or links (up to {longest} characters), not categories", "ignored")
            continue
        distinct = pc.count_distinct(text).as_py()
        if distinct > MAX_CONDITION_VALUES:
            report.add(file, raw_name, "condition_ignored",
                       f"field `{raw_name}` has {distinct:,} distinct values (more than {MAX_CONDITION_VALUES:,})", "ignored")
            continue
        if n_images > MIN_IMAGES_FOR_ID_RULE and distinct == n_images:
            report.add(file, raw_name, "condition_ignored",
                       f"field `{raw_name}` has a distinct value for every image (an identifier)", "ignored")
            continue
        out[name] = text
    return out
