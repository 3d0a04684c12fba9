"""The ``imbal`` command: the library's analyses for pipelines, as JSON or readable tables.

Exit codes: 0 success (health rules passed, warnings allowed), 1 a health rule failed,
2 the input cannot be used (the message says which file and why), 3 an internal error.
Each command lives in its own module here with ``register(subparsers)`` (found automatically);
its handler returns the exit code.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
import traceback

from ..report import LoadError

#: Commands listed first in `imbal --help`; every other module here follows, by name.
FIRST = ("summary", "check")


def commands() -> list[str]:
    """The command modules of this package (each has ``register(subparsers)``)."""
    import pkgutil

    names = [m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]
    return sorted(names, key=lambda n: (FIRST.index(n) if n in FIRST else len(FIRST), n))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imbal",
        description="Per-class dataset health for computer vision.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in commands():
        try:
            importlib.import_module(f"{__name__}.{name}").register(sub)
        except Exception as exc:  # one broken command must not take the others down
            failed = sub.add_parser(name, help=f"(unavailable: {type(exc).__name__})")
            failed.set_defaults(handler=_unavailable(name, exc))
    return parser


def _unavailable(name: str, exc: Exception):
    def handler(args: argparse.Namespace) -> int:
        print(f"imbal: the `{name}` command could not be loaded: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 3
    return handler


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args) or 0)
    except LoadError as exc:
        print(f"imbal: {exc}", file=sys.stderr)
        if exc.report:
            print(f"({len(exc.report)} problems reported before stopping; first: {exc.report.rows[0].problem})", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError) as exc:
        if args.debug:
            traceback.print_exc()
        print(f"imbal: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: say so plainly; --debug shows where
        if args.debug:
            traceback.print_exc()
        print(f"imbal: internal error: {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr)
        return 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
