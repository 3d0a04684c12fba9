# imbal-page: section=Subgroups and splits; title=Conditions; icon=:material/grid_on:; order=10
"""Conditions: class x condition heatmaps and the ranked hidden-subgroup gaps found in them."""
import math

import streamlit as st

from imbal_app import state
from imbal_app.gallery import compare
from imbal_core.charts.strata import HEATMAP_MODES, MODE_LABELS, heatmap
from imbal_core.downloads import csv_bytes
from imbal_core.gallery import select_images
from imbal_core.longtail import available_units, pixel_source, unit_label
from imbal_core.strata import OTHER, SEPARATOR, hidden_subgroups

ALL = "all splits"
SHOWN = 15
KIND = {"absent": ":red-badge[absent]", "under_represented": ":orange-badge[under-represented]",
        "below_minimum": ":gray-badge[below minimum]"}


def on_finding() -> None:
    """Show the split a clicked finding belongs to."""
    pick = st.session_state.get("cond_finding")
    found = st.session_state.get("cond_findings_index", {}).get(pick)
    if found is not None:
        st.session_state["cond_split"] = found.split or ALL


dataset = state.require_dataset()
st.title("Conditions")
st.caption(f"{state.label()} — is a class missing where it matters? Classes crossed with conditions "
           "(time of day, weather, camera …), with the gaps found for you, ranked.")
if not dataset.conditions:
    st.info("This dataset has no conditions to cross the classes with. Conditions come from the export's own image "
            "fields (COCO), columns (CSV), folder names, or a **conditions sidecar** (CSV / Parquet keyed by file "
            "name) added in the sidebar under *Conditions and predictions*.", icon=":material/info:")
    st.stop()

source = pixel_source(dataset)
units = list(available_units(dataset))
splits = [ALL, *[s for s in dataset.splits if s != "unassigned"]]
state.keep_valid("cond_by", list(dataset.conditions))
state.keep_valid("cond_unit", units)
state.keep_valid("cond_split", splits)
if not st.session_state.get("cond_by"):
    st.session_state["cond_by"] = [dataset.conditions[0]]
c_by, c_unit, c_mode, c_split = st.columns([3, 4, 3, 2])
by = c_by.multiselect("Conditions (one or two)", list(dataset.conditions), max_selections=2, key="cond_by",
                      format_func=lambda c: c.replace("_", " "))
unit = c_unit.segmented_control("Unit", units, default="instances", required=True, key="cond_unit",
                                format_func=lambda u: unit_label(u, source))
mode = c_mode.selectbox("Colour", HEATMAP_MODES, format_func=MODE_LABELS.get, key="cond_mode",
                        help="residuals: how far each cell is from what independence of class and condition predicts "
                             "(red: fewer, blue: more; below -4 is very unusual)")
split_choice = c_split.selectbox("Split", splits, key="cond_split")
if not by:
    st.info("Pick one condition, or two to cross them (e.g. time of day x weather).")
    st.stop()

with st.expander("Finder settings"):
    s = st.columns(4)
    min_count = s[0].number_input("Flag cells below (absolute minimum)", 0, value=0, step=5, key="cond_min_count",
                                  help="0 = off. A cell with fewer than this many is listed even when it is proportionate.")
    max_ratio = s[1].slider("A gap is at most … of expected", 0.1, 1.0, 0.5, 0.05, key="cond_max_ratio")
    min_expected = s[2].number_input("Test cells expecting at least", 1.0, value=5.0, key="cond_min_expected")
    max_values = s[3].number_input("Most values shown (rest → other)", 2, 60, value=12, key="cond_max_values")
critical = state.critical_classes()
try:
    result = hidden_subgroups(dataset, by, unit, critical=critical, min_count=min_count or None, max_ratio=max_ratio,
                              min_expected=min_expected, max_values=int(max_values))
except ValueError as exc:
    st.error(str(exc))
    st.stop()
split = None if split_choice == ALL else split_choice
table = result.table if split is None else result.split_tables.get(split, result.table)

findings = list(result.findings[:SHOWN])
labels = [f"{i}. {f.text}" for i, f in enumerate(findings, 1)]
st.session_state["cond_findings_index"] = dict(zip(labels, findings))
state.keep_valid("cond_finding", labels)

left, right = st.columns([3, 2])
with right:
    n = len(result.findings)
    st.subheader(f"{n} finding{'s' * (n != 1)}" if n else "No gaps found")
    if critical:
        st.caption(f"Critical classes rank first: {', '.join(critical)} (flag them on the Long tail page).")
    if findings:
        pick = st.radio("Click a finding to outline its cell", labels, key="cond_finding", on_change=on_finding,
                        captions=[KIND[f.kind] + (" · critical" if f.critical else "") for f in findings])
        chosen = st.session_state["cond_findings_index"][pick]
        if n > SHOWN:
            st.caption(f"The first {SHOWN} of {n}; the download holds them all.")
        st.download_button("Download the findings (CSV)", csv_bytes(result.to_arrow()),
                           file_name=f"imbal_findings_{'_'.join(by)}.csv", mime="text/csv", key="cond_download")
    else:
        chosen = None
        st.success(f"No class is far below its expected share in any of the {result.cells_tested} cells tested "
                   f"(family-wise error {result.alpha:.0%}).", icon=":material/check:")

highlight = None
if chosen is not None and chosen.condition and (chosen.split or None) == split:
    highlight = (chosen.class_name, tuple(chosen.condition[c] for c in by))
with left:
    if table.counts.size:
        st.plotly_chart(heatmap(table, mode, highlight=highlight), width="stretch", key="cond_heatmap")
    else:
        st.info(f"No {unit} with a known {' and '.join(by)} {'in ' + split if split else ''}.")
    notes = []
    if table.folded:
        notes.append(f"{len(table.folded)} smaller values are folded into *other*.")
    if table.unknown:
        notes.append(f"{table.unknown:,.0f} {unit} with an unknown {' or '.join(by)} are left out.")
    if unit == "pixels":
        notes.append("Pixel residuals and tests use the counts rescaled to the number of instances.")
    if chosen is not None and chosen.condition and highlight is None:
        notes.append(f"The selected finding is in {chosen.split or ALL}: choose {chosen.split or ALL} in Split to see "
                     "its cell.")
    st.caption("Classes by total, values by size. " + " ".join(notes))

st.subheader("Images of a cell")
# a cell = a class x a column of the heatmap; the selected finding fills it in, the boxes change it
columns = {SEPARATOR.join(v): dict(zip(table.conditions, v)) for v in table.values if v != (OTHER,) or not table.folded}
if len(table.conditions) == 1 and table.folded:  # "other": any of the folded values
    columns[OTHER] = {table.conditions[0]: [v[0] for v in table.folded]}
state.keep_valid("cond_gal_class", list(table.classes))
state.keep_valid("cond_gal_cell", list(columns))
if chosen is not None and chosen.condition and st.session_state.get("cond_gal_for") != (pick, tuple(by)):
    st.session_state["cond_gal_for"] = (pick, tuple(by))
    cell_label = SEPARATOR.join(chosen.condition[c] for c in table.conditions)
    if chosen.class_name in table.classes and cell_label in columns:
        st.session_state["cond_gal_class"], st.session_state["cond_gal_cell"] = chosen.class_name, cell_label
g = st.columns([2, 2, 3])
gal_class = g[0].selectbox("Class", list(table.classes), index=None, key="cond_gal_class", placeholder="choose a class")
gal_cell = g[1].selectbox(" × ".join(c.replace("_", " ") for c in table.conditions), list(columns), index=None,
                          key="cond_gal_cell", placeholder="choose a value")
g[2].caption("The selected finding's cell, or any other: the images of the class in that condition, and beside them "
             "the images of that condition without the class" + (f", in {split}." if split else "."))
if gal_class and gal_cell and not state.unavailable_on_lake(
        dataset, "The image gallery", "it draws each image's annotations, which a lake does not keep"):
    try:
        in_cell = select_images(dataset, gal_class, where=columns[gal_cell], split=split)
        without = select_images(dataset, where=columns[gal_cell], without_class=gal_class, split=split)
    except ValueError as exc:
        st.warning(str(exc))
    else:
        compare(dataset, in_cell, without, key="cond_cell", left_title=f"{gal_class} at {gal_cell}",
                right_title=f"For comparison: {gal_cell} without {gal_class}")

st.subheader("Independence tests")
st.dataframe(
    [{"split": t.split or ALL, "chi²": t.chi2, "dof": t.dof, "p-value": "—" if math.isnan(t.p_value) else f"{t.p_value:.1e}",
      "Cramér's V": t.cramers_v, "total": t.n} for t in result.tests],
    hide_index=True, width="stretch", column_config={"chi²": st.column_config.NumberColumn(format="%.1f"),
                                                     "Cramér's V": st.column_config.NumberColumn(format="%.3f"),
                                                     "total": st.column_config.NumberColumn(format="localized")})
st.caption("Cramér's V: 0 = class and condition independent, 1 = each class seen in one value only. With many "
           "objects, small differences are significant; the findings above add an effect size and a minimum count.")
with st.expander("The table"):
    frame = table.to_pandas()
    st.dataframe(frame, hide_index=True, width="stretch", column_config={
        "share_of_class": st.column_config.NumberColumn("share of class", format="percent"),
        "share_of_value": st.column_config.NumberColumn("share of value", format="percent"),
        "expected": st.column_config.NumberColumn(format="%.1f"),
        "residual": st.column_config.NumberColumn(format="%+.1f")})
    st.download_button("Download the table (CSV)", csv_bytes(table.to_arrow()),
                       file_name=f"imbal_strata_{'_'.join(by)}.csv", mime="text/csv", key="cond_table_download")
st.caption(f"The same in a pipeline: `imbal strata PATH --by {','.join(by)} --unit {unit}"
           + (f" --critical {','.join(critical)}" if critical else "") + " --json`.")
