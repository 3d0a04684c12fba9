"""A health report to share: one self-contained HTML file and a Markdown summary for CI.

>>> from imbal_core.sharing import ReportSettings, build_report
>>> report = build_report(dataset, ReportSettings(critical=("Wheelchair",), predictions="predictions.json"))
>>> Path("report.html").write_text(report.html, encoding="utf-8")    # opens offline, prints
>>> print(report.markdown)                                            # for $GITHUB_STEP_SUMMARY

The report shows the library's own results (:mod:`.sections` says which function makes each
section), drawn with the pages' chart builders, every chart with its numbers in a table beside
it. ``imbal report`` writes it from the command line; the dashboard's Overview page offers the
same file as a download, built here with the choices made on its other pages.

Parts: :mod:`.sections` (what is computed, :class:`ReportSettings`), :mod:`.html` (escaping,
tables, figures, the page shell), :mod:`.page` and :mod:`.evaluation` (the sections' HTML),
:mod:`.markdown` (the summary).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from . import page
from .evaluation import evaluation
from .html import Figures
from .html import page as shell
from .markdown import render_markdown as _markdown
from .sections import PlanSettings, ReportData, ReportSettings, collect

__all__ = ["PlanSettings", "ReportData", "ReportSettings", "SharedReport", "build_report", "collect", "render_html",
           "render_markdown", "timestamp"]


@dataclass(frozen=True, eq=False)
class SharedReport:
    """The report of one dataset: ``html`` (the whole page) and ``markdown`` (the CI summary)."""

    data: ReportData
    html: str
    markdown: str
    generated_at: str

    def html_bytes(self) -> bytes:
        return self.html.encode("utf-8")

    def markdown_bytes(self) -> bytes:
        return self.markdown.encode("utf-8")


def timestamp(when: datetime | None = None) -> str:
    """``2025-06-01T09:30:00Z``: when a report was made (now, in UTC, by default)."""
    when = when or datetime.now(timezone.utc)
    if when.tzinfo is None:
        raise ValueError(f"`generated_at` must carry a time zone. Got {when.isoformat()} instead.")
    return when.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def render_html(data: ReportData, generated_at: str) -> str:
    """The page of ``data``: header, contents, then every section that has something to show."""
    figures = Figures()
    sections = [page.checklist(data), page.long_tail(data, figures), page.subgroups(data, figures),
                page.splits(data, figures)]
    if data.plan is not None:
        sections.append(page.plan(data, figures))
    if data.evaluated is not None:
        sections.append(evaluation(data, figures))
    sections.append(page.load_report(data))
    body = page.header(data, generated_at) + page.toc(sections) + "".join(
        f'<section aria-labelledby="{s.anchor}">{s.html}</section>' for s in sections)
    return shell(data.title, body, figures, generated_at)


def render_markdown(data: ReportData, generated_at: str, html_name: str | None = None) -> str:
    """The Markdown summary of ``data`` (:mod:`.markdown`); ``html_name``: the report file it points to."""
    return _markdown(data, generated_at, html_name)


def build_report(dataset, settings: ReportSettings | None = None, *, generated_at: datetime | None = None,
                 html_name: str | None = None) -> SharedReport:
    """The report of ``dataset`` with ``settings`` (defaults: :class:`ReportSettings`), made at
    ``generated_at`` (now). ``html_name``: the HTML file's name, for the summary's last line."""
    data = collect(dataset, settings)
    when = timestamp(generated_at)
    return SharedReport(data, render_html(data, when), render_markdown(data, when, html_name), when)
