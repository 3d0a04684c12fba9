# imbal-page: section=Dataset; title=Label hierarchy; icon=:material/account_tree:; order=30
"""Label hierarchy: counts by parent and child, merge suggestions, what-if and the merged export."""
import math

import streamlit as st

from imbal_app import state
from imbal_core.charts.hierarchy import before_after_bars, hierarchy_treemap
from imbal_core.dataset import Dataset
from imbal_core.fingerprint import dataset_key
from imbal_core.hierarchy import (
    from_supercategories, mapping_csv, mapping_json, merged_coco, merged_labels_csv, merged_yolo_zip, read_mapping,
    resolve_merges, roll_up, suggest_merges, what_if,
)
from imbal_core.longtail import available_units, pixel_source, unit_label

EDITOR = "hier_editor"


@st.cache_data(max_entries=4, show_spinner="Writing the merged export…", hash_funcs={Dataset: dataset_key})
def export_bytes(kind: str, dataset: Dataset, merges: tuple) -> bytes:
    """The merged export, written once per dataset and set of merges (a large COCO takes seconds)."""
    make = {"coco": merged_coco, "yolo": merged_yolo_zip, "labels": merged_labels_csv}[kind]
    return make(dataset, dict(merges))


def number(value: float, digits: int = 1) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.{digits}f}"


dataset = state.require_dataset()
st.title("Label hierarchy")
st.caption(f"{state.label()} — merge sparse classes into their parent for now, and see what it does to the long tail.")

kinds = ["From the export (supercategory)", "Upload a mapping"]
kind = st.segmented_control("Parents", kinds, default=kinds[0], required=True, key="hier_source")
hierarchy = from_supercategories(dataset)
if kind == kinds[1]:
    upload = st.file_uploader("Mapping: CSV rows `child,parent`, or YAML `{child: parent}` / `{parent: [children]}`",
                              type=["csv", "txt", "yaml", "yml", "json"], key="hier_mapping")
    if upload is None:
        st.info("Upload a mapping to use it; until then the export's own parents are shown.")
    else:
        try:
            hierarchy = read_mapping(upload.getvalue(), dataset, upload.name)
        except ValueError as exc:
            st.error(str(exc))
            st.stop()
if not hierarchy:
    st.info("This export names no parent for its classes (no `supercategory`): upload a mapping (CSV `child,parent` "
            "or YAML) to roll classes up and merge sparse ones.")
    st.stop()

source = pixel_source(dataset)
units = list(available_units(dataset))
if st.session_state.get("hier_unit") not in units:
    st.session_state.pop("hier_unit", None)
unit = st.segmented_control("Sized by", units, default="instances", required=True, key="hier_unit",
                            format_func=lambda u: unit_label(u, source))
children = hierarchy.children()
st.caption(f"{len(hierarchy.parents)} of {len(dataset.class_names)} classes have a parent; {len(children)} parents "
           f"({'from the export' if hierarchy.source == 'supercategory' else hierarchy.source}).")
st.plotly_chart(hierarchy_treemap(roll_up(dataset, hierarchy, unit), unit_label(unit, source)), width="stretch",
                key="hier_treemap")

st.subheader("Merge suggestions")
min_instances = st.number_input("Minimum instances per class", 1, value=50, key="hier_min",
                                help="classes below it are suggested for a merge when their parent would reach it")
suggestions = suggest_merges(dataset, hierarchy, int(min_instances), critical=state.critical_classes())
table = suggestions.to_pandas()
table.insert(0, "merge", table["suggested"])
below = suggestions.below_count
hint = ("" if below else f" Nothing is below it (the smallest class has {suggestions.smallest_instances:,}): raise it "
        "to see what merging would do.")
st.caption(f"{below} of {len(table)} classes are below {int(min_instances):,} instances; {suggestions.suggested_count} "
           "would pass merged into their parent (ticked). Tick or untick any class with a parent; critical classes are "
           "never suggested." + hint)
# the editor's state is keyed by the table it edits: a new minimum or dataset starts from the suggestions
editor_key = f"{EDITOR}_{dataset_key(dataset)}_{int(min_instances)}_{hierarchy.source}"
edited = st.data_editor(
    table[["merge", "class", "parent", "target", "instances", "merged_instances", "reason"]],
    hide_index=True, width="stretch", key=editor_key, disabled=["class", "parent", "target", "instances",
                                                                  "merged_instances", "reason"],
    column_config={
        "merge": st.column_config.CheckboxColumn("merge", help="merge this class into its parent"),
        "target": st.column_config.TextColumn("joins", help="the class it would join (a new class when the parent is not one)"),
        "instances": st.column_config.NumberColumn("instances", format="localized"),
        "merged_instances": st.column_config.NumberColumn("parent after", format="localized",
                                                          help="the class it joins, with every sparse sibling merged in"),
    },
)
merges = {row["class"]: row["parent"] for row in edited.to_dict("records") if row["merge"]}
if not merges:
    st.info("No merge chosen: tick a class above to see its effect and download the merged export.")
    st.stop()

try:
    resolved = resolve_merges(dataset, merges)
    result = what_if(dataset, merges, unit)
except ValueError as exc:
    st.error(str(exc))
    st.stop()

st.subheader("Before and after")
st.markdown("Merging " + ", ".join(f"**{c}** → {t}" for c, t in resolved.items()) + ".")
b, a = result.before.metrics, result.after.metrics
cards = st.columns(4)
cards[0].metric("Classes with data", f"{a.present}", delta=a.present - b.present, delta_color="off")
cards[1].metric("Imbalance ratio", number(a.imbalance_ratio), delta=number(a.imbalance_ratio - b.imbalance_ratio),
                delta_color="inverse", help="largest / smallest non-zero class")
cards[2].metric("Gini", number(a.gini, 2), delta=number(a.gini - b.gini, 2), delta_color="inverse")
cards[3].metric("Evenness", number(a.evenness, 2), delta=number(a.evenness - b.evenness, 2))
st.plotly_chart(before_after_bars(result, log_scale=st.toggle("Log scale", key="hier_log")), width="stretch",
                key="hier_before_after")
with st.expander("Counts before and after"):
    st.dataframe(result.to_pandas(), hide_index=True, width="stretch")

st.subheader("Downloads")
frozen = tuple(sorted(merges.items()))
cols = st.columns(4)
cols[0].download_button("Mapping (JSON)", mapping_json(merges, resolved), file_name="imbal_merges.json",
                        mime="application/json", key="hier_dl_json")
cols[1].download_button("Mapping (CSV)", mapping_csv(merges), file_name="imbal_merges.csv", mime="text/csv",
                        key="hier_dl_csv")
if state.unavailable_on_lake(dataset, "The merged export", "it rewrites the export's annotations, which a lake does "
                             "not keep (the mappings above apply to the exports)"):
    pass
elif dataset.task == "classification":
    cols[2].download_button("Merged labels (CSV)", export_bytes("labels", dataset, frozen), file_name="labels_merged.csv",
                            mime="text/csv", key="hier_dl_labels")
else:
    cols[2].download_button("Merged export (COCO JSON)", export_bytes("coco", dataset, frozen), file_name="instances_merged.json",
                            mime="application/json", key="hier_dl_coco",
                            help="the export with merged categories; a COCO input keeps everything else as it was")
    cols[3].download_button("Merged export (YOLO zip)", export_bytes("yolo", dataset, frozen), file_name="yolo_merged.zip",
                            mime="application/zip", key="hier_dl_yolo", help="data.yaml with the new names and labels/")
st.caption("The merged COCO file reloads with the merged counts: open it as an upload to check. "
           "From the command line: `imbal hierarchy PATH --min-instances N --apply-suggestions --out merged.json`.")
