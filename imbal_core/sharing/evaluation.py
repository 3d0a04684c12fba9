"""The report's evaluation section: headline figures, the per-class table, the confusion matrix
and the condition slices with their widest gaps (the Evaluation page's, with its defaults:
IoU 0.5, score threshold 0.5, every split, rows normalised)."""
from __future__ import annotations

from .html import Figures, esc, number, pair, table
from .page import Section, anchor
from .sections import ReportData

#: The most classes a confusion matrix is drawn for (a 1,000-class matrix helps no one in a report).
MAX_CONFUSION_LABELS = 60
MAIN_METRIC = {"classification": "f1", "detection": "ap", "segmentation": "iou"}
UNIT = {"classification": "images", "detection": "objects", "segmentation": "pixels"}
COUNTS = ("support", "predicted", "tp", "fp", "fn")


def evaluation(data: ReportData, figures: Figures) -> Section:
    from ..charts import evaluate as charts
    from ..evaluate.document import headline
    from ..evaluate.slices import gaps
    from ..evaluate.table import frequency_order, per_class_frame, rare_classes

    ev = data.evaluated.evaluation
    preds = data.evaluated.predictions
    order = frequency_order(ev.classes)
    marked = sorted(set(data.critical) | set(rare_classes(ev.classes)))
    unit = UNIT[ev.task]
    parts = ['<h2 id="evaluation">Evaluation</h2>',
             f"<p>{esc(ev.task)} evaluation of {esc(preds.summary_line())} — {ev.images:,} images, every split"
             + (", score ≥ 0.5, IoU ≥ 0.5" if ev.task != "classification" else "") + ". ★ marks rare classes (20 times "
             "rarer than the most frequent or more) and critical ones. The same in a pipeline: "
             "<code>imbal eval PATH --pred FILE --json</code>.</p>"]
    figures_rows = [(label, number(value, 3, whole=False), help_text) for label, value, help_text in headline(ev)]
    parts.append(table(["figure", "value", "what it is"], figures_rows, name="evaluation-headline",
                       numeric=[False, True, False], scroll=False))

    parts.append('<h3 id="evaluation-classes">Per class</h3>')
    frame = per_class_frame(ev, order)
    columns = [c for c in frame.columns if c != "critical"]
    metrics = {c for c in columns if frame[c].dtype.kind == "f" and c not in COUNTS}
    rows = []
    for record in frame[columns].to_dict("records"):
        name = record["class"]
        record["class"] = f"★ {name}" if name in marked else name
        rows.append([number(record[c], 3, whole=False) if c in metrics else record[c] for c in columns])
    metric = MAIN_METRIC[ev.task]
    if ev.classes.column(metric).null_count == ev.classes.num_rows:
        metric = "f1"
    chart = figures.chart(charts.class_bars(ev.classes, metric, order=order, highlight=marked),
                          f"{metric} per class, most frequent first")
    headers = columns
    parts.append(pair(chart, table(headers, rows, name="evaluation-classes", numeric=[False] + [True] * (len(columns) - 1),
                                   caption=f"Per class (support = ground-truth {unit}; tp / fp / fn at the operating point)")))

    parts.append('<h3 id="evaluation-confusion">Confusion matrix</h3>')
    confusion = ev.confusion
    if len(confusion.labels) > MAX_CONFUSION_LABELS:
        parts.append(f'<p class="note">{len(confusion.labels):,} labels: too many to draw; '
                     "<code>imbal eval --json</code> holds the matrix.</p>")
    else:
        cm = confusion.reordered([n for n in order if n in confusion.labels])
        chart = figures.chart(charts.confusion_heatmap(confusion, normalized=True, order=[n for n in order if n in confusion.labels],
                                                       highlight=marked), "Confusion matrix, rows normalised")
        rows = [[label, *map(int, row)] for label, row in zip(cm.labels, cm.matrix)]
        parts.append(pair(chart, table(["true \\ predicted", *cm.labels], rows, name="confusion",
                                       numeric=[False] + [True] * len(cm.labels),
                                       caption=f"Counts ({unit}): rows = ground truth, columns = predicted"),
                          wide=len(cm.labels) > 12))
        if confusion.has_background:
            parts.append('<p class="note">Last column: objects missed; last row: false alarms and duplicates.</p>')

    metric = "iou" if ev.task == "segmentation" else "recall"
    for slices in data.evaluated.slices:
        parts.append(f'<h3 id="{esc(anchor("evaluation", slices.by))}">{esc(metric)} by {esc(slices.by)}</h3>')
        widest = gaps(slices, metric)
        if widest:
            items = "".join(f"<li>{esc(g.text())}</li>" for g in widest)
            parts.append(f'<p>Widest gaps:</p><ul class="findings">{items}</ul>')
        values, support = slices.pivot(metric), slices.support_pivot()
        names = [n for n in values.index]
        rows = [[n, *[f"{number(values.loc[n, v], 3, whole=False)} (n={number(support.loc[n, v])}"
                      + ("*" if support.loc[n, v] < slices.min_support else "") + ")" for v in slices.values]]
                for n in names]
        chart = figures.chart(charts.condition_heatmap(slices, metric, order=order, highlight=marked),
                              f"{metric} per class and {slices.by}")
        parts.append(pair(chart, table(["class", *slices.values], rows, name=f"slices-{slices.by}",
                                       numeric=[False] + [True] * len(slices.values),
                                       caption=f"{metric} (support; * fewer than {slices.min_support})")))
    return Section("evaluation", "Evaluation", "".join(parts))
