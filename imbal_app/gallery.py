"""The gallery: the images behind a number, as thumbnails with their annotations drawn.

One component, :func:`gallery`, shows an :class:`imbal_core.gallery.Selection`: a title saying
what is shown and in what order, 24 thumbnails a page, paging, an *Enlarge* button under each
thumbnail (a dialog with every annotation drawn, the image's split, conditions and file name) and
"Download this list" (CSV). :func:`compare` shows two selections side by side (the Conditions page:
a class in a condition, beside that condition's images without the class). Everything drawn and
counted comes from :mod:`imbal_core.gallery`; this module only lays it out.
"""
from __future__ import annotations

import html
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import streamlit as st

from imbal_core.downloads import csv_bytes
from imbal_core.gallery import render, thumbnails
from imbal_core.io.paths import data_root
from imbal_core.report import safe_text

from . import state

if TYPE_CHECKING:
    from imbal_core.dataset import Dataset
    from imbal_core.gallery import Selection, ThumbnailPage

#: Thumbnails a page.
PAGE_SIZE = 24
#: The long side of the enlarged image, pixels.
ENLARGED = 1024
_RENDERED_NOTE = ("Rendered sample frames are drawn from the annotations: objects where their boxes are, night frames "
                  "dark, rain as streaks.")
_FIXED = ("image_id", "source_id", "file_name", "split", "group", "count")


def _code(text: Any) -> str:
    """``text`` as an inline code span (markdown inside it is not interpreted)."""
    return "`" + str(text).replace("`", "'").replace("\n", " ") + "`"


def _words(text: Any) -> str:
    """``text`` (from the export) with the characters markdown would act on escaped."""
    out = str(text).replace("\n", " ")
    for ch in "\\`*_{}[]()#+-.!|<>~:$":
        out = out.replace(ch, "\\" + ch)
    return out


def _images_dir() -> str | None:
    return state.images_dir()


def _legend(shapes) -> str:
    """``■ Car ■ Wheelchair`` in the classes' colours (HTML; names escaped)."""
    seen = dict.fromkeys((s.class_name, s.color) for s in shapes)
    return " ".join(f'<span style="color:{html.escape(color)}">■</span> {_words(html.escape(name, quote=False))}'
                    for name, color in sorted(seen, key=lambda n: n[0]))


def _header(selection: Selection, title: str | None, describe: str | None) -> None:
    n = len(selection)
    what = selection.description[len("images"):] if selection.description.startswith("images") else " " + selection.description
    noun = "image" if n == 1 else "images"
    if title:
        st.markdown(f"**{_words(title)}**")
    what = _words(what) + " — " + _words(selection.order) if describe is None else " " + _words(describe)
    st.markdown(f"**{n:,} {noun}**{what}.")


def _controls(selection: Selection, key: str, page_size: int, file_name: str) -> int:
    """The page chooser (when there are several) and the list's download; returns the page (0
    first), back to the first when the selection changes."""
    pages = selection.pages(page_size)
    token = (selection.description, len(selection), selection.image_ids[:1])
    if st.session_state.get(f"{key}_for") != token:
        st.session_state[f"{key}_for"] = token
        st.session_state[f"{key}_page"] = 1
    number = 1
    left, middle, right = st.columns([1, 2, 2], vertical_alignment="bottom")
    if pages > 1:
        st.session_state[f"{key}_page"] = min(max(int(st.session_state.get(f"{key}_page") or 1), 1), pages)
        number = int(left.number_input("Page", 1, pages, step=1, key=f"{key}_page"))
        first = (number - 1) * page_size
        middle.caption(f"of {pages:,}: images {first + 1:,}–{min(first + page_size, len(selection)):,} "
                       f"of {len(selection):,}")
    right.download_button("Download this list", csv_bytes(selection.to_arrow()), file_name=file_name, mime="text/csv",
                          key=f"{key}_csv", icon=":material/download:", on_click="ignore",
                          help="CSV: one row per image of the whole list (not only this page), in its order, with "
                               "its split, group and conditions.")
    return number - 1


def _summary(page: ThumbnailPage, images_dir: str | None) -> None:
    text = "On this page: " + page.summary() + "."
    if page.rendered:
        text += " " + _RENDERED_NOTE
    if page.missing and images_dir is None:
        text += " Images elsewhere on the server? Give their folder in the sidebar under **Images folder**."
    st.caption(text)
    if page.report:
        with st.expander(f"{len(page.report):,} images not shown as pictures"):
            st.dataframe(page.report.to_pandas()[["record", "problem", "action"]], hide_index=True, width="stretch")


def _caption(row: dict, thumb: Any, count_label: str | None) -> str:
    """File name, then split, what the order counts and why there are no pixels (a rendered
    sample frame is said once for the page, and on the frame itself)."""
    second = [_words(row.get("split") or "unassigned")]
    if count_label and row.get("count") is not None:
        second.append(f"{_words(count_label)}: {row['count']:,}")
    if thumb.note and thumb.source.status != "rendered":
        second.append(_words(thumb.note))
    return _words(safe_text(str(row.get("file_name") or row.get("source_id") or thumb.image_id))) + "  \n" + " · ".join(second)


def gallery(dataset: Dataset, selection: Selection, *, key: str, predictions: Any = None,
            highlight: Mapping[int, Any] | None = None, score_threshold: float = 0.5, title: str | None = None,
            describe: str | None = None, columns: int = 6, page_size: int = PAGE_SIZE,
            file_name: str = "imbal_images.csv") -> ThumbnailPage | None:
    """Show ``selection`` as a paged grid of thumbnails (see the module docstring).

    ``key``: a prefix for the widgets' keys, unique on the page. ``predictions`` (None): a
    :class:`~imbal_core.io.predictions.Predictions` to draw dashed with their scores, those scoring at
    least ``score_threshold``. ``highlight`` (None): {image id: load-report rows or records} to frame
    the shapes they name. ``title``: a bold line above the count. ``describe``: words after the count
    in place of the selection's description and order (for a list of ids, say what the list is).
    ``columns``: thumbnails a row.
    Returns the page of thumbnails shown (None when the selection is empty).
    """
    with st.container(key=f"{key}_gallery"):
        _header(selection, title, describe)
        if not len(selection):
            st.info("No image matches.", icon=":material/image_not_supported:")
            return None
        number = _controls(selection, key, page_size, file_name)
        ids = selection.page(number, page_size)
        images_dir = _images_dir()
        marks = {int(i): highlight[i] for i in ids if i in highlight} if highlight else None
        page = thumbnails(dataset, ids, predictions, highlight=marks, score_threshold=score_threshold,
                          images_dir=images_dir, data_root=data_root())
        _summary(page, images_dir)
        shapes = [s for t in page.thumbnails for s in t.shapes]
        if shapes:
            st.markdown("Colours: " + _legend(shapes) + (" · ground truth solid, predictions dashed with their score"
                                                          if predictions is not None else ""), unsafe_allow_html=True)
        rows = {r["image_id"]: r for r in selection.table.slice(number * page_size, page_size).to_pylist()}
        for start in range(0, len(page.thumbnails), columns):
            cells = st.columns(columns)
            for cell, thumb in zip(cells, page.thumbnails[start:start + columns]):
                with cell:
                    st.image(thumb.jpeg, width="stretch")
                    st.caption(_caption(rows.get(thumb.image_id, {}), thumb, selection.count_label))
                    if st.button("Enlarge", key=f"{key}_open_{thumb.image_id}", icon=":material/zoom_in:"):
                        _enlarge(dataset, thumb.image_id, rows.get(thumb.image_id, {}), selection.count_label,
                                 predictions, marks.get(thumb.image_id) if marks else None, score_threshold, images_dir)
    return page


def compare(dataset: Dataset, left: Selection, right: Selection, *, key: str, left_title: str, right_title: str,
            predictions: Any = None, columns: int = 3) -> None:
    """Two galleries side by side (``left`` and, for comparison, ``right``), each paged on its own."""
    a, b = st.columns(2, gap="large")
    with a:
        gallery(dataset, left, key=f"{key}_left", predictions=predictions, title=left_title, columns=columns,
                file_name=f"{key}_images.csv")
    with b:
        gallery(dataset, right, key=f"{key}_right", predictions=predictions, title=right_title, columns=columns,
                file_name=f"{key}_comparison_images.csv")


@st.dialog("Image, with every annotation", width="large")
def _enlarge(dataset: Dataset, image_id: int, row: dict, count_label: str | None, predictions: Any, highlight: Any,
             score_threshold: float, images_dir: str | None) -> None:
    drawn = render(dataset, image_id, predictions, size=ENLARGED, highlight=highlight, score_threshold=score_threshold,
                   images_dir=images_dir, data_root=data_root(), labels=True)
    name = row.get("file_name") or row.get("source_id") or image_id
    st.markdown(f"**{_code(name)}**")
    st.image(drawn.jpeg(), width="stretch")
    source = drawn.source
    if source.status == "found" and source.path is not None:
        root = data_root()
        shown = source.path.relative_to(root) if source.path.is_relative_to(root) else Path(source.path.name)
        where = f"Image file: {_code(shown)}"
    elif source.status == "rendered":
        where = "A **rendered sample frame**: the bundled sample has no photographs; this frame is drawn from the annotations."
    else:
        where = _words(drawn.note or source.note or "no image file") + " — the annotations are drawn on a blank canvas " \
                                                                        "of the image's recorded size."
    st.caption(where)
    facts = [f"**split** {_words(row.get('split') or 'unassigned')}"]
    if row.get("group"):
        facts.append(f"**group** {_words(row['group'])}")
    for column in (c for c in row if c not in _FIXED):
        facts.append(f"**{_words(column.replace('_', ' '))}** {_words(row[column] if row[column] is not None else 'unknown')}")
    facts.append(f"**id in the export** {_code(row.get('source_id', image_id))}")
    if count_label and row.get("count") is not None:
        facts.append(f"**{_words(count_label)}** {row['count']:,}")
    st.markdown(" · ".join(facts))
    drawn_counts = Counter((s.origin, s.class_name) for s in drawn.shapes)
    for origin, label in (("ground_truth", "Ground truth (solid)"), ("prediction", "Predictions (dashed, with score)")):
        parts = [f"{n} {_words(c)}" for (o, c), n in sorted(drawn_counts.items()) if o == origin]
        if parts or origin == "ground_truth" or predictions is not None:
            st.markdown(f"{label}: " + (", ".join(parts) or "none"))
    if drawn.shapes:
        st.markdown("Colours: " + _legend(drawn.shapes), unsafe_allow_html=True)
    if any(s.highlighted for s in drawn.shapes) or drawn.highlighted_image:
        st.caption("The shape a load-report row names is framed in yellow.")
