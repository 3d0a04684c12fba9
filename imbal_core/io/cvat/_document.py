"""One CVAT XML file -> image and object records (see the package docstring for the rules)."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ...report import LoadReport
from .._objects import ImageRecord, ObjectRecord
from ._meta import MAX_SIDE, Meta, Task, parse_meta
from ._shapes import SHAPES, BadShape, geometry

VideoGroup = Literal["task", "tracks"]
_NO_SUBSET = frozenset({"", "default"})
Key = tuple[str, str, str]  # task id, subset, frame id


@dataclass
class Tag:
    """An image-level ``<tag>``: a class or a condition, decided once every file is read."""

    image: int
    label: str
    record: str
    attributes: dict[str, str]


@dataclass
class Document:
    path: str
    prefix: str  # put before every source id when several files are read
    file_split: str | None  # the split the file name says (train.xml), if any
    interpolated: bool
    video_group: VideoGroup
    report: LoadReport = field(default_factory=LoadReport)  # merged into the load report if the file is used
    meta: Meta = field(default_factory=Meta)
    images: list[ImageRecord] = field(default_factory=list)
    objects: list[ObjectRecord] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    keys: dict[Key, int] = field(default_factory=dict)
    has_images: bool = False
    _frames: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    _pending: list[tuple[Key, ObjectRecord]] = field(default_factory=list)  # track shapes, before their frame's image
    _spans: dict[tuple[str, str], list[tuple[int, int]]] = field(default_factory=dict)  # first..last counted frame
    _unsupported: Counter = field(default_factory=Counter)
    _not_counted: int = 0

    # ----------------------------------------------------------------- reading

    def on_child(self, element: ET.Element) -> None:
        if element.tag == "meta":
            self.meta = parse_meta(element, self.path, self.report)
        elif element.tag == "image":
            self._image(element)
        elif element.tag == "track":
            self._track(element)

    def _task_key(self, task_id: str | None) -> tuple[str, Task | None]:
        task = self.meta.task(task_id.strip() if task_id else None)
        return (task.id if task else (task_id or "").strip()), task

    def _subset(self, text: str | None, task: Task | None) -> str:
        for value in (text, task.subset if task else None):
            if value is not None and value.strip().lower() not in _NO_SUBSET:
                return value.strip()
        return ""

    def _image(self, element: ET.Element) -> None:
        self.has_images = True
        raw_id, name = (element.get("id") or "").strip(), element.get("name")
        task_key, task = self._task_key(element.get("task_id"))
        own_subset = self._subset(element.get("subset"), None)
        subset = self._subset(element.get("subset"), task)
        frame_id = _frame_text(raw_id) if raw_id else (name or "").strip()
        if not frame_id:
            self.report.add(self.path, f"image {element.get('name')!r:.40}", "bad_record",
                            "image has no id and no name", "skipped")
            return
        source_id = self.prefix + (f"{own_subset}/{frame_id}" if own_subset else frame_id)
        key = (task_key, subset, frame_id)
        if key in self.keys:
            self.report.add(self.path, source_id, "duplicate_id", f"image id {frame_id!r:.40} appears twice",
                            "skipped the later one")
            return
        width, height = _side(element.get("width")), _side(element.get("height"))
        if width is None or height is None:
            self.report.add(self.path, source_id, "bad_image_size", f"width {element.get('width')!r:.20}, height "
                            f"{element.get('height')!r:.20} are not two positive whole numbers", "set to unknown")
            width = height = None
        row = len(self.images)
        self.keys[key] = row
        video = task is not None and (task.mode or "").lower() == "interpolation"
        self.images.append(ImageRecord(source_id, self.path, name, width, height, subset or self.file_split,
                                       self._task_group(task) if video else None))
        for index, child in enumerate(element):
            record = f"{source_id}#{index}"
            if child.tag == "tag":
                label = (child.get("label") or "").strip()
                if not label:
                    self.report.add(self.path, record, "missing_label", "tag has no label", "skipped")
                    continue
                self.tags.append(Tag(row, label, record, _attributes(child)))
            elif child.tag in SHAPES:
                found = self._object(child, child.get("label"), record)
                if found is not None:
                    found.image = row
                    self.objects.append(found)
            else:
                self._unsupported[child.tag] += 1

    def _object(self, element: ET.Element, label: str | None, record: str) -> ObjectRecord | None:
        label = (label or "").strip()
        if not label:
            self.report.add(self.path, record, "missing_label", f"<{element.tag}> has an empty label", "skipped")
            return None
        try:
            shape = geometry(element)
        except BadShape as exc:
            self.report.add(self.path, record, exc.code, exc.problem, "skipped")
            return None
        if shape.rotation:
            self.report.add(self.path, record, "rotated_box", f"<{element.tag}> rotated by {shape.rotation:g}°",
                            "kept the axis-aligned box around it")
        occluded = {"1": True, "0": False}.get((element.get("occluded") or "").strip())
        return ObjectRecord(-1, label, record, self.path, element.tag, shape.box,
                            [shape.ring] if shape.ring is not None else None, shape.runs, shape.pixels,
                            occluded, _attributes(element))

    def _track(self, element: ET.Element) -> None:
        track_id = (element.get("id") or "?").strip()
        record = f"{self.prefix}track {track_id}"
        label = (element.get("label") or "").strip()
        task_key, task = self._task_key(element.get("task_id"))
        subset = self._subset(element.get("subset"), task)
        counted: list[int] = []
        interpolated = visible = 0
        for child in element:
            if child.tag not in SHAPES:
                if child.tag != "attribute":
                    self._unsupported[child.tag] += 1
                continue
            frame = _whole(child.get("frame"))
            if frame is None:
                self.report.add(self.path, record, "bad_shape", f"<{child.tag}> frame {child.get('frame')!r:.20} is "
                                "not a whole number", "skipped")
                continue
            self._frames.setdefault((task_key, subset), set()).add(frame)
            if child.get("outside") == "1":
                continue
            visible += 1
            if child.get("keyframe") != "1" and not self.interpolated:
                interpolated += 1
                continue
            found = self._object(child, label, f"{record}@{frame}") if label else None
            if found is not None:
                counted.append(frame)
                self._pending.append(((task_key, subset, str(frame)), found))
        self._not_counted += interpolated
        if not label:
            self.report.add(self.path, record, "missing_label", "track has an empty label", "skipped")
        elif not counted:
            why = (f"its {interpolated} visible shape(s) are interpolated (keyframe=0)" if interpolated
                   else "every shape is outside" if not visible else "its shapes are unusable")
            self.report.add(self.path, record, "track_without_keyframe",
                            f"track {track_id} ({label!r:.40}) has no keyframe with outside=0: {why}", "skipped")
        if counted:
            self._spans.setdefault((task_key, subset), []).append((min(counted), max(counted)))

    # ----------------------------------------------------------------- after the last element

    def finish(self) -> None:
        """Images for the video frames, the track shapes attached to them, and the summary rows."""
        frames = {k: set(v) for k, v in self._frames.items()}
        if not self.has_images:
            for task in self.meta.tasks.values():
                if task.frames:
                    frames.setdefault((task.id, self._subset(None, task)), set()).update(task.frames)
        unsized: set[str] = set()
        for (task_key, subset), numbers in sorted(frames.items()):
            task = self.meta.task(task_key or None)
            groups = self._groups(task, self._spans.get((task_key, subset), []), numbers)
            for frame in sorted(numbers):
                key = (task_key, subset, str(frame))
                if key in self.keys:
                    continue
                self.keys[key] = len(self.images)
                many = len(self.meta.tasks) > 1 and task_key
                source_id = self.prefix + (f"{task_key}/{frame}" if many else str(frame))
                size = task.size if task else None
                if size is None:
                    unsized.add(task.label if task else "(no task in <meta>)")
                self.images.append(ImageRecord(source_id, self.path, f"frame_{frame:06d}", *(size or (None, None)),
                                               subset or self.file_split, groups.get(frame)))
        for key, found in self._pending:
            found.image = self.keys[key]
            self.objects.append(found)
        for task_label in sorted(unsized):
            self.report.add(self.path, task_label, "bad_image_size", "video frames without a size: the task has no "
                            "<original_size>", "set to unknown")
        for tag, count in sorted(self._unsupported.items()):
            self.report.add(self.path, f"<{tag}>", "unsupported_shape", f"{count} <{tag:.30}> element(s): not a box, "
                            "polygon, polyline, points, mask, ellipse or tag", "skipped")
        if self._not_counted:
            self.report.add(self.path, "tracks", "interpolated_shape", f"{self._not_counted} interpolated shape(s) "
                            "(keyframe=0) of tracks: only keyframes are counted", "not counted")

    def _task_group(self, task: Task | None) -> str:
        return self.prefix + (task.label if task else Path(self.path).stem)

    def _groups(self, task: Task | None, spans: list[tuple[int, int]], frames: set[int]) -> dict[int, str]:
        """Frame -> group: the whole task, or (``tracks``) runs of frames that tracks join."""
        if self.video_group == "task":
            return dict.fromkeys(frames, self._task_group(task))
        merged: list[list[int]] = []
        for first, last in sorted(spans):
            if merged and first <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], last)
            else:
                merged.append([first, last])
        out: dict[int, str] = {}
        for first, last in merged:
            name = f"{self._task_group(task)} frames {first}-{last}"
            out.update({f: name for f in frames if first <= f <= last})
        return out


def _attributes(element: ET.Element) -> dict[str, str]:
    out: dict[str, str] = {}
    for child in element.findall("attribute"):
        name = (child.get("name") or "").strip()
        if name:
            out[name] = (child.text or "").strip()
    return out


def _whole(text: str | None) -> int | None:
    try:
        return int(text.strip()) if text is not None else None
    except ValueError:
        return None


def _frame_text(text: str) -> str:
    number = _whole(text)
    return str(number) if number is not None else text


def _side(text: str | None) -> int | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    if value is None or not (1 <= value <= MAX_SIDE) or value != int(value):
        return None
    return int(value)
