# imbal-page: section=Dataset; title=Overview; icon=:material/dashboard:; order=10
"""Overview: what the loaded export holds — the dataset card, per-class counts by split, the load report."""
import streamlit as st

from imbal_app import state, widgets
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

st.subheader("Classes")
table = summary.classes.to_pandas().sort_values("instances", ascending=False)
if summary.task != "segmentation":
    table = table.drop(columns=["pixels"])
numbers = {c: st.column_config.NumberColumn(c.replace("_", " "), format="localized") for c in table.columns if c != "name"}
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_config={"name": st.column_config.TextColumn("class", pinned=True), **numbers},
)
st.caption("Click a column header to sort. Images = distinct images holding the class; instances = annotations.")

st.subheader("Load report")
widgets.load_report(dataset)
