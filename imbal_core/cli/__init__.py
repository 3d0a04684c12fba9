"""The ``imbal`` command: the library's analyses for pipelines, as JSON or readable tables.

Exit codes: 0 success (health rules passed, warnings allowed), 1 a health rule failed,
2 the input cannot be used (the message says which file and why), 3 an internal error.
Each command lives in its own module here with ``register(subparsers)``; its handler returns
the exit code.

Only the module of the command that runs is imported: `imbal --help` lists the commands from
:data:`COMMANDS` (kept equal to each module's own help by a test) and imports none of them, so
no command pays for another's dependencies (SciPy for `split`, DuckDB for `quota` ...).
"""
from __future__ import annotations

import argparse
import gc
import importlib
import logging
import os
import sys
import traceback
from typing import Sequence

#: Every command, in `imbal --help` order, with its one-line help (the same text its module's
#: ``register`` gives; tests/test_cli_startup.py checks that the two agree).
COMMANDS: dict[str, str] = {
    "summary": "images, annotations and per-class counts by split, with the load report",
    "check": "the data-health checklist; exit 1 when a rule fails (a gate before training)",
    "eval": "per-class metrics of predictions: confusion matrix, P/R/F1, AP, IoU, by condition",
    "hierarchy": "label hierarchy: merge suggestions, what-if, merged export",
    "lake": "a Parquet lake for data beyond memory: add exports or register tables, show what it holds",
    "plan": "a rebalancing plan: capped over/undersampling to a budget, per-image weights",
    "quota": "annotation quotas: targets, daily snapshots, progress, forecast, playbook",
    "report": "a self-contained HTML health report to share, and a Markdown summary for CI",
    "select": "an active-learning batch from model predictions on an unlabelled pool",
    "split": "check the splits (leakage, missing classes, divergence) or make new stratified, group-safe ones",
    "strata": "class x condition tables and ranked hidden-subgroup gaps (e.g. a class missing at night)",
    "gallery": "a contact sheet of the images behind a number, with their annotations drawn",
}


class CommandUnavailable(Exception):
    """A command's module failed to import or register; the other commands still work."""

    def __init__(self, name: str, cause: Exception):
        super().__init__(f"the `{name}` command could not be loaded: {type(cause).__name__}: {cause}")
        self.name = name


def commands() -> list[str]:
    """The command names, in `imbal --help` order."""
    return list(COMMANDS)


def selected_command(argv: Sequence[str]) -> str | None:
    """The command named in ``argv``: its first argument that is not an option (the top level
    takes only flags), or None when there is none or it names no command."""
    for arg in argv:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def load_command(name: str):
    """Import the module of command ``name``; raises :class:`CommandUnavailable` if it fails."""
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except Exception as exc:  # a broken dependency of one command must not take the others down
        raise CommandUnavailable(name, exc) from exc


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``imbal`` parser. Only ``command`` (if any) gets its real options, from its module;
    the others are listed with their help from :data:`COMMANDS` without importing anything."""
    parser = argparse.ArgumentParser(
        prog="imbal",
        description="Per-class dataset health for computer vision.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, help_text in COMMANDS.items():
        if name != command:
            sub.add_parser(name, help=help_text)
            continue
        module = load_command(name)
        try:
            module.register(sub)
        except Exception as exc:
            raise CommandUnavailable(name, exc) from exc
    return parser


def main(argv: list[str] | None = None) -> int:
    process = argv is None  # run as the `imbal` command, not called from Python
    if process:
        # NumPy's OpenBLAS starts a thread per core that spins after the import: on two cores
        # 0.3-0.5 s of CPU taken from a 1.5 s `imbal summary`. No command does linear algebra
        # that gains from threads; a value the user set is kept.
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    argv = sys.argv[1:] if argv is None else list(argv)
    command = selected_command(argv)
    try:
        parser = build_parser(command)
    except CommandUnavailable as exc:
        if "--debug" in argv[: argv.index(command)]:
            traceback.print_exception(exc.__cause__)
        print(f"imbal: {exc}", file=sys.stderr)
        return 3
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args) or 0)
    except BrokenPipeError:
        return 0
    except Exception as exc:
        return _exit_code(exc, args.debug)
    finally:
        if process:
            # The process ends next: its exit need not walk every object of the imported
            # libraries (pyarrow imports pandas) once more, 0.15 s of a 1.5 s `imbal summary`.
            gc.freeze()


def _exit_code(exc: Exception, debug: bool) -> int:
    """Print what went wrong; 2 when the input cannot be used, 3 for a bug."""
    # LoadError lives beside the load report (and pyarrow). A command that raised one has
    # imported it already; importing it here keeps `imbal --help` free of pyarrow.
    from ..report import LoadError

    if isinstance(exc, LoadError):
        print(f"imbal: {exc}", file=sys.stderr)
        if exc.report:
            print(f"({len(exc.report)} problems reported before stopping; first: {exc.report.rows[0].problem})", file=sys.stderr)
        return 2
    if debug:
        traceback.print_exc()
    if isinstance(exc, (ValueError, FileNotFoundError)):
        print(f"imbal: {exc}", file=sys.stderr)
        return 2
    # a bug: say so plainly; --debug shows where
    print(f"imbal: internal error: {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr)
    return 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
