# imbal-page: section=Dataset; title=Long tail; icon=:material/bar_chart:; order=20
"""Long tail: per-class counts by unit and split, long-tail metrics, LVIS groups and the health checklist."""
import math

import streamlit as st

from imbal_app import state
from imbal_app.gallery import gallery
from imbal_core.charts.longtail import class_bars, lorenz_figure
from imbal_core.downloads import csv_bytes, json_bytes
from imbal_core.fingerprint import dataset_key
from imbal_core.gallery import select_images
from imbal_core.health import HealthConfig, check
from imbal_core.longtail import available_units, class_split_counts, long_tail, pixel_source, unit_label
from imbal_core.longtail.subsets import subset_choices

BADGE = {"pass": ":green-badge[:material/check: pass]", "warn": ":orange-badge[:material/warning: warn]",
         "fail": ":red-badge[:material/close: fail]"}
DEFAULTS = HealthConfig()


def on_bar() -> None:
    """A clicked bar picks the class whose images the gallery below shows."""
    event = st.session_state.get("lt_bars")
    points = event.selection.points if event is not None else []
    if points and points[0].get("x") in set(state.dataset().class_names):
        st.session_state["lt_gallery_class"] = points[0]["x"]


def number(value: float, digits: int = 2) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.{digits}f}"


dataset = state.require_dataset()
st.title("Long tail")
st.caption(f"{state.label()} — which classes are starved, in which split, by which measure.")

source = pixel_source(dataset)
units = list(available_units(dataset))
splits = ["all splits", *dataset.splits]
state.keep_valid("lt_unit", units)
state.keep_valid("lt_split", splits)
c_unit, c_split, c_colour, c_toggles = st.columns([4, 2, 2, 2])
unit = c_unit.segmented_control("Unit", units, default="instances", required=True, key="lt_unit",
                                format_func=lambda u: unit_label(u, source),
                                help="images: distinct images holding the class · instances: annotations · "
                                     "pixels: mask pixels (box area for box-only data)")
split_choice = c_split.selectbox("Split", splits, key="lt_split")
colour = c_colour.segmented_control("Colour by", ["LVIS group", "split"], default="LVIS group", required=True,
                                    key="lt_colour")
facets = c_toggles.toggle("One panel per split", key="lt_facets")
log_scale = c_toggles.toggle("Log scale", key="lt_log")

where = {}
choices = subset_choices(dataset)
if choices:
    with st.expander("Subset: only images with some condition values", expanded=False):
        cols = st.columns(min(len(choices), 4))
        for i, (condition, values) in enumerate(choices.items()):
            key = f"lt_where_{condition}"
            if key in st.session_state:
                st.session_state[key] = [v for v in st.session_state[key] if v in values]
            chosen = cols[i % len(cols)].multiselect(condition.replace("_", " "), values, key=key, placeholder="all")
            if chosen:
                where[condition] = chosen

if source == "boxes" and unit == "pixels":
    st.info("This export has **boxes only, no masks**: the pixel unit shows the **box area** (w × h in px², summed) "
            "as an approximation. A box also covers background, so thin or diagonal objects are overstated.",
            icon=":material/crop_square:")
elif source == "none":
    st.caption("Pixels are not available: " + ("classification labels have no extent." if dataset.task == "classification"
                                                else "no masks and no boxes of images of known size."))

# critical classes: shared with other pages; the multiselect is in the checklist below
names = dataset.class_names
token = dataset_key(dataset)
if st.session_state.get("lt_critical_for") != token or "lt_critical" not in st.session_state:
    st.session_state["lt_critical"] = state.critical_classes()
    st.session_state["lt_critical_for"] = token
flagged = [n for n in st.session_state["lt_critical"] if n in set(names)]

split = None if split_choice == "all splits" else split_choice
counts = class_split_counts(dataset, where)
lt = long_tail(dataset, unit, split=split, where=where, counts=counts, critical=flagged)
m = lt.metrics
scope = ("in " + split if split else "over all splits") + (
    " · subset: " + "; ".join(f"{k} = {', '.join(v)}" for k, v in where.items()) if where else "")

cards = st.columns(6)
cards[0].metric("Classes with data", f"{m.present} of {m.classes}", help="declared classes with a non-zero count")
cards[1].metric("Imbalance ratio", number(m.imbalance_ratio, 1), help="largest / smallest non-zero class")
cards[2].metric("Gini", number(m.gini), help="0 = all classes equal, towards 1 = one class holds everything")
cards[3].metric("Evenness", number(m.evenness), help="normalised entropy H / ln(n): 1 = balanced")
cards[4].metric("Effective classes", number(m.effective_classes, 1), help="exp(entropy): equally frequent classes with the same entropy")
cards[5].metric("Head classes", f"{len(m.head)}", help=f"the fewest classes covering {m.head_share:.0%} of {lt.unit_label}")

rarest = lt.rarest
if rarest is not None:
    basis = "training images" if lt.group_basis == "train" else "images (no train split)"
    st.markdown(
        f"**Rarest by {lt.unit_label} ({scope}): {rarest['class']}** — {rarest['count']:,.0f} "
        f"({rarest['share']:.2%} of the total, 1 : {1 / rarest['ratio_to_largest']:,.0f} to {m.largest}); "
        f"LVIS group **{rarest['group']}** ({rarest['training_images']:,} {basis})."
    )
else:
    st.warning(f"No class has any {lt.unit_label} {scope}.")
for row in (r for r in lt.classes.to_pylist() if r["critical"]):
    st.markdown(f":material/flag: Critical **{row['class']}**: {row['count']:,.0f} {lt.unit_label} "
                f"({number(row['share'] * 100)}%), {row['rank']} of {m.classes} by size, in the {row['part']}; "
                f"LVIS {row['group']} ({row['training_images']:,} training images).")

# the minimum set in the checklist's thresholds below (read from the session: the widget comes later)
minimum = int(st.session_state.get("lt_min") or DEFAULTS.min_instances) if unit == "instances" else None
st.plotly_chart(class_bars(lt, log_scale=log_scale, colour="split" if colour == "split" else "group",
                           facet_split=facets, minimum=minimum), width="stretch", key="lt_bars",
                on_select=on_bar, selection_mode="points")
st.caption(f"Sorted largest first; the shaded tail is everything after the head's {m.head_share:.0%}. "
           f"LVIS groups by {lt.thresholds.describe()}."
           + (f" Dashed line: the minimum of {minimum} instances." if minimum else ""))

left, right = st.columns([2, 3])
left.plotly_chart(lorenz_figure(lt), width="stretch", key="lt_lorenz")
table = lt.to_pandas()
table["absent_from"] = table["absent_from"].map(lambda v: ", ".join(v))
table["share"] = table["share"] * 100
for column in ["count", *(c for c in table.columns if c.startswith("count_"))]:
    table[column] = table[column].round()  # box areas have decimals no one reads
shown = table.drop(columns=["supercategory", "critical"]).rename(columns={"count": lt.unit_label})
right.dataframe(shown, hide_index=True, width="stretch", height=330, column_config={
    "share": st.column_config.NumberColumn("share", format="%.2f%%"),
    "ratio_to_largest": st.column_config.NumberColumn("to largest", format="%.3f"),
    lt.unit_label: st.column_config.NumberColumn(lt.unit_label, format="localized"),
    **{c: st.column_config.NumberColumn(c.replace("count_", ""), format="localized") for c in table.columns
       if c.startswith("count_")},
})
right.download_button("Download the per-class table (CSV)", csv_bytes(lt.to_arrow().drop_columns(["absent_from"])),
                      file_name=f"imbal_long_tail_{unit}.csv", mime="text/csv", key="lt_download")

st.subheader("Images of a class")
state.keep_valid("lt_gallery_class", names)
gallery_class = st.selectbox("Show the images of", list(table["class"]), index=None, key="lt_gallery_class",
                             placeholder="choose a class, or click its bar",
                             help="With the split and subset chosen above; every annotation is drawn, each class in its colour.")
if gallery_class and not state.unavailable_on_lake(dataset, "The image gallery",
                                                 "it draws each image's annotations, which a lake does not keep"):
    gallery(dataset, select_images(dataset, gallery_class, split=split, where=where or None), key="lt_gallery",
            file_name=f"imbal_images_{gallery_class}.csv")

st.subheader("Health checklist")
st.caption("The rules checked before training, on the whole dataset (all splits, no subset) — the same verdicts "
           "as `imbal check`. Flag critical classes to hold them to their own, higher minimum.")
critical = st.multiselect("Critical classes (rare but important)", names, key="lt_critical",
                          placeholder="none flagged")
state.set_critical_classes(critical)
with st.expander("Thresholds"):
    t = st.columns(5)
    min_instances = t[0].number_input("Minimum instances", 1, value=DEFAULTS.min_instances, key="lt_min")
    comfortable = t[1].number_input("Comfortable", 1, value=None, key="lt_comfortable", placeholder="max(100, 2 × minimum)")
    critical_min = t[2].number_input("Critical minimum", 1, value=DEFAULTS.critical_min_instances, key="lt_critical_min")
    max_ratio = t[3].number_input("Max long-tail ratio", 1.0, value=DEFAULTS.max_ratio, key="lt_max_ratio")
    tolerance = t[4].number_input("Split share tolerance", 0.0, 5.0, value=DEFAULTS.share_tolerance, step=0.05,
                                  key="lt_tolerance", help="warn beyond this relative deviation from the train share; fail beyond twice it")
try:
    config = HealthConfig.from_limits(
        min_instances=int(min_instances), comfortable_instances=None if comfortable is None else int(comfortable),
        critical=critical, critical_min_instances=int(critical_min), max_ratio=float(max_ratio),
        share_tolerance=float(tolerance))
    report = check(dataset, config)
except ValueError as exc:
    st.error(str(exc))
    st.stop()

# a failing rule is a finding about the data, not an error of the page: a badge, not st.error
failed = [r.title for r in report.rules if r.status == "fail"]
if failed:
    verdict = (f":red-badge[:material/close: {len(failed)} of {len(report.rules)} rules fail] **`imbal check` exits 1**: "
               f"{', '.join(failed)}.")
elif report.status == "warn":
    verdict = ":orange-badge[:material/warning: warnings only] no rule fails — **`imbal check` exits 0**."
else:
    verdict = ":green-badge[:material/check: every rule passes] **`imbal check` exits 0**."
st.markdown(verdict)
for r in report.rules:
    st.markdown(f"{BADGE[r.status]} **{r.title}** — {r.detail}")
st.download_button("Download the checklist (JSON)", json_bytes(report.to_dict()), file_name="imbal_check.json",
                   mime="application/json", key="lt_check_download")
st.caption("The same check in a pipeline: `imbal check PATH --min-instances N --critical A,B --max-ratio R --json`.")
