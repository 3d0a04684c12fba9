"""The "Download report" button (Overview page and the sidebar's status): the shared health report
of :mod:`imbal_core.sharing`, built with the choices made on the other pages.

Carried over: the critical classes (Long tail page, :func:`imbal_app.state.critical_classes`),
the conditions crossed on the Conditions page (crossed first, then each other condition), the
Rebalancing plan page's settings (a plan section, once that page was opened; not for custom
targets) and the predictions chosen with the dataset (an evaluation section).

Streamlit forgets a page's widget values after a run of another page, but not before that run
ends: :func:`remember` (called from the sidebar, which runs before every page) copies them into
:data:`CHOICES`, per dataset. The report is built only when the button is clicked (a deferred
download), so no page pays for it.
"""
from __future__ import annotations

import re

import streamlit as st

from imbal_app import state
from imbal_core.dataset import Dataset
from imbal_core.fingerprint import dataset_key
from imbal_core.sharing import PlanSettings, ReportSettings, build_report
from imbal_core.sharing.sections import MAX_DEFAULT_CONDITIONS

CHOICES = "imbal.report_choices"
#: The Conditions page's widget: one condition or a pair.
CONDITIONS_KEY = "cond_by"
#: The Rebalancing plan page's widgets -> :class:`PlanSettings` fields.
PLAN_KEYS = {"plan_cap": "cap", "plan_budget": "budget", "plan_strategy": "strategy", "plan_unit": "unit",
             "plan_split": "split", "plan_floor": "floor", "plan_beta": "beta", "plan_threshold": "threshold"}


def remember() -> None:
    """Keep the Conditions and Plan pages' current choices for the loaded dataset (see the module docstring)."""
    dataset = state.dataset()
    if dataset is None:
        return
    entry = st.session_state.setdefault(CHOICES, {}).setdefault(dataset_key(dataset), {})
    if st.session_state.get(CONDITIONS_KEY):
        entry["by"] = list(st.session_state[CONDITIONS_KEY])
    if "plan_cap" in st.session_state:  # the plan page ran: all its current values, none of an earlier strategy's
        entry["plan"] = {field: st.session_state[key] for key, field in PLAN_KEYS.items() if key in st.session_state}


def settings(dataset: Dataset) -> ReportSettings:
    """The report settings the session's choices describe, for ``dataset``."""
    entry = st.session_state.get(CHOICES, {}).get(dataset_key(dataset), {})
    chosen = tuple(c for c in entry.get("by", []) if c in dataset.conditions)
    by = None
    if chosen:
        others = [(c,) for c in dataset.conditions[:MAX_DEFAULT_CONDITIONS] if (c,) != chosen]
        by = (chosen if len(chosen) > 1 else chosen[0], *others)
    plan = None
    values = entry.get("plan")
    if values and values.get("strategy") != "custom":  # custom targets live in a table the report cannot carry
        plan = PlanSettings(**{k: v for k, v in values.items() if v is not None})
    predictions = state.predictions()
    return ReportSettings(title=f"imbal report — {state.label()}" if state.label() else None,
                          critical=tuple(state.critical_classes()), by=by, plan=plan,
                          predictions=str(predictions) if predictions else None)


def file_name(label: str) -> str:
    stem = re.sub(r"[^0-9A-Za-z]+", "_", label).strip("_").lower()[:60] or "dataset"
    return f"imbal_report_{stem}.html"


def download_button(where: str) -> None:
    """The button (``where``: "overview" or "sidebar", for its key); nothing without a dataset."""
    dataset = state.dataset()
    if dataset is None:
        return
    remember()
    chosen = settings(dataset)
    name = file_name(state.label())

    def build() -> bytes:  # runs on click, on a thread of its own: it sees only what it closes over
        return build_report(dataset, chosen, html_name=name).html_bytes()

    carried = [f"critical: {', '.join(chosen.critical) or 'none'}"]
    if chosen.by:
        first = chosen.by[0]
        carried.append(f"conditions: {first if isinstance(first, str) else ' x '.join(first)} first")
    if chosen.plan:
        carried.append(f"plan: cap {chosen.plan.cap:g}x, budget {chosen.plan.budget or 'current total'}")
    if chosen.predictions:
        carried.append("evaluation of the predictions chosen with the dataset")
    st.download_button("Download report", build, file_name=name, mime="text/html", key=f"report_download_{where}",
                       on_click="ignore", icon=":material/download:",
                       help="One HTML file that opens offline and prints: checklist, long tail, hidden subgroups, "
                            "split health, load report — " + "; ".join(carried) + ".")
