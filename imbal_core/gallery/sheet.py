"""Contact sheets: a page of thumbnails as one JPEG (a captioned grid) or one self-contained HTML file.

Both start with what was selected, in what order, and the counts said once (matched, shown,
without an image file, refused, unreadable, rendered sample frames); each thumbnail is captioned
with its file name, split and what the order counts. The HTML embeds the thumbnails as data URIs
(no other file is needed to view it) and escapes every text taken from the export.
"""
from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..report import safe_text
from .select import Selection
from .thumbs import ThumbnailPage

SheetFormat = Literal["jpg", "html"]
SUFFIXES: dict[str, SheetFormat] = {".jpg": "jpg", ".jpeg": "jpg", ".html": "html", ".htm": "html"}
#: Thumbnails per row of a JPEG sheet (fewer when there are fewer thumbnails).
COLUMNS = 6
_CAPTION_LINES = 2
_MARGIN = 8


@dataclass(frozen=True)
class SheetText:
    """The words of a sheet: ``title``, ``lines`` below it, and one caption (two lines) per thumbnail."""

    title: str
    lines: tuple[str, ...]
    captions: tuple[tuple[str, str], ...]


def sheet_text(selection: Selection, page: ThumbnailPage, title: str | None = None) -> SheetText:
    """What a contact sheet says (the app can show the same captions)."""
    rows = {r["image_id"]: r for r in selection.table.select(["image_id", "file_name", "source_id", "split", "count"]).to_pylist()}
    head = [f"{len(selection):,} images matched ({selection.order}); {page.summary()}"]
    captions = []
    for thumb in page.thumbnails:
        row = rows.get(thumb.image_id, {})
        name = safe_text(str(row.get("file_name") or row.get("source_id") or thumb.image_id))
        second = [str(row.get("split") or "")]
        if row.get("count") is not None and selection.count_label:
            second.append(f"{row['count']:,} {selection.count_label}")
        if thumb.note:
            second.append(thumb.note)
        captions.append((name, " · ".join(s for s in second if s)))
    return SheetText(safe_text(title or selection.description), tuple(head), tuple(captions))


def sheet_format(path: str | Path) -> SheetFormat:
    """``jpg`` or ``html`` from the file name's suffix (``.jpg``, ``.jpeg``, ``.html``, ``.htm``)."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"`out` must end in .jpg, .jpeg, .html or .htm. Got {str(path)!r} instead.")
    return SUFFIXES[suffix]


def sheet_jpeg(selection: Selection, page: ThumbnailPage, title: str | None = None, quality: int = 88) -> bytes:
    """The sheet as a JPEG: title and counts on top, then a grid of captioned thumbnails."""
    from PIL import Image, ImageDraw, ImageFont

    text = sheet_text(selection, page, title)
    thumbs = [Image.open(io.BytesIO(t.jpeg)) for t in page.thumbnails]
    cell_w = max([t.size[0] for t in thumbs] + [160])
    cell_h = max([t.size[1] for t in thumbs] + [1])
    font = _font(ImageFont, 12)
    title_font = _font(ImageFont, 16)
    line_h = 15
    columns = max(1, min(COLUMNS, len(thumbs)))
    rows = -(-len(thumbs) // columns)
    head_h = 10 + 20 + line_h * len(text.lines) + 6
    width = columns * (cell_w + _MARGIN) + _MARGIN
    width = max(width, 640)
    height = head_h + rows * (cell_h + _CAPTION_LINES * line_h + 2 * _MARGIN) + _MARGIN
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    draw.text((_MARGIN, 8), _fit(draw, text.title, title_font, width - 2 * _MARGIN), fill=(0, 0, 0), font=title_font)
    for k, line in enumerate(text.lines):
        draw.text((_MARGIN, 32 + k * line_h), _fit(draw, line, font, width - 2 * _MARGIN), fill=(60, 60, 60), font=font)
    for k, (thumb, caption) in enumerate(zip(thumbs, text.captions)):
        x = _MARGIN + (k % columns) * (cell_w + _MARGIN)
        y = head_h + (k // columns) * (cell_h + _CAPTION_LINES * line_h + 2 * _MARGIN)
        sheet.paste(thumb.convert("RGB"), (x + (cell_w - thumb.size[0]) // 2, y))
        for j, line in enumerate(caption):
            draw.text((x, y + cell_h + 2 + j * line_h), _fit(draw, line, font, cell_w), fill=(30, 30, 30), font=font)
    buffer = io.BytesIO()
    sheet.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def sheet_html(selection: Selection, page: ThumbnailPage, title: str | None = None) -> str:
    """The sheet as one self-contained HTML page (thumbnails as data URIs, every text escaped)."""
    text = sheet_text(selection, page, title)
    esc = html.escape
    figures = []
    for thumb, (first, second) in zip(page.thumbnails, text.captions):
        data = base64.b64encode(thumb.jpeg).decode("ascii")
        figures.append(
            f'<figure><img src="data:image/jpeg;base64,{data}" width="{thumb.size[0]}" height="{thumb.size[1]}" '
            f'alt="{esc(first)}"><figcaption><b>{esc(first)}</b><br>{esc(second)}</figcaption></figure>')
    rows = "".join(f"<p>{esc(line)}</p>" for line in text.lines)
    problems = "".join(f"<li>{esc(r.record)}: {esc(r.problem)} ({esc(r.action)})</li>" for r in page.report)
    problems = f"<details><summary>{len(page.report):,} images not shown</summary><ul>{problems}</ul></details>" \
        if page.report else ""
    return (
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
        f"<title>{esc(text.title)}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:16px;color:#222}"
        "main{display:flex;flex-wrap:wrap;gap:10px}figure{margin:0;width:min-content}"
        "figcaption{font-size:12px;overflow-wrap:anywhere}p{margin:2px 0;color:#555}"
        "</style></head><body>"
        f"<h1 style=\"font-size:18px\">{esc(text.title)}</h1>{rows}{problems}<main>{''.join(figures)}</main>"
        "</body></html>"
    )


def write_sheet(path: str | Path, selection: Selection, page: ThumbnailPage, title: str | None = None) -> SheetFormat:
    """Write the sheet to ``path`` in the format its suffix names; returns that format."""
    fmt = sheet_format(path)
    data = sheet_jpeg(selection, page, title) if fmt == "jpg" else sheet_html(selection, page, title).encode("utf-8")
    Path(path).write_bytes(data)
    return fmt


def _font(image_font, px: int):
    try:
        return image_font.load_default(size=px)
    except (TypeError, OSError, ImportError):
        return image_font.load_default()


#: Characters Pillow's built-in font lacks, as they are written on a JPEG sheet.
_PLAIN = str.maketrans({"→": "->", "—": "-", "–": "-", "…": "..."})


def _fit(draw, text: str, font, width: int) -> str:
    """``text`` cut with an ellipsis to fit ``width`` pixels (characters the font lacks spelled plainly)."""
    text = text.translate(_PLAIN)
    if draw.textlength(text, font=font) <= width:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest start that fits with the ellipsis
        middle = (low + high + 1) // 2
        if draw.textlength(text[:middle] + "...", font=font) <= width:
            low = middle
        else:
            high = middle - 1
    return text[:low] + "..."


__all__ = ["COLUMNS", "SheetText", "sheet_format", "sheet_html", "sheet_jpeg", "sheet_text", "write_sheet"]
