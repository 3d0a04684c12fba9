"""`imbal summary | check | strata | plan | hierarchy LAKE`: after `imbal lake add LAKE EXPORT`, the same JSON
(and exit code) as the command on EXPORT, on every sample and (summary) every real export; the commands that
need an export's rows say so and exit 2; the lake options are checked.

Only the fields that name the input differ (summary: ``sources``, ``format``; plan: ``source.dataset`` and
``source.format``) and the load report, which a lake does not keep.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from imbal_core.cli import main
from imbal_core.lake import rows as lake_rows
from imbal_core.samples import SAMPLES

from .engine_helpers import REAL_EXPORTS, sample
from .test_lake_analyses import SUMMARY_SOURCE_FIELDS, assert_same, merges_of, without


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def json_run(capsys, *argv) -> tuple[int, dict]:
    code, out, err = run(capsys, *argv, "--json")
    assert code in (0, 1), err
    return code, json.loads(out)


def add(capsys, lake: Path, *export) -> Path:
    code, _, err = run(capsys, "lake", "add", lake, *export)
    assert code == 0, err
    return lake


def sample_export(name: str) -> list:
    return [*SAMPLES[name].files(), "--format", SAMPLES[name].format]


def comparable(command: str, doc: dict) -> dict:
    """``doc`` without the fields that name the input (and the summary's load report)."""
    if command == "summary":
        return without(doc, *SUMMARY_SOURCE_FIELDS)
    if command == "plan":
        return {**doc, "source": without(doc["source"], "dataset", "format")}
    return doc


def commands_for(name: str) -> list[list[str]]:
    dataset = sample(name)
    merges = [f"--merge={child}={parent}" for child, parent in merges_of(dataset).items()]
    out = [["summary"], ["check"], ["plan"], ["plan", "--unit", "instances", "--split", "all"],
           ["hierarchy", "--min-instances", "400", "--apply-suggestions"], ["hierarchy", *merges]]
    out += [["strata", "--by", c] for c in dataset.conditions[:2]]
    return out


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_command_on_a_sample_lake_equals_it_on_the_export(tmp_path, capsys, name):
    export = sample_export(name)
    lake = add(capsys, tmp_path / "lake", *export)
    for command in commands_for(name):
        code_export, want = json_run(capsys, command[0], *export, *command[1:])
        code_lake, got = json_run(capsys, command[0], lake, *command[1:])
        assert code_lake == code_export, command
        assert_same(comparable(command[0], got), comparable(command[0], want), f"{name} {' '.join(command)}")
        if command[0] == "summary":
            assert got["format"] == "lake" and got["sources"] == [str(lake)] and got["report"] == []


@pytest.mark.realdata
@pytest.mark.parametrize("relative", REAL_EXPORTS)
def test_summary_of_every_real_export_lake_equals_the_export(realdata, tmp_path, capsys, relative):
    """The issue's Done-when: `imbal lake add` + `imbal summary LAKE --json` = `imbal summary EXPORT --json`."""
    export = realdata / relative
    lake = add(capsys, tmp_path / "lake", export)
    _, want = json_run(capsys, "summary", export)
    _, got = json_run(capsys, "summary", lake)
    assert_same(comparable("summary", got), comparable("summary", want), relative)


@pytest.mark.parametrize(("argv", "message"), [
    (["eval", "{lake}", "--pred", "{predictions}"], r"`imbal eval` is not available on a lake \(.*\): evaluation on "
                                                    r"lakes is out of scope"),
    (["split", "{lake}"], r"`imbal split` is not available on a lake .*making new splits needs every image's record"),
    (["gallery", "{lake}", "--out", "{tmp}/g.html"], r"`imbal gallery` is not available on a lake"),
    (["report", "{lake}", "--out", "{tmp}/r.html"], r"`imbal report` is not available on a lake .*it needs the "
                                                     r"export's rows"),
    (["quota", "ingest", "p", "{lake}", "--workspace", "{tmp}/w.duckdb"],
     r"`imbal quota` is not available on a lake .*annotation dates"),
    (["hierarchy", "{lake}", "--merge", "Bus=Car", "--out", "{tmp}/m.json"],
     r"Writing the merged export \(`--out`\) is not available on the lake at .*: it rewrites the export's annotations"),
    (["summary", "{export}", "--engine", "spark"], r"--engine applies to a lake; .* is not one"),
    (["check", "{export}", "--memory", "2GB", "--master", "local[1]"], r"--memory --master apply to a lake"),
    (["summary", "{lake}", "--format", "coco"], r"--format applies to reading an export; .* is a lake"),
    (["summary", "{lake}", "{export}"], r"A lake is read alone: give one PATH when it is a lake. Got 2 PATHs"),
    (["summary", "{lake}", "--memory", "lots"], r"`memory` must be a size such as 500MB, 1GB or 2GiB. Got 'lots'"),
])
def test_what_a_lake_cannot_do_exits_2_with_the_reason(tmp_path, capsys, argv, message):
    export = SAMPLES["street"].files()[0]
    lake = add(capsys, tmp_path / "lake", export)
    values = {"lake": lake, "export": export, "tmp": tmp_path, "predictions": SAMPLES["street"].predictions_file()}
    if argv[0] == "quota":  # the project must exist before the export is read
        assert run(capsys, "quota", "set", "p", "--workspace", tmp_path / "w.duckdb", "--target", "Car=10",
                   "--deadline", "2030-01-01")[0] == 0
    code, out, err = run(capsys, *(a.format(**values) for a in argv))
    assert (code, out) == (2, "")
    assert err.startswith("imbal: ") and re.search(message, err), err
    assert not (tmp_path / "g.html").exists() and not (tmp_path / "m.json").exists()


def test_a_damaged_lake_exits_2_naming_the_file(tmp_path, capsys):
    lake = add(capsys, tmp_path / "lake", SAMPLES["street"].files()[0])
    part = next((lake / "annotations").glob("source=*/part-0.parquet"))
    part.write_bytes(b"not parquet")
    code, out, err = run(capsys, "summary", lake, "--json")
    assert (code, out) == (2, "") and f"{part}: not a readable Parquet file" in err


def test_plan_weights_that_do_not_fit_memory(tmp_path, capsys, monkeypatch):
    """The class-level plan stands; the per-image weights are skipped with a warning, or refused when
    asked for (`--weights`), with the numbers."""
    lake = add(capsys, tmp_path / "lake", SAMPLES["street"].files()[0])
    export = SAMPLES["street"].files()[0]
    _, want = json_run(capsys, "plan", export)
    monkeypatch.setattr(lake_rows, "PAIR_BYTES", 10**9)
    code, out, err = run(capsys, "plan", lake, "--memory", "500MB", "--json")
    assert code == 0
    got = json.loads(out)
    assert "per_image" not in got and "per_image" in want
    assert_same(comparable("plan", got), comparable("plan", without(want, "per_image")), "plan without weights")
    assert err.startswith("warning: per-image weights skipped: The image x class incidence of the lake at ")
    assert "does not fit `memory`='500MB'" in err and "(image, class) pairs need about" in err
    code, out, err = run(capsys, "plan", lake, "--memory", "500MB", "--weights", tmp_path / "w.csv")
    assert (code, out) == (2, "") and "does not fit `memory`='500MB'" in err
    assert not (tmp_path / "w.csv").exists()


def test_plan_weights_from_a_lake_equal_the_export(tmp_path, capsys):
    export = SAMPLES["street"].files()[0]
    lake = add(capsys, tmp_path / "lake", export)
    assert run(capsys, "plan", export, "--weights", tmp_path / "export.csv")[0] == 0
    assert run(capsys, "plan", lake, "--weights", tmp_path / "lake.csv")[0] == 0
    assert (tmp_path / "lake.csv").read_bytes() == (tmp_path / "export.csv").read_bytes()


def test_the_readable_output_names_the_lake(tmp_path, capsys):
    lake = add(capsys, tmp_path / "lake", SAMPLES["street"].files()[0])
    counts = sample("street").summary_line().split(" — ")[0]  # "3,005 images, 19,270 annotations, ..."
    code, out, _ = run(capsys, "summary", lake)
    assert code == 0
    assert out.startswith(f"lake detection — {counts} — a lake of 1 source\n")
    assert "Load report" not in out
