# imbal-page: section=Subgroups and splits; title=Splits; icon=:material/call_split:; order=20
"""Splits: does each split look like the whole, does anything leak — and new stratified, group-safe splits."""
import math

import streamlit as st

from imbal_app import state
from imbal_app.gallery import gallery
from imbal_core.charts.splits import class_shares, worst_deviation
from imbal_core.columns import has_groups
from imbal_core.downloads import csv_bytes
from imbal_core.fingerprint import dataset_key
from imbal_core.gallery import select_images
from imbal_core.splits import check_ratios, check_splits, export_formats, export_splits, make_splits

BADGE = {"pass": ":green-badge[:material/check: pass]", "warn": ":orange-badge[:material/warning: warn]",
         "fail": ":red-badge[:material/close: fail]"}
RESULT = "splits.generated"


def number(value: float, digits: int = 4) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def small(value: float) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.2g}"


def verdicts(health) -> None:
    for v in health.verdicts:
        why = "; ".join(v.reasons) if v.reasons else "looks like the whole"
        reference = health.stratification.reference
        worst = (f" Furthest from {reference}'s class shares (images): {', '.join(v.worst)}."
                 if v.status != "pass" and v.worst else "")
        st.markdown(f"{BADGE[v.status]} **{v.split}** — {v.images:,} images ({v.image_share:.1%}), class divergence "
                    f"{small(v.js_divergence)}: {why}.{worst}")


dataset = state.require_dataset()
st.title("Splits")
st.caption(f"{state.label()} — per-class and per-condition balance of each split, leakage between splits, "
           "and new splits that keep every class in proportion without dividing a sequence.")
grouped = has_groups(dataset)
group_options = ["auto", "none", *(["group"] if grouped else []), *dataset.conditions]

st.subheader("Current splits")
health = check_splits(dataset, group_by="group" if grouped else None)
if not health.verdicts:
    st.info(health.message + " Generate splits below.", icon=":material/info:")
else:
    cards = st.columns(4)
    cards[0].markdown(f"Verdict  \n{BADGE[health.status]}")
    cards[1].metric("Label-distribution error", number(health.label_distribution_error, 5),
                    help="mean over splits and classes of |share in split - share in whole| (instances)")
    cards[2].metric("Groups in several splits", f"{health.leaks.num_rows:,}",
                    help="sequences / videos / sites whose frames sit in more than one split (leakage)")
    cards[3].metric("File names in several splits", f"{health.duplicates.num_rows:,}")
    verdicts(health)
    scale = st.segmented_control("Bars", ["share", "relative"], default="relative", required=True, key="splits_scale",
                                 format_func={"share": "share of each split (log)", "relative": "share / whole"}.get)
    st.plotly_chart(class_shares(health.classes, scale), width="stretch", key="splits_shares")
    if health.leaks.num_rows or health.duplicates.num_rows:
        with st.expander("Leaks", expanded=True):
            if health.leaks.num_rows:
                st.dataframe(health.leaks.to_pandas(), hide_index=True, width="stretch")
            if health.duplicates.num_rows:
                st.dataframe(health.duplicates.to_pandas(), hide_index=True, width="stretch")
        if health.leaks.num_rows:
            leaking = health.leaks.column("group").to_pylist()
            state.keep_valid("splits_gallery_group", leaking)
            leak = st.selectbox("Show the images of the group", leaking, index=None, key="splits_gallery_group",
                                placeholder="choose a group in several splits")
            if leak is not None and not state.unavailable_on_lake(
                    dataset, "The image gallery", "it draws each image's annotations, which a lake does not keep"):
                gallery(dataset, select_images(dataset, group=leak), key="splits_gallery",
                        describe=f"of {leak}, which sits in several splits (the split is under each image), by image id",
                        file_name="imbal_group_images.csv")
    if health.conditions.num_rows:
        with st.expander("Conditions by split"):
            frame = health.conditions.to_pandas()
            st.dataframe(frame, hide_index=True, width="stretch", column_config={
                k: st.column_config.NumberColumn(k.replace("_", " "), format="percent")
                for k in ("share", "whole_share", "difference")})

st.subheader("Generate new splits")
if state.unavailable_on_lake(dataset, "Generating new splits", "it places every image and writes the export again, "
                             "which needs the export's rows"):
    st.stop()
state.keep_valid("gen_stratify", ["class", *dataset.conditions])
state.keep_valid("gen_group", group_options)
with st.form("gen_form"):
    c = st.columns([2, 3, 2, 1])
    ratios_text = c[0].text_input("Ratios (train, val[, test])", "0.8, 0.1, 0.1", key="gen_ratios")
    stratify = c[1].multiselect("Keep in proportion", ["class", *dataset.conditions], default=["class"], key="gen_stratify")
    group_by = c[2].selectbox("Keep together", group_options, key="gen_group",
                              help="auto: the export's sequences / videos / sites when it has them; a condition "
                                   "(e.g. camera) keeps each of its values in one split")
    seed = c[3].number_input("Seed", 0, value=0, step=1, key="gen_seed")
    submitted = st.form_submit_button("Generate splits", type="primary")
if submitted:
    try:
        ratios, names = check_ratios(ratios_text)
        with st.spinner("Placing groups and images…"):
            result = make_splits(dataset, ratios, stratify, None if group_by == "none" else group_by, int(seed))
        st.session_state[RESULT] = (dataset_key(dataset), result)
    except ValueError as exc:
        st.error(str(exc))
stored = st.session_state.get(RESULT)
result = stored[1] if stored and stored[0] == dataset_key(dataset) else None
if result is None:
    st.caption("Iterative stratification extended to groups and conditions, refined by local search; the same seed "
               "gives the same splits. Nothing is written until you download.")
    st.stop()

after, before = result.label_distribution_error, result.before
cards = st.columns(4)
cards[0].metric("LD error, instances", number(after["instances"], 5),
                delta=None if not before else f"{after['instances'] - before['instances']:+.5f}", delta_color="inverse",
                help="label-distribution error of the new splits: mean over splits and classes of |share in split - "
                     "share in whole|; the delta is against the export's own splits")
cards[1].metric("LD error, images", number(after["images"], 5),
                delta=None if not before else f"{after['images'] - before['images']:+.5f}", delta_color="inverse")
cards[2].metric("Units placed whole", f"{result.blocks:,}",
                help=f"groups from `{result.group_by}` and lone images" if result.group_by else "images (no groups)")
cards[3].markdown(f"New splits' verdict  \n{BADGE[result.health.status]}")
sizes = result.sizes.to_pandas()
st.dataframe(sizes, hide_index=True, width="stretch", column_config={
    "share": st.column_config.NumberColumn(format="percent"), "target": st.column_config.NumberColumn(format="percent")})
verdicts(result.health)
drifting = result.drifting_conditions()
if drifting:
    st.caption(f"Not kept in proportion, so free to drift: {', '.join(drifting)}. Add them to *Keep in proportion* "
               "to balance them too (each one asked for costs a little class balance).")
with st.expander("Achieved proportions per class and condition"):
    st.dataframe(result.classes.to_pandas(), hide_index=True, width="stretch", column_config={
        k: st.column_config.NumberColumn(k.replace("_", " "), format="percent")
        for k in ("instance_share", "whole_instance_share", "image_share", "whole_image_share")})
    if result.conditions.num_rows:
        st.dataframe(result.conditions.to_pandas(), hide_index=True, width="stretch", column_config={
            k: st.column_config.NumberColumn(k.replace("_", " "), format="percent") for k in ("share", "whole_share")})
st.plotly_chart(worst_deviation(health.classes if health.verdicts else None, result.health.classes),
                width="stretch", key="splits_before_after")
st.caption("Per class, how far its share in the worst split strays from its share of the whole: grey the export's "
           "own splits, blue the new ones.")

st.markdown("**Download the new splits**")
formats = list(export_formats(dataset))
fmt = st.segmented_control("Format", formats, default=formats[0], required=True, key="gen_format")
try:
    export = export_splits(result.dataset, fmt)
except ValueError as exc:
    st.error(str(exc))
    st.stop()
name, data, mime = export.download()
st.download_button(f"Download {name}", data, file_name=name, mime=mime, key="gen_download", type="primary")
st.caption(export.note)
for w in export.warnings:
    st.warning(w)
st.download_button("Download the per-image assignment (CSV)", csv_bytes(result.assignment()),
                   file_name="imbal_split_assignment.csv", mime="text/csv", key="gen_assignment")
st.caption(f"The same in a pipeline: `imbal split PATH --ratios {','.join(f'{r:g}' for r in result.ratios)} "
           f"--stratify {','.join(result.stratify_by) or 'class'} --group {result.group_by or 'none'} "
           f"--seed {result.seed} --out DIR`.")
