"""The long tail: per-class counts by unit and split, long-tail metrics and frequency groups.

Everything here is computed from the count cube (:func:`imbal_core.cube.cube`), so it is cheap
to recompute when a unit, a split or a subset changes.

Units (:data:`Unit`)
    ``images`` — distinct images holding the class; ``instances`` — annotations of the class;
    ``pixels`` — mask pixels of the class. For box-only detection data there are no masks, and
    ``pixels`` is the **box area** (w x h in pixels, summed): an approximation that overcounts
    the object (a box also covers background), clearly labelled by :func:`unit_label`. Boxes of
    images of unknown size (normalised YOLO labels) have no pixel area and are left out.
    Classification labels have no extent: ``pixels`` is not available (:func:`available_units`).

Metrics (:class:`TailMetrics`), over the classes with a non-zero count (classes with no data
are listed as ``absent`` and kept out of the metrics, so declared-but-unused categories do not
distort them):

- imbalance ratio: largest / smallest non-zero class count (1 = balanced).
- Gini coefficient: ``sum_i sum_j |x_i - x_j| / (2 n^2 mean)``; 0 = all classes equal, towards
  1 = one class holds everything; 1 - 2 x the area under the Lorenz curve.
- evenness (normalised entropy): ``H / ln(n)`` with ``H = -sum p_i ln p_i``; 1 = balanced,
  towards 0 = one class dominates; undefined (NaN) for fewer than two classes.
- effective number of classes: ``exp(H)``, the number of equally frequent classes with the same
  entropy (n for n equal classes).
- head / tail: the head is the fewest classes, largest first, whose counts cover ``head_share``
  (0.8) of the total; every other class with data is in the tail.
- frequency groups (LVIS): by **training-image** count — images of the ``train`` split holding
  the class: rare 1-10, common 11-100, frequent > 100 (:class:`FrequencyThresholds`); ``unseen``
  when no training image holds it. Without a ``train`` split every image counts, and
  ``group_basis`` says so.

Parts, one idea each:
    :mod:`.units`     the units, what ``pixels`` counts for a dataset (:func:`pixel_source`), their labels
    :mod:`.counts`    every class x every split in every unit (:func:`class_split_counts`), ``where`` subsets
    :mod:`.metrics`   the metrics of a vector of counts and :class:`TailMetrics` (:func:`tail_metrics`)
    :mod:`.groups`    the LVIS frequency groups (:class:`FrequencyThresholds`, :data:`LVIS`)
    :mod:`.tail`      the per-class table that puts them together (:func:`long_tail`, :class:`LongTail`)

Every name of the former single module ``imbal_core/longtail.py`` still imports from here,
the private helpers included.
"""
from .counts import _check_where, _subset_mask, _with_box_areas, class_split_counts
from .groups import GROUPS, LVIS, FrequencyThresholds, Group
from .metrics import (DEFAULT_HEAD_SHARE, TailMetrics, _check_share, _present, effective_classes, entropy, evenness,
                      gini, head_tail, imbalance_ratio, lorenz_curve, tail_metrics)
from .subsets import MAX_SUBSET_VALUES, subset_choices
from .tail import LongTail, long_tail
from .units import UNITS, PixelSource, Unit, _box_areas, available_units, pixel_source, unit_label

__all__ = [
    "DEFAULT_HEAD_SHARE", "GROUPS", "LVIS", "UNITS", "FrequencyThresholds", "Group", "LongTail", "PixelSource",
    "TailMetrics", "Unit", "available_units", "class_split_counts", "effective_classes", "entropy", "evenness",
    "gini", "head_tail", "imbalance_ratio", "long_tail", "lorenz_curve", "pixel_source", "subset_choices", "tail_metrics",
    "unit_label", "MAX_SUBSET_VALUES",
]
