"""The Label Studio labelling config (XML): which classes a project declares, in order.

``<RectangleLabels>`` / ``<PolygonLabels>`` hold ``<Label value="...">`` (region classes),
``<Choices>`` holds ``<Choice value="...">``, and ``<Image value="$key">`` names the task's data
key that holds the image.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from ..report import LoadError, LoadReport
from .files import read_text

REGION_TAGS = ("RectangleLabels", "PolygonLabels")


@dataclass(frozen=True)
class LabelConfig:
    """What a labelling config declares: classes in document order, the image's data key."""

    labels: tuple[str, ...] = ()  # <Label value> inside <RectangleLabels> / <PolygonLabels>
    choices: tuple[str, ...] = ()  # <Choice value> inside <Choices>
    image_key: str | None = None  # from <Image value="$key">
    has_regions: bool = False  # a <RectangleLabels> or <PolygonLabels> tag is present


def parse_label_config(config: str | Path, report: LoadReport | None = None) -> LabelConfig:
    """A config given as XML text (starting with ``<``) or as a path; :class:`LoadError` when it
    cannot be read or is not XML."""
    report = report if report is not None else LoadReport()
    is_text = isinstance(config, str) and config.lstrip().startswith("<")
    where = "label_config" if is_text else str(config)
    try:
        root = ET.fromstring(config if is_text else read_text(config, report))
    except ET.ParseError as exc:
        raise LoadError(f"{where}: not a valid Label Studio label config — {exc}.", report, where) from None
    labels: list[str | None] = []
    choices: list[str | None] = []
    image_key, has_regions = None, False
    for el in root.iter():
        if el.tag in REGION_TAGS:
            has_regions = True
            labels.extend(c.get("value") for c in el.iter("Label"))
        elif el.tag == "Choices":
            choices.extend(c.get("value") for c in el.iter("Choice"))
        elif el.tag == "Image" and image_key is None and el.get("value", "").startswith("$"):
            image_key = el.get("value", "")[1:] or None
    return LabelConfig(_unique(labels), _unique(choices), image_key, has_regions)


def _unique(values: list[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))
