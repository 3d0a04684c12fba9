# imbal-page: section=Dataset; title=Overview; icon=:material/dashboard:; order=10
"""Overview: what the loaded export holds — the dataset card, per-class counts by split, the load report."""
import streamlit as st

from imbal_app import sharing, state, widgets
from imbal_app.gallery import gallery
from imbal_core.gallery import report_images, select_images
from imbal_core.summary import summarize

dataset = state.require_dataset()
summary = summarize(dataset)

st.title("Overview")
st.caption(f"{state.label()} — {dataset.summary_line()}")

cols = st.columns(6)
cols[0].metric("Task", summary.task)
cols[1].metric("Images", f"{summary.images:,}")
cols[2].metric("Annotations", f"{summary.annotations:,}")
cols[3].metric("Classes", f"{summary.classes_used:,} of {summary.classes_declared:,}", help="used of declared")
cols[4].metric("Splits", len(summary.splits), help=", ".join(summary.splits))
cols[5].metric("Conditions", len(summary.conditions), help=", ".join(summary.conditions) or "none")
st.caption(
    f"Format **{summary.format}** · splits: {', '.join(summary.splits)} · conditions: "
    f"{', '.join(summary.conditions) or 'none'} · from {', '.join(s.rsplit('/', 1)[-1] for s in summary.sources)}"
)
sharing.download_button("overview")
st.caption("The health report as one HTML file to share (opens offline, prints), with the critical classes, conditions "
           "and plan settings chosen on the other pages. From the command line: `imbal report PATH --markdown "
           "summary.md`.")

st.subheader("Classes")
table = summary.classes.to_pandas().sort_values("instances", ascending=False)
if summary.task != "segmentation":
    table = table.drop(columns=["pixels"])
numbers = {c: st.column_config.NumberColumn(c.replace("_", " "), format="localized") for c in table.columns if c != "class"}
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_config={"class": st.column_config.TextColumn("class", pinned=True), **numbers},
)
st.caption("Click a column header to sort. Images = distinct images holding the class; instances = annotations.")

st.subheader("Load report")
if state.unavailable_on_lake(dataset, "The load report", "`imbal lake add` printed it when it read each export; the "
                             "lake keeps only what was counted"):
    st.stop()
widgets.load_report(dataset)
named = {record for _, record in report_images(dataset, dataset.report.rows)} if dataset.report else set()
problem_rows = [r for r in dataset.report.rows if r.record in named] if named else []
if problem_rows:
    st.subheader("Images with a problem")
    codes = list(dict.fromkeys(r.code for r in problem_rows))
    state.keep_valid("ov_gallery_code", ["all", *codes])
    code = st.selectbox("Problem", ["all", *codes], key="ov_gallery_code",
                        format_func=lambda c: "all problems naming an image" if c == "all" else c)
    flagged: dict[int, list[str]] = {}
    for image_id, record in report_images(dataset, [r for r in problem_rows if code in ("all", r.code)]):
        flagged.setdefault(image_id, []).append(record)
    gallery(dataset, select_images(dataset, ids=list(flagged)), key="ov_gallery", highlight=flagged,
            describe="named by the load report's rows, in the report's order; the box a row names is framed in yellow",
            file_name="imbal_load_report_images.csv")
