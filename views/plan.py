# imbal-page: section=Rebalancing; title=Rebalancing plan; icon=:material/balance:; order=10
"""Rebalancing plan: capped over/undersampling to a budget, per-image weights, augmentation, downloads."""
import streamlit as st

from imbal_app import state
from imbal_core.charts.plan import achieved_chart, plan_chart
from imbal_core.cube import RowsUnavailable
from imbal_core.dataset import Dataset
from imbal_core.fingerprint import dataset_key
from imbal_core.plan import (DESCRIPTIONS, STRATEGIES, TOLERANCE, augmentation_policy, build_document,
                             dataset_counts, default_split, default_strategy, fit_weights, incidence, make_spec,
                             plan_for_dataset, repeat_factor_weights, suggested_threshold, weights_csv, weights_parquet)
from imbal_core.plan.compare import compare_weights
from imbal_core.types import ALL_SPLITS

BETAS = [0.9, 0.99, 0.999, 0.9999]


@st.cache_resource(max_entries=16, show_spinner=False, hash_funcs={Dataset: dataset_key})
def cached_incidence(dataset: Dataset, split: str | None, unit: str):
    """The image x class incidence, built once per dataset, split and unit (slider moves reuse it)."""
    return incidence(dataset, split, unit)


dataset = state.require_dataset()
st.title("Rebalancing plan")
multi_label = dataset.task != "classification"
st.caption(f"{state.label()} — oversample rare classes up to a cap, undersample frequent ones, keep the epoch at a "
           "budget" + ("; then carry the plan to images, which hold several classes at once." if multi_label else "."))

if st.session_state.get("plan_dataset") != dataset_key(dataset):
    st.session_state["plan_dataset"] = dataset_key(dataset)
    st.session_state.pop("plan_strategy", None)  # each dataset opens on its own default strategy
splits = [*dataset.splits, ALL_SPLITS]
state.keep_valid("plan_split", splits)
state.keep_valid("plan_strategy", list(STRATEGIES))
c_split, c_unit, c_strategy = st.columns([2, 2, 3])
split = c_split.selectbox("Split", splits, index=splits.index(default_split(dataset) or ALL_SPLITS), key="plan_split",
                          help="plan for the images of this split (the training split, normally)")
unit = c_unit.segmented_control("Count classes by", ["images", "instances"], default="images", required=True,
                                key="plan_unit", help="images holding the class, or its annotations")
strategy = c_strategy.selectbox("Strategy", list(STRATEGIES), index=list(STRATEGIES).index(default_strategy(dataset)),
                                key="plan_strategy", help=" · ".join(f"**{s}**: {d}" for s, d in DESCRIPTIONS.items()))
st.caption(f"**{strategy}** — {DESCRIPTIONS[strategy]}.")

scope = None if split == ALL_SPLITS else split
counts, _, images_in_scope = dataset_counts(dataset, scope, unit)
total = sum(counts.values())
if total == 0:
    st.info(f"No annotations in the {split} split: there is nothing to rebalance.")
    st.stop()
if st.session_state.get("plan_scope") != (dataset_key(dataset), split, unit):
    st.session_state["plan_scope"] = (dataset_key(dataset), split, unit)
    for key in ("plan_budget", "plan_threshold", "plan_lvis_threshold"):
        st.session_state.pop(key, None)  # a new scope starts from its own current total and threshold
try:
    inc = cached_incidence(dataset, scope, unit)
except RowsUnavailable as exc:  # a lake whose per-image rows do not fit its memory limit: the class-level plan stands
    inc, rows_missing = None, str(exc)
suggested = suggested_threshold(inc) if inc is not None else 0.001

c_cap, c_budget, c_floor = st.columns(3)
cap = c_cap.slider("Cap (oversampling, x)", 1.0, 20.0, 5.0, 0.5, key="plan_cap",
                   help="the most any class — and any image — may be repeated, as a multiple of its count")
budget = c_budget.slider(f"Budget ({unit} per epoch{', summed over classes' if multi_label else ''})",
                         max(1, total // 10), total * 4, total, max(1, total // 400), key="plan_budget",
                         help=f"the current total is {total:,}" + ("; an image holding k classes counts k times"
                                                                    if multi_label else ""))
floor = c_floor.slider("Floor (share of each class kept)", 0.0, 1.0, 0.0, 0.05, key="plan_floor",
                       help="undersampling never keeps less than this share of a class (0: no floor)")
options = {}
if strategy == "effective-number":
    options["beta"] = st.select_slider("Beta (Cui et al.)", BETAS, value=0.999, key="plan_beta",
                                       help="0.9 barely rebalances; 0.9999 is close to balanced")
if strategy == "repeat-factor":
    options["threshold"] = st.number_input(
        "Threshold t (LVIS)", 0.0001, 1.0, suggested, format="%.4f", key="plan_threshold",
        help=f"classes in fewer than this share of the images are repeated; {suggested:g} is the median class's "
             "share here (LVIS itself uses 0.001)")
if strategy == "custom":
    st.caption("Targets per class (edit the last column; classes keep their count unless you change it).")
    edited = st.data_editor(
        [{"class": c, "count": n, "target": n} for c, n in counts.items()], hide_index=True, width="stretch",
        disabled=["class", "count"], key=f"plan_targets_{split}_{unit}",
        column_config={"target": st.column_config.NumberColumn("target", min_value=0, step=1)})
    options["targets"] = {row["class"]: row["target"] if row["target"] is not None else 0 for row in edited}
    st.caption(f"The targets sum to {sum(options['targets'].values()):,.0f} and are scaled to the budget; set the "
               "budget to their sum to use them as they are.")

try:
    spec = make_spec(strategy, budget=budget, cap=cap, floor=floor, unit=unit, **options)
    plan = plan_for_dataset(dataset, spec, scope)
except ValueError as exc:
    st.error(str(exc))
    st.stop()

for warning in plan.warnings:
    st.warning(warning)
cards = st.columns(4)
cards[0].metric("Planned samples", f"{plan.total_effective:,}", help=f"of a budget of {plan.budget:,}")
cards[1].metric("Imbalance before", f"{plan.imbalance_ratio_before:,.1f}:1", help="largest / smallest class")
cards[2].metric("Imbalance after", f"{plan.imbalance_ratio_after:,.1f}:1", help="largest / smallest planned count")
cards[3].metric("Classes at the cap", f"{len(plan.capped_classes)}", help=", ".join(plan.capped_classes) or "none")

log_scale = st.toggle("Log scale", key="plan_log", help="shows the smallest classes next to the largest")
st.plotly_chart(plan_chart(plan, log_scale=log_scale), width="stretch", key="plan_chart")
policy = augmentation_policy(plan)
table = plan.to_pandas().assign(augmentation=policy.assigned).sort_values("count", ascending=False, kind="stable")
table.insert(5, "bound", ["cap" if c else "floor" if f else "" for c, f in zip(table.pop("capped"), table.pop("floored"))])
st.dataframe(table, hide_index=True, width="stretch", key="plan_table", column_config={
    "class": st.column_config.TextColumn("class", pinned=True),
    "count": st.column_config.NumberColumn(f"current {unit}", format="localized"),
    "target": st.column_config.NumberColumn("strategy target", format="localized",
                                            help="what the strategy asks for at this budget, before cap and floor"),
    "effective": st.column_config.NumberColumn("planned", format="localized", help="samples per epoch"),
    "multiplier": st.column_config.NumberColumn("multiplier", format="%.2fx"),
})

st.subheader("Per-image weights")
if inc is None:
    st.info(rows_missing, icon=":material/database:")
    doc = build_document(plan, epochs=10, critical=state.critical_classes())
    st.download_button("Plan (JSON)", doc.json_bytes(), file_name=f"imbal_plan_{strategy}_{split}.json",
                       mime="application/json", key="plan_dl_json")
    st.stop()
threshold = options.get("threshold")
if strategy != "repeat-factor":
    threshold = st.columns(3)[0].number_input(
        "LVIS threshold t (for the comparison)", 0.0001, 1.0, suggested, format="%.4f", key="plan_lvis_threshold",
        help=f"repeat factor r(c) = max(1, sqrt(t / f(c))); {suggested:g} is the median class's image share here")
weights = fit_weights(inc, plan)
lvis = repeat_factor_weights(inc, plan, threshold)
if inc.num_images and inc.classes_per_image.max() <= 1:
    st.caption("Every image holds one class, so each image's weight is its class's multiplier: the plan is met exactly.")
else:
    st.caption(f"Images hold up to {int(inc.classes_per_image.max())} classes: repeating an image repeats all of them. "
               f"The fitted weights keep each image's repeats within [{floor:g}, {cap:g}] and come as close to the plan "
               "as the images allow; LVIS repeat factors are shown for comparison.")
cards = st.columns(4)
cards[0].metric(f"Fitted: classes within {TOLERANCE:.0%}", f"{int(weights.within().sum())} of {len(weights.classes)}",
                help=f"worst miss {weights.worst_error:.1%}")
cards[1].metric(f"LVIS: classes within {TOLERANCE:.0%}", f"{int(lvis.within().sum())} of {len(lvis.classes)}",
                help=f"worst miss {lvis.worst_error:.1%}")
cards[2].metric("Images per epoch", f"{weights.epoch_images:,}", help=f"of {images_in_scope:,} images in scope")
best = weights.best_worst_error
cards[3].metric("Best possible worst miss", ("all met" if weights.within().all() else "not checked") if best is None
                else f"{best:.0%}", help="checked by linear programming when a target is missed: how close any weights "
                                         "within the floor and cap could get")
if weights.warnings:
    st.warning("\n".join([weights.warnings[0], ""] + [f"- {note}" for note in weights.warnings[1:]]))
for note in lvis.warnings[1:]:
    st.info(note)
st.plotly_chart(achieved_chart(weights, lvis), width="stretch", key="plan_achieved_chart")
achieved = compare_weights(weights, lvis).drop_columns(["count"]).to_pandas()
st.dataframe(achieved, hide_index=True, width="stretch", key="plan_achieved_table", column_config={
    "target": st.column_config.NumberColumn("planned", format="localized"),
    "achieved": st.column_config.NumberColumn("fitted achieves", format="%.1f"),
    "alternative_achieved": st.column_config.NumberColumn("LVIS achieves", format="%.1f"),
    "relative_error": st.column_config.NumberColumn("fitted error", format="percent"),
    "alternative_error": st.column_config.NumberColumn("LVIS error", format="percent"),
})

st.subheader("Augmentation and epoch quotas")
epochs = st.columns(3)[0].number_input("Epochs", 1, 1000, 10, key="plan_epochs",
                                      help="quotas are reproducible (seed 0)")
doc = build_document(plan, weights=weights, alternative=lvis, epochs=int(epochs), critical=state.critical_classes())
for tier in doc.policy.tier_table().to_pylist():
    st.markdown(f"- **{tier['tier']}** (from {tier['from']:g}x: {tier['classes']}) — {tier['augmentations']}")
st.caption("A tier applies from its multiplier up to the next tier's. In the per-image download each image gets the "
           "tier of its own expected repeats, so an oversampled image is not repeated as an exact copy.")
with st.expander(f"Per-epoch quotas ({int(epochs)} epochs)"):
    st.dataframe(doc.quotas.to_pandas(), hide_index=True, width="stretch", key="plan_quotas",
                 column_config={"coverage": st.column_config.NumberColumn("coverage", format="percent")})

st.subheader("Downloads")
stem = f"imbal_plan_{strategy}_{split}"
cols = st.columns(5)
cols[0].download_button("Plan (JSON)", doc.json_bytes(), file_name=f"{stem}.json", mime="application/json",
                        key="plan_dl_json", help="complete and machine-readable, with the inputs that produced it")
cols[1].download_button("Per class (CSV)", doc.csv_bytes(), file_name=f"{stem}.csv", mime="text/csv", key="plan_dl_csv")
cols[2].download_button("Summary (Markdown)", doc.markdown().encode(), file_name=f"{stem}.md", mime="text/markdown",
                        key="plan_dl_md")
cols[3].download_button("Weights (CSV)", weights_csv(weights, dataset, doc.policy), file_name=f"{stem}_weights.csv",
                        mime="text/csv", key="plan_dl_weights_csv")
cols[4].download_button("Weights (Parquet)", weights_parquet(weights, dataset, doc.policy),
                        file_name=f"{stem}_weights.parquet", mime="application/octet-stream", key="plan_dl_weights_parquet")
st.caption(f"Per-image weights: `WeightedRandomSampler(weights, num_samples={weights.epoch_images}, replacement=True)` "
           "with the `weight` column, rows matched to your dataset by `file_name`.")
