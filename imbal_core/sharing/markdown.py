"""The Markdown summary of a report, for a CI job's page (``$GITHUB_STEP_SUMMARY``, GitLab's report).

GitHub-flavoured Markdown, under :data:`MAX_LINES` lines: the checklist, the top subgroup
findings, the rarest classes and, with predictions, the headline metrics. Text from the input
is escaped (:func:`md_text`): a ``|`` cannot end a cell, ``<script>`` shows as text, a
formula-like name stays text.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Sequence

from ..report import safe_text
from .html import number, percent
from .sections import ReportData

MAX_LINES = 60
TOP_FINDINGS = 8
RAREST = 5
MARK = {"pass": "✅ pass", "warn": "⚠️ warn", "fail": "❌ fail"}
#: Characters with a meaning in Markdown (inline) or in a GFM table, escaped with a backslash.
_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")
_DETAIL_LENGTH = 220


def md_text(value: Any, limit: int | None = None) -> str:
    """``value`` as literal Markdown text on one line: special characters backslash-escaped,
    ``&`` as ``&amp;``, line breaks as spaces; cut to ``limit`` characters (before escaping)."""
    text = " ".join(safe_text(str(value)).split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return _SPECIAL.sub(r"\\\1", text.replace("&", "&amp;"))


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[bool]) -> list[str]:
    """A GFM table; every cell escaped, numeric columns right-aligned."""
    def cell(v: Any) -> str:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return md_text(number(v))
        return md_text("—" if v is None else v)

    lines = ["| " + " | ".join(md_text(h) for h in headers) + " |",
             "| " + " | ".join("---:" if n else "---" for n in numeric) + " |"]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return lines


def _top_findings(data: ReportData) -> list[tuple[Any, Any]]:
    """The first findings of each condition in turn (rank 1 of each, then rank 2 ...)."""
    out = []
    depth = max((len(r.findings) for r in data.strata), default=0)
    for rank in range(depth):
        for result in data.strata:
            if rank < len(result.findings):
                out.append((result, result.findings[rank]))
    return out


def render_markdown(data: ReportData, generated_at: str, html_name: str | None = None) -> str:
    s = data.summary
    splits = " / ".join(f"{name} {s.split_images.get(name, 0):,}" for name in s.splits) or "none"
    lines = [f"## {md_text(data.title)}", "",
             f"{md_text(s.format)} {md_text(s.task)} · {s.images:,} images · {s.annotations:,} annotations · "
             f"{s.classes_used:,} of {s.classes_declared:,} classes used · splits: {md_text(splits)} · conditions: "
             f"{md_text(', '.join(s.conditions) or 'none')}",
             "", f"Content hash `{data.key}` · generated {generated_at}", ""]

    health = data.health
    lines += [f"### Health checklist: {MARK[health.status]}", ""]
    lines += md_table(["check", "verdict", "detail"],
                      [(r.title, MARK[r.status], md_cut(r.detail)) for r in health.rules], [False, False, False])
    lines.append("")

    top = _top_findings(data)
    total = sum(len(r.findings) for r in data.strata)
    if data.strata:
        lines += [f"### Hidden subgroups: {total:,} finding{'s' * (total != 1)}", ""]
        if top:
            rows = [(i, f.class_name + (" ★" if f.critical else ""), " x ".join(r.conditions),
                     " · ".join(f.condition.get(c, "") for c in r.conditions) if f.condition else "(whole split)",
                     f.split or "all splits", f.count, number(f.expected, 1))
                    for i, (r, f) in enumerate(top[:TOP_FINDINGS], 1)]
            lines += md_table(["#", "class", "condition", "value", "split", "count", "expected"], rows,
                              [True, False, False, False, False, True, True])
            if total > TOP_FINDINGS:
                lines.append(f"\n{total - TOP_FINDINGS:,} more in the full report.")
        else:
            lines.append("No class is far below its expected share in any condition.")
        lines.append("")

    lt = data.long_tails.get("instances")
    if lt is not None:
        present = [r for r in lt.classes.to_pylist() if r["count"] > 0]
        rarest = list(reversed(present[-RAREST:]))
        lines += [f"### Rarest classes (instances; imbalance ratio {number(lt.metrics.imbalance_ratio, 1)})", ""]
        images = {r["class"]: r["images"] for r in s.classes.to_pylist()}
        lines += md_table(["class", "instances", "images", "share", "LVIS group"],
                          [(r["class"] + (" ★" if r["critical"] else ""), r["count"], images.get(r["class"]),
                            percent(r["share"], 2), r["group"]) for r in rarest],
                          [False, True, True, True, False])
        absent = lt.metrics.absent
        if absent:
            lines.append(f"\n{len(absent):,} declared class{'es' * (len(absent) != 1)} without annotations.")
        lines.append("")

    if data.evaluated is not None:
        from ..evaluate.document import headline

        ev = data.evaluated.evaluation
        figures = [(label, value) for label, value, _ in headline(ev) if not (isinstance(value, float) and math.isnan(value))]
        lines += [f"### Evaluation ({md_text(ev.task)}, {ev.images:,} images)", ""]
        lines += md_table([label for label, _ in figures], [[number(v, 3, whole=False) for _, v in figures]], [True] * len(figures))
        lines.append("")

    if data.plan is not None:
        p = data.plan
        lines += [f"### Rebalancing plan: {md_text(p.spec.strategy)}, cap {p.spec.cap:g}x, budget {p.budget:,}", "",
                  f"Planned {p.total_effective:,}; imbalance {number(p.imbalance_ratio_before, 1)}:1 → "
                  f"{number(p.imbalance_ratio_after, 1)}:1; {len(p.capped_classes)} classes at the cap.", ""]

    where = f" in {md_text(Path(html_name).name)}" if html_name else ""
    lines.append(f"The full report, with charts and every table, is{where} (made by `imbal report`).")
    return "\n".join(lines) + "\n"


def md_cut(text: str) -> str:
    """A checklist detail short enough for one table row."""
    text = " ".join(str(text).split())
    return text if len(text) <= _DETAIL_LENGTH else text[: _DETAIL_LENGTH - 1] + "…"
