"""The names a user may give an image column: imbal's own, or the export's.

Readers rename what they keep. A condition field ``Time of day`` becomes the column
``time_of_day`` (:func:`~imbal_core.dataset.condition_name`); the export's group field —
``sequence``, ``video_id``, ``site``, ``patient`` ... (:data:`GROUP_FIELDS`, the names every reader
looks for) — becomes ``group``. Someone who knows the export names them as the export does
(``imbal split --group sequence``, ``--stratify "Time of day"``), so every place that takes a
group or a condition resolves the name through :func:`resolve_column`: the column's own name,
the condition the export's field name became, or any group-field name for ``group``.
"""
from __future__ import annotations

from typing import Sequence

from .cube import image_counts, is_count_source
from .dataset import Dataset, condition_name
from .io._conditions import GROUP_FIELDS
from .report import excerpt

GROUP = "group"


def has_groups(dataset: Dataset) -> bool:
    """True when some image has a group (a sequence, video, site ...)."""
    if is_count_source(dataset):  # a lake: from the image counts by group
        return any(v is not None for v in image_counts(dataset, (GROUP,)).column(GROUP).to_pylist())
    return dataset.images.column(GROUP).null_count < dataset.num_images


def resolve_column(dataset: Dataset, name: str, param: str, *, group: bool = True, conditions: bool = True,
                   also: Sequence[str] = ()) -> str:
    """The image column ``name`` designates, or ``ValueError`` naming ``param`` and the choices.

    Accepted, in this order: one of ``also`` (other words the caller takes, such as ``class``),
    ``group`` (when ``group``) and the conditions (when ``conditions``) by their column names;
    a condition by the export's spelling (``Time of day`` -> ``time_of_day``); ``group`` by any
    group-field name (``sequence``, ``Video_ID`` ...), when the dataset has groups.
    """
    if not isinstance(name, str):
        raise ValueError(f"`{param}` must be a column name. Got {excerpt(name)} instead.")
    text = name.strip()
    allowed = (*also, *((GROUP,) if group else ()), *(dataset.conditions if conditions else ()))
    if text in allowed:
        return text
    if conditions and condition_name(text) in dataset.conditions:
        return condition_name(text)
    if group and text.lower() in GROUP_FIELDS:
        if has_groups(dataset):
            return GROUP
        raise ValueError(f"`{param}` names the group field {excerpt(text)}, but no image of this export has a group "
                         f"(a sequence, video or site). Choose from {list(allowed)}.")
    raise ValueError(f"`{param}` may be {_choices(dataset, group, conditions, also)}. Got {excerpt(text)} instead.")


def _choices(dataset: Dataset, group: bool, conditions: bool, also: Sequence[str]) -> str:
    """``'class', 'group' (or the export's own name for it: sequence, video, site ...) or a condition: [...]``."""
    words = [repr(a) for a in also]
    if group:
        words.append(f"{GROUP!r} (or the export's own name for it: sequence, video, site ...)")
    if conditions:
        words.append(f"a condition: {list(dataset.conditions)}" if dataset.conditions else "a condition (it has none)")
    return ", ".join(words[:-1]) + (" or " if len(words) > 1 else "") + words[-1]
