"""The load report: every problem met while reading an export, and what was done about it.

A reader never drops, clips or guesses silently. Each problem becomes one row: the file, the
record (an id, a line number or a path), the problem in words, and the action taken
(``skipped``, ``clipped``, ``kept``, ``refused`` ...). ``code`` is a short stable identifier of
the kind of problem, for grouping and for tests.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import pyarrow as pa

REPORT_SCHEMA = pa.schema(
    [
        pa.field("file", pa.string()),
        pa.field("record", pa.string()),
        pa.field("code", pa.string()),
        pa.field("problem", pa.string()),
        pa.field("action", pa.string()),
    ]
)

#: Actions that mean a record did not make it into the dataset.
DROPPING_ACTIONS = frozenset({"skipped", "refused"})


@dataclass(frozen=True)
class ReportRow:
    file: str
    record: str
    code: str
    problem: str
    action: str

    def to_dict(self) -> dict[str, str]:
        return {
            "file": self.file,
            "record": self.record,
            "code": self.code,
            "problem": self.problem,
            "action": self.action,
        }


@dataclass
class LoadReport:
    """An append-only list of :class:`ReportRow`, built up while reading."""

    rows: list[ReportRow] = field(default_factory=list)

    def add(self, file: object, record: object, code: str, problem: str, action: str) -> None:
        self.rows.append(ReportRow(str(file), "" if record is None else str(record), code, problem, action))

    def add_many(
        self, file: object, records: Iterable[object], code: str, problems: Iterable[str] | str, action: str
    ) -> None:
        """Add one row per record; ``problems`` is one text for all or one per record."""
        file = str(file)
        if isinstance(problems, str):
            self.rows.extend(ReportRow(file, str(r), code, problems, action) for r in records)
        else:
            self.rows.extend(ReportRow(file, str(r), code, p, action) for r, p in zip(records, problems))

    def extend(self, other: "LoadReport | Iterable[ReportRow]") -> None:
        self.rows.extend(other.rows if isinstance(other, LoadReport) else other)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[ReportRow]:
        return iter(self.rows)

    def __bool__(self) -> bool:
        return bool(self.rows)

    @property
    def skipped(self) -> int:
        """How many records were left out of the dataset (skipped or refused)."""
        return sum(1 for r in self.rows if r.action in DROPPING_ACTIONS)

    def counts(self) -> Counter[str]:
        """Rows per problem code."""
        return Counter(r.code for r in self.rows)

    def codes(self) -> set[str]:
        return {r.code for r in self.rows}

    def to_arrow(self) -> pa.Table:
        if not self.rows:
            return REPORT_SCHEMA.empty_table()
        columns = {name: [getattr(r, name) for r in self.rows] for name in REPORT_SCHEMA.names}
        return pa.table(columns, schema=REPORT_SCHEMA)

    def to_pandas(self):
        return self.to_arrow().to_pandas()

    def to_records(self) -> list[dict[str, str]]:
        return [r.to_dict() for r in self.rows]

    @classmethod
    def from_arrow(cls, table: pa.Table) -> "LoadReport":
        cols = [table.column(n).to_pylist() for n in REPORT_SCHEMA.names]
        return cls([ReportRow(*values) for values in zip(*cols)])

    def summary(self) -> pa.Table:
        """One row per (code, action) with the number of rows and the first problem as an example."""
        seen: dict[tuple[str, str], list] = {}
        for r in self.rows:
            entry = seen.setdefault((r.code, r.action), [0, r.problem, r.file])
            entry[0] += 1
        return pa.table(
            {
                "code": [k[0] for k in seen],
                "action": [k[1] for k in seen],
                "rows": [v[0] for v in seen.values()],
                "example": [v[1] for v in seen.values()],
                "file": [v[2] for v in seen.values()],
            }
        )


class LoadError(Exception):
    """Input that cannot be used at all: the message names the file and the reason.

    ``report`` holds what was learned before giving up (it may be empty).
    """

    def __init__(self, message: str, report: LoadReport | None = None, file: str | None = None):
        super().__init__(message)
        self.report = report if report is not None else LoadReport()
        self.file = file
