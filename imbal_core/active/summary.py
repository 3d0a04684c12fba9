"""What a batch amounts to beside its pool, and the quotas a batch fills from a quota project's progress."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from .pool import Pool
from .selection import Selection

if TYPE_CHECKING:
    from ..quotas.progress import QuotaProgress


@dataclass(frozen=True)
class BatchSummary:
    """``mean_uncertainty`` of the selected images and ``pool_mean_uncertainty`` of the pool (NaN when
    there are none); ``groups_used``: how many values of the capped column (``selection.group``) the
    batch takes images from, None when nothing was capped."""

    pool_images: int
    selected: int
    mean_uncertainty: float
    pool_mean_uncertainty: float
    groups_used: int | None


def summarize_batch(pool: Pool, selection: Selection) -> BatchSummary:
    used = None
    if selection.group:
        rows = selection.conditions
        mask = pc.and_(pc.equal(rows.column("condition"), selection.group), pc.greater(rows.column("selected"), 0))
        used = int(pc.sum(pc.cast(mask, pa.int64())).as_py() or 0)
    return BatchSummary(pool.size, selection.size, _mean(selection.batch.column("uncertainty")),
                        _mean(pool.table.column("uncertainty")), used)


def quota_needs(progress: "QuotaProgress") -> dict[str, float]:
    """``{class: what it still needs}`` for every class of a quota progress short of its target: the
    ``quotas`` :func:`~.selection.select_batch` shares a batch by."""
    return {k.category: k.remaining for k in progress.classes if k.remaining > 0}


def _mean(column: pa.ChunkedArray) -> float:
    value = pc.mean(column).as_py()
    return math.nan if value is None else float(value)
