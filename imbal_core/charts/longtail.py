"""Figures of the Long tail page: per-class bars and the Lorenz curve (pure, no I/O)."""
from __future__ import annotations

from typing import Literal

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..longtail import GROUPS, LongTail, lorenz_curve

#: LVIS frequency groups: rare stands out, frequent recedes.
GROUP_COLORS = {"rare": "#d62728", "common": "#ff9f1c", "frequent": "#4c78a8", "unseen": "#9e9e9e"}
SPLIT_COLORS = {"train": "#4c78a8", "val": "#f58518", "test": "#54a24b", "unassigned": "#9e9e9e"}
_OTHER_SPLIT_COLORS = ("#b279a2", "#e45756", "#72b7b2", "#eeca3b")
Colour = Literal["group", "split"]


def _split_color(split: str, i: int) -> str:
    return SPLIT_COLORS.get(split, _OTHER_SPLIT_COLORS[i % len(_OTHER_SPLIT_COLORS)])


def class_bars(lt: LongTail, *, log_scale: bool = False, colour: Colour = "group", facet_split: bool = False,
               minimum: float | None = None, height: int | None = None) -> go.Figure:
    """Bars per class, largest first, in ``lt``'s unit.

    ``colour`` "group" colours each bar by its LVIS group (one trace per group), "split" stacks one
    trace per split; ``facet_split`` draws one panel per split instead (coloured by group). The tail
    (classes after the head cut) is shaded; ``minimum`` draws a dashed line (only meaningful when
    the unit is instances). Zero counts vanish on a log axis.
    """
    if colour not in ("group", "split"):
        raise ValueError(f"`colour` must be 'group' or 'split'. Got {colour!r} instead.")
    rows = lt.classes.to_pylist()
    order = [r["class"] for r in rows]
    splits = list(lt.splits) if lt.split is None else [lt.split]
    panels = splits if facet_split else [None]
    fig = make_subplots(rows=len(panels), cols=1, shared_xaxes=True, vertical_spacing=0.04,
                        subplot_titles=[p for p in panels] if facet_split else None)
    shown: set[str] = set()
    for row, panel in enumerate(panels, start=1):
        if colour == "split" and not facet_split:
            for i, split in enumerate(splits):
                fig.add_trace(go.Bar(
                    x=order, y=[r[f"count_{split}"] for r in rows], name=split, marker_color=_split_color(split, i),
                    customdata=[[r["group"], r["training_images"]] for r in rows],
                    hovertemplate=f"%{{x}}<br>{split}: %{{y:,.0f}}<br>LVIS %{{customdata[0]}} "
                                  "(%{customdata[1]:,} training images)<extra></extra>",
                ), row=row, col=1)
            continue
        for group in GROUPS:
            members = [r for r in rows if r["group"] == group]
            if not members:
                continue
            values = [r["count"] if panel is None else r[f"count_{panel}"] for r in members]
            fig.add_trace(go.Bar(
                x=[r["class"] for r in members], y=values, name=group, legendgroup=group,
                showlegend=group not in shown, marker_color=GROUP_COLORS[group],
                # critical classes (flagged by the user) get a dark outline
                marker_line_color="#222", marker_line_width=[2.5 if r["critical"] else 0 for r in members],
                customdata=[[r["share"], r["training_images"], r["part"]] for r in members],
                hovertemplate="%{x}<br>%{y:,.0f} (%{customdata[0]:.2%} of all)<br>"
                              f"LVIS {group}: %{{customdata[1]:,}} training images<br>%{{customdata[2]}}<extra></extra>",
            ), row=row, col=1)
            shown.add(group)
    n_head = len(lt.metrics.head)
    n_data = n_head + len(lt.metrics.tail)
    if lt.metrics.tail:
        fig.add_vrect(x0=n_head - 0.5, x1=n_data - 0.5, fillcolor="#9e9e9e", opacity=0.12, line_width=0,
                      row="all", col=1)
        fig.add_annotation(x=(n_head + n_data) / 2 - 0.5, y=1.0, yref="paper", showarrow=False,
                           text=f"tail: {len(lt.metrics.tail)} classes, {1 - _head_total(lt):.0%} of {lt.unit_label}",
                           font={"size": 12, "color": "#555"}, yanchor="bottom")
    if minimum is not None:
        fig.add_hline(y=minimum, line_dash="dash", line_color="#d62728", row="all", col=1,
                      annotation_text=f"minimum {minimum:,.0f}", annotation_position="top right")
    fig.update_xaxes(categoryorder="array", categoryarray=order)
    fig.update_yaxes(type="log" if log_scale else "linear", title_text=lt.unit_label if not facet_split else None)
    fig.update_layout(barmode="stack" if colour == "split" and not facet_split else "relative",
                      height=height or (380 if not facet_split else 200 + 170 * len(panels)),
                      margin={"t": 40, "b": 10, "l": 10, "r": 10}, legend_title_text="split" if colour == "split" and not facet_split else "LVIS group",
                      bargap=0.15)
    return fig


def _head_total(lt: LongTail) -> float:
    rows = lt.classes.to_pylist()
    total = sum(r["count"] for r in rows)
    head = set(lt.metrics.head)
    return sum(r["count"] for r in rows if r["class"] in head) / total if total else 0.0


def lorenz_figure(lt: LongTail, height: int = 330) -> go.Figure:
    """The Lorenz curve of the class counts (smallest first) against the line of equality,
    with the Gini coefficient in the title."""
    rows = sorted((r for r in lt.classes.to_pylist() if r["count"] > 0), key=lambda r: r["count"])
    x, y = lorenz_curve([r["count"] for r in rows])
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="equal classes",
                             line={"dash": "dot", "color": "#9e9e9e"}, hoverinfo="skip"))
    fig.add_trace(go.Scatter(
        x=list(x), y=list(y), mode="lines+markers", name="classes", fill="tonexty", fillcolor="rgba(76,120,168,0.15)",
        line={"color": "#4c78a8"}, text=[""] + [r["class"] for r in rows],
        hovertemplate="smallest %{x:.0%} of classes (up to %{text}) hold %{y:.1%}<extra></extra>",
    ))
    gini = lt.metrics.gini
    title = f"Lorenz curve — Gini {gini:.2f}" if gini == gini else "Lorenz curve — no data"
    fig.update_layout(title=title, height=height, margin={"t": 40, "b": 10, "l": 10, "r": 10}, showlegend=False,
                      xaxis={"title": "share of classes (smallest first)", "tickformat": ".0%", "range": [0, 1]},
                      yaxis={"title": f"share of {lt.unit_label}", "tickformat": ".0%", "range": [0, 1]})
    return fig
