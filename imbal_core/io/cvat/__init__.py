"""CVAT XML 1.1 ("CVAT for images" and "CVAT for video") -> canonical dataset.

Input: ``.xml`` files, or folders searched (with their sub-folders) for XML files whose root is
``<annotations>`` (other XML files there are reported and left out). Several files make one
dataset; each source id then starts with the file's path below their common folder
(``export_task/train:0``). Files are parsed as a stream (:mod:`.._xml`: no entity expansion).

**CVAT for images** (task, job and project exports): each ``<image>`` is one image: ``source_id``
its ``id`` (``subset/id`` when the image names a subset, as project exports do), ``file_name``
its ``name``, ``width`` / ``height`` its own. Its ``box``, ``polygon``, ``polyline``, ``points``,
``mask`` (RLE) and ``ellipse`` children are objects (geometry: :mod:`._shapes`; polygons, masks
and ellipses have pixel counts, polylines and points count as instances without box or pixels);
``cuboid``, ``skeleton`` and other children are reported once per kind and left out. Object
``source_id``: ``image#index`` (the child's position in the image).

**CVAT for video** (``<track>`` elements): a track's shapes each name a ``frame``. Only
keyframes (``keyframe="1"``) with ``outside="0"`` are counted; interpolated shapes are not
(``interpolated=True`` counts them too; one report row says how many were left out). A track with
no such keyframe is reported (``track_without_keyframe``). The frames become images: every
frame of the task from ``<meta>`` (``start_frame``, ``size``, ``frame_filter`` step), and any other
frame a shape names; ``source_id`` the frame number, ``file_name`` ``frame_000042`` (no
extension: the export does not say it), the size from ``<original_size>``.

**Groups.** The canonical ``group`` is per image, and a track spans frames; so a video's frames
are kept together: by default (``video_group="task"``) every frame of a video task (and every
``<image>`` of a task in interpolation mode) has the task's name as its group, so no track — and
no near-identical neighbouring frame — straddles two splits. ``video_group="tracks"`` makes
finer groups for long videos: the frames from a track's first to its last counted keyframe are
joined, overlapping runs merge, and frames outside every run have no group.

**Splits**: an image's (or track's) ``subset``, else its task's ``<subset>`` (project exports list
one per task), else the file name (``train.xml``, as per-subset exports are named), else
``unassigned``; CVAT's ``default`` subset means none.

**Labels**: ``<meta>``'s ``<labels>`` give the classes and their order (skeleton parts, labels
with a ``<parent>``, are not classes); a label used but not declared is reported and kept; an
empty label is reported and its shape left out.

**Tags and attributes**: a ``<tag>`` labels the whole image. ``tags="auto"``: tags are the classes
(classification) when the export has no shapes, else they are image conditions: a condition
``tag`` holding the image's tag labels (joined by `` + ``), and tag-only labels are then not
classes. ``tags="classes"`` / ``"conditions"`` choose. A tag's ``<attribute>`` values are
image conditions. ``occluded="1"``, and attributes named ``truncated`` / ``difficult`` /
``occluded``, fill the annotation flags (:mod:`.._objects`). Shapes' ``occluded`` and
``truncated`` and their other ``<attribute>`` values are per object: with ``flag_conditions``
(True) each becomes an image condition, the value the image's objects share, else ``mixed``
(:mod:`.._object_flags`).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, Sequence

from ...dataset import Dataset
from ...report import LoadError, LoadReport
from ..files import read_bytes, split_from_name
from .._objects import IMAGE_LABEL, ObjectRecord, assemble
from .._xml import BadXml, read_children
from ..sniff import looks_like_cvat
from ._document import Document, VideoGroup

__all__ = ["read_cvat"]

TagMode = Literal["auto", "classes", "conditions"]
TAG_MODES: tuple[TagMode, ...] = ("auto", "classes", "conditions")
VIDEO_GROUPS: tuple[VideoGroup, ...] = ("task", "tracks")
_HEAD = 1 << 16


def read_cvat(paths: Sequence[str | Path], report: LoadReport | None = None, tags: TagMode = "auto",
              interpolated: bool = False, video_group: VideoGroup = "task", flag_conditions: bool = True) -> Dataset:
    """Read CVAT XML exports into one dataset.

    ``tags`` ("auto"): image-level ``<tag>``s as ``classes``, as ``conditions``, or ``auto``
    (classes when the export has no shapes). ``interpolated`` (False): also count the
    interpolated (``keyframe="0"``) shapes of tracks. ``video_group`` ("task"): the group of
    video frames, the whole ``task`` or the runs of frames its ``tracks`` join.
    ``flag_conditions`` (True): make the shapes' flags and attributes image conditions.
    """
    _check(tags, interpolated, video_group)
    if not isinstance(flag_conditions, bool):
        raise ValueError(f"`flag_conditions` must be true or false. Got {flag_conditions!r} instead.")
    report = report if report is not None else LoadReport()
    files = _find(paths, report)
    docs: list[Document] = []
    failures: list[str] = []
    for path, prefix in zip(files, _prefixes(files)):
        doc = _read(path, prefix, bool(interpolated), video_group, report)
        if doc is None:
            failures.append(report.rows[-1].problem if report.rows else "unreadable")
        else:
            docs.append(doc)
    if not docs:
        where = str(files[0]) if len(files) == 1 else f"none of the {len(files)} CVAT files"
        raise LoadError(f"{where}: not usable — {failures[0]}.", report, str(files[0]))
    return _merge(docs, tags, [str(p) for p in paths], report, flag_conditions)


def _check(tags: object, interpolated: object, video_group: object) -> None:
    if tags not in TAG_MODES:
        raise ValueError(f"`tags` must be one of {', '.join(map(repr, TAG_MODES))}. Got {tags!r} instead.")
    if not isinstance(interpolated, bool):
        raise ValueError(f"`interpolated` must be true or false. Got {interpolated!r} instead.")
    if video_group not in VIDEO_GROUPS:
        raise ValueError(f"`video_group` must be one of {', '.join(map(repr, VIDEO_GROUPS))}. Got {video_group!r} instead.")


# --------------------------------------------------------------------------- files


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(_HEAD)
    except OSError:
        return b""


def _find(paths: Sequence[str | Path], report: LoadReport) -> list[Path]:
    if not paths:
        raise LoadError("No input: give CVAT .xml files or a folder holding them.")
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            if not path.exists():
                raise LoadError(f"{path}: no such file or folder.", report, str(path))
            files.append(path)
            continue
        found = sorted(p for p in path.rglob("*.xml") if p.is_file())
        for candidate in found:
            if looks_like_cvat(_head(candidate)):
                files.append(candidate)
            else:
                report.add(candidate, candidate.name, "not_cvat", "XML file whose root is not a CVAT <annotations>",
                           "ignored")
        if not any(f.is_relative_to(path) for f in files):
            raise LoadError(f"{path}: no CVAT XML file (root <annotations> with <meta>) in this folder or below.",
                            report, str(path))
    return list(dict.fromkeys(files))


def _prefixes(files: list[Path]) -> list[str]:
    """``""`` for one file; else each file's path below the common folder, without ``.xml``, and ``:``."""
    if len(files) < 2:
        return [""] * len(files)
    root = Path(os.path.commonpath([f.resolve().parent for f in files]))
    return [f"{f.resolve().relative_to(root).with_suffix('').as_posix()}:" for f in files]


def _read(path: Path, prefix: str, interpolated: bool, video_group: VideoGroup, report: LoadReport) -> Document | None:
    try:
        data = read_bytes(path)
    except LoadError as exc:
        report.add(path, path.name, "unreadable_file", str(exc), "skipped")
        return None
    state: list[Document] = []

    def fresh() -> None:
        state[:] = [Document(str(path), prefix, split_from_name(path), interpolated, video_group)]

    fresh()
    try:
        read_children(data, path, report, "annotations", lambda element: state[0].on_child(element), fresh)
    except BadXml as exc:
        report.add(path, path.name, "bad_xml", str(exc), "skipped")
        return None
    doc = state[0]
    doc.finish()
    report.extend(doc.report)
    return doc


# --------------------------------------------------------------------------- one dataset


def _merge(docs: list[Document], tags: TagMode, sources: list[str], report: LoadReport,
           flag_conditions: bool) -> Dataset:
    images, objects, declared, tag_types = [], [], [], set()
    all_tags = []
    for doc in docs:
        offset = len(images)
        images.extend(doc.images)
        for obj in doc.objects:
            obj.image += offset
            objects.append(obj)
        all_tags.extend((tag, offset) for tag in doc.tags)
        declared.extend(doc.meta.labels)
        tag_types |= doc.meta.tag_labels
    mode = tags if tags != "auto" else ("conditions" if objects else "classes")
    shape_labels = {o.label for o in objects}
    for tag, offset in all_tags:
        image = images[tag.image + offset]
        image.attributes.extend(tag.attributes.items())
        if mode == "classes":
            objects.append(ObjectRecord(tag.image + offset, tag.label, tag.record, image.file, IMAGE_LABEL))
        else:
            image.labels.append(tag.label)
    if mode == "conditions":
        tag_only = {tag.label for tag, _ in all_tags} - shape_labels
        declared = [n for n in declared if n not in tag_types and n not in tag_only]
    return assemble(images, objects, declared, fmt="cvat", label_condition="tag", sources=sources, report=report,
                    flag_conditions=flag_conditions)
