"""CLI messages name the command's options (``--group``), not the library's parameters (``group_by``).

The library validates its arguments once and says ``"`group_by` may be ..."``; a command runs
the library inside :func:`option_names` with its own ``{parameter: option}`` table, and a
``ValueError`` raised there is re-raised with each quoted parameter replaced by its option.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Iterator, Mapping


def rename(message: str, names: Mapping[str, str]) -> str:
    """``message`` with each `` `parameter` `` of ``names`` replaced by `` `option` ``."""
    if not names:
        return message
    pattern = re.compile("`(" + "|".join(re.escape(k) for k in sorted(names, key=len, reverse=True)) + ")`")
    return pattern.sub(lambda m: f"`{names[m.group(1)]}`", message)


@contextmanager
def option_names(names: Mapping[str, str]) -> Iterator[None]:
    """Inside, a ``ValueError`` that quotes a parameter of ``names`` is re-raised naming the option."""
    try:
        yield
    except ValueError as exc:
        message = str(exc)
        renamed = rename(message, names)
        if renamed == message or type(exc) is not ValueError:  # a subclass (SchemaError) keeps its type and text
            raise
        raise ValueError(renamed) from None
