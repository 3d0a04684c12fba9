"""The report's sections as HTML: header, checklist, long tail, subgroups, splits, plan, load report.

Each builder takes the results :func:`imbal_core.sharing.sections.collect` gathered and the page's
:class:`~imbal_core.sharing.html.Figures`, draws its charts with the chart builders of
:mod:`imbal_core.charts` (the pages' own) and puts the numbers of every chart in a table beside it.
The evaluation section is in :mod:`.evaluation`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .html import MISSING, Figures, badge, esc, number, pair, percent, table
from .sections import ReportData

ALL = "all splits"


@dataclass(frozen=True)
class Section:
    """One part of the page: its anchor, its title in the table of contents and its HTML."""

    anchor: str
    title: str
    html: str


def anchor(*parts: str) -> str:
    """An id made of letters, digits and dashes (condition names are the dataset's own)."""
    text = "-".join(parts).lower()
    return "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in text).strip("-") or "section"


def header(data: ReportData, generated_at: str) -> str:
    from .. import __version__

    s = data.summary
    settings = data.settings
    splits = " · ".join(f"{name} {s.split_images.get(name, 0):,}" for name in s.splits) or "none"
    facts = [
        ("Dataset", ", ".join(Path(p).name for p in s.sources) or MISSING),
        ("Format", f"{s.format} ({s.task})"),
        ("Images", f"{s.images:,}"),
        ("Annotations", f"{s.annotations:,}"),
        ("Classes", f"{s.classes_used:,} with annotations of {s.classes_declared:,} declared"),
        ("Splits (images)", splits),
        ("Conditions", ", ".join(s.conditions) or "none"),
        ("Critical classes", ", ".join(data.critical) or "none flagged"),
    ]
    if settings.predictions:
        facts.append(("Predictions", Path(settings.predictions).name))
    rows = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts)
    rows += f'<dt>Generated</dt><dd><time datetime="{esc(generated_at)}">{esc(generated_at)}</time></dd>'
    rows += f'<dt>Content hash</dt><dd class="hash" data-key="{esc(data.key)}">{esc(data.key)}</dd>'
    rows += f"<dt>Made with</dt><dd>imbal {esc(__version__)} — <code>imbal report</code></dd>"
    return (f'<header class="top"><h1>{esc(data.title)}</h1><dl class="facts">{rows}</dl>'
            f'<p class="note">Every number here is the one the dashboard\'s pages and the <code>imbal</code> '
            "commands give for the same data and settings. Charts are interactive (hover for values); each has its "
            "numbers in a table beside it.</p></header>")


def toc(sections: list[Section]) -> str:
    items = "".join(f'<li><a href="#{esc(s.anchor)}">{esc(s.title)}</a></li>' for s in sections)
    return f'<nav class="toc" aria-label="Contents"><strong>Contents</strong><ol>{items}</ol></nav>'


def checklist(data: ReportData) -> Section:
    report = data.health
    failed = [r.title for r in report.rules if r.status == "fail"]
    if failed:
        verdict = f"{len(failed)} of {len(report.rules)} rules fail: {', '.join(failed)}. <code>imbal check</code> exits 1."
    elif report.status == "warn":
        verdict = "Warnings only, no rule fails: <code>imbal check</code> exits 0."
    else:
        verdict = "Every rule passes: <code>imbal check</code> exits 0."
    config = report.config
    rows = [(r.rule, r.title, badge(r.status), r.detail) for r in report.rules]
    body = (f'<p>{badge(report.status)} {verdict}</p>'
            + table(["rule", "check", "verdict", "detail"], rows, name="checklist", numeric=[False] * 4, scroll=False)
            + f'<p class="note">Thresholds: at least {config.min_instances:,} instances per class '
              f"({config.comfortable_instances:,} to pass without a warning), critical classes "
              f"{config.critical_min_instances:,}, long-tail ratio at most {config.max_ratio:g}, split share tolerance "
              f"±{config.share_tolerance:.0%}. The same check in a pipeline: <code>imbal check PATH --json</code>.</p>")
    return Section("checklist", "Health checklist", f'<h2 id="checklist">Health checklist</h2>{body}')


def long_tail(data: ReportData, figures: Figures) -> Section:
    from ..charts.longtail import class_bars

    parts = ['<h2 id="long-tail">Long tail</h2><p class="note">Per-class counts in each unit, largest first; '
             "LVIS frequency groups by training images (rare 1-10, common 11-100, frequent above 100).</p>"]
    for unit, lt in data.long_tails.items():
        m = lt.metrics
        label = lt.unit_label
        parts.append(f'<h3 id="long-tail-{esc(unit)}">By {esc(label)}</h3>')
        parts.append(f"<p>{m.present:,} of {m.classes:,} classes with data · imbalance ratio {esc(number(m.imbalance_ratio, 1))}"
                     f" · Gini {esc(number(m.gini, 2))} · evenness {esc(number(m.evenness, 2))} · effective classes "
                     f"{esc(number(m.effective_classes, 1))} · head: {len(m.head):,} classes hold {m.head_share:.0%}.</p>")
        rarest = lt.rarest
        if rarest is not None:
            parts.append(f"<p>Rarest: <strong>{esc(rarest['class'])}</strong> — {esc(number(rarest['count']))} "
                         f"({esc(percent(rarest['share'], 2))} of the total), LVIS group {esc(rarest['group'])}.</p>")
        if unit == "pixels" and lt.pixel_source == "boxes":
            parts.append('<p class="note">Boxes only, no masks: pixels are the box area (w × h, summed), '
                         "which overstates thin objects.</p>")
        minimum = data.health.config.min_instances if unit == "instances" else None
        chart = figures.chart(class_bars(lt, minimum=minimum), f"Classes by {label}, largest first")
        splits = list(lt.splits)
        headers = ["class", label, "share", "rank", "part", "LVIS group", *splits, "absent from"]
        rows = []
        for r in lt.classes.to_pylist():
            name = r["class"] + (" ★" if r["critical"] else "")
            rows.append([name, r["count"], percent(r["share"], 2), r["rank"], r["part"], r["group"],
                         *[r[f"count_{s}"] for s in splits], ", ".join(r["absent_from"])])
        numeric = [False, True, True, True, False, False, *[True] * len(splits), False]
        parts.append(pair(chart, table(headers, rows, name=f"longtail-{unit}", numeric=numeric,
                                       caption=f"Per class, {label} (★ critical)")))
    return Section("long-tail", "Long tail", "".join(parts))


def _condition_text(condition: dict, names: tuple[str, ...]) -> str:
    return " · ".join(str(condition.get(n, "")) for n in names) if condition else "(whole split)"


def subgroups(data: ReportData, figures: Figures) -> Section:
    from ..charts.strata import heatmap

    parts = ['<h2 id="subgroups">Hidden subgroups</h2>']
    if not data.strata:
        parts.append("<p>This dataset has no conditions (time of day, weather, camera …) to cross the classes with. "
                     "Add a conditions sidecar to the export to find classes missing where it matters.</p>")
        return Section("subgroups", "Hidden subgroups", "".join(parts))
    parts.append('<p class="note">Each condition crossed with the classes (instances): cells where a class is far '
                 "below the share independence predicts, ranked, critical classes first — the findings of "
                 "<code>imbal strata --by COND</code>. Heatmap colour: adjusted residuals (red: fewer than expected).</p>")
    if data.left_out:
        parts.append(f'<p class="note">Also in the dataset, not crossed here: {esc(", ".join(data.left_out))} '
                     "(name them with <code>--by</code>).</p>")
    for result in data.strata:
        label = " x ".join(result.conditions)
        key = anchor("subgroups", *result.conditions)
        n = len(result.findings)
        parts.append(f'<h3 id="{esc(key)}">{esc(label)}</h3>')
        test = result.table.test
        parts.append(f"<p>{n:,} finding{'s' * (n != 1)} in {result.cells_tested:,} cells tested (family-wise alpha "
                     f"{result.alpha:g}) · chi² {esc(number(test.chi2, 1))}, Cramér's V {esc(number(test.cramers_v, 3))} "
                     "over all splits.</p>")
        rows = [[i, f.class_name + (" ★" if f.critical else ""), _condition_text(f.condition, result.conditions),
                 f.split or ALL, f.kind, f.count, number(f.expected, 1), number(f.ratio, 2), f.text]
                for i, f in enumerate(result.findings, 1)]
        if rows:
            parts.append(table(["rank", "class", label, "split", "kind", "count", "expected", "ratio", "finding"], rows,
                               name=f"findings-{label}", caption=f"Findings: {label}",
                               numeric=[True, False, False, False, False, True, True, True, False]))
        else:
            parts.append(f'<p data-findings="none">No class is far below its expected share in any of the '
                         f"{result.cells_tested:,} cells tested.</p>")
        t = result.table
        if not t.counts.size:
            parts.append(f'<p class="note">No instances with a known {esc(label)}.</p>')
            continue
        chart = figures.chart(heatmap(t, "residuals"), f"Classes by {label}: residuals")
        rows = [[c, *[f"{number(v)} ({r:+.1f})" for v, r in zip(t.counts[i], t.residuals[i])]]
                for i, c in enumerate(t.classes)]
        note = f"{len(t.folded)} smaller values folded into other. " if t.folded else ""
        note += f"{number(t.unknown)} instances with an unknown value left out." if t.unknown else ""
        parts.append(pair(chart, table(["class", *t.labels], rows, name=f"strata-{label}",
                                       numeric=[False] + [True] * len(t.labels),
                                       caption=f"Instances by {label}: count (adjusted residual)")))
        if note:
            parts.append(f'<p class="note">{esc(note)}</p>')
    return Section("subgroups", "Hidden subgroups", "".join(parts))


def splits(data: ReportData, figures: Figures) -> Section:
    from ..charts.splits import class_shares

    health = data.splits
    parts = ['<h2 id="splits">Split health</h2>']
    if not health.verdicts:
        parts.append(f"<p>{esc(health.message)}</p>")
        return Section("splits", "Split health", "".join(parts))
    parts.append(f"<p>{badge(health.status)} Label-distribution error {esc(number(health.label_distribution_error, 5))}"
                 f" · groups in several splits {health.leaks.num_rows:,} · file names in several splits "
                 f"{health.duplicates.num_rows:,}" + (f" · grouped by <code>{esc(health.group_by)}</code>"
                                                      if health.group_by else "") + ".</p>")
    rows = [(v.split, badge(v.status), v.images, percent(v.image_share), number(v.js_divergence, 4),
             "; ".join(v.reasons) or "looks like the whole") for v in health.verdicts]
    parts.append(table(["split", "verdict", "images", "share of images", "class divergence", "why"], rows,
                       name="splits", numeric=[False, False, True, True, True, False], scroll=False))
    shares = health.classes.to_pylist()
    names = list(dict.fromkeys(r["class"] for r in shares))
    split_names = list(dict.fromkeys(r["split"] for r in shares))
    cell = {(r["class"], r["split"]): r["share"] for r in shares}
    whole = {r["class"]: r["whole_share"] for r in shares}
    names.sort(key=lambda n: -(whole.get(n) or 0))
    rows = [[n, percent(whole.get(n), 2), *[percent(cell.get((n, s)), 2) for s in split_names]] for n in names]
    chart = figures.chart(class_shares(health.classes, "relative"), "Each class's share of each split over its share of the whole")
    parts.append(pair(chart, table(["class", "whole", *split_names], rows, name="split-shares",
                                   numeric=[False] + [True] * (len(split_names) + 1),
                                   caption=f"Share of each split's {health.unit}, per class")))
    if health.leaks.num_rows:
        leaks = health.leaks.to_pylist()
        cols = list(leaks[0])
        parts.append(table(cols, [[r[c] if not isinstance(r[c], list) else ", ".join(map(str, r[c])) for c in cols]
                                  for r in leaks], name="leaks", caption="Groups in several splits (leakage)"))
    if health.duplicates.num_rows:
        dups = health.duplicates.to_pylist()
        cols = list(dups[0])
        parts.append(table(cols, [[r[c] if not isinstance(r[c], list) else ", ".join(map(str, r[c])) for c in cols]
                                  for r in dups], name="duplicates", caption="File names in several splits"))
    return Section("splits", "Split health", "".join(parts))


def plan(data: ReportData, figures: Figures) -> Section:
    from ..charts.plan import plan_chart

    p = data.plan
    spec = p.spec
    where = f"{p.source.split} split, {p.source.images:,} images" if p.source else ""
    parts = ['<h2 id="plan">Rebalancing plan</h2>',
             f"<p><strong>{esc(spec.strategy)}</strong> plan in {esc(spec.unit)} ({esc(where)}): cap {spec.cap:g}x, "
             f"floor {spec.floor:g}, budget {p.budget:,}; planned {p.total_effective:,}. Imbalance "
             f"{esc(number(p.imbalance_ratio_before, 1))}:1 → {esc(number(p.imbalance_ratio_after, 1))}:1; "
             f"{len(p.capped_classes)} classes at the cap.</p>"]
    for warning in p.warnings:
        parts.append(f'<p class="note">Warning: {esc(warning)}</p>')
    order = sorted(range(len(p.classes)), key=lambda i: -p.counts[i])
    rows = [[p.classes[i], int(p.counts[i]), int(p.targets[i]), int(p.effective[i]),
             MISSING if p.multipliers[i] != p.multipliers[i] else f"{p.multipliers[i]:.2f}x",
             "cap" if p.capped[i] else "floor" if p.floored[i] else ""] for i in order]
    chart = figures.chart(plan_chart(p), "Current and planned samples per class")
    parts.append(pair(chart, table(["class", f"current {spec.unit}", "strategy target", "planned", "multiplier", "bound"],
                                   rows, name="plan", numeric=[False, True, True, True, True, False],
                                   caption="Per class, samples per epoch")))
    parts.append('<p class="note">The same plan, with per-image weights: <code>imbal plan PATH --budget N --cap C '
                 "--weights w.parquet</code>.</p>")
    return Section("plan", "Rebalancing plan", "".join(parts))


def _report_table(report, name: str) -> str:
    if not report:
        return "<p>No problems were found while reading.</p>"
    rows = [(r["code"], r["action"], r["rows"], r["example"], Path(r["file"]).name if r["file"] else "")
            for r in report.summary().to_pylist()]
    return (f"<p>{len(report):,} problems found while reading; {report.skipped:,} records left out.</p>"
            + table(["problem", "action", "records", "first example", "file"], rows, name=name,
                    numeric=[False, False, True, False, False]))


def load_report(data: ReportData) -> Section:
    parts = ['<h2 id="load-report">Load report</h2><p class="note">What imbal met while reading the export: '
             "records skipped, clipped or repaired, and why.</p>", _report_table(data.dataset.report, "load-report")]
    if data.evaluated is not None:
        parts.append(f"<h3>Predictions</h3><p>{esc(data.evaluated.predictions.summary_line())}</p>")
        parts.append(_report_table(data.evaluated.predictions.report, "predictions-report"))
    return Section("load-report", "Load report", "".join(parts))
