# imbal-page: section=Evaluation; title=Evaluation; icon=:material/fact_check:; order=10
"""Evaluation: a model's predictions against the loaded export, per class and per condition."""
from pathlib import Path

import numpy as np
import streamlit as st

from imbal_app import loader, state
from imbal_app.gallery import gallery
from imbal_core.charts import evaluate as charts
from imbal_core.dataset import Dataset
from imbal_core.evaluate import by_condition, coco_ap_for, evaluate, evaluation_kind, hard_negatives, slice_columns
from imbal_core.evaluate.document import headline
from imbal_core.evaluate.slices import gaps
from imbal_core.evaluate.table import frequency_order, per_class_frame, rare_classes
from imbal_core.downloads import csv_bytes
from imbal_core.fingerprint import dataset_key
from imbal_core.gallery import select_images
from imbal_core.io.predictions import read_predictions
from imbal_core.report import LoadError

# Each step is cached on its inputs: the dataset (by its content key), the predictions file (path, and its
# modification time and size as ``stamp``) and the settings; a later step calls the earlier ones, which hit.
HASH = {Dataset: dataset_key}


@st.cache_resource(max_entries=8, show_spinner="Reading the predictions…", hash_funcs=HASH)
def _predictions(dataset: Dataset, path: str, stamp: tuple):
    return read_predictions(path, dataset)


@st.cache_resource(max_entries=8, show_spinner="Running COCO evaluation (AP per class)…", hash_funcs=HASH)
def _coco(dataset: Dataset, path: str, stamp: tuple, split: str | None):
    return coco_ap_for(dataset, _predictions(dataset, path, stamp), split=split)


@st.cache_resource(max_entries=16, show_spinner="Evaluating…", hash_funcs=HASH)
def _evaluation(dataset: Dataset, path: str, stamp: tuple, split: str | None, iou: float, threshold: float):
    return evaluate(dataset, _predictions(dataset, path, stamp), iou=iou, score_threshold=threshold, split=split,
                    coco_result=_coco(dataset, path, stamp, split))


@st.cache_resource(max_entries=16, show_spinner="Slicing by condition…", hash_funcs=HASH)
def _slices(dataset: Dataset, path: str, stamp: tuple, split: str | None, iou: float, threshold: float, by: str):
    return by_condition(_evaluation(dataset, path, stamp, split, iou, threshold), dataset, by)


dataset = state.require_dataset()
if state.unavailable_on_lake(dataset, "Evaluation", "evaluation on lakes is out of scope: it matches each prediction "
                             "to the annotations' boxes, which a lake does not keep"):
    st.stop()

st.title("Evaluation")
st.caption(f"{state.label()} — per-class metrics of a model's predictions; rows = ground truth, columns = predicted.")

with st.expander("Use other predictions", expanded=state.predictions() is None):
    upload = st.file_uploader("COCO results JSON, classification CSV / Parquet, or a zip of YOLO txt files",
                              type=["json", "csv", "tsv", "parquet", "zip", "txt"], key="eval_upload")
    st.caption("Without an upload, the page reads the predictions chosen with the dataset in the sidebar.")
try:
    path = loader.save_upload(upload.name, upload.getvalue()) if upload else state.predictions()
except LoadError as exc:
    st.error(str(exc))
    st.stop()
if path is None:
    st.info("No predictions for this dataset yet: upload a predictions file above (or with the dataset in the sidebar).")
    st.stop()
path = Path(path)
stamp = (path.stat().st_mtime_ns, path.stat().st_size) if path.exists() else (0, 0)
try:
    predictions = _predictions(dataset, str(path), stamp)
except (LoadError, ValueError) as exc:
    st.error(str(exc))
    st.stop()
st.caption(predictions.summary_line())
if predictions.unusable():
    st.error(predictions.unusable())
    st.stop()
if predictions.report:
    with st.expander(f"Predictions report — {len(predictions.report):,} rows (mismatches are listed, not dropped silently)"):
        st.dataframe(predictions.report.summary().to_pandas(), hide_index=True, width="stretch")
        st.download_button("Download the predictions report (CSV)", csv_bytes(predictions.report.to_arrow()),
                           file_name="imbal_predictions_report.csv", mime="text/csv", key="eval_report_download")

kind = evaluation_kind(dataset, predictions)
cols = st.columns([2, 3, 3])
split_choice = cols[0].selectbox("Images", ["all", *dataset.splits], key="eval_split",
                                 format_func=lambda s: "all splits" if s == "all" else f"{s} split")
split = None if split_choice == "all" else split_choice
threshold, iou = 0.5, 0.5
if kind != "classification":
    threshold = cols[1].slider("Score threshold", 0.05, 0.95, 0.5, 0.05, key="eval_threshold",
                               help="Predictions scoring at least this count (confusion matrix, precision, recall, F1).")
    iou = cols[2].slider("IoU of a match", 0.1, 0.95, 0.5, 0.05, key="eval_iou",
                         help="How much a prediction must overlap an object to be matched to it. AP uses COCO's 0.50:0.95.")
try:
    ev = _evaluation(dataset, str(path), stamp, split, iou, threshold)
except (ValueError, LoadError) as exc:
    st.error(str(exc))
    st.stop()

figures = headline(ev)
for col, (label, value, help_text) in zip(st.columns(len(figures)), figures):
    col.metric(label, "n/a" if value != value else f"{value:.3f}", help=help_text)
excluded = {k: v for k, v in ev.excluded.items() if v}
st.caption(f"{ev.images:,} images evaluated" + (" · " + ", ".join(f"{k.replace('_', ' ')}: {v:,}" for k, v in excluded.items())
                                              if excluded else ""))

order = frequency_order(ev.classes)
marked = sorted(set(state.critical_classes()) | set(rare_classes(ev.classes)))
st.caption("Classes run from most to least frequent; ★ marks rare classes (20 times rarer than the most frequent or more) and those "
           "flagged critical on the Long tail page." if marked else "Classes run from most to least frequent.")
main_metric = {"classification": "f1", "detection": "ap", "segmentation": "iou"}[ev.task]
unit = {"classification": "images", "detection": "objects", "segmentation": "pixels"}[ev.task]

tab_class, tab_confusion, tab_condition, tab_curves, tab_negatives = st.tabs(
    ["Per class", "Confusion matrix", "By condition", "Curves and frequency", "Hard negatives"])

with tab_class:
    frame = per_class_frame(ev, order)
    frame["class"] = [f"★ {n}" if n in marked else n for n in frame["class"]]
    st.dataframe(frame.drop(columns=["critical"]), hide_index=True, width="stretch", height=35 * len(frame) + 40,
                 column_config={
                     "class": st.column_config.TextColumn("class", pinned=True),
                     **{c: st.column_config.NumberColumn(c, format="%.3f") for c in frame.columns if frame[c].dtype.kind == "f"},
                     **{c: st.column_config.NumberColumn(c, format="localized") for c in ("support", "predicted", "tp", "fp", "fn")},
                 })
    st.caption(f"support = ground-truth {unit}; tp / fp / fn at the operating point. Undefined values (a class never "
               f"predicted has no precision) are empty and left out of the averages.")
    bar_metric = main_metric if ev.classes.column(main_metric).null_count < ev.classes.num_rows else "f1"
    st.plotly_chart(charts.class_bars(ev.classes, bar_metric, order=order, highlight=marked), width="stretch",
                    key="eval_bars")

with tab_confusion:
    normalized = st.toggle("Normalise each row (share of the true class)", value=True, key="eval_normalized")
    st.plotly_chart(charts.confusion_heatmap(ev.confusion, normalized=normalized, order=order, highlight=marked),
                    width="stretch", key="eval_confusion")
    if ev.confusion.has_background:
        st.caption("Last column: objects missed (nothing predicted on them); last row: false alarms and duplicates.")
    st.markdown("**Images of a cell** — ground truth solid, predictions dashed with their score")
    if ev.task == "segmentation":
        st.caption("A pixel confusion matrix has no per-image cells: the images of the worst predictions are under "
                   "*Hard negatives*.")
    else:
        cell_labels = list(ev.confusion.labels)
        state.keep_valid("eval_cell_truth", cell_labels)
        state.keep_valid("eval_cell_predicted", cell_labels)
        if "eval_cell_truth" not in st.session_state:  # start on the largest confusion (off the diagonal)
            off = ev.confusion.matrix.astype(float)
            off[np.diag_indices_from(off)] = -1
            worst = np.unravel_index(np.argmax(off), off.shape)
            st.session_state["eval_cell_truth"], st.session_state["eval_cell_predicted"] = (
                cell_labels[worst[0]], cell_labels[worst[1]])
        c = st.columns([2, 2, 3])
        cell_truth = c[0].selectbox("Ground truth (row)", cell_labels, key="eval_cell_truth")
        cell_predicted = c[1].selectbox("Predicted (column)", cell_labels, key="eval_cell_predicted")
        c[2].caption(f"At this page's operating point (score ≥ {threshold:g}, IoU ≥ {iou:g}); each image counted by "
                     "how many of the cell's objects it holds." if ev.task != "classification" else
                     "Each image whose label is the row and whose prediction is the column.")
        try:
            cell = select_images(dataset, predictions=ev, confusion=(cell_truth, cell_predicted))
        except ValueError as exc:
            st.info(str(exc))
        else:
            gallery(dataset, cell, key="eval_cell", predictions=predictions, score_threshold=threshold,
                    file_name="imbal_confusion_cell_images.csv")

with tab_condition:
    options = slice_columns(dataset)
    default = next((c for c in ("time_of_day", *dataset.conditions) if c in options), "split")
    by = st.selectbox("Slice by", options, index=options.index(default), key="eval_by")
    metrics = ["iou", "recall", "precision", "f1"] if ev.task == "segmentation" else ["recall", "precision", "f1"]
    metric = st.segmented_control("Metric", metrics, default=metrics[0], key="eval_slice_metric") or metrics[0]
    slices = _slices(dataset, str(path), stamp, split, iou, threshold, by)
    widest = gaps(slices, metric)
    if widest:
        st.markdown("**Widest gaps** — " + "; ".join(g.text() for g in widest))
    st.plotly_chart(charts.condition_heatmap(slices, metric, order=order, highlight=marked), width="stretch",
                    key="eval_condition")
    st.caption(f"Each cell: {metric} and its support n; * marks cells with fewer than {slices.min_support} ground-truth "
               f"{unit} — shown, but too few to trust.")
    cells = slices.to_pandas().drop(columns=["category_id"]).dropna(axis=1, how="all")
    st.dataframe(cells, hide_index=True, width="stretch", key="eval_slice_table", column_config={
        "value": st.column_config.TextColumn(by, pinned=True), "class": st.column_config.TextColumn("class", pinned=True),
        **{c: st.column_config.NumberColumn(c, format="%.3f") for c in cells.columns if cells[c].dtype.kind == "f"},
        "small_support": st.column_config.CheckboxColumn(f"n < {slices.min_support}")})

with tab_curves:
    if ev.task == "classification" and ev.scores is None:
        st.info("PR curves need per-class scores (`score_<class>` columns); this predictions file has none.")
    elif ev.coco is None and ev.task != "classification":
        st.info("PR curves come from the COCO evaluation, which needs masks or boxes on every prediction.")
    else:
        chosen = st.multiselect("Classes", order, default=(marked or order)[:4], key="eval_pr_classes")
        st.plotly_chart(charts.pr_curves({n: ev.pr_curve(n) for n in chosen}, highlight=marked), width="stretch",
                        key="eval_pr")
        st.caption("Precision against recall as the score threshold falls" +
                   (" (detection: at IoU 0.5, COCO's 101 recall points)." if ev.task != "classification" else "."))
    st.plotly_chart(charts.metric_vs_support(ev.classes, main_metric if main_metric != "ap" or ev.coco else "f1",
                                             highlight=marked), width="stretch", key="eval_vs_support")
    st.caption("Each class's metric against its support: a rising cloud means performance follows the long tail.")

with tab_negatives:
    negatives = hard_negatives(ev, dataset)
    what = "wrong predictions" if ev.task == "classification" else "predictions matching no object of their class"
    st.write(f"**{len(negatives):,} hard negatives**: {what} scoring at least {negatives.min_score:g}, ranked per class.")
    if len(negatives):
        per = negatives.per_class()
        pick = st.selectbox("Predicted class", ["all", *per], key="eval_negative_class",
                            format_func=lambda c: "all classes" if c == "all" else f"{c} ({per[c]})")
        table = negatives.to_pandas().drop(columns=["image_id"])
        shown = table if pick == "all" else table[table["predicted"] == pick]
        st.dataframe(shown.head(1000), hide_index=True, width="stretch", key="eval_negatives")
        st.download_button("Download the hard negatives (CSV)", csv_bytes(table), file_name="hard_negatives.csv",
                           mime="text/csv", key="eval_negatives_download")
        st.caption("confused_with: the other class the prediction overlapped most (background when none) — what to "
                   "collect or re-annotate next.")
        ranked = negatives.to_pandas()
        ranked = ranked if pick == "all" else ranked[ranked["predicted"] == pick]
        gallery(dataset, select_images(dataset, ids=ranked["image_id"].tolist()), key="eval_negatives_gallery",
                predictions=predictions, score_threshold=negatives.min_score, file_name="imbal_hard_negative_images.csv",
                describe=f"holding the {len(ranked):,} hard negatives above, in rank order; ground truth solid, "
                         "predictions dashed with their score")
