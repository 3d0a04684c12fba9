# imbal-page: section=Annotation; title=Active learning; icon=:material/model_training:; order=20
"""Active learning: rank the unlabelled pool by the model's uncertainty, share the batch among the classes
still short of their quota, cap the frames per drive, and download the ranked batch."""
import math
from pathlib import Path

import streamlit as st

from imbal_app import state
from imbal_app.gallery import gallery
from imbal_core.active import RULES, build_pool, select_batch
from imbal_core.active.summary import quota_needs, summarize_batch
from imbal_core.charts.active import condition_mix, uncertainty_histogram
from imbal_core.dataset import Dataset
from imbal_core.fingerprint import dataset_key
from imbal_core.gallery import select_images
from imbal_core.io.predictions import read_predictions
from imbal_core.quotas import Workspace, WorkspaceError
from imbal_core.quotas.progress import project_progress
from imbal_core.report import LoadError

NO_QUOTA = "no quotas (uncertainty only)"
CRITICAL = "the critical classes (equal shares)"


@st.cache_resource(max_entries=8, show_spinner="Scoring the pool…", hash_funcs={Dataset: dataset_key})
def scored_pool(path: str, modified: float, rule: str, aggregate: str, threshold: float, dataset: Dataset):
    """The pool scored once per predictions file (``modified`` invalidates it), export and rule."""
    predictions = read_predictions(path, dataset)
    return predictions, build_pool(predictions, dataset, rule=rule, aggregate=aggregate, class_threshold=threshold)


dataset = state.require_dataset()
if state.unavailable_on_lake(dataset, "Active learning", "it ranks predictions on an unlabelled pool and shows their "
                             "images, which a lake does not keep"):
    st.stop()
st.title("Active learning")
st.caption("Which unlabelled images to label next: those the model is least sure about, shared among the classes "
           "still short of their quota, a few frames per drive at most.")
path = state.predictions()
if path is None or not Path(path).exists():
    st.info("This page reads a model's predictions on the unlabelled pool: add a predictions file in the sidebar "
            "(**Conditions and predictions**). The bundled street and surface samples come with theirs.")
    st.stop()
st.caption(f"Pool: the images of **{state.label()}**, scored by `{Path(path).name}` (treated as unlabelled).")

c = st.columns([3, 2, 2])
rule = c[0].segmented_control("Uncertainty", RULES, default="entropy", required=True, key="al_rule",
                              help="least-confidence: 1 - top probability · margin: 1 - (top - second) · "
                                   "entropy: of the whole distribution")
aggregate = c[1].selectbox("Objects → image (detection)", ["max", "mean", "sum"], key="al_aggregate",
                           help="How an image's objects combine into its score.")
threshold = c[2].slider("Holds a class from probability", 0.05, 0.95, 0.3, 0.05, key="al_threshold")
try:
    predictions, pool = scored_pool(str(path), Path(path).stat().st_mtime, rule, aggregate, threshold, dataset)
except (LoadError, ValueError) as exc:
    st.error(f"These predictions cannot be used for this pool: {exc}")
    st.stop()
st.caption(predictions.summary_line())

# ------------------------------------------------------------------ quotas to fill
sources = [NO_QUOTA] + ([CRITICAL] if state.critical_classes() else [])
workspace = Workspace()
try:
    projects = [p.name for p in workspace.projects()]
except WorkspaceError as exc:
    projects = []
    st.warning(f"Quota projects are unavailable: {exc}")
sources += projects
default = st.session_state.get("quota_project") or (projects[0] if len(projects) == 1 else None)
s = st.columns([3, 1, 1, 1, 1])
source = s[0].selectbox("Fill the quotas of", sources, index=sources.index(default) if default in sources else 0,
                        key="al_source", help="A project from the Quotas page: each class short of its target gets a "
                                              "share of the batch in proportion to what it still needs.")
quotas = None
if source == CRITICAL:
    quotas = {name: float(pool.size) for name in state.critical_classes()}  # equal, and never capped
elif source != NO_QUOTA:
    try:
        result = project_progress(workspace, source)
    except ValueError as exc:
        st.error(str(exc))
        st.stop()
    quotas = quota_needs(result)
    if not quotas:
        st.info(f"Every class of {source} has met its target (or it has no targets): selecting by uncertainty only.")
n = s[1].number_input("Batch size", 1, max(1, pool.size), value=min(500, max(1, pool.size // 5)), key="al_n")
groups = (["group"] if pool.table.column("group").null_count < pool.size else []) + ["no cap"] + list(pool.conditions)
group = s[2].selectbox("Cap per", groups, key="al_group",
                       help="group: the export's drive / sequence / video (frames of one drive look alike); "
                            "or a condition value")
cap = s[3].number_input("at most", 1, max(1, int(n)), value=max(1, math.ceil(int(n) / 20)), key="al_cap",
                        disabled=group == "no cap", help="images per group (default: a twentieth of the batch)")
boost = s[4].number_input("Quota boost", 0.0, 10.0, value=1.0, step=0.5, key="al_boost",
                          help="images holding a short class score (1 + boost) x their uncertainty")
try:
    selection = select_batch(pool, int(n), quotas, boost=float(boost), group=None if group == "no cap" else group,
                             max_per_group=int(cap), seed=0)
except ValueError as exc:
    st.error(str(exc))
    st.stop()

# ------------------------------------------------------------------ summary
summary = summarize_batch(pool, selection)
m = st.columns(4)
m[0].metric("Pool images", f"{summary.pool_images:,}")
m[1].metric("Selected", f"{summary.selected:,}", help="fewer than asked when the group cap runs out of groups")
m[2].metric("Mean uncertainty", f"{summary.mean_uncertainty:.3f}" if summary.selected else "—",
            help=f"pool: {summary.pool_mean_uncertainty:.3f}")
if summary.groups_used is not None:
    label = "groups used" if selection.group == "group" else f"{selection.group.replace('_', ' ')} values used"
    m[3].metric(label, summary.groups_used, help=f"at most {selection.max_per_group} images each")
if selection.size < int(n):
    st.warning(f"Only {selection.size:,} images could be selected: raise the cap per group or choose another column.")
if selection.classes.num_rows:
    st.markdown("**Per quota class** — share = slots it was given; selected = images that fill it; "
                "holding = selected images predicted to hold it; candidates = pool images predicted to hold it.")
    st.dataframe(selection.classes.to_pandas(), hide_index=True, width="stretch",
                 column_config={"remaining": st.column_config.NumberColumn("still needed", format="%d")})
left, right = st.columns(2)
left.plotly_chart(uncertainty_histogram(pool, selection), width="stretch", key="al_hist")
if pool.conditions:
    condition = right.selectbox("Mix by", list(pool.conditions), key="al_condition")
    right.plotly_chart(condition_mix(selection, condition), width="stretch", key="al_mix")

st.subheader("Ranked batch")
shown = selection.batch.to_pandas().drop(columns=["image_id"])
if shown["fills"].isna().all():
    shown = shown.drop(columns=["fills"])
st.dataframe(shown, hide_index=True, width="stretch",
             column_config={"rank": st.column_config.NumberColumn("rank", pinned=True),
                            "score": st.column_config.NumberColumn("score", format="%.3f"),
                            "uncertainty": st.column_config.NumberColumn("uncertainty", format="%.3f")})
st.download_button("Download the batch (CSV)", selection.to_csv(), file_name=f"active_batch_{selection.size}.csv",
                   mime="text/csv", icon=":material/download:", key="al_csv")
st.caption("Command line: `imbal select --pool PREDICTIONS --images EXPORT --project PROJECT --n 500 "
           "--rule entropy --group sequence -o batch.csv`")

st.subheader("The batch's images")
gallery(dataset, select_images(dataset, ids=selection.batch.column("image_id").to_pylist()), key="al_gallery",
        predictions=predictions, score_threshold=threshold, file_name=f"active_batch_images_{selection.size}.csv",
        describe=f"in the batch, in rank order: its split under each, its drive and conditions on Enlarge; the "
                 f"model's predictions scoring at least {threshold:g} dashed, with their score")
