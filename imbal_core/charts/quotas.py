"""Quota charts: per-class progress bars coloured by status, burn-up / burn-down with target and projection."""
from __future__ import annotations

from typing import Literal

import plotly.graph_objects as go
import pyarrow as pa
import pyarrow.compute as pc

from ..quotas.progress import QuotaProgress
from ..types import QuotaStatus

LINE_STYLES = {"actual": dict(dash="solid", width=3), "projected": dict(dash="dash", width=2),
               "needed": dict(dash="dot", width=2)}
LINE_NAMES = {"actual": "actual", "projected": "projected at the current pace", "needed": "pace needed"}


def progress_bars(result: QuotaProgress) -> go.Figure:
    """One horizontal bar per quota class: percent of target, coloured by status (worst first, top down);
    one legend entry per status (:attr:`QuotaStatus.legend`, :attr:`QuotaStatus.colour`).

    Bars stop at 100%; the text gives the real figures (``252 / 600 instances (42%)``).
    """
    classes = list(reversed(result.classes))  # plotly draws the first bar at the bottom
    fig = go.Figure()
    for status in QuotaStatus:
        chosen = [c for c in classes if c.status == status]
        if not chosen:
            continue
        fig.add_trace(go.Bar(
            x=[min(c.percent, 100.0) for c in chosen], y=[c.category for c in chosen], orientation="h",
            name=status.legend, marker_color=status.colour,
            text=[f"{c.current:,.0f} / {c.target:,} {c.unit} ({c.percent:.0f}%)" for c in chosen],
            textposition="auto", hovertemplate="%{y}: %{text}<extra>" + status.legend + "</extra>",
        ))
    fig.update_layout(
        barmode="overlay", xaxis=dict(range=[0, 100], title="% of target", ticksuffix="%"),
        yaxis=dict(categoryorder="array", categoryarray=[c.category for c in classes]),
        height=140 + 40 * len(classes), margin=dict(l=10, r=10, t=50, b=40),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
    )
    return fig


def burn_chart(series: pa.Table, category: str, mode: Literal["up", "down"] = "up") -> go.Figure:
    """Burn-up (count rising to the target line) or burn-down (remaining falling to zero) of one class.

    ``series`` is :func:`imbal_core.quotas.burn.burn_series`; ``category`` a class in it (or
    the all-classes line). Traces: actual, projected, needed (those present), the target line
    (burn-up only), the deadline.
    """
    if mode not in ("up", "down"):
        raise ValueError(f"`mode` must be 'up' or 'down'. Got {mode!r} instead.")
    rows = series.filter(pc.equal(series.column("class"), category)).to_pylist()
    if not rows:
        known = sorted(set(series.column("class").to_pylist()))
        raise ValueError(f"`category` {category!r} has no burn series. Known: {known}.")
    value = "count" if mode == "up" else "remaining"
    fig = go.Figure()
    for name in ("actual", "projected", "needed"):
        points = sorted((r["day"], r[value]) for r in rows if r["series"] == name)
        if not points:
            continue
        fig.add_trace(go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points], mode="lines+markers" if name == "actual" else "lines",
                                 name=LINE_NAMES[name], line=LINE_STYLES[name]))
    target, deadline = rows[0]["target"], rows[0]["deadline"]
    days = sorted({r["day"] for r in rows} | {deadline})
    if mode == "up":
        fig.add_trace(go.Scatter(x=[days[0], days[-1]], y=[target, target], mode="lines", name=f"target {target:,.0f}",
                                 line=dict(color="#444", dash="longdash", width=1)))
    top = max([target] + [r[value] for r in rows])
    fig.add_trace(go.Scatter(x=[deadline, deadline], y=[0, top], mode="lines", name=f"deadline {deadline.isoformat()}",
                             line=dict(color="#d73027", dash="dot", width=1)))
    fig.update_layout(
        title=f"{category}: {'burn-up' if mode == 'up' else 'burn-down'}",
        yaxis_title="count" if mode == "up" else "remaining", xaxis_title=None, height=380,
        margin=dict(l=10, r=10, t=50, b=30), legend=dict(orientation="h", y=-0.15), hovermode="x unified",
    )
    return fig
