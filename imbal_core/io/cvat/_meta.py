"""The ``<meta>`` of a CVAT export: declared labels, and the tasks with their subset, mode and frames.

A task export has ``<meta><task>``, a project export ``<meta><project>`` with its tasks under
``<tasks>`` and the labels under ``<labels>``, a job export ``<meta><job>``. Labels with a
``<parent>`` are parts of a skeleton, not classes. A task's frames are ``start_frame``,
``start_frame + step``, ... (``size`` of them, ``step`` from ``frame_filter`` ``step=N``, at
most ``stop_frame``): the frames a video export's images are.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from ...report import LoadReport

#: A task declaring more frames than this gets images only for the frames its shapes name.
MAX_FRAMES = 1_000_000
MAX_SIDE = 2**31 - 1
_STEP = re.compile(r"step\s*=\s*(\d+)")


@dataclass(frozen=True)
class Task:
    id: str
    name: str | None
    subset: str | None
    mode: str | None  # "annotation" (images) or "interpolation" (video)
    frames: tuple[int, ...] | None
    size: tuple[int, int] | None  # original_size: width, height of every frame

    @property
    def label(self) -> str:
        return self.name or f"task {self.id}"


@dataclass
class Meta:
    labels: list[str] = field(default_factory=list)
    tag_labels: set[str] = field(default_factory=set)  # labels of <type> tag
    tasks: dict[str, Task] = field(default_factory=dict)

    def task(self, task_id: str | None) -> Task | None:
        """The task of that id; without an id, the only task of the file (None when there are several)."""
        if task_id is not None:
            return self.tasks.get(task_id)
        return next(iter(self.tasks.values())) if len(self.tasks) == 1 else None


def parse_meta(element: ET.Element, file: str, report: LoadReport) -> Meta:
    meta = Meta()
    for label in element.iter("label"):
        name = (label.findtext("name") or "").strip()
        if not name or (label.findtext("parent") or "").strip():
            continue
        if name not in meta.labels:
            meta.labels.append(name)
        if (label.findtext("type") or "").strip().lower() == "tag":
            meta.tag_labels.add(name)
    holders = [*element.findall("task"), *element.findall("job"), *element.findall("project/tasks/task")]
    for holder in holders:
        task = _task(holder, file, report)
        meta.tasks.setdefault(task.id, task)
    return meta


def _text(element: ET.Element, key: str) -> str | None:
    text = (element.findtext(key) or "").strip()
    return text or None


def _whole(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _task(element: ET.Element, file: str, report: LoadReport) -> Task:
    task_id = _text(element, "id") or ""
    size = None
    original = element.find("original_size")
    if original is not None:
        width, height = _whole(_text(original, "width")), _whole(_text(original, "height"))
        if width is not None and height is not None and 0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE:
            size = (width, height)
        else:
            report.add(file, f"task {task_id}", "bad_image_size", f"original_size {width!r} x {height!r} is not two "
                       "positive whole numbers", "frames of unknown size")
    return Task(task_id, _text(element, "name"), _text(element, "subset"), _text(element, "mode"),
                _frames(element, task_id, file, report), size)


def _frames(element: ET.Element, task_id: str, file: str, report: LoadReport) -> tuple[int, ...] | None:
    start, stop, count = (_whole(_text(element, k)) for k in ("start_frame", "stop_frame", "size"))
    if start is None or count is None or count < 0:
        return None
    match = _STEP.search(_text(element, "frame_filter") or "")
    step = max(int(match.group(1)), 1) if match else 1
    if count > MAX_FRAMES:
        report.add(file, f"task {task_id}", "too_many_frames", f"the task declares {count:,} frames (more than "
                   f"{MAX_FRAMES:,})", "images made only for the frames its shapes name")
        return None
    frames = (start + k * step for k in range(count))
    return tuple(f for f in frames if stop is None or f <= stop)
