# imbal-page: section=Annotation; title=Quotas; icon=:material/flag:; order=10
"""Quotas: per-class targets kept in the workspace file, today's progress, pace, forecast and advice,
burn-up / burn-down, the daily ingest of the loaded export, and the playbook downloads."""
from datetime import date

import streamlit as st

from imbal_app import state
from imbal_core.charts.quotas import burn_chart, progress_bars
from imbal_core.downloads import csv_bytes
from imbal_core.report import LoadError
from imbal_core.quotas import UNITS, Workspace, WorkspaceError
from imbal_core.quotas.editing import parse_targets_frame, targets_frame
from imbal_core.quotas.playbook import playbook
from imbal_core.quotas.burn import burn_series
from imbal_core.quotas.progress import ALL_CLASSES, progress
from imbal_core.quotas.sample import SAMPLE_DEADLINE, SAMPLE_PROJECT, add_sample_project
from imbal_core.quotas.snapshot import latest_timestamp
from imbal_core.types import QuotaStatus

VERSION = "quota_targets_version"

st.title("Quotas")
st.caption("Per-class annotation targets and where each class stands, day by day. Projects, targets and "
           "daily snapshots live in the workspace file, so they are here again after a restart.")
workspace = Workspace()
st.caption(f"Workspace: `{workspace.path.resolve()}`"
           + ("" if workspace.exists else " — not created yet; it is created with the first project")
           + " · set `IMBAL_WORKSPACE` to use another file.")
dataset = state.dataset()


def create_project(name: str) -> None:
    try:
        workspace.create_project(name)
    except ValueError as exc:
        st.session_state["quota_error"] = str(exc)
        return
    st.session_state["quota_project"] = name.strip()


def open_sample_project() -> None:
    try:
        with st.spinner("Adding the ten-day sample project…"):
            st.session_state["quota_project"] = add_sample_project(workspace)
    except (LoadError, ValueError) as exc:
        st.session_state["quota_error"] = f"The sample project could not be added: {exc}"


try:
    projects = [p.name for p in workspace.projects()]
except WorkspaceError as exc:
    st.error(str(exc))
    st.stop()
if "quota_error" in st.session_state:
    st.error(st.session_state.pop("quota_error"))

pick, new = st.columns([3, 2], vertical_alignment="bottom")
with new.popover("New project", icon=":material/add:", width="stretch"):
    name = st.text_input("Project name", key="quota_new_name", placeholder="street push, December")
    if st.button("Create project", key="quota_create", disabled=not name.strip()):
        create_project(name)
        st.rerun()
    if SAMPLE_PROJECT not in projects and st.button("Add the ten-day sample project", key="quota_sample_more"):
        open_sample_project()
        st.rerun()
if not projects:
    st.info("No quota project yet. Create one with **New project**, set its targets, then ingest the day's export "
            "(or use `imbal quota set` and `imbal quota ingest` from the command line). To see what the page "
            f"shows, open **{SAMPLE_PROJECT}**: 600 Wheelchairs and 500 Bicycles by "
            f"{SAMPLE_DEADLINE:%d %b %Y}, ten days of the street annotation push.")
    if st.button("Open the sample project", icon=":material/play_arrow:", key="quota_sample", type="primary"):
        open_sample_project()
        st.rerun()
    st.stop()
if st.session_state.get("quota_project") not in projects:
    st.session_state["quota_project"] = projects[0]
project = pick.selectbox("Project", projects, key="quota_project")

# ------------------------------------------------------------------ today's export
with st.container(border=True):
    if dataset is None:
        st.caption("Load today's export in the sidebar to add it to this project.")
    elif state.unavailable_on_lake(dataset, "Ingesting a snapshot",
                                   "a snapshot counts annotations by their annotation dates and annotators, which a "
                                   "lake does not keep"):
        pass
    else:
        stamped = latest_timestamp(dataset)
        left, right = st.columns([3, 2], vertical_alignment="bottom")
        left.markdown(f"**Today's export:** {state.label()} — {dataset.summary_line()}")
        at = right.date_input("It stands for", value=stamped.date() if stamped else date.today(), key="quota_at",
                              help="The day this export shows the state of. Default: its latest annotated_at.")
        if left.button("Ingest the loaded export", icon=":material/download:", key="quota_ingest"):
            try:
                result = workspace.ingest(project, dataset, at=stamped if stamped and stamped.date() == at else at)
            except ValueError as exc:
                st.error(str(exc))
            else:
                snap = result.snapshot
                st.toast(f"Snapshot {snap.snapshot_id} added ({snap.day})" if result.created else
                         f"Already in {project}: snapshot {snap.snapshot_id} of {snap.day}; nothing written.")

data = workspace.load(project)

# ------------------------------------------------------------------ targets
st.subheader("Targets")
version = st.session_state.setdefault(VERSION, 0)
with st.form(f"quota_targets_form_{project}"):
    edited = st.data_editor(
        targets_frame(data, dataset.class_names if dataset is not None else ()),
        key=f"quota_targets_{project}_{version}", hide_index=True, width="stretch", disabled=["class"],
        column_config={
            "class": st.column_config.TextColumn("class", pinned=True),
            "target": st.column_config.NumberColumn("target", min_value=0, step=1, help="empty or 0: no quota"),
            "unit": st.column_config.SelectboxColumn("unit", options=list(UNITS), required=True),
            "deadline": st.column_config.DateColumn("deadline", format="YYYY-MM-DD"),
            "priority": st.column_config.NumberColumn("priority", min_value=1, step=1, help="1 comes first"),
            "critical": st.column_config.CheckboxColumn("critical", help="front-load it in the playbook"),
        })
    saved = st.form_submit_button("Save targets", icon=":material/save:")
if saved:
    try:
        targets, cleared = parse_targets_frame(edited)
        workspace.set_targets(project, targets, remove=cleared)
    except ValueError as exc:
        st.error(str(exc))
    else:
        st.session_state[VERSION] = version + 1
        st.rerun()
if not data.targets:
    st.info("Give at least one class a target and a deadline, then **Save targets**.")
    st.stop()
if not data.snapshots:
    st.info("No export ingested yet: load today's export in the sidebar and click **Ingest the loaded export**.")
    st.stop()

# ------------------------------------------------------------------ progress
st.subheader("Progress")
a, b, c = st.columns(3)
as_of = a.date_input("As of", value=None, key="quota_as_of", help="Default: the day of the latest snapshot.")
window = b.number_input("Pace over the last (working days)", 1, 60, value=data.project.window_days, key="quota_window")
history = c.segmented_control("Daily counts from", ["auto", "snapshots", "timestamps"], default="auto",
                              required=True, key="quota_history",
                              help="auto: each snapshot, with the days between filled from the next export's "
                                   "annotated_at timestamps")
try:
    result = progress(data, as_of=as_of, window=int(window), history=history)
except ValueError as exc:
    st.error(str(exc))
    st.stop()

counts = result.status_counts
m = st.columns(5)
m[0].metric("As of", result.as_of.isoformat() if result.as_of else "—")
m[1].metric("Quota classes", len(result.classes))
m[2].metric("Off track", counts[QuotaStatus.OFF_TRACK])
m[3].metric("At risk", counts[QuotaStatus.AT_RISK])
m[4].metric("Done", counts[QuotaStatus.DONE], help="target met: stop collecting")
st.caption(f"{len(data.snapshots)} snapshot(s) · pace = average daily gain over the last {result.window} working days"
           + (f" · {result.labellers_per_day:.1f} labellers a day lately" if result.labellers_per_day else ""))
st.plotly_chart(progress_bars(result), width="stretch", key="quota_bars")

table = result.to_pandas()
st.dataframe(
    table[["class", "status", "current", "target", "unit", "percent", "rate_per_day", "needed_per_day", "days_left",
           "projected_date", "projected_at_deadline", "deadline"]].assign(status=table["status"].map(lambda s: QuotaStatus(s).legend)),
    hide_index=True, width="stretch",
    column_config={"class": st.column_config.TextColumn("class", pinned=True),
                   "percent": st.column_config.ProgressColumn("% of target", min_value=0, max_value=100, format="%.0f%%"),
                   "rate_per_day": st.column_config.NumberColumn("pace / day", format="%.1f"),
                   "needed_per_day": st.column_config.NumberColumn("needed / day", format="%.1f"),
                   "days_left": st.column_config.NumberColumn("working days left"),
                   "projected_date": st.column_config.TextColumn("reaches target on"),
                   "projected_at_deadline": st.column_config.NumberColumn("at deadline (projected)", format="%d")})

st.subheader("Today's advice")
for k in result.classes:
    st.markdown(f"{k.status.badge} {k.advice}")

st.subheader("Burn-up / burn-down")
series = burn_series(result)
names = [k.category for k in result.classes] + ([ALL_CLASSES] if ALL_CLASSES in set(series.column("class").to_pylist()) else [])
left, right = st.columns([3, 2])
chosen = left.selectbox("Class", names, key="quota_burn_class")
mode = right.segmented_control("Chart", ["up", "down"], default="up", required=True, key="quota_burn_mode",
                               format_func=lambda v: "burn-up (count)" if v == "up" else "burn-down (remaining)")
st.plotly_chart(burn_chart(series, chosen, mode), width="stretch", key="quota_burn")
with st.expander(f"Snapshots ({len(data.snapshots)})"):
    st.dataframe([s.to_dict() for s in data.snapshots], hide_index=True, width="stretch",
                 column_order=["snapshot_id", "day", "taken_at", "images", "annotations", "has_timestamps", "source"])

# ------------------------------------------------------------------ playbook
st.subheader("Playbook")
st.caption("A per-day quota sheet for the next working days that never asks for more than the team can label, "
           "front-loading critical classes; and the one-page plan to hand out.")
p = st.columns(4)
days = p[0].number_input("Working days", 1, 60, value=10, key="quota_days")
labellers = p[1].number_input("Labellers", 1, 500, value=max(1, round(result.labellers_per_day or 5)), key="quota_labellers")
per_labeller = p[2].number_input("Items per labeller a day", 1, 100_000, value=80, key="quota_per_labeller")
units = sorted({k.unit for k in result.classes})
unit = p[3].selectbox("Unit", units, key="quota_unit") if len(units) > 1 else units[0]
try:
    book = playbook(result, days=int(days), capacity=int(labellers * per_labeller), unit=unit)
except ValueError as exc:
    st.error(str(exc))
    st.stop()
st.caption(f"Capacity: {book.capacity:,} {book.unit} a day ({int(labellers)} x {int(per_labeller):,}).")
st.dataframe(book.sheet_wide().to_pandas(), hide_index=True, width="stretch")
for note in book.warnings():
    st.warning(note)
d1, d2 = st.columns(2)
stem = f"{project.replace(' ', '_')}_{book.as_of.isoformat()}"
d1.download_button("Download the daily sheet (CSV)", book.to_csv(), file_name=f"{stem}_quota_sheet.csv",
                   mime="text/csv", icon=":material/table:", key="quota_csv")
d2.download_button("Download the plan (Markdown)", book.to_markdown().encode("utf-8"), file_name=f"{stem}_plan.md",
                   mime="text/markdown", icon=":material/description:", key="quota_md")
with st.expander("Progress table (CSV)"):
    st.download_button("Download progress (CSV)", csv_bytes(result.to_arrow()), file_name=f"{stem}_progress.csv",
                       mime="text/csv", key="quota_progress_csv")
