"""Figures of the Label hierarchy page: counts by parent and child, and merges before / after."""
from __future__ import annotations

import plotly.graph_objects as go
import pyarrow as pa

from ..hierarchy import WhatIf

_ROOT = "all classes"


def hierarchy_treemap(rolled: pa.Table, unit_label: str = "instances", height: int = 420) -> go.Figure:
    """A treemap of :func:`imbal_core.hierarchy.roll_up`: parents sized by the sum of their
    children, classes without a parent directly under the root."""
    rows = [r for r in rolled.to_pylist() if r["count"] > 0]
    ids, labels, parents, values = [_ROOT], [_ROOT], [""], [sum(r["count"] for r in rows)]
    totals: dict[str, float] = {}
    for r in rows:
        if r["parent"] is not None:
            totals[r["parent"]] = totals.get(r["parent"], 0.0) + r["count"]
    for parent, total in totals.items():
        ids.append(f"parent:{parent}")
        labels.append(parent)
        parents.append(_ROOT)
        values.append(total)
    for r in rows:
        ids.append(f"class:{r['class']}")
        labels.append(r["class"])
        parents.append(f"parent:{r['parent']}" if r["parent"] is not None else _ROOT)
        values.append(r["count"])
    fig = go.Figure(go.Treemap(
        ids=ids, labels=labels, parents=parents, values=values, branchvalues="total",
        texttemplate="%{label}<br>%{value:,.0f}", hovertemplate=f"%{{label}}: %{{value:,.0f}} {unit_label}"
                                                                "<br>%{percentRoot:.1%} of all<extra></extra>",
        marker={"colorscale": "Blues"}, root_color="#f5f5f5",
    ))
    fig.update_layout(height=height, margin={"t": 10, "b": 10, "l": 10, "r": 10})
    return fig


def before_after_bars(result: WhatIf, log_scale: bool = False, height: int = 360) -> go.Figure:
    """Grouped bars per class: before and after the merges (classes merged away drop to 0,
    new parent classes appear)."""
    rows = sorted(result.changes.to_pylist(), key=lambda r: -max(r["before"], r["after"]))
    names = [r["class"] for r in rows]
    unit = result.before.unit_label
    fig = go.Figure()
    fig.add_trace(go.Bar(x=names, y=[r["before"] for r in rows], name="before", marker_color="#bab0ac",
                         hovertemplate=f"%{{x}}: %{{y:,.0f}} {unit} before<extra></extra>"))
    fig.add_trace(go.Bar(x=names, y=[r["after"] for r in rows], name="after", marker_color="#4c78a8",
                         customdata=[r["merged_into"] or "" for r in rows],
                         hovertemplate=f"%{{x}}: %{{y:,.0f}} {unit} after<br>%{{customdata}}<extra></extra>"))
    fig.update_layout(barmode="group", height=height, margin={"t": 10, "b": 10, "l": 10, "r": 10},
                      yaxis={"title": unit, "type": "log" if log_scale else "linear"},
                      legend={"orientation": "h", "y": 1.08})
    return fig
