"""The load report: every problem met while reading an export, and what was done about it.

A reader never drops, clips or guesses silently. Each problem becomes one row: the file, the
record (an id, a line number or a path), the problem in words, and the action taken
(``skipped``, ``clipped``, ``kept``, ``refused`` ...). ``code`` is a short stable identifier of
the kind of problem, for grouping and for tests.

Messages quote the input through :func:`excerpt` (at most about :data:`EXCERPT_LENGTH`
characters of it). As a backstop, a row's record and problem and a :class:`LoadError` message are
cut (:func:`shorten`) past :data:`MAX_RECORD_LENGTH`, :data:`MAX_PROBLEM_LENGTH` and
:data:`MAX_MESSAGE_LENGTH` characters, whoever built them: a hostile file cannot flood a terminal. Their text is made
encodable (:func:`safe_text`): a file name that is not UTF-8 is shown with ``\\xff`` escapes, so
a row can go into Arrow, JSON or the app like any other.
"""
from __future__ import annotations

import reprlib
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

#: The most characters of the input a message quotes (:func:`excerpt`).
EXCERPT_LENGTH = 80
#: Backstops for text built elsewhere: a report row's record and problem, a :class:`LoadError` message.
MAX_RECORD_LENGTH = 200
MAX_PROBLEM_LENGTH = 400
MAX_MESSAGE_LENGTH = 1200
_ELLIPSIS = "…"


def _bounded_repr() -> reprlib.Repr:
    r = reprlib.Repr()
    r.maxlevel, r.maxstring, r.maxother = 2, EXCERPT_LENGTH, EXCERPT_LENGTH
    r.maxlist = r.maxtuple = r.maxdict = r.maxset = r.maxfrozenset = 12
    r.repr_int = lambda x, level: _int_text(x)  # the built-in repr refuses ints past 4,300 digits
    return r


def _int_text(value: int) -> str:
    if value.bit_length() <= 128:
        return repr(value)
    digits = int(value.bit_length() * 0.30103) + 1
    return f"{'-' if value < 0 else ''}<a number of about {digits:,} digits>"


_REPR = _bounded_repr()


def excerpt(value: object, limit: int = EXCERPT_LENGTH) -> str:
    """``repr(value)`` cut to about ``limit`` characters, for quoting input in a message.

    Never builds the whole text of a large or deeply nested value: lists and objects show their
    first items and two levels, long text its start and its length, huge integers their size.
    """
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[: max(limit - 30, 8)]!r}{_ELLIPSIS} ({len(value):,} characters)"
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return _int_text(value)
    return shorten(_REPR.repr(value), limit)


def safe_text(text: str) -> str:
    """``text`` made encodable as UTF-8, for anything written out (JSON, CSV, Arrow, a terminal).

    A file name that is not UTF-8 reaches Python as surrogate escapes (``b'exp\\xff'`` becomes
    ``'exp\\udcff'``); its bytes are shown as ``\\xff``. A lone surrogate that is no escaped byte
    (from a JSON ``"\\ud800"``) is shown as ``\\ud800``. Valid text comes back unchanged (the same
    object), so callers may compare with ``is`` / ``==`` to learn whether anything changed.
    """
    if text.isascii():  # the usual case, and the cheapest test (no copy)
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate outside the escaped-byte range U+DC80..U+DCFF
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def shorten(text: str, limit: int) -> str:
    """``text`` when it has at most ``limit`` characters; else its start and end around an ellipsis."""
    if len(text) <= limit:
        return text
    tail = max(limit // 4, 1)
    return f"{text[: limit - tail - 1]}{_ELLIPSIS}{text[-tail:]}"


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


def _record_text(record: object) -> str:
    """A record name for a report row: text as it is (cut when long), anything else as short text."""
    if record is None:
        return ""
    if isinstance(record, str):
        return shorten(safe_text(record), MAX_RECORD_LENGTH)
    if isinstance(record, (int, dict, list, tuple, set)):
        return safe_text(excerpt(record, MAX_RECORD_LENGTH))
    return shorten(safe_text(str(record)), MAX_RECORD_LENGTH)


@dataclass
class LoadReport:
    """An append-only list of :class:`ReportRow`, built up while reading."""

    rows: list[ReportRow] = field(default_factory=list)

    def add(self, file: object, record: object, code: str, problem: str, action: str) -> None:
        self.rows.append(ReportRow(safe_text(str(file)), _record_text(record), code,
                                   shorten(safe_text(problem), MAX_PROBLEM_LENGTH), action))

    def add_many(
        self, file: object, records: Iterable[object], code: str, problems: Iterable[str] | str, action: str
    ) -> None:
        """Add one row per record; ``problems`` is one text for all or one per record."""
        file = safe_text(str(file))
        if isinstance(problems, str):
            problems = shorten(safe_text(problems), MAX_PROBLEM_LENGTH)
            self.rows.extend(ReportRow(file, _record_text(r), code, problems, action) for r in records)
        else:
            self.rows.extend(ReportRow(file, _record_text(r), code, shorten(safe_text(p), MAX_PROBLEM_LENGTH), action)
                             for r, p in zip(records, problems))

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
        super().__init__(shorten(safe_text(str(message)), MAX_MESSAGE_LENGTH))
        self.report = report if report is not None else LoadReport()
        self.file = safe_text(file) if isinstance(file, str) else file
