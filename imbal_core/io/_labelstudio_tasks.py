"""Label Studio tasks: which annotation of a task counts, and the task's own fields.

- The image of a task is ``data[key]`` for the key the label config's ``<Image value="$key">``
  names, else ``data.image``, else the first text value that looks like an image path or URL.
  Its file name is the basename without the query string (Label Studio's
  ``/data/local-files/?d=dir/a.jpg`` gives ``a.jpg``).
- A task annotated several times counts once: the most recent annotation not cancelled
  (``updated_at``, then ``created_at``, then ``id``, then the later in the list) is kept and
  every other one is reported.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ..report import LoadReport, excerpt
from ._labelstudio_config import LabelConfig
from ._labelstudio_geometry import number
from .sniff import IMAGE_EXTENSIONS

NEVER = -math.inf


def describe(value: Any) -> str:
    """What a JSON value is, in words, for report messages."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return "text" if isinstance(value, str) else excerpt(value, 40)


def task_id(value: Any) -> str | None:
    """A whole number (or digits as text) as text; None for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 100:
        return str(int(value))
    return None


def _looks_like_image(value: Any) -> bool:
    if not isinstance(value, str) or not value.strip():
        return False
    if value.startswith("data:image/"):
        return True
    name = file_name(value)
    return PurePosixPath(name).suffix.lower() in IMAGE_EXTENSIONS


def image_key(data: dict[str, Any], config: LabelConfig | None) -> str | None:
    """The ``data`` key holding the image: the config's, else ``image``, else the first image-like value."""
    for key in (config.image_key if config else None, "image"):
        if key and isinstance(data.get(key), str) and data[key].strip():
            return key
    return next((k for k, v in data.items() if _looks_like_image(v)), None)


def file_name(value: str) -> str:
    """Basename without query string; Label Studio's ``/data/local-files/?d=dir/a.jpg`` gives
    ``a.jpg``; backslashes count as separators (Windows paths)."""
    if value.startswith("data:"):
        return ""
    try:
        parts = urlsplit(value.replace("\\", "/"))
    except ValueError:  # e.g. an unbalanced "[" read as an IPv6 host
        return PurePosixPath(value.replace("\\", "/").split("?", 1)[0]).name
    name = PurePosixPath(unquote(parts.path)).name
    inner = parse_qs(parts.query).get("d")
    if inner and PurePosixPath(name).suffix.lower() not in IMAGE_EXTENSIONS:
        name = PurePosixPath(inner[0].replace("\\", "/")).name
    return name


def _parse_time(value: Any) -> datetime | None:
    """An ISO-8601 time (naive = UTC), or None when missing or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value.strip())
        return at if at.tzinfo else at.replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def _instant(value: Any) -> float:
    """Epoch seconds, for ordering; missing or unreadable times sort first."""
    at = _parse_time(value)
    try:
        return at.timestamp() if at else NEVER
    except (OverflowError, OSError, ValueError):
        return NEVER


def iso_time(value: Any) -> str | None:
    """The time as ISO-8601 text with its offset (naive read as UTC), or None when unreadable."""
    at = _parse_time(value)
    return at.isoformat() if at else None


def _ann_name(ann: dict[str, Any], j: int) -> str:
    aid = ann.get("id")
    ok = (isinstance(aid, int) and not isinstance(aid, bool)) or (isinstance(aid, str) and aid.strip())
    return f"annotation {aid}" if ok else f"annotations[{j}]"


def pick_annotation(path: str, tid: str, anns: Any, report: LoadReport) -> tuple[str, dict[str, Any]] | None:
    """The annotation that counts for the task: the most recent not cancelled. Reports the others."""
    if anns is None:
        return None
    if not isinstance(anns, list):
        report.add(path, f"task {tid}", "bad_record", f"`annotations` is {describe(anns)}, not a list",
                   "ignored: task kept with no labels")
        return None
    usable, cancelled = [], []
    for j, ann in enumerate(anns):
        if not isinstance(ann, dict):
            report.add(path, f"task {tid} / annotations[{j}]", "bad_record",
                       f"annotation is {describe(ann)}, not an object", "skipped")
        elif ann.get("was_cancelled") in (True, "true"):
            cancelled.append((_ann_name(ann, j), ann))
        else:
            usable.append((j, _ann_name(ann, j), ann))
    for name, _ in cancelled:
        action = "ignored" if usable else "ignored: task kept with no labels"
        report.add(path, f"task {tid} / {name}", "cancelled_annotation", "the annotator cancelled (skipped) this task", action)
    if not usable:
        return None

    def recency(item: tuple[int, str, dict]) -> tuple[float, float, float, int]:
        j, _, ann = item
        aid = ann.get("id")
        return (_instant(ann.get("updated_at")), _instant(ann.get("created_at")), _id_number(aid), j)

    kept = max(usable, key=recency)
    for j, name, _ in usable:
        if j != kept[0]:
            report.add(path, f"task {tid} / {name}", "duplicate_annotation",
                       f"task {tid} has {len(usable)} annotations; only the most recent ({kept[1]}) counts",
                       "ignored: task counted once")
    return kept[1], kept[2]


def _id_number(value: Any) -> float:
    num = number(value) if not isinstance(value, bool) else None
    return num if num is not None and num == num else NEVER


def annotator(who: Any) -> str | None:
    """``completed_by``: a user object gives its email (else its id), an id gives itself as text."""
    if isinstance(who, dict):
        email = who.get("email")
        if isinstance(email, str) and email:
            return email
        who = who.get("id")
    if who is None or isinstance(who, (dict, list)):
        return None
    return str(who)


def check_reviews(path: str, record: str, ann: dict[str, Any], report: LoadReport) -> None:
    """Report the annotation when its latest review rejected it (the annotation still counts)."""
    reviews = ann.get("reviews")
    reviews = [r for r in reviews if isinstance(r, dict) and "accepted" in r] if isinstance(reviews, list) else []
    if not reviews:
        return
    last = max(enumerate(reviews), key=lambda jr: (_instant(jr[1].get("created_at")), jr[0]))[1]
    if last.get("accepted") is False:
        by = annotator(last.get("created_by"))
        report.add(path, record, "rejected_annotation",
                   f"the last review{f' (by {by})' if by else ''} rejected this annotation", "kept: reviews are not applied")
