"""The condition values a long-tail subset can be taken by: the choices behind ``where``.

:func:`class_split_counts` and :func:`long_tail` take ``where={condition: values}``;
:func:`subset_choices` lists, per condition, the values worth offering for it.
"""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ..cube import image_counts, is_count_source
from ..dataset import Dataset

#: A condition with more values than this is more an identifier than a subset to choose.
MAX_SUBSET_VALUES = 50


def subset_choices(dataset: Dataset, max_values: int = MAX_SUBSET_VALUES) -> dict[str, list[str]]:
    """Per condition, the values images have, sorted; only conditions with 2 to ``max_values`` values.

    A condition with one value cannot split the data; one with more than ``max_values`` (50) values
    (a frame id, a file path) is not a subset anyone picks from a list. Conditions keep the
    dataset's order; unknown (null) values are not listed.
    """
    if isinstance(max_values, bool) or not isinstance(max_values, int) or max_values < 2:
        raise ValueError(f"`max_values` must be a whole number of at least 2. Got {max_values!r} instead.")
    choices = {}
    for condition in dataset.conditions:
        if is_count_source(dataset):  # a lake: the values its images have, counted by the engine
            present = image_counts(dataset, (condition,)).column(condition).to_pylist()
            values = sorted(v for v in present if v is not None)
        else:
            values = _values(dataset.images.column(condition))
        if 1 < len(values) <= max_values:
            choices[condition] = values
    return choices


def _values(column: pa.ChunkedArray) -> list[str]:
    """The distinct non-null values present (not every word of the dictionary: a filtered table keeps those)."""
    array = column.combine_chunks()
    if pa.types.is_dictionary(array.type):
        used = pc.drop_null(pc.unique(array.indices))
        array = array.dictionary.take(used)
    return sorted(v for v in pc.unique(array).to_pylist() if v is not None)
