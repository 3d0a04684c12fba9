"""Stand-in frames for the bundled samples, rendered on first use into the cache folder.

The sample exports (``sample_data/``, :mod:`imbal_core.samples`) are generated annotations without
photographs. So that the gallery shows something true to the annotations out of the box, each
sample image gets a small seeded picture: a street scene (sky, road, lane marks) for detection
samples, a concrete texture for the surface sample, with every annotated object painted where its
box (or polygon) is. Conditions shape the scene: ``time_of_day`` night (or ``lighting`` low) is
dark, ``weather`` rain adds streaks, fog a haze, snow flakes. Frames are never committed: they go
to ``<cache_dir>/gallery/frames/v<VERSION>/<sample>/``, keyed by the image's row and boxes, so a
regenerated sample gets new frames. The gallery marks them "rendered sample frame".

A dataset is a bundled sample when every file it was read from lies inside the sample folder
(:func:`imbal_core.samples.sample_root`); the sample is the first folder below it (``street``).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..io.cache import cache_dir
from ..samples import sample_root
from . import geometry

if TYPE_CHECKING:
    from ..dataset import Dataset

log = logging.getLogger(__name__)

VERSION = 1
#: The long side of a rendered frame, in pixels (boxes are scaled from the recorded size).
FRAME_SIDE = 640
DEFAULT_SIZE = (480, 480)
_NIGHT = frozenset({"night", "dark", "low", "dusk", "dawn/dusk"})
_PERSON_LIKE = ("person", "pedestrian", "wheelchair", "stroller", "rider", "child")
_VEHICLE = ("car", "bus", "truck", "van", "vehicle", "train")
_TWO_WHEEL = ("bicycle", "motorcycle", "bike", "scooter")


def sample_name(dataset: Dataset) -> str | None:
    """The bundled sample ``dataset`` was read from (``street`` ...), or None."""
    if not dataset.sources:
        return None
    try:
        root = sample_root().resolve()
        parts = [Path(s).resolve().relative_to(root).parts for s in dataset.sources]
    except (ValueError, OSError, RuntimeError):
        return None
    names = {p[0] for p in parts if len(p) > 1}
    return names.pop() if len(names) == 1 and all(len(p) > 1 for p in parts) else None


def frames_dir() -> Path:
    return cache_dir() / "gallery" / "frames" / f"v{VERSION}"


def sample_frame(dataset: Dataset, image_id: int) -> Path | None:
    """The stand-in frame of a sample image (rendered now if not yet); None if not a sample or it
    cannot be written."""
    name = sample_name(dataset)
    if name is None:
        return None
    row = dataset.images.slice(int(image_id), 1).to_pylist()[0]
    shapes = geometry.ground_truth_shapes(dataset, image_id)
    key = _key(name, row, shapes, dataset.conditions)
    path = frames_dir() / name / key[:2] / f"{key}.jpg"
    if path.is_file():
        return path
    try:
        picture = render_frame(row, shapes, dataset.conditions, seed=int(key[:12], 16),
                               scene="texture" if dataset.task == "classification" else "street")
        _write_jpeg(picture, path)
    except OSError as exc:
        log.warning("cannot write a sample frame under %s: %s", path.parent, exc)
        return None
    return path


def _key(sample: str, row: dict, shapes: list[geometry.Shape], conditions: tuple[str, ...]) -> str:
    boxes = [(s.category_id, [round(v, 1) for v in s.box] if s.box else None, len(s.polygons)) for s in shapes]
    doc = [VERSION, sample, row["source_id"], row["file_name"], row["width"], row["height"],
           [row.get(c) for c in conditions], boxes]
    return hashlib.sha1(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def _write_jpeg(picture: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            picture.save(f, "JPEG", quality=85)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _dark(row: dict, conditions: tuple[str, ...]) -> bool:
    return any(str(row.get(c) or "").lower() in _NIGHT for c in conditions if c in ("time_of_day", "lighting", "light"))


def render_frame(row: dict, shapes: list[geometry.Shape], conditions: tuple[str, ...], seed: int = 0,
                 scene: Literal["street", "texture"] | None = None) -> Any:
    """A seeded stand-in picture (PIL RGB) for one image row and its ground-truth shapes: a
    ``street`` scene or a surface ``texture`` (None: a street when any shape has a box)."""
    import numpy as np
    from PIL import Image, ImageDraw

    # one stream per layer, so the scene, the objects, the weather and the grain do not shift one another
    layout, paint, sky, grain = (np.random.default_rng([seed, k]) for k in range(4))
    width, height = (row["width"], row["height"]) if row.get("width") and row.get("height") else DEFAULT_SIZE
    scale = FRAME_SIDE / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    dark = _dark(row, conditions)
    weather = str(row.get("weather") or "").lower()
    boxed = any(s.box is not None for s in shapes) if scene is None else scene == "street"
    canvas = _street(size, layout, dark) if boxed else _texture(size, layout, dark)
    draw = ImageDraw.Draw(canvas)
    for shape in sorted(shapes, key=lambda s: (s.box[1] + s.box[3]) if s.box else 0):  # far objects first
        _paint(draw, shape, scale, paint, dark)
    if not boxed:
        for shape in shapes:
            _defect(draw, shape.class_name, size, paint, dark)
    canvas = _weather(canvas, weather, sky, dark)
    pixels = np.asarray(canvas, dtype=np.int16)
    pixels = pixels + grain.normal(0, 6 if not dark else 4, pixels.shape[:2])[..., None].astype(np.int16)  # sensor grain
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def _street(size: tuple[int, int], rng: Any, dark: bool) -> Any:
    import numpy as np
    from PIL import Image

    w, h = size
    horizon = int(h * rng.uniform(0.38, 0.5))
    top, bottom = ((8, 12, 30), (28, 34, 60)) if dark else ((120, 170, 225), (205, 225, 240))
    road = np.array((34, 34, 38) if dark else (118, 118, 122))
    t = np.linspace(0, 1, horizon)[:, None]
    sky = (np.array(top) * (1 - t) + np.array(bottom) * t)[:, None, :].repeat(w, axis=1)
    ground = np.broadcast_to(road, (h - horizon, w, 3)).astype(float)
    picture = np.concatenate([sky, ground]).astype(np.uint8)
    image = Image.fromarray(picture, "RGB")
    from PIL import ImageDraw

    draw = ImageDraw.Draw(image)
    mark = (150, 150, 120) if dark else (235, 235, 235)
    for k in range(8):  # dashed centre line converging to the horizon
        y0 = horizon + (h - horizon) * (k / 8) ** 1.5
        y1 = horizon + (h - horizon) * ((k + 0.5) / 8) ** 1.5
        draw.line([(w / 2, y0), (w / 2, y1)], fill=mark, width=max(1, int(1 + 6 * k / 8)))
    if dark:
        for x in rng.uniform(0, w, 4):  # street lamps
            draw.ellipse([x - 4, horizon - 60, x + 4, horizon - 52], fill=(255, 220, 140))
    return image


def _texture(size: tuple[int, int], rng: Any, dark: bool) -> Any:
    import numpy as np
    from PIL import Image

    w, h = size
    base = 55 if dark else 150
    noise = rng.normal(0, 14, (h // 4 + 1, w // 4 + 1)).repeat(4, axis=0).repeat(4, axis=1)[:h, :w]
    gray = np.clip(base + noise, 0, 255)
    return Image.fromarray(np.stack([gray, gray * 0.98, gray * 0.94], axis=-1).astype(np.uint8), "RGB")


def _tone(rgb: tuple[int, int, int], dark: bool) -> tuple[int, int, int]:
    return tuple(int(v * 0.4) for v in rgb) if dark else rgb


def _paint(draw: Any, shape: geometry.Shape, scale: float, rng: Any, dark: bool) -> None:
    name = shape.class_name.lower()
    if shape.polygons:
        fill = _tone((200, 200, 200) if "lane" in name or "cross" in name or "arrow" in name else
                     (90, 90, 95) if "road" in name else (160, 150, 140), dark)
        for ring in shape.polygons:
            draw.polygon([(ring[i] * scale, ring[i + 1] * scale) for i in range(0, len(ring) - 1, 2)], fill=fill)
        return
    if shape.box is None:
        return
    x, y, w, h = (v * scale for v in shape.box)
    body = tuple(int(v) for v in rng.integers(60, 200, 3))
    if any(k in name for k in _PERSON_LIKE):
        head = max(2, w * 0.35)
        draw.ellipse([x + w / 2 - head / 2, y, x + w / 2 + head / 2, y + head], fill=_tone((224, 180, 150), dark))
        draw.rectangle([x + w * 0.2, y + head, x + w * 0.8, y + h * 0.65], fill=_tone(body, dark))
        draw.rectangle([x + w * 0.25, y + h * 0.65, x + w * 0.75, y + h], fill=_tone((40, 40, 70), dark))
        if "wheelchair" in name or "stroller" in name:
            r = w * 0.3
            draw.ellipse([x + w / 2 - r, y + h - 2 * r, x + w / 2 + r, y + h], outline=_tone((30, 30, 30), dark), width=2)
    elif any(k in name for k in _VEHICLE):
        draw.rounded_rectangle([x, y + h * 0.2, x + w, y + h * 0.85], radius=max(1, w * 0.08), fill=_tone(body, dark))
        draw.rectangle([x + w * 0.15, y, x + w * 0.85, y + h * 0.4], fill=_tone(body, dark))
        draw.rectangle([x + w * 0.22, y + h * 0.06, x + w * 0.78, y + h * 0.34], fill=_tone((150, 190, 210), dark))
        r = max(1.5, h * 0.15)
        for cx in (x + w * 0.22, x + w * 0.78):
            draw.ellipse([cx - r, y + h - 2 * r, cx + r, y + h], fill=(20, 20, 20))
        if dark:  # headlights
            draw.ellipse([x + w * 0.05, y + h * 0.45, x + w * 0.2, y + h * 0.6], fill=(255, 240, 190))
            draw.ellipse([x + w * 0.8, y + h * 0.45, x + w * 0.95, y + h * 0.6], fill=(255, 240, 190))
    elif any(k in name for k in _TWO_WHEEL):
        r = min(w / 4, h / 3)
        for cx in (x + r, x + w - r):
            draw.ellipse([cx - r, y + h - 2 * r, cx + r, y + h], outline=_tone((25, 25, 25), dark), width=max(1, int(r / 4)))
        draw.line([(x + r, y + h - r), (x + w / 2, y + h * 0.3), (x + w - r, y + h - r)], fill=_tone(body, dark), width=2)
    elif "light" in name:
        draw.rectangle([x, y, x + w, y + h], fill=(25, 25, 25))
        for k, color in enumerate(((220, 40, 40), (230, 180, 30), (40, 200, 70))):
            cy = y + h * (k + 0.5) / 3
            draw.ellipse([x + w * 0.2, cy - w * 0.3, x + w * 0.8, cy + w * 0.3], fill=color)
    elif "sign" in name:
        draw.ellipse([x, y, x + w, y + h], fill=_tone((30, 80, 180), dark), outline=(240, 240, 240), width=2)
    else:
        draw.rounded_rectangle([x, y, x + w, y + h], radius=max(1, min(w, h) * 0.2), fill=_tone(body, dark))


def _defect(draw: Any, name: str, size: tuple[int, int], rng: Any, dark: bool) -> None:
    w, h = size
    lowered = name.lower()
    if "background" in lowered or "ok" == lowered or "good" in lowered:
        return
    color = (25, 25, 25) if "crack" in lowered else (120, 70, 40) if "stain" in lowered or "rust" in lowered else (60, 60, 60)
    x, y = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h
    points = [(x, y)]
    for _ in range(int(rng.integers(6, 14))):
        x, y = x + rng.normal(0, w / 12), y + rng.normal(0, h / 12)
        points.append((x, y))
    if "crack" in lowered or "scratch" in lowered:
        draw.line(points, fill=_tone(color, dark), width=3)
    else:
        for px, py in points:
            r = rng.uniform(3, 9)
            draw.ellipse([px - r, py - r, px + r, py + r], fill=_tone(color, dark))


def _weather(canvas: Any, weather: str, rng: Any, dark: bool) -> Any:
    from PIL import Image, ImageDraw

    w, h = canvas.size
    if weather == "fog":
        return Image.blend(canvas, Image.new("RGB", canvas.size, (90, 90, 95) if dark else (215, 215, 220)), 0.45)
    draw = ImageDraw.Draw(canvas)
    if weather == "rain":
        streak = (120, 130, 150) if dark else (200, 205, 215)
        for _ in range(int(w * h / 900)):
            x, y = rng.uniform(-20, w), rng.uniform(0, h)
            length = rng.uniform(10, 22)
            draw.line([(x, y), (x + length * 0.25, y + length)], fill=streak, width=1)
    elif weather == "snow":
        for _ in range(int(w * h / 600)):
            x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.8, 2.2)
            draw.ellipse([x - r, y - r, x + r, y + r], fill=(235, 235, 240) if not dark else (150, 150, 160))
    return canvas
