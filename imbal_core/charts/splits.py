"""Figures of the Splits page: per-class shares by split, and before / after a new split (pure, no I/O)."""
from __future__ import annotations

from typing import Literal

import numpy as np
import plotly.graph_objects as go
import pyarrow as pa

from .longtail import SPLIT_COLORS

ShareScale = Literal["share", "relative"]
_OTHER = ("#b279a2", "#e45756", "#72b7b2", "#eeca3b")


def _colour(split: str, i: int) -> str:
    return SPLIT_COLORS.get(split, _OTHER[i % len(_OTHER)])


def class_shares(classes: pa.Table, scale: ShareScale = "share", *, title: str | None = None) -> go.Figure:
    """Grouped bars: each class's share of each split, classes by their share of the whole.

    ``classes`` has ``class``, ``split``, ``share`` and ``whole_share`` (``SplitHealth.classes``).
    ``scale`` "share" draws shares on a log axis with the whole's share as a black tick;
    "relative" draws share / whole share, so 1 is perfect and 0.5 is half the share the class
    has overall, for rare and common classes alike.
    """
    if scale not in ("share", "relative"):
        raise ValueError(f"`scale` must be 'share' or 'relative'. Got {scale!r} instead.")
    rows = classes.to_pylist()
    whole = {}
    for r in rows:
        whole[r["class"]] = r["whole_share"]
    order = [c for c in sorted(whole, key=lambda c: -whole[c]) if whole[c] > 0]
    splits = list(dict.fromkeys(r["split"] for r in rows))
    cell = {(r["class"], r["split"]): r["share"] for r in rows}
    fig = go.Figure()
    for i, split in enumerate(splits):
        shares = np.array([cell.get((c, split), np.nan) for c in order], dtype=float)
        base = np.array([whole[c] for c in order])
        y = shares if scale == "share" else shares / base
        fig.add_trace(go.Bar(
            x=order, y=y, name=split, marker_color=_colour(split, i),
            customdata=np.column_stack([shares * 100, base * 100]) if order else None,
            hovertemplate=f"%{{x}} in {split}: %{{customdata[0]:.2f}}% (whole %{{customdata[1]:.2f}}%)<extra></extra>",
        ))
    if scale == "share":
        fig.add_trace(go.Scatter(x=order, y=[whole[c] for c in order], mode="markers", name="whole",
                                 marker=dict(symbol="line-ew-open", size=26, color="#111", line=dict(width=2)),
                                 hovertemplate="%{x}: %{y:.2%} of the whole<extra></extra>"))
        fig.update_yaxes(type="log", tickformat=".1%", title="share of the split")
    else:
        fig.add_hline(y=1.0, line=dict(color="#111", dash="dash", width=1))
        fig.update_yaxes(title="share / share of the whole", rangemode="tozero")
    fig.update_layout(barmode="group", title=title, height=420, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
                      legend=dict(orientation="h", y=1.08, x=0), xaxis=dict(type="category"))
    return fig


def worst_deviation(before: pa.Table | None, after: pa.Table) -> go.Figure:
    """Per class, the largest relative deviation of its share in any split from its share of the
    whole (``|share / whole share - 1|``), before and after: lower is better, 0 is perfect.

    Both tables have ``class``, ``split``, ``share`` and ``whole_share``.
    """
    def worst(table: pa.Table) -> dict[str, float]:
        out: dict[str, float] = {}
        for r in table.to_pylist():
            if r["whole_share"] and r["whole_share"] > 0 and r["share"] == r["share"]:
                dev = abs(r["share"] / r["whole_share"] - 1)
                out[r["class"]] = max(out.get(r["class"], 0.0), dev)
        return out

    after_dev = worst(after)
    whole = {r["class"]: r["whole_share"] for r in after.to_pylist()}
    order = sorted(after_dev, key=lambda c: -whole.get(c, 0.0))
    fig = go.Figure()
    if before is not None and before.num_rows:
        before_dev = worst(before)
        fig.add_trace(go.Bar(x=order, y=[before_dev.get(c, np.nan) * 100 for c in order], name="before",
                             marker_color="#bab0ac", hovertemplate="%{x}: %{y:.1f}% off before<extra></extra>"))
    fig.add_trace(go.Bar(x=order, y=[after_dev[c] * 100 for c in order], name="after", marker_color="#4c78a8",
                         hovertemplate="%{x}: %{y:.1f}% off after<extra></extra>"))
    fig.update_layout(barmode="group", height=360, margin=dict(l=10, r=10, t=10, b=10),
                      yaxis=dict(title="worst split's deviation from the whole (%)", ticksuffix="%"),
                      legend=dict(orientation="h", y=1.1, x=0), xaxis=dict(type="category"))
    return fig
