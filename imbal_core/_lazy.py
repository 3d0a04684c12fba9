"""Names of a package imported from their module on first use (PEP 562), so importing the
package stays light: ``imbal --help`` and ``import imbal_core.lake`` pay for no pyarrow, DuckDB
or Pillow.

    _LAZY = {"cube": "engine", ...}
    __getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
"""
from __future__ import annotations

from importlib import import_module
from typing import Any, Callable, Mapping


def lazy_names(package: str, names: Mapping[str, str], namespace: dict[str, Any]
               ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The package's ``__getattr__`` (``names``: public name -> the submodule defining it; the value
    is kept in ``namespace``, the package's globals, after the first look-up) and its ``__dir__``."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
