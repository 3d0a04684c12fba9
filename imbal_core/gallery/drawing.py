"""One image with its annotations drawn: :func:`render` -> :class:`Rendered` (a PIL image + what was drawn).

Drawing rules, the same in the app, the contact sheets and the report:

- each class in its colour (:func:`.palette.class_color`, by ``category_id``);
- ground truth solid: box outlines, polygons outlined over a light fill, masks as a tint;
  image labels (classification) as a filled tag in the top-left corner;
- predictions dashed, with their score (``0.87``) in a tag at the box's corner;
  classification predictions as an outlined tag with the score;
- the shape a load-report row names (``highlight``) inside a thick yellow frame
  (:data:`.palette.HIGHLIGHT_COLOR`); a row naming the image frames the whole picture;
- an image without pixels (missing, refused, unreadable) is a grey canvas of its recorded size with
  the annotations on it and a banner saying why; a bundled sample's stand-in frame says
  "rendered sample frame".

Coordinates: shapes stay in the export's image coordinates; ``Rendered.scale`` maps them to the
canvas (:meth:`Rendered.canvas_box`).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from ..report import ReportRow
from . import geometry
from .decoding import decode
from .geometry import Shape
from .palette import HIGHLIGHT_COLOR, rgb
from .resolve import ImageResolver, ImageSource, resolver_for

if TYPE_CHECKING:
    from ..dataset import Dataset
    from ..io.predictions import Predictions

#: The canvas colour of an image without pixels.
BLANK_COLOR = (226, 226, 226)
#: The size of an image neither the export nor a file gives (boxes normalised or unknown).
DEFAULT_CANVAS = (640, 480)
#: Tags with class names are drawn on renders at least this large (long side, pixels) when ``labels`` is None.
LABELS_FROM = 480
CODE_UNREADABLE = "image_unreadable"


@dataclass(frozen=True, eq=False)
class Rendered:
    """A drawn image. ``image``: PIL RGB; ``shapes``: what was drawn, ground truth then
    predictions (export coordinates); ``scale``: canvas pixels per export unit (x, y); ``source``:
    where the pixels came from; ``note``: why there are no pixels or that they are a stand-in ("" for a
    real picture); ``problem``: the report row of a refused or unreadable image (else None);
    ``highlighted_image``: a highlight named the image itself."""

    image_id: int
    image: Any
    shapes: tuple[Shape, ...]
    scale: tuple[float, float]
    source: ImageSource
    note: str = ""
    problem: ReportRow | None = None
    highlighted_image: bool = False

    @property
    def missing(self) -> bool:
        """True when the picture is a blank canvas (no file, refused or unreadable)."""
        return self.source.path is None or self.problem is not None

    def canvas_box(self, shape: Shape) -> tuple[float, float, float, float] | None:
        """The shape's box on the canvas as (x0, y0, x1, y1), or None for an image label."""
        if shape.box is None:
            return None
        x, y, w, h = shape.box
        sx, sy = self.scale
        return x * sx, y * sy, (x + w) * sx, (y + h) * sy

    def count(self, class_name: str, origin: str = "ground_truth") -> int:
        """How many shapes of ``class_name`` from ``origin`` were drawn."""
        return sum(1 for s in self.shapes if s.class_name == class_name and s.origin == origin)

    def jpeg(self, quality: int = 85) -> bytes:
        buffer = io.BytesIO()
        self.image.save(buffer, "JPEG", quality=quality)
        return buffer.getvalue()


def render(dataset: Dataset, image_id: int, predictions: Predictions | None = None, *, size: int | None = None,
           highlight: str | ReportRow | Iterable[str | ReportRow] | None = None, score_threshold: float = 0.5,
           images_dir: str | Path | None = None, data_root: str | Path | None = None,
           resolver: ImageResolver | None = None, labels: bool | None = None,
           shapes: Sequence[Shape] | None = None) -> Rendered:
    """Image ``image_id`` of ``dataset`` with its ground truth (and ``predictions``) drawn.

    ``size`` (None: the image's own size): the long side of the result, in pixels.
    ``highlight``: a load-report row, an annotation's ``source_id`` or the image's (or several).
    ``score_threshold`` (0.5): the lowest prediction score drawn. ``images_dir`` / ``data_root``
    (None): where else images may be (see :mod:`.resolve`); or pass a ``resolver`` to reuse.
    ``labels`` (None: when the long side is at least :data:`LABELS_FROM`): draw class names on
    ground-truth boxes. ``shapes``: what to draw when already computed (:mod:`.geometry`; default:
    the image's ground truth and predictions). Never raises for a missing, refused or broken image file.
    """
    if size is not None and size < 16:
        raise ValueError(f"`size` must be at least 16 pixels or None. Got {size} instead.")
    image_id = int(image_id)
    resolver = resolver or resolver_for(dataset, images_dir, data_root)
    source = resolver.resolve(image_id)
    marked = geometry.highlight_records(highlight)
    if shapes is None:
        shapes = geometry.ground_truth_shapes(dataset, image_id, marked)
        if predictions is not None:
            shapes += geometry.prediction_shapes(dataset, predictions, image_id, score_threshold)
    shapes = list(shapes)
    decoded = decode(source.path, size) if source.path is not None else None
    note, problem = source.note, source.problem
    if decoded is not None and decoded.image is None:
        note = f"image unreadable: {decoded.problem}"
        problem = ReportRow(str(source.path), _image_record(dataset, image_id), CODE_UNREADABLE,
                            f"image file cannot be shown: {decoded.problem}", "drawn as missing")
    picture = decoded.image if decoded is not None else None
    units = _units(dataset, image_id, shapes, decoded)
    if size is not None:
        factor = size / max(units)
        canvas_size = (max(1, round(units[0] * factor)), max(1, round(units[1] * factor)))
    elif picture is not None:
        canvas_size = picture.size
    else:
        canvas_size = (max(1, round(units[0])), max(1, round(units[1])))
    canvas = _canvas(picture, canvas_size)
    scale = (canvas_size[0] / units[0], canvas_size[1] / units[1])
    record, file_name = _image_record(dataset, image_id), dataset.images.column("file_name")[image_id].as_py()
    whole = bool(marked & {record, file_name})
    show_labels = labels if labels is not None else max(canvas_size) >= LABELS_FROM
    _draw(canvas, shapes, scale, show_labels, whole)
    if note:
        _banner(canvas, note)
    return Rendered(image_id, canvas, tuple(shapes), scale, source, note, problem, whole)


def _image_record(dataset: Dataset, image_id: int) -> str:
    return dataset.images.column("source_id")[image_id].as_py()


def _units(dataset: Dataset, image_id: int, shapes: list[Shape], decoded: Any) -> tuple[float, float]:
    """The extent of the export's coordinates: the recorded size, else the file's, else the boxes'."""
    recorded = geometry.image_size(dataset, image_id)
    if recorded is not None:
        return float(recorded[0]), float(recorded[1])
    if geometry.normalized_boxes(dataset, image_id, shapes):
        return 1.0, 1.0 * (decoded.size[1] / decoded.size[0] if decoded is not None and decoded.size else
                           DEFAULT_CANVAS[1] / DEFAULT_CANVAS[0])
    if decoded is not None and decoded.size is not None:
        return float(decoded.size[0]), float(decoded.size[1])
    ends = [(s.box[0] + s.box[2], s.box[1] + s.box[3]) for s in shapes if s.box is not None]
    if ends:
        return max(max(e[0] for e in ends), 1.0) * 1.05, max(max(e[1] for e in ends), 1.0) * 1.05
    return float(DEFAULT_CANVAS[0]), float(DEFAULT_CANVAS[1])


def _canvas(picture: Any, size: tuple[int, int]) -> Any:
    from PIL import Image, ImageDraw

    if picture is not None:
        return picture if picture.size == size else picture.resize(size, Image.Resampling.BILINEAR)
    canvas = Image.new("RGB", size, BLANK_COLOR)
    draw = ImageDraw.Draw(canvas)
    step = max(12, max(size) // 16)
    for k in range(-size[1], size[0], step):  # light hatching: clearly not a photograph
        draw.line([(k, 0), (k + size[1], size[1])], fill=(212, 212, 212), width=1)
    return canvas


@lru_cache(maxsize=16)
def _font(px: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=px)
    except (TypeError, OSError, ImportError):  # a Pillow without FreeType: the bitmap font
        return ImageFont.load_default()


def _line_width(size: tuple[int, int]) -> int:
    return max(2, round(max(size) / 320))


def _draw(canvas: Any, shapes: list[Shape], scale: tuple[float, float], labels: bool, whole: bool) -> None:
    from PIL import Image, ImageDraw

    sx, sy = scale
    lw = _line_width(canvas.size)
    fills = [s for s in shapes if s.polygons or s.rle is not None]
    if fills:
        overlay = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
        odraw = ImageDraw.Draw(overlay)
        for shape in fills:
            tint = (*rgb(shape.color), 70 if shape.origin == "ground_truth" else 45)
            if shape.rle is not None:
                mask = _mask(shape.rle, canvas.size)
                if mask is not None:
                    overlay.paste(Image.new("RGBA", canvas.size, tint), (0, 0), mask)
            for ring in shape.polygons:
                odraw.polygon(_points(ring, sx, sy), fill=tint)
        canvas.paste(Image.alpha_composite(canvas.convert("RGBA"), overlay).convert("RGB"))
    draw = ImageDraw.Draw(canvas)
    font = _font(max(10, round(max(canvas.size) / 45)))
    tags: list[tuple[tuple[float, float], str, str, bool]] = []
    chips = 0
    for shape in shapes:
        color = rgb(shape.color)
        dashed = shape.origin == "prediction"
        if shape.box is None:  # an image label
            text = shape.class_name + (f" {shape.score:.2f}" if shape.score is not None else "")
            tags.append(((lw, lw + chips * (font.size + 6 if hasattr(font, "size") else 16)), text, shape.color, dashed))
            chips += 1
            continue
        x0, y0, x1, y1 = _corners(shape.box, sx, sy)
        for ring in shape.polygons:
            points = _points(ring, sx, sy)
            _outline(draw, points + points[:1], color, lw, dashed)
        if not shape.polygons:
            _outline(draw, [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)], color, lw, dashed)
        if shape.highlighted:  # a frame around it, never smaller than 10 line widths (a zero-size box shows)
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            half_w, half_h = max((x1 - x0) / 2 + 2 * lw, 5 * lw), max((y1 - y0) / 2 + 2 * lw, 5 * lw)
            draw.rectangle([cx - half_w, cy - half_h, cx + half_w, cy + half_h], outline=rgb(HIGHLIGHT_COLOR),
                           width=lw + 1)
        if dashed and shape.score is not None:
            tags.append(((x0, y1 + 1), (f"{shape.class_name} " if labels else "") + f"{shape.score:.2f}", shape.color, True))
        elif labels and not dashed:
            tags.append(((x0, y0), shape.class_name, shape.color, False))
    for (x, y), text, color, outlined in tags:
        _tag(draw, (x, y), text, rgb(color), font, outlined)
    if whole:
        draw.rectangle([0, 0, canvas.size[0] - 1, canvas.size[1] - 1], outline=rgb(HIGHLIGHT_COLOR), width=lw * 3)


def _corners(box: tuple[float, float, float, float], sx: float, sy: float) -> tuple[float, float, float, float]:
    x, y, w, h = box
    xa, xb, ya, yb = x * sx, (x + w) * sx, y * sy, (y + h) * sy
    return min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb)


def _points(ring: tuple[float, ...], sx: float, sy: float) -> list[tuple[float, float]]:
    return [(ring[i] * sx, ring[i + 1] * sy) for i in range(0, len(ring) - 1, 2)]


def _outline(draw: Any, points: list[tuple[float, float]], color: tuple[int, int, int], width: int, dashed: bool) -> None:
    """A polyline, solid or dashed (dash 3 widths on, 2 off, at least 4 and 3 pixels)."""
    if not dashed:
        draw.line(points, fill=color, width=width, joint="curve")
        return
    on, off = max(4, 3 * width), max(3, 2 * width)
    for (xa, ya), (xb, yb) in zip(points, points[1:]):
        length = ((xb - xa) ** 2 + (yb - ya) ** 2) ** 0.5
        if length == 0:
            continue
        t = 0.0
        while t < length:
            end = min(t + on, length)
            draw.line([(xa + (xb - xa) * t / length, ya + (yb - ya) * t / length),
                       (xa + (xb - xa) * end / length, ya + (yb - ya) * end / length)], fill=color, width=width)
            t = end + off


def _tag(draw: Any, at: tuple[float, float], text: str, color: tuple[int, int, int], font: Any, outlined: bool) -> None:
    left, top, right, bottom = draw.textbbox(at, text, font=font)
    box = [left - 2, top - 2, right + 2, bottom + 2]
    if outlined:
        draw.rectangle(box, fill=(255, 255, 255), outline=color, width=1)
        draw.text(at, text, fill=color, font=font)
    else:
        draw.rectangle(box, fill=color)
        light = sum(color) > 460
        draw.text(at, text, fill=(0, 0, 0) if light else (255, 255, 255), font=font)


def _banner(canvas: Any, text: str) -> None:
    from PIL import ImageDraw

    draw = ImageDraw.Draw(canvas)
    font = _font(max(10, round(max(canvas.size) / 40)))
    height = draw.textbbox((0, 0), text, font=font)[3] + 6
    draw.rectangle([0, canvas.size[1] - height, canvas.size[0], canvas.size[1]], fill=(40, 40, 40))
    draw.text((4, canvas.size[1] - height + 2), text, fill=(255, 255, 255), font=font)


def _mask(rle: Any, size: tuple[int, int]) -> Any:
    """A COCO RLE as a PIL mask ("L") of ``size``; None when it cannot be decoded."""
    try:
        import numpy as np
        from PIL import Image
        from pycocotools import mask as mask_utils

        counts = rle["counts"]
        if isinstance(counts, list):  # uncompressed RLE
            rle = mask_utils.frPyObjects(rle, *rle["size"])
        elif isinstance(counts, str):
            rle = {"size": rle["size"], "counts": counts.encode("ascii")}
        bits = mask_utils.decode(rle)
        return Image.fromarray((np.asarray(bits) > 0).astype(np.uint8) * 255, "L").resize(size, Image.Resampling.NEAREST)
    except Exception:  # noqa: BLE001 — a malformed mask is not drawn; its box still is
        return None
