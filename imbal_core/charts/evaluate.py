"""Figures of the Evaluation page: confusion heatmap, per-class bars, PR curves, metric against
class frequency, and the per-condition heatmap. Pure functions of evaluation results."""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import pyarrow as pa

from ..evaluate._common import BACKGROUND, ConfusionMatrix
from ..evaluate.slices import SliceTable

HIGHLIGHT = "#d62728"
BASE = "#4c78a8"
METRIC_LABELS = {"precision": "Precision", "recall": "Recall", "f1": "F1", "ap": "AP (IoU 0.50:0.95)", "ap50": "AP50",
                 "ap75": "AP75", "ar": "AR", "pr_auc": "PR AUC", "iou": "IoU"}


def _tick(name: str, highlight: set[str]) -> str:
    return f"<b>★ {name}</b>" if name in highlight else name


def confusion_heatmap(confusion: ConfusionMatrix, *, normalized: bool = False, order: Sequence[str] | None = None,
                      highlight: Iterable[str] = ()) -> go.Figure:
    """Rows = ground truth (top to bottom), columns = predicted; ``order`` puts the classes in that
    order (background stays last); highlighted classes get a bold ★ label. Normalised: each row is
    the share of that true class that went to each prediction."""
    cm = confusion.reordered(order) if order is not None else confusion
    z = cm.normalized() if normalized else cm.matrix.astype(np.float64)
    if normalized and cm.has_background:
        z[-1] = np.nan  # false alarms have no true total to divide by
    marks = set(highlight)
    ticks = [_tick(n, marks) for n in cm.labels]
    counts = cm.matrix
    text = [[("" if counts[i, j] == 0 else (f"{z[i, j]:.2f}" if normalized and not np.isnan(z[i, j]) else f"{counts[i, j]:,}"))
             for j in range(len(ticks))] for i in range(len(ticks))]
    fig = go.Figure(go.Heatmap(
        z=z, x=ticks, y=ticks, text=text, texttemplate="%{text}", colorscale="Blues", zmin=0,
        zmax=1 if normalized else None, customdata=counts,
        hovertemplate="true %{y}<br>predicted %{x}<br>count %{customdata:,}" + ("<br>share of true %{z:.3f}" if normalized else "")
        + "<extra></extra>",
        colorbar={"title": "share of row" if normalized else "count"},
    ))
    size = max(360, 34 * len(ticks) + 160)
    fig.update_layout(height=size, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      xaxis={"title": "predicted", "side": "top", "tickangle": -40},
                      yaxis={"title": "ground truth", "autorange": "reversed"})
    return fig


def class_bars(classes: pa.Table, metric: str, *, order: Sequence[str] | None = None,
               highlight: Iterable[str] = ()) -> go.Figure:
    """One horizontal bar per class of ``metric`` (AP, IoU, F1 ...), in ``order`` top to bottom;
    highlighted classes in red. Classes without a value show no bar."""
    rows = {r["class"]: r for r in classes.select(["class", "support", metric]).to_pylist()}
    names = list(order) if order is not None else list(rows)
    marks = set(highlight)
    values = [rows[n][metric] for n in names]
    fig = go.Figure(go.Bar(
        x=[np.nan if v is None else v for v in values], y=[_tick(n, marks) for n in names], orientation="h",
        marker_color=[HIGHLIGHT if n in marks else BASE for n in names],
        text=["n/a" if v is None else f"{v:.2f}" for v in values], textposition="outside",
        customdata=[rows[n]["support"] for n in names],
        hovertemplate="%{y}<br>" + METRIC_LABELS.get(metric, metric) + " %{x:.3f}<br>support %{customdata:,}<extra></extra>",
    ))
    fig.update_layout(height=max(260, 26 * len(names) + 80), margin={"l": 10, "r": 30, "t": 10, "b": 10},
                      xaxis={"title": METRIC_LABELS.get(metric, metric), "range": [0, 1.08]},
                      yaxis={"autorange": "reversed"})
    return fig


def pr_curves(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], *, highlight: Iterable[str] = ()) -> go.Figure:
    """Precision against recall, one line per class (``{name: (recall, precision)}``)."""
    marks = set(highlight)
    fig = go.Figure()
    for name, (recall, precision) in curves.items():
        fig.add_trace(go.Scatter(x=np.asarray(recall), y=np.asarray(precision), mode="lines", name=name,
                                 line={"width": 3 if name in marks else 2, "shape": "hv"}))
    fig.update_layout(height=380, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      xaxis={"title": "recall", "range": [0, 1.02]}, yaxis={"title": "precision", "range": [0, 1.02]})
    return fig


def metric_vs_support(classes: pa.Table, metric: str, *, highlight: Iterable[str] = ()) -> go.Figure:
    """Each class's ``metric`` against its support (log scale): does performance follow the long tail?"""
    rows = [r for r in classes.select(["class", "support", metric]).to_pylist() if r[metric] is not None and r["support"]]
    marks = set(highlight)
    fig = go.Figure(go.Scatter(
        x=[r["support"] for r in rows], y=[r[metric] for r in rows], mode="markers+text",
        text=[r["class"] for r in rows], textposition="top center",
        marker={"size": 11, "color": [HIGHLIGHT if r["class"] in marks else BASE for r in rows]},
        hovertemplate="%{text}<br>support %{x:,}<br>" + METRIC_LABELS.get(metric, metric) + " %{y:.3f}<extra></extra>",
    ))
    fig.update_layout(height=380, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      xaxis={"title": "support (ground truth, log scale)", "type": "log"},
                      yaxis={"title": METRIC_LABELS.get(metric, metric), "range": [0, 1.05]})
    return fig


def condition_heatmap(slices: SliceTable, metric: str = "recall", *, order: Sequence[str] | None = None,
                      highlight: Iterable[str] = ()) -> go.Figure:
    """Class x condition value of ``metric``, each cell with its support; cells with fewer than
    ``min_support`` ground-truth items carry a * (kept, not hidden)."""
    values = slices.pivot(metric)
    support = slices.support_pivot()
    names = [n for n in (order or list(values.index)) if n in values.index and n != BACKGROUND]
    values, support = values.reindex(names), support.reindex(names)
    marks = set(highlight)
    z = values.to_numpy(dtype=np.float64)
    n = support.to_numpy(dtype=np.float64)
    text = [[("n/a" if np.isnan(z[i, j]) else f"{z[i, j]:.2f}") + f"<br>n={int(n[i, j]):,}" + ("*" if n[i, j] < slices.min_support else "")
             for j in range(z.shape[1])] for i in range(z.shape[0])]
    fig = go.Figure(go.Heatmap(
        z=z, x=list(slices.values), y=[_tick(c, marks) for c in names], text=text, texttemplate="%{text}",
        colorscale="RdYlGn", zmin=0, zmax=1, colorbar={"title": METRIC_LABELS.get(metric, metric)},
        hovertemplate="%{y}<br>" + slices.by + " = %{x}<br>%{text}<extra></extra>",
    ))
    fig.update_layout(height=max(300, 40 * len(names) + 100), margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      xaxis={"title": slices.by, "side": "top"}, yaxis={"autorange": "reversed"})
    return fig
