"""Figures of the Rebalancing plan page (pure: plan and weights in, plotly figures out)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..plan.solver import ClassPlan
from ..plan.weights import ImageWeights

BEFORE, AFTER, CAP, FLOOR = "#9ecae9", "#4c78a8", "#d62728", "#ff9f1c"
FITTED, LVIS, TARGET = "#4c78a8", "#f58518", "#222222"


def _order(counts: np.ndarray) -> np.ndarray:
    """Largest class first; the order is stable for ties."""
    return np.argsort(-counts, kind="stable")


def _tick(colour: str) -> dict:
    return {"symbol": "line-ew-open", "size": 28, "color": colour, "line": {"width": 3, "color": colour}}


def plan_chart(plan: ClassPlan, *, log_scale: bool = False) -> go.Figure:
    """Current vs planned samples per class, largest class first, with each class's cap drawn as a
    red tick (and its floor as an orange one when a floor is set). The y axis stops a little above
    the tallest bar: caps far above it (the frequent classes') are left off, they bind nothing."""
    order = _order(plan.counts)
    names = [plan.classes[i] for i in order]
    counts, effective = plan.counts[order], plan.effective[order]
    multipliers = plan.multipliers[order]
    spec = plan.spec
    fig = go.Figure()
    fig.add_bar(x=names, y=counts, name="current", marker_color=BEFORE,
                hovertemplate="%{x}<br>current: %{y:,}<extra></extra>")
    fig.add_bar(x=names, y=effective, name="planned", marker_color=AFTER,
                customdata=np.c_[multipliers, plan.targets[order]],
                hovertemplate="%{x}<br>planned: %{y:,} (%{customdata[0]:.2f}x)<br>strategy target: "
                              "%{customdata[1]:,}<extra></extra>")
    top = 1.15 * max(float(counts.max(initial=0)), float(effective.max(initial=0)), 1.0)
    caps = np.floor(np.round(spec.cap * counts, 6))
    shown = caps <= top
    fig.add_scatter(x=[n for n, s in zip(names, shown) if s], y=caps[shown], name=f"cap ({spec.cap:g}x)", mode="markers",
                    marker=_tick(CAP), hovertemplate="%{x}<br>cap: %{y:,}<extra></extra>")
    if spec.floor > 0:
        fig.add_scatter(x=names, y=np.ceil(np.round(spec.floor * counts, 6)), name=f"floor ({spec.floor:g})",
                        mode="markers", marker=_tick(FLOOR), hovertemplate="%{x}<br>floor: %{y:,}<extra></extra>")
    fig.update_layout(barmode="group", bargap=0.25, legend={"orientation": "h", "y": 1.08, "x": 0},
                      margin={"l": 10, "r": 10, "t": 40, "b": 10}, height=380,
                      yaxis_title=f"{spec.unit} per epoch", yaxis_type="log" if log_scale else "linear")
    if not log_scale:
        fig.update_yaxes(range=[0, top])
    return fig


def achieved_chart(fitted: ImageWeights, alternative: ImageWeights | None = None) -> go.Figure:
    """Per class: the plan's count (black tick) and what each set of per-image weights achieves."""
    order = _order(fitted.counts)
    names = [fitted.classes[i] for i in order]
    fig = go.Figure()
    for label, weights, colour in (("fitted weights", fitted, FITTED), ("LVIS repeat factors", alternative, LVIS)):
        if weights is None:
            continue
        errors = weights.relative_error[order]
        fig.add_bar(x=names, y=weights.achieved[order], name=label, marker_color=colour,
                    customdata=np.nan_to_num(errors * 100, nan=0.0),
                    hovertemplate=f"%{{x}}<br>{label}: %{{y:,.0f}} (%{{customdata:+.1f}}% off the plan)<extra></extra>")
    fig.add_scatter(x=names, y=fitted.targets[order], name="planned", mode="markers",
                    marker=_tick(TARGET), hovertemplate="%{x}<br>planned: %{y:,}<extra></extra>")
    fig.update_layout(barmode="group", bargap=0.25, legend={"orientation": "h", "y": 1.08, "x": 0},
                      margin={"l": 10, "r": 10, "t": 40, "b": 10}, height=340,
                      yaxis_title=f"expected {fitted.unit} per epoch")
    return fig
