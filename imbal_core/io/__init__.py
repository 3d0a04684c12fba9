"""Readers: one module per export format, behind :func:`load`.

Every reader has the signature ``read_x(paths: list[Path], report: LoadReport, **options) -> Dataset``
and returns tables built by :func:`imbal_core.dataset.build_dataset`. A reader module that reads
files besides the given paths says which with ``extra_inputs(paths) -> list[Path]`` (cache key).
"""
from __future__ import annotations

import importlib
from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

from ..dataset import Dataset
from ..report import LoadError, LoadReport, excerpt
from .formats import DESCRIPTIONS, READERS, Format, reader, supported_formats

__all__ = ["DESCRIPTIONS", "READERS", "Format", "load", "reader", "supported_formats"]


def _check_options(fmt: str, options: dict) -> None:
    """Unknown reader options are an error naming the ones the reader takes."""
    import inspect

    params = inspect.signature(reader(fmt)).parameters
    accepted = [n for n, p in params.items() if n not in ("paths", "report") and p.kind is p.KEYWORD_ONLY or
                (p.kind is p.POSITIONAL_OR_KEYWORD and n not in ("paths", "report"))]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(
            f"The {fmt} reader takes no option {', '.join(f'`{u}`' for u in unknown)}. "
            f"Its options: {', '.join(accepted) or 'none'}."
        )


def load(
    paths: str | Path | Sequence[str | Path],
    format: Format = "auto",
    conditions: str | Path | None = None,
    *,
    cache: bool = True,
    **options,
) -> Dataset:
    """Read an annotation export into a :class:`Dataset`.

    ``paths``: a file, a folder, or several of them (e.g. one COCO file per split).
    ``format`` ("auto"): sniffed from the files when "auto"; see :data:`DESCRIPTIONS`.
    ``conditions``: an optional sidecar CSV / Parquet keyed by file name or image id whose
    columns become conditions. ``cache`` (True): reuse the Parquet cache of a previous parse of
    identical inputs (see :mod:`.cache`). Other ``options`` go to the reader.

    Raises :class:`LoadError` when the input cannot be used at all; every lesser problem is in
    ``dataset.report``.
    """
    from . import cache as cache_mod
    from .sniff import expand, sniff

    path_list = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    if not path_list:
        raise LoadError("No input: give at least one file or folder.")
    for p in path_list:
        try:
            found = p.exists()
        except (OSError, ValueError) as exc:  # a name too long for the file system, a NUL byte
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise LoadError(f"{excerpt(str(p))}: cannot be opened: {reason}.", file=str(p)[:200]) from None
        if not found:
            raise LoadError(f"{p}: no such file or folder.", file=str(p))
    fmt = sniff(path_list) if format == "auto" else format
    _check_options(fmt, options)
    path_list = expand(path_list, fmt)

    def parse() -> Dataset:
        report = LoadReport()
        dataset = reader(fmt)(path_list, report, **options)
        if dataset.num_images == 0:
            raise LoadError(f"{', '.join(map(str, path_list))}: no images found in this {fmt} export.", report)
        return dataset

    extra = [Path(conditions)] if conditions is not None else []
    module = importlib.import_module(READERS[fmt][0])
    if hasattr(module, "extra_inputs"):  # files a reader reads besides the ones given (a names file)
        extra += module.extra_inputs(path_list)
    key = cache_mod.InputKey(path_list + extra, fmt, options) if cache else None
    if key is None:
        return _parse_with_conditions(parse, conditions)
    if key.known is not None:
        hit = cache_mod.get(key.known, key.inputs)
        if hit is not None:
            return hit
    key.start()  # hash the inputs beside the parse
    try:
        dataset = _parse_with_conditions(parse, conditions)
        digest = key.result()
    finally:
        key.close()  # on an error too: no hashing thread outlives the load
    if digest is None:  # an input could not be hashed: not cached
        return dataset
    dataset = replace(dataset, key=digest)
    if not cache_mod.touch(digest):  # the same content may be cached already, from other paths or dates
        cache_mod.put(digest, dataset, background=True, inputs=key.inputs)
    return dataset


def _parse_with_conditions(parse: Callable[[], Dataset], conditions: str | Path | None) -> Dataset:
    dataset = parse()
    if conditions is not None:
        from .sidecar import join_conditions

        dataset = join_conditions(dataset, conditions)
    return dataset
