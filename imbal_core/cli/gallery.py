"""``imbal gallery PATH... [--class C] [--where COND=V] [--split S] [--pred FILE [--confusion TRUTH PRED]]
[--n 24] [--images DIR] --out sheet.jpg|sheet.html``: a contact sheet of the images behind a number.

Selects images (:func:`imbal_core.gallery.select_images`), draws their annotations (and
predictions) on cached thumbnails and writes a contact sheet: a captioned JPEG grid, or one
self-contained HTML file. Prints how many images matched, how many are shown and how many had no
usable image file. Exit codes: 0 done (also when nothing matched: the sheet says so), 2 unusable
input (an unknown class — the message lists the classes —, condition or value, a bad ``--out``).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..report import LoadError
from ._common import add_input_arguments, load_dataset, print_json
from ._options import option_names

#: Library parameters -> this command's options, for messages.
OPTIONS = {"class_": "--class", "without_class": "--without-class", "where": "--where", "split": "--split",
           "confusion": "--confusion", "images_dir": "--images", "out": "--out", "group": "--group"}
MAX_N = 500


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gallery", help="a contact sheet of the images behind a number, with their annotations drawn",
                       description="Select images (a class, a condition, a split, a confusion cell) and write a "
                                   "contact sheet of them with their boxes, polygons and predictions drawn.")
    add_input_arguments(p)
    p.add_argument("--class", dest="class_", metavar="CLASS", help="images with at least one instance of CLASS")
    p.add_argument("--without-class", metavar="CLASS", help="images with no instance of CLASS")
    p.add_argument("--where", action="append", default=[], metavar="COND=VALUE",
                   help="images whose condition COND is VALUE (repeatable; the same COND twice: either value)")
    p.add_argument("--split", action="append", metavar="SPLIT", help="images of this split (repeatable)")
    p.add_argument("--group", metavar="GROUP", help="images of this group (sequence, site, patient)")
    p.add_argument("--pred", metavar="FILE", help="predictions to draw (dashed, with their score)")
    p.add_argument("--confusion", nargs=2, metavar=("TRUTH", "PREDICTED"),
                   help="with --pred: the images of this confusion-matrix cell (a class name or `background`)")
    p.add_argument("--iou", type=float, default=0.5, help="IoU of a match for --confusion (0.5)")
    p.add_argument("--score-threshold", type=float, default=0.5, help="lowest prediction score drawn and counted (0.5)")
    p.add_argument("--n", type=int, default=24, help=f"how many images the sheet shows, the first in order (24; at most {MAX_N})")
    p.add_argument("--size", type=int, default=256, help="thumbnail size: the long side in pixels (256)")
    p.add_argument("--images", metavar="DIR", help="a folder where the images are, when not beside the export")
    p.add_argument("--title", help="the sheet's title (default: what was selected)")
    p.add_argument("--out", required=True, metavar="FILE", help="the sheet: .jpg / .jpeg (a grid) or .html (self-contained)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    p.set_defaults(handler=run)


def _where(pairs: list[str]) -> dict[str, list[str]]:
    where: dict[str, list[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"`--where` must be COND=VALUE. Got {pair[:80]!r} instead.")
        where.setdefault(key.strip(), []).append(value.strip())
    return where


def _check(args: argparse.Namespace) -> None:
    from ..gallery.sheet import sheet_format

    if not 1 <= args.n <= MAX_N:
        raise ValueError(f"`--n` must be between 1 and {MAX_N}. Got {args.n} instead.")
    if not 32 <= args.size <= 2048:
        raise ValueError(f"`--size` must be between 32 and 2048 pixels. Got {args.size} instead.")
    if args.images is not None and not Path(args.images).is_dir():
        raise ValueError(f"`--images` must be a folder. Got {args.images!r}, which is not one.")
    if args.confusion and not args.pred:
        raise ValueError("`--confusion` needs `--pred`: the predictions whose confusion matrix it names.")
    with option_names(OPTIONS):
        sheet_format(args.out)


def run(args: argparse.Namespace) -> int:
    _check(args)
    from ..gallery import select, sheet, thumbs

    dataset = load_dataset(args)
    predictions = None
    if args.pred:
        from ..io.predictions import read_predictions

        predictions = read_predictions(args.pred, dataset)
        problem = predictions.unusable()
        if problem:
            raise LoadError(problem, predictions.report, args.pred)
    with option_names(OPTIONS):
        chosen = select.select_images(dataset, args.class_, where=_where(args.where) or None, split=args.split,
                                      without_class=args.without_class, predictions=predictions,
                                      confusion=tuple(args.confusion) if args.confusion else None, group=args.group,
                                      iou=args.iou, score_threshold=args.score_threshold)
    shown = chosen.page(0, args.n)
    page = thumbs.thumbnails(dataset, shown, predictions, size=args.size, score_threshold=args.score_threshold,
                             images_dir=args.images)
    title = args.title or f"{chosen.description} in {dataset.sources[0] if dataset.sources else 'the dataset'}"
    fmt = sheet.write_sheet(args.out, chosen, page, title)
    thumbs.flush()
    if args.json:
        print_json({"matched": len(chosen), "shown": len(page), "missing": page.missing, "refused": page.refused,
                    "unreadable": page.unreadable, "rendered": page.rendered, "out": args.out, "format": fmt,
                    "description": chosen.description, "order": chosen.order, "image_ids": list(shown),
                    "problems": page.report.to_records()})
        return 0
    print(f"{len(chosen):,} images matched: {chosen.description} ({chosen.order}).")
    print(f"{len(page):,} shown in {args.out}; {page.missing:,} without a usable image file"
          + (f" ({page.refused:,} refused: outside the allowed folders)" if page.refused else "")
          + (f"; {page.rendered:,} rendered sample frames" if page.rendered else "") + ".")
    for row in page.report.rows[:5]:
        print(f"  {row.record}: {row.problem} ({row.action})", file=sys.stderr)
    if len(page.report) > 5:
        print(f"  ... and {len(page.report) - 5:,} more", file=sys.stderr)
    return 0
