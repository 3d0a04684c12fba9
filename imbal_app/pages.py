"""The dashboard's pages, discovered from views/: each view file starts with a header line

    # imbal-page: section=Dataset; title=Long tail; icon=:material/bar_chart:; order=20

so adding a page is adding a file. Sections appear in SECTION_ORDER, pages by ``order``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

VIEWS = Path(__file__).resolve().parent.parent / "views"
SECTION_ORDER = ("Dataset", "Subgroups and splits", "Rebalancing", "Evaluation", "Annotation")
_HEADER = re.compile(r"^#\s*imbal-page:\s*(.+)$", re.MULTILINE)


@dataclass(frozen=True)
class PageSpec:
    path: str  # relative to the project root, e.g. "views/overview.py"
    section: str
    title: str
    icon: str
    order: int


def discover(views: Path = VIEWS) -> list[PageSpec]:
    specs = []
    for file in sorted(views.glob("*.py")):
        match = _HEADER.search(file.read_text(encoding="utf-8")[:2000])
        if not match:
            continue
        fields = dict(part.split("=", 1) for part in (p.strip() for p in match.group(1).split(";")) if "=" in part)
        specs.append(PageSpec(
            path=f"{views.name}/{file.name}",
            section=fields.get("section", "Dataset").strip(),
            title=fields.get("title", file.stem.replace("_", " ").title()).strip(),
            icon=fields.get("icon", ":material/description:").strip(),
            order=int(fields.get("order", "100")),
        ))
    rank = {s: i for i, s in enumerate(SECTION_ORDER)}
    return sorted(specs, key=lambda p: (rank.get(p.section, len(rank)), p.order, p.title))
