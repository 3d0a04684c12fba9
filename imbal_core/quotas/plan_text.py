"""The playbook as a one-page Markdown plan: where each class stands, daily quotas, sourcing actions,
the active-learning rule, the metrics to watch and the stop / adjust rules."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .progress import StatusRules

if TYPE_CHECKING:
    from .playbook import Playbook

STATUS_WORDS = {"done": "done", "on_track": "on track", "at_risk": "at risk", "off_track": "off track",
                "unknown": "no pace yet"}


def _cell(text: object) -> str:
    """Markdown table cells: no pipes or newlines from class names."""
    return str(text).replace("|", "/").replace("\n", " ")


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}" if digits else f"{value:,.0f}"


def plan_markdown(book: "Playbook", predictions_hint: str = "PREDICTIONS") -> str:
    progress = book.progress
    rules: StatusRules = progress.rules
    first, last = book.days[0], book.days[-1]
    lines = [
        f"# Annotation plan — {_cell(book.project)}",
        "",
        f"As of **{book.as_of.isoformat()}** · {len(book.days)} working days, {first:%a %Y-%m-%d} to {last:%a %Y-%m-%d} · "
        f"capacity **{book.capacity:,} {book.unit} a day**"
        + (f" · {progress.labellers_per_day:.1f} labellers a day lately" if progress.labellers_per_day else ""),
        "",
        "## Where we stand",
        "",
        f"| class | status | now / target | pace (last {progress.window} d) | needed a day | projected | deadline |",
        "| --- | --- | ---: | ---: | ---: | --- | --- |",
    ]
    for c in progress.classes:
        if c.unit != book.unit:
            continue
        flag = " (critical)" if c.critical else ""
        lines.append(
            f"| {_cell(c.category)}{flag} | {STATUS_WORDS[c.status]} | {c.current:,.0f} / {c.target:,} | "
            f"{_num(c.rate_per_day)} | {_num(c.needed_per_day)} | "
            f"{c.projected_date.isoformat() if c.projected_date else '—'} | {c.deadline.isoformat()} |")
    wide = book.sheet_wide().to_pylist()
    names = [c.category for c in book.classes if c.demand > 0]
    lines += ["", "## Daily quotas", ""]
    if names:
        lines += ["| day | " + " | ".join(_cell(n) for n in names) + " | free |",
                  "| --- | " + " | ".join("---:" for _ in names) + " | ---: |"]
        for row in wide:
            lines.append(f"| {row['weekday']} {row['day'].isoformat()} | "
                         + " | ".join(f"{row[n]:,}" for n in names) + f" | {row['free']:,} |")
        for note in book.warnings():
            lines.append(f"\n**Note:** {_cell(note)}")
    else:
        lines.append("Every quota class has met its target: no quotas to hand out.")
    lines += ["", "## Sourcing actions", ""]
    for c in book.classes:
        lines.append(f"- **{_cell(c.category)}** ({STATUS_WORDS[c.status]}{', critical' if c.critical else ''}): {c.advice}")
    boosted = [c.category for c in book.classes if c.demand > 0]
    lines += [
        "", "## Active-learning rule", "",
        "Each morning, run the model on the new unlabelled frames and pick the batch to label from its predictions:",
        "",
        f"    imbal select --pool {predictions_hint} --project \"{book.project}\" --n <batch size> --rule entropy "
        "--group sequence -o batch.csv",
        "",
        "The batch is ranked by uncertainty (entropy), boosted for frames predicted to hold a class still short of its "
        "quota" + (f" ({', '.join(boosted)})" if boosted else "") + "; each class gets its share of the batch in "
        "proportion to what it still needs, and no drive gives more than its share of frames.",
        "", "## Metrics to watch", "",
        f"- Each quota class's pace over the last {progress.window} working days against the pace it needs "
        f"(`imbal quota status \"{book.project}\"`).",
        "- Each class's share of the day's output: a share that keeps falling while the team keeps its pace means the "
        "frames that show it are running out — more labellers will not help, routing collection will.",
        "- The team's daily output against the capacity planned here; labellers a day.",
        "- Per-class recall of the model on the quota classes, per condition, after each retraining (Evaluation page).",
        "", "## Stop / adjust rules", "",
        "- **Stop** collecting a class the day it meets its target; move its effort to the classes behind.",
        f"- **On track**: the pace is at least {rules.on_track:g} x the pace needed. Keep going.",
        f"- **At risk**: the pace is between {rules.at_risk:g} x and {rules.on_track:g} x the pace needed. Look again "
        "tomorrow; re-plan if it stays there two days.",
        f"- **Off track**: below {rules.at_risk:g} x. If the class is capacity-limited, add labellers; if its share of "
        "the output is falling (supply-limited), re-route collection or run an active-learning batch for it.",
        "- **Re-plan** when the capacity changes (absences, new labellers) or a target or deadline moves: "
        f"`imbal quota playbook \"{book.project}\" --days {len(book.days)} --capacity {book.capacity}`.",
        "",
    ]
    return "\n".join(lines)
