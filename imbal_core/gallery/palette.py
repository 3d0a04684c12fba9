"""One colour per class, the same everywhere imbal draws a class (gallery, contact sheets, charts).

:func:`class_color` maps a dense ``category_id`` to a colour: the first 20 from a fixed list of
saturated, distinguishable colours (Tableau 10 then its darker companions), then hues spread by
the golden angle. A class keeps its colour as long as its ``category_id`` does, so a chart and a
thumbnail of one dataset agree. Chart builders that colour by class should call this too.
"""
from __future__ import annotations

import colorsys

#: The first colours, by category index; chosen far from skin, blood and asphalt tones where possible.
BASE_COLORS: tuple[str, ...] = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
    "#0b4f8a", "#b35806", "#1b7837", "#99000d", "#54278f", "#5a3825", "#ae017e", "#006d77", "#6b6b00", "#3f3f3f",
)
#: The colour of a highlighted shape (a load-report row's box): drawn around it, never a class colour.
HIGHLIGHT_COLOR = "#ffd400"
_GOLDEN = 0.618033988749895


def class_color(category_id: int) -> str:
    """The class's colour as ``#rrggbb`` (``category_id``: the dense id, 0 first)."""
    index = int(category_id)
    if index < 0:
        raise ValueError(f"`category_id` must be at least 0. Got {category_id} instead.")
    if index < len(BASE_COLORS):
        return BASE_COLORS[index]
    hue = (index * _GOLDEN) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 0.80)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def class_colors(count: int) -> list[str]:
    """The colours of classes ``0 .. count - 1``."""
    return [class_color(i) for i in range(count)]


def rgb(color: str) -> tuple[int, int, int]:
    """``#rrggbb`` as an (r, g, b) tuple of 0..255."""
    text = color.lstrip("#")
    if len(text) != 6:
        raise ValueError(f"`color` must be #rrggbb. Got {color!r} instead.")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)
