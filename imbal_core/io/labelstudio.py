"""Label Studio JSON export -> canonical dataset.

- Input: one or several JSON exports, each a list of tasks (or one task object). A task is one
  image (found in ``data`` as :mod:`._labelstudio_tasks` says); ``file_name`` is its basename
  without the query string, ``source_id`` the task id. A task seen again (same id, same ``data``: the
  same export read twice) is skipped; a task id reused for other data (exports of two Label
  Studio instances) is reported and both are kept.
- A task annotated by several people is counted once, from its most recent non-cancelled
  annotation (``updated_at``, then ``created_at``, then ``id``); every other annotation is
  reported (``duplicate_annotation``, ``cancelled_annotation``). A task without annotations is an
  image without labels, not reported; one whose annotations were all cancelled is kept the same
  way, and its cancelled rows say so. A review that rejected the kept annotation is reported
  (the annotation is kept: reviews are not applied). ``ground_truth`` flags are not read.
- ``rectanglelabels``: percentages of ``original_width`` / ``original_height`` become pixels and
  set the image size; without them the box is normalised (0..1) and the size unknown. A rotated
  rectangle (Label Studio turns it clockwise about its top-left corner) becomes the axis-aligned
  box around it, reported. ``polygonlabels``: the box around the points; ``pixels`` is the
  polygon's area (shoelace) in pixels when the size is known. The task is segmentation when
  more than half the regions are polygons. A region with several labels gives one annotation
  per label.
- ``choices``: when the export has regions (a rectangle or polygon result, or such a tag in the
  label config) they are image conditions named after the result's ``from_name``; the first
  value is kept when there are several (reported). Otherwise the export is classification and
  each chosen value is one annotation row.
- Other result types (brushes, keypoints, text ...) are reported once per type and file.
- ``created_at`` / ``completed_by`` of the kept annotation -> ``annotated_at`` / ``annotator``
  (a user object gives its email, else its id).
- Categories: ``label_config`` (XML text or a path) gives their order and the declared but unused
  ones; a label it does not declare is reported (``unknown_class``) and kept after the declared
  ones. Without a config: sorted by name.
- ``split``: ``data.split``, else unassigned. File names are not read for it: exports are named
  after the project, and ``test_export.json`` is no test split. A group-like ``data`` field
  becomes ``group``; the other scalar ``data`` fields may become conditions (:mod:`._conditions`).
- ``predictions`` are not read here (see :func:`task_predictions`); their presence is reported.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import pyarrow as pa

from ..dataset import Dataset, build_dataset
from ..report import LoadError, LoadReport, excerpt
from ._conditions import GROUP_FIELDS, find_field, pick_conditions
from .files import parse_json, read_bytes
from ._labelstudio_config import LabelConfig, parse_label_config
from ._labelstudio_geometry import REGION_TYPES, BadResult, labels_of, region, result_size
from ._labelstudio_tasks import annotator, check_reviews, describe, file_name, image_key, iso_time, pick_annotation, task_id

__all__ = ["LabelConfig", "parse_label_config", "read_labelstudio", "task_predictions"]


def task_predictions(task: Any) -> list[dict[str, Any]]:
    """The task's ``predictions`` that are objects (model_version, score, result): the seam a
    predictions reader builds on. Not read into the dataset here."""
    preds = task.get("predictions") if isinstance(task, dict) else None
    return [p for p in preds if isinstance(p, dict)] if isinstance(preds, list) else []


@dataclass
class _Image:
    source_id: str
    file: str
    file_name: str | None
    data: dict[str, Any]
    split: str | None
    annotated_at: str | None = None
    annotator: str | None = None
    size: tuple[float, float] | None = None


@dataclass
class _Row:
    """One annotation row: a region label, or a chosen value (box None)."""

    image: int
    label: str
    source_id: str
    file: str
    box: tuple[float, float, float, float] | None = None
    pixels: float | None = None
    polygon: bool = False
    from_name: str = ""


@dataclass
class _State:
    config: LabelConfig | None
    images: list[_Image] = field(default_factory=list)
    regions: list[_Row] = field(default_factory=list)
    choices: list[_Row] = field(default_factory=list)
    seen_tasks: dict[str, tuple[str, dict]] = field(default_factory=dict)  # task id -> (file, data)
    has_regions: bool = False


def read_labelstudio(
    paths: Sequence[str | Path], report: LoadReport | None = None, label_config: str | Path | None = None, **options: Any
) -> Dataset:
    """Read one or several Label Studio JSON exports into one dataset.

    ``label_config`` (None): the project's labelling config, as XML text or a path; it fixes the
    class order, adds declared classes no task uses, and names the image's data key.
    """
    if options:
        raise ValueError(f"`read_labelstudio` takes only `label_config`. Got {sorted(options)} as well.")
    report = report if report is not None else LoadReport()
    config = parse_label_config(label_config, report) if label_config is not None else None
    state = _State(config)
    for path in paths:
        _read_file(str(path), state, report)
    return _assemble(state, [str(p) for p in paths], report)


# --------------------------------------------------------------------------- tasks


def _read_file(path: str, state: _State, report: LoadReport) -> None:
    data = read_bytes(path)
    try:
        doc = parse_json(data, path, report)
    except ValueError as exc:  # a number longer than Python's int limit slips through parse_json
        raise LoadError(f"{path}: not valid JSON — {exc}.", report, path) from None
    if isinstance(doc, dict):
        if "data" not in doc:
            hint = " (a COCO file? load it as coco)" if "images" in doc else ""
            raise LoadError(f"{path}: not a Label Studio export — an object without `data`{hint}.", report, path)
        doc = [doc]
    if not isinstance(doc, list):
        raise LoadError(f"{path}: not a Label Studio export — the top level is {describe(doc)}, not a list of tasks.",
                        report, path)
    if doc and not any(isinstance(t, dict) and "data" in t for t in doc):
        raise LoadError(f"{path}: not a Label Studio JSON export — no task has `data` "
                        "(a JSON-MIN or CSV-style export? export as JSON).", report, path)
    types: Counter[str] = Counter()
    predictions = 0
    for i, task in enumerate(doc):
        if _read_task(path, i, task, state, report, types):
            predictions += len(task_predictions(task))
    for kind, count in types.items():
        report.add(path, f"type {kind}", "unsupported_result",
                   f"{count} result(s) of type {kind!r}: not a rectangle, polygon or choice", "skipped")
    if predictions:
        report.add(path, "predictions", "predictions_ignored",
                   f"{predictions} model prediction(s) in the tasks: the dataset holds annotations only", "ignored")


def _read_task(path: str, i: int, task: Any, state: _State, report: LoadReport, types: Counter) -> bool:
    if not isinstance(task, dict):
        report.add(path, f"tasks[{i}]", "bad_record", f"task is {describe(task)}, not an object", "skipped")
        return False
    tid = task_id(task.get("id"))
    if tid is None:
        found = "missing" if "id" not in task else excerpt(task['id'], 40)
        report.add(path, f"tasks[{i}]", "bad_id", f"task id is {found}, not a whole number", "skipped")
        return False
    record = f"task {tid}"
    data = task.get("data")
    if not isinstance(data, dict):
        report.add(path, record, "bad_record", f"task `data` is {describe(data)}, not an object", "skipped")
        return False
    if tid in state.seen_tasks:
        first, first_data = state.seen_tasks[tid]
        if data == first_data:  # the same task exported twice
            report.add(path, record, "duplicate_id", f"task {tid} appears again with the same data (first in {first})",
                       "skipped the later one")
            return False
        report.add(path, record, "duplicate_id",
                   f"task id {tid} is used again for other data (first in {first}; another project?)", "kept both")
    else:
        state.seen_tasks[tid] = (path, data)
    key = image_key(data, state.config)
    if key is None:
        report.add(path, record, "no_image", "task `data` has no image path or URL", "kept without a file name")
    split = data.get("split")
    if split is not None and (not isinstance(split, (str, int)) or isinstance(split, bool)):
        report.add(path, record, "bad_split", f"data.split is {describe(split)}, not a name", "set to unassigned")
        split = None
    extra = {k: v for k, v in data.items() if k not in (key, "split")}
    image = _Image(tid, path, (file_name(data[key]) or None) if key else None, extra, None if split is None else str(split))
    state.images.append(image)
    kept = pick_annotation(path, tid, task.get("annotations"), report)
    if kept is not None:
        _read_annotation(path, len(state.images) - 1, *kept, state, report, types)
    return True


# --------------------------------------------------------------------------- results


def _read_annotation(
    path: str, row: int, name: str, ann: dict[str, Any], state: _State, report: LoadReport, types: Counter
) -> None:
    """The kept annotation's results: regions (after the image size is known), choices, the rest counted."""
    image = state.images[row]
    prefix = f"task {image.source_id} / {name}"
    image.annotated_at = iso_time(ann.get("created_at"))
    image.annotator = annotator(ann.get("completed_by"))
    check_reviews(path, prefix, ann, report)
    results = ann.get("result")
    if results is None:
        return
    if not isinstance(results, list):
        report.add(path, prefix, "bad_record", f"`result` is {describe(results)}, not a list", "skipped")
        return
    regions: list[tuple[str, str, dict, tuple[float, float] | None]] = []
    sizes: list[tuple[float, float]] = []
    for k, res in enumerate(results):
        rid = res.get("id") if isinstance(res, dict) else None
        ok_id = isinstance(rid, (str, int)) and not isinstance(rid, bool) and str(rid).strip()
        rec = f"{prefix} / result {rid}" if ok_id else f"{prefix} / result[{k}]"
        if not isinstance(res, dict) or not isinstance(res.get("value"), dict):
            what = f"result is {describe(res)}" if not isinstance(res, dict) else f"`value` is {describe(res.get('value'))}"
            report.add(path, rec, "bad_result", f"{what}, not an object", "skipped")
            continue
        value, kind = res["value"], res.get("type")
        if kind is None:
            kind = next((t for t in (*REGION_TYPES, "choices") if t in value), None)
        size = result_size(res)
        if size:
            sizes.append(size)
        elif "original_width" in res or "original_height" in res:
            report.add(path, rec, "bad_image_size", f"original size {excerpt(res.get('original_width'), 40)} x "
                       f"{excerpt(res.get('original_height'), 40)} is not two positive numbers", "set to unknown")
        if kind in REGION_TYPES:
            state.has_regions = True
            regions.append((rec, kind, value, size))
        elif kind == "choices":
            chosen = labels_of(value.get("choices"))
            if not chosen:
                report.add(path, rec, "no_label", f"choices result has no chosen value ({excerpt(value.get('choices'), 60)})", "skipped")
            from_name = res.get("from_name") if isinstance(res.get("from_name"), str) and res["from_name"].strip() else "choice"
            state.choices.extend(_Row(row, c, rec, path, from_name=from_name) for c in chosen)
        elif kind is None:
            report.add(path, rec, "bad_result", "result has no `type`", "skipped")
        else:
            types[kind if isinstance(kind, str) and len(kind) <= 40 else excerpt(kind, 40)] += 1
    if sizes:
        image.size = sizes[0]
        if len(set(sizes)) > 1:
            seen = ", ".join(f"{w:g}x{h:g}" for w, h in dict.fromkeys(sizes))
            report.add(path, prefix, "bad_image_size", f"results give different image sizes ({seen})",
                       f"kept {sizes[0][0]:g}x{sizes[0][1]:g}")
    for rec, kind, value, size in regions:
        _add_region(path, row, rec, kind, value, size or image.size, state, report)


def _add_region(path: str, row: int, rec: str, kind: str, value: dict, size: tuple[float, float] | None,
                state: _State, report: LoadReport) -> None:
    try:
        found = region(kind, value, size)
    except BadResult as exc:
        report.add(path, rec, exc.code, exc.problem, "skipped")
        return
    labels = labels_of(value.get(kind))
    if not labels:
        report.add(path, rec, "no_label", f"region has no label ({kind} is {excerpt(value.get(kind), 60)})", "skipped")
        return
    if found.rotation:
        space = "" if size else " (in normalised coordinates: the image size is unknown)"
        report.add(path, rec, "rotated_box", f"rectangle rotated by {found.rotation:g}°{space}",
                   "kept its axis-aligned bounding box")
    polygon = kind == "polygonlabels"
    state.regions.extend(_Row(row, label, rec, path, found.box, found.pixels, polygon) for label in labels)


# --------------------------------------------------------------------------- assembling


def _assemble(state: _State, sources: list[str], report: LoadReport) -> Dataset:
    config = state.config
    with_regions = state.has_regions or (config is not None and config.has_regions)
    rows = list(state.regions) if with_regions else list(state.choices)
    declared = ((config.labels if with_regions else config.choices) if config else ())
    names = _categories(rows, declared, config is not None, report)
    row_of = {n: i for i, n in enumerate(names)}
    images = state.images
    where = ", ".join(sources)
    data_keys = list(dict.fromkeys(k for img in images for k in img.data))
    group_key = find_field(data_keys, GROUP_FIELDS)
    conditions = _choice_conditions(state, report, where) if with_regions else {}
    conditions = _data_conditions(images, [k for k in data_keys if k != group_key], conditions, report, where)
    n_poly = sum(r.polygon for r in rows)
    if with_regions:
        task = "segmentation" if 2 * n_poly > len(rows) else "detection"
    else:
        task = "classification" if state.choices or (config and config.choices) else "detection"
    img_cols: dict[str, Any] = {
        "source_id": [i.source_id for i in images],
        "file_name": [i.file_name for i in images],
        "width": [round(i.size[0]) if i.size else None for i in images],
        "height": [round(i.size[1]) if i.size else None for i in images],
        "split": [i.split for i in images],
        "group": [_scalar_text(i.data.get(group_key)) if group_key else None for i in images],
        "annotated_at": [i.annotated_at for i in images],
        "annotator": [i.annotator for i in images],
        **conditions,
    }
    box = lambda r, k: r.box[k] if r.box else None  # noqa: E731
    ann_cols: dict[str, Any] = {
        "image": [r.image for r in rows],
        "category": [row_of[r.label] for r in rows],
        "source_id": [r.source_id for r in rows],
        **{c: pa.array([box(r, k) for r in rows], pa.float64()) for k, c in enumerate(("x", "y", "w", "h"))},
        "pixels": pa.array([r.pixels for r in rows], pa.float64()),
        "annotated_at": [images[r.image].annotated_at for r in rows],
        "annotator": [images[r.image].annotator for r in rows],
    }
    return build_dataset(
        images=img_cols, annotations=ann_cols, categories={"name": names}, task=task, format="labelstudio",
        sources=sources, report=report, conditions=list(conditions),
        annotation_files=[r.file for r in rows] if len(sources) > 1 else where,
    )


def _categories(rows: list[_Row], declared: tuple[str, ...], with_config: bool, report: LoadReport) -> list[str]:
    used: dict[str, Counter] = {}
    for r in rows:
        used.setdefault(r.label, Counter())[r.file] += 1
    if not with_config:
        return sorted(used)
    unknown = sorted(set(used) - set(declared))
    for name in unknown:
        files = used[name]
        report.add(next(iter(files)), name, "unknown_class",
                   f"label {name!r} ({sum(files.values())} annotation(s)) is not declared in the label config",
                   "kept as an extra class")
    return [*declared, *unknown]


def _choice_conditions(state: _State, report: LoadReport, where: str) -> dict[str, pa.Array]:
    """Choices of a region export: one condition per ``from_name``, first value per image."""
    fields: dict[str, list[str | None]] = {}
    extra: dict[tuple[str, int], list[str]] = {}
    for r in state.choices:
        values = fields.setdefault(r.from_name, [None] * len(state.images))
        if values[r.image] is None:
            values[r.image] = r.label
        else:
            extra.setdefault((r.from_name, r.image), [values[r.image]]).append(r.label)
    for (from_name, image), seen in extra.items():
        report.add(state.images[image].file, f"task {state.images[image].source_id}", "multi_valued_condition",
                   f"choice `{from_name}` has several values ({', '.join(seen)})", f"kept the first, {seen[0]!r}")
    return pick_conditions({k: pa.array(v, pa.string()) for k, v in fields.items()}, len(state.images), report, where)


def _data_conditions(images: list[_Image], keys: list[str], taken: dict[str, pa.Array], report: LoadReport,
                     where: str) -> dict[str, pa.Array]:
    """Scalar ``data`` fields as conditions (after choices, which win a name clash)."""
    fields: dict[str, pa.Array] = {}
    for key in keys:
        values = [img.data.get(key) for img in images]
        if any(isinstance(v, (dict, list)) for v in values):
            report.add(where, key, "condition_ignored", f"field `data.{key}` holds nested values, not text or numbers", "ignored")
            continue
        fields[key] = _to_arrow(values)
    out = dict(taken)
    for name, values in pick_conditions(fields, len(images), report, where).items():
        if name in out:
            report.add(where, name, "condition_ignored",
                       f"a data field would be the column `{name}`, which a choice fills", "ignored")
        else:
            out[name] = values
    return out


def _scalar_text(value: Any) -> str | None:
    return None if value is None or isinstance(value, (dict, list)) else str(value)


def _to_arrow(values: list[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([_scalar_text(v) for v in values], pa.string())
