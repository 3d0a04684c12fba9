"""Active-learning charts: where the batch sits in the pool's uncertainty, and its mix per condition."""
from __future__ import annotations

import plotly.graph_objects as go
import pyarrow.compute as pc

from ..active import Pool, Selection


def uncertainty_histogram(pool: Pool, selection: Selection, bins: int = 40) -> go.Figure:
    """The pool's uncertainty (all images) with the selected images overlaid; x is 0..1."""
    if bins < 1:
        raise ValueError(f"`bins` must be at least 1. Got {bins} instead.")
    chosen = set(selection.batch.column("image").to_pylist())
    values = pool.table.column("uncertainty").to_pylist()
    picked = [v for v, key in zip(values, pool.table.column("image").to_pylist()) if key in chosen]
    fig = go.Figure()
    spec = dict(start=0.0, end=max(values + [1e-9]) * 1.0001, size=max(values + [1e-9]) / bins)
    fig.add_trace(go.Histogram(x=values, name=f"pool ({len(values):,})", xbins=spec, marker_color="#bdbdbd"))
    fig.add_trace(go.Histogram(x=picked, name=f"selected ({len(picked):,})", xbins=spec, marker_color="#1f77b4"))
    fig.update_layout(barmode="overlay", xaxis_title=f"uncertainty ({pool.rule})", yaxis_title="images", height=320,
                      margin=dict(l=10, r=10, t=30, b=40), legend=dict(orientation="h", y=1.12))
    return fig


def condition_mix(selection: Selection, condition: str) -> go.Figure:
    """Share of the pool and of the batch per value of ``condition`` (a condition or the group column)."""
    table = selection.conditions
    rows = table.filter(pc.equal(table.column("condition"), condition)).to_pylist()
    if not rows:
        known = sorted(set(table.column("condition").to_pylist()))
        raise ValueError(f"`condition` must be one of {known}. Got {condition!r} instead.")
    pool_total = sum(r["pool"] for r in rows) or 1
    batch_total = sum(r["selected"] for r in rows) or 1
    values = [r["value"] if r["value"] is not None else "(none)" for r in rows]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=values, y=[100 * r["pool"] / pool_total for r in rows], name="pool", marker_color="#bdbdbd",
                         text=[f"{r['pool']:,}" for r in rows], hovertemplate="%{x}: %{y:.1f}% (%{text} images)<extra>pool</extra>"))
    fig.add_trace(go.Bar(x=values, y=[100 * r["selected"] / batch_total for r in rows], name="batch",
                         marker_color="#1f77b4", text=[f"{r['selected']:,}" for r in rows],
                         hovertemplate="%{x}: %{y:.1f}% (%{text} images)<extra>batch</extra>"))
    fig.update_layout(barmode="group", yaxis_title="% of images", yaxis_ticksuffix="%", title=condition.replace("_", " "),
                      height=320, margin=dict(l=10, r=10, t=50, b=40), legend=dict(orientation="h", y=1.12))
    return fig
