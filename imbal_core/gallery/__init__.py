"""The images behind the numbers: select them, draw their annotations, cache thumbnails, make contact sheets.

>>> from imbal_core.gallery import select_images, thumbnails, render
>>> chosen = select_images(ds, "Wheelchair", where={"time_of_day": "night"})   # Selection
>>> chosen.image_ids, chosen.order          # (ids...), "most Wheelchair instances first, then by image id"
>>> page = thumbnails(ds, chosen.page(0))   # ThumbnailPage: JPEG bytes + what was drawn, disk-cached
>>> page.summary()                          # "24 images shown; 3 without a usable image file ..."
>>> big = render(ds, chosen.image_ids[0], predictions, size=1024)   # Rendered: a PIL image + its shapes

Modules: :mod:`.select` (which images, in what order; confusion cells; load-report rows),
:mod:`.resolve` (finding image files safely), :mod:`.decoding` (bounded decoding), :mod:`.geometry`
(what is drawn), :mod:`.drawing` (drawing), :mod:`.thumbs` (the thumbnail cache),
:mod:`.frames` (stand-in frames of the bundled samples), :mod:`.sheet` (contact sheets),
:mod:`.palette` (one colour per class). Names below are imported on first use, so importing the
package costs nothing (Pillow is only imported where pixels are touched). No module is named
like a function it exports (``render`` lives in :mod:`.drawing`, ``decode`` in :mod:`.decoding`), so
importing a submodule never shadows a function of the package.
"""
from __future__ import annotations

from .._lazy import lazy_names

_LAZY = {
    "Selection": "select", "select_images": "select", "confusion_counts": "select", "report_images": "select",
    "ImageResolver": "resolve", "ImageSource": "resolve", "resolver_for": "resolve",
    "Decoded": "decoding", "decode": "decoding",
    "Shape": "geometry",
    "Rendered": "drawing", "render": "drawing",
    "Thumbnail": "thumbs", "ThumbnailPage": "thumbs", "thumbnail": "thumbs", "thumbnails": "thumbs",
    "clear_cache": "thumbs", "flush": "thumbs",
    "sample_name": "frames", "sample_frame": "frames",
    "sheet_html": "sheet", "sheet_jpeg": "sheet", "sheet_text": "sheet", "write_sheet": "sheet",
    "class_color": "palette", "class_colors": "palette", "HIGHLIGHT_COLOR": "palette",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
