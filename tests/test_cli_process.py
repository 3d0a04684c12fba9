"""What the `imbal` process sets up for itself, and leaves alone when called from Python.

A command pauses Python's cycle collector while it loads and counts (each collection would walk
every object of pyarrow, NumPy and pandas again), and the `imbal` process freezes what is left
before it exits, so that the interpreter's exit does not walk them once more (0.15 s of a 1.5 s
`imbal summary`). The process also keeps NumPy's OpenBLAS to one thread (its idle threads spin:
0.3-0.5 s of CPU on two cores). Called from Python, the CLI changes neither.
"""
from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from imbal_core.cli import main
from imbal_core.cli._common import collector_paused

ROOT = Path(__file__).resolve().parents[1]
COCO = ROOT / "sample_data" / "lanes" / "annotations.json"


def test_collector_paused_restores_the_collector_even_on_error():
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        with collector_paused():
            assert not gc.isenabled()
            with collector_paused():  # nested: still off inside, still restored outside
                assert not gc.isenabled()
            assert not gc.isenabled()
            raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # left as it was found: off
    finally:
        gc.enable()


def test_called_from_python_the_cli_freezes_nothing(capsys):
    frozen = gc.get_freeze_count()
    assert main(["summary", str(COCO), "--json", "--no-cache"]) == 0
    assert json.loads(capsys.readouterr().out)["images"] > 0
    assert gc.get_freeze_count() == frozen and gc.isenabled()


def run_process(tmp_path, blas: str | None) -> tuple[str, ...]:
    """`imbal summary` as its own process; returns its exit code, frozen object count, whether
    the collector is on, and OpenBLAS's thread setting, as seen at the end of ``main``."""
    code = ("import gc, os, sys; from imbal_core.cli import main; "
            f"sys.argv = ['imbal', 'summary', {str(COCO)!r}, '--json', '--no-cache']; "
            "rc = main(); print(rc, gc.get_freeze_count(), gc.isenabled(), os.environ.get('OPENBLAS_NUM_THREADS'), "
            "file=sys.stderr)")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    env["IMBAL_CACHE_DIR"] = str(tmp_path)
    if blas is not None:
        env["OPENBLAS_NUM_THREADS"] = blas
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert json.loads(done.stdout)["images"] > 0, done.stderr[-2000:]
    return tuple(done.stderr.split()[-4:])


def test_the_imbal_process_freezes_its_objects_before_exit(tmp_path):
    rc, frozen, enabled, _ = run_process(tmp_path, None)
    assert (rc, enabled) == ("0", "True")
    assert int(frozen) > 10_000  # the imported libraries' objects


@pytest.mark.parametrize("given, expected", [(None, "1"), ("4", "4")])
def test_the_imbal_process_keeps_openblas_to_one_thread_unless_told(tmp_path, given, expected):
    assert run_process(tmp_path, given)[3] == expected


def test_called_from_python_the_cli_leaves_the_environment_alone(capsys, monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    assert main(["summary", str(COCO), "--json", "--no-cache"]) == 0
    assert "OPENBLAS_NUM_THREADS" not in os.environ
