"""`imbal` starts fast: only the module of the command that runs is imported.

`imbal --help` lists every command from the static table in ``imbal_core.cli`` without
importing any command module (nor NumPy, pyarrow, pandas, SciPy, plotly); the table must say
what each module's own ``register`` says; a command whose module is broken fails alone.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

import imbal_core.cli as cli
from imbal_core.cli import COMMANDS, main

STREET = Path(__file__).resolve().parents[1] / "sample_data" / "street" / "annotations.json"

#: Run in a fresh interpreter: the exit code, what was printed and every module imported.
PROBE = textwrap.dedent("""
    import contextlib, io, json, sys
    from imbal_core.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(sys.argv[1:])
        except SystemExit as exc:
            code = exc.code
    sys.__stdout__.write(json.dumps({"code": code, "out": out.getvalue(), "err": err.getvalue(),
                                     "modules": sorted(sys.modules)}))
""")

HEAVY = ("numpy", "pyarrow", "pandas", "scipy", "plotly", "duckdb", "sklearn", "pycocotools", "PIL", "streamlit")


def probe(*args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def top_level(modules: list[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def command_modules(modules: list[str]) -> set[str]:
    return {m for m in modules if m.startswith("imbal_core.cli.") and m.rsplit(".", 1)[1] in COMMANDS}


def squeeze(text: str) -> str:
    """Text without any whitespace: argparse re-wraps help lines (and breaks after hyphens)."""
    return "".join(text.split())


def test_help_imports_no_command_and_no_heavy_library():
    result = probe("--help")
    assert result["code"] == 0, result["err"]
    assert command_modules(result["modules"]) == set()
    assert top_level(result["modules"]) & set(HEAVY) == set()


def test_help_lists_every_command_with_its_help():
    result = probe("--help")
    listed = squeeze(result["out"])
    for name, help_text in COMMANDS.items():
        assert squeeze(f"{name}{help_text}") in listed, name


def test_help_costs_little_cpu():
    """`imbal --help` as a whole process; CPU time, not wall time, so a busy machine does not fail it."""
    script = Path(sys.executable).parent / "imbal"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "imbal_core.cli"]
    cpu = []
    for _ in range(3):
        proc = subprocess.Popen([*command, "--help"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        assert proc.returncode == 0
        cpu.append(usage.ru_utime + usage.ru_stime)
    assert sorted(cpu)[1] <= 0.3, cpu


def test_a_command_imports_only_its_own_module():
    result = probe("summary", str(STREET), "--json")
    assert result["code"] == 0, result["err"]
    assert command_modules(result["modules"]) == {"imbal_core.cli.summary"}
    # pandas arrives with pyarrow's first array (pyarrow checks every input against pandas types)
    assert top_level(result["modules"]) & {"scipy", "plotly", "sklearn", "duckdb", "streamlit"} == set()
    assert json.loads(result["out"])["images"] > 0


def test_the_table_matches_the_modules_and_their_own_help():
    modules = {m.name for m in pkgutil.iter_modules(cli.__path__) if not m.name.startswith("_")}
    assert modules == set(COMMANDS)
    for name, help_text in COMMANDS.items():
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(f"imbal_core.cli.{name}").register(sub)
        (action,) = [a for a in sub._choices_actions if a.dest == name]
        assert action.help == help_text, name
    assert list(COMMANDS)[:2] == ["summary", "check"]  # the two most used come first


@pytest.mark.parametrize("name", list(COMMANDS))
def test_command_help_shows_its_options(capsys, name):
    with pytest.raises(SystemExit) as exit_:
        main([name, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: imbal {name}") and "options:" in out


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["summary", "x.json"], "summary"),
        (["--debug", "check", "x"], "check"),
        (["--help"], None),
        ([], None),
        (["nonsense", "summary"], None),
        (["--", "summary"], None),
    ],
)
def test_selected_command(argv, expected):
    assert cli.selected_command(argv) == expected


def test_unknown_command_is_refused_with_the_list(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["nonsense"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'nonsense'" in err and "summary" in err


def _broken_import(monkeypatch, name):
    monkeypatch.delitem(sys.modules, f"imbal_core.cli.{name}", raising=False)
    monkeypatch.setitem(sys.modules, f"imbal_core.cli.{name}", None)  # the next import raises ImportError


def _broken_register(monkeypatch, name):
    module = types.ModuleType(f"imbal_core.cli.{name}")

    def register(sub):
        raise RuntimeError("no such option type")

    module.register = register
    monkeypatch.setitem(sys.modules, f"imbal_core.cli.{name}", module)


@pytest.mark.parametrize("breaker", [_broken_import, _broken_register])
def test_a_broken_command_fails_alone(monkeypatch, capsys, breaker):
    breaker(monkeypatch, "strata")
    assert main(["strata", str(STREET), "--by", "time_of_day"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("imbal: the `strata` command could not be loaded:") and "Traceback" not in err
    assert main(["summary", str(STREET), "--json"]) == 0  # the others still work
    assert json.loads(capsys.readouterr().out)["images"] > 0
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0 and "strata" in capsys.readouterr().out


def test_a_broken_command_with_debug_shows_the_cause(monkeypatch, capsys):
    _broken_register(monkeypatch, "strata")
    assert main(["--debug", "strata", "x"]) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "no such option type" in err
