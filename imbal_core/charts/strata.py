"""Figures of the Conditions page: the class x condition heatmap (pure, no I/O)."""
from __future__ import annotations

from typing import Literal, Sequence

import numpy as np
import plotly.graph_objects as go

from ..strata import StrataTable

HeatmapMode = Literal["residuals", "counts", "share_of_value", "share_of_class"]
HEATMAP_MODES: tuple[HeatmapMode, ...] = ("residuals", "counts", "share_of_value", "share_of_class")
MODE_LABELS = {
    "residuals": "residuals",
    "counts": "counts",
    "share_of_value": "class mix of each value",
    "share_of_class": "where each class falls",
}
#: Residuals beyond this are drawn at full colour (the scale stays symmetric around 0).
RESIDUAL_CAP = 10.0
HIGHLIGHT_COLOR = "#111111"


def heatmap(table: StrataTable, mode: HeatmapMode = "residuals", *,
            highlight: tuple[str, Sequence[str]] | None = None, height: int | None = None) -> go.Figure:
    """Classes (rows, largest on top) x condition values (columns, largest first).

    ``mode``: ``residuals`` (adjusted standardised residuals on a diverging scale centred on 0:
    red = fewer than independence predicts, blue = more), ``counts``, ``share_of_value`` (each
    column sums to 100%) or ``share_of_class`` (each row sums to 100%). ``highlight`` (class,
    values) outlines one cell, e.g. a finding's.
    """
    if mode not in HEATMAP_MODES:
        raise ValueError(f"`mode` must be one of {list(HEATMAP_MODES)}. Got {mode!r} instead.")
    x = table.labels
    y = list(table.classes)
    counts, expected, residuals = table.counts, table.expected, table.residuals
    if mode == "residuals":
        z = np.clip(residuals, -RESIDUAL_CAP, RESIDUAL_CAP)
        top = float(max(np.abs(z).max(initial=0.0), 2.0))
        colour = dict(colorscale="RdBu", zmid=0.0, zmin=-top, zmax=top, colorbar=dict(title="residual"))
        text = np.vectorize(lambda v: f"{v:+.1f}")(residuals) if residuals.size else residuals
    elif mode == "counts":
        z = counts
        colour = dict(colorscale="Blues", colorbar=dict(title=table.unit))
        text = np.vectorize(lambda v: f"{v:,.0f}")(counts) if counts.size else counts
    else:
        z = (table.column_shares() if mode == "share_of_value" else table.row_shares()) * 100
        colour = dict(colorscale="Blues", zmin=0.0, colorbar=dict(title="%", ticksuffix="%"))
        text = np.vectorize(lambda v: "" if np.isnan(v) else f"{v:.1f}%")(z) if z.size else z
    shares_v, shares_c = table.column_shares() * 100, table.row_shares() * 100
    custom = np.dstack([counts, expected, residuals, shares_v, shares_c]) if counts.size else None
    fig = go.Figure(go.Heatmap(
        z=z, x=x, y=y, text=text, texttemplate="%{text}" if len(x) * len(y) <= 400 else None,
        customdata=custom, xgap=1, ygap=1, **colour,
        hovertemplate=("%{y} at %{x}<br>count %{customdata[0]:,.0f} (expected %{customdata[1]:,.1f})"
                       "<br>residual %{customdata[2]:+.1f}<br>%{customdata[3]:.2f}% of %{x}"
                       "<br>%{customdata[4]:.1f}% of %{y}<extra></extra>"),
    ))
    if highlight is not None:
        cls, values = highlight
        label = " · ".join(values)
        if cls in y and label in x:
            i, j = y.index(cls), x.index(label)
            fig.add_shape(type="rect", x0=j - 0.5, x1=j + 0.5, y0=i - 0.5, y1=i + 0.5, xref="x", yref="y",
                          line=dict(color=HIGHLIGHT_COLOR, width=4), name="highlight")
    where = f" in {table.split}" if table.split else ""
    fig.update_layout(
        title=dict(text=f"{' x '.join(table.conditions)}{where}: {MODE_LABELS[mode]} ({table.unit})", y=0.99,
                   yanchor="top"),
        height=height or max(320, 34 * len(y) + 170), margin=dict(l=10, r=10, t=90, b=10),
        xaxis=dict(type="category", side="top", title=None),
        yaxis=dict(type="category", autorange="reversed", title=None),
    )
    return fig
