"""`imbal lake add | info`: exit codes, messages, the same counts as `imbal summary`, and adds killed
(SIGKILL) at any moment leaving the lake as it was."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from imbal_core.cli import main
from imbal_core.lake import info

from .lake_helpers import ROOT, SAMPLE_DATA, manifest, snapshot, without_times

STREET = SAMPLE_DATA / "street" / "annotations.json"
LANES = SAMPLE_DATA / "lanes" / "annotations.json"


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_add_then_info_gives_the_counts_of_summary(tmp_path, capsys):
    lake = tmp_path / "lake"
    code, out, err = run(capsys, "lake", "add", lake, STREET)
    assert code == 0 and out.startswith("added source 'street/annotations.json'"), err
    assert run(capsys, "lake", "add", lake, LANES)[0] == 0
    code, out, err = run(capsys, "lake", "info", lake, "--json")
    assert code == 0, err
    doc = json.loads(out)
    summaries = [json.loads(run(capsys, "summary", p, "--json")[1]) for p in (STREET, LANES)]
    assert [(s["images"], s["annotations"]) for s in doc["sources"]] == [(s["images"], s["annotations"]) for s in summaries]
    assert doc["images"] == sum(s["images"] for s in summaries)
    assert doc["annotations"] == sum(s["annotations"] for s in summaries)
    assert set(doc["classes"]) == {c.get("class", c.get("name")) for s in summaries for c in s["classes"]}
    assert len(doc["classes"]) == len(set(doc["classes"]))
    assert doc["conditions"] == list(dict.fromkeys(c for s in summaries for c in s["conditions"]))
    code, out, _ = run(capsys, "lake", "info", lake)
    assert code == 0 and f"2 sources, {doc['images']:,} images" in out and "street/annotations.json" in out


def test_adding_the_same_export_twice_says_so_and_writes_nothing(tmp_path, capsys):
    lake = tmp_path / "lake"
    assert run(capsys, "lake", "add", lake, STREET)[0] == 0
    before = snapshot(lake)
    code, out, _ = run(capsys, "lake", "add", lake, STREET, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["added"] is False and "nothing to do" in doc["message"]
    assert snapshot(lake) == before


def test_a_table_is_registered_from_the_command_line(tmp_path, capsys):
    table = tmp_path / "boxes.parquet"
    pq.write_table(pa.table({"frame": [1, 1, 2], "label": ["Car", "okapi", "Car"], "subset": ["train", "train", "val"]}), table)
    lake = tmp_path / "lake"
    assert run(capsys, "lake", "add", lake, STREET)[0] == 0
    code, out, err = run(capsys, "lake", "add", lake, "--table", table, "--map", "image_id=frame, category=label, split=subset")
    assert code == 0 and out.startswith(f"registered source '{table}'") and "1 new classes" in out, err
    entry = manifest(lake)["sources"][-1]
    assert (entry["kind"], entry["images"], entry["annotations"]) == ("registered", 2, 3)
    assert info(lake).classes[-1] == "okapi"


def damage_categories(lake: Path) -> None:
    (lake / "categories.parquet").write_bytes(b"PAR1 and then nothing")


def remove_part(lake: Path) -> None:
    next((lake / "images").glob("source=*/part-0.parquet")).unlink()


def newer(lake: Path) -> None:
    doc = manifest(lake)
    (lake / "manifest.json").write_text(json.dumps(dict(doc, imbal_lake=7)))


@pytest.mark.parametrize("damage, argv, message", [
    (damage_categories, ["info"], "categories.parquet: not a readable Parquet file"),
    (damage_categories, ["add", LANES], "categories.parquet: not a readable Parquet file"),
    (remove_part, ["info", "--json"], "missing: source 'street/annotations.json'"),
    (remove_part, ["add", LANES], "has no images Parquet file (part-*.parquet) there"),
    (newer, ["info"], "format version 7, newer than this imbal reads"),
    (newer, ["add", LANES], "format version 7, newer than this imbal reads"),
    (None, ["add", "--table", "{table}", "--map", "image_id=frame,category=kind"],
     "`map` names column 'kind' for `category`, but the table"),
    (None, ["add", "--table", "{missing}", "--map", "image_id=frame,category=label"], "matches no file"),
    (None, ["add", "--map", "image_id=frame,category=label"], "`--map` applies to `--table` only"),
    (None, ["add", "{table}", "--table", "{table}", "--map", "image_id=frame,category=label"], "not both"),
    (None, ["add", ROOT / "README.md"], "README.md"),  # not an export: the reader's LoadError
    (None, ["add"], "give the export to add (PATH...) or a table"),
])
def test_bad_input_exits_2_with_a_message_and_writes_nothing(tmp_path, capsys, damage, argv, message):
    lake = tmp_path / "lake"
    assert run(capsys, "lake", "add", lake, STREET)[0] == 0
    pq.write_table(pa.table({"frame": [1], "label": ["Car"]}), tmp_path / "t.parquet")
    if damage:
        damage(lake)
    before = snapshot(tmp_path)
    words = {"table": tmp_path / "t.parquet", "missing": tmp_path / "none" / "*.parquet"}
    action, *rest = [str(a).format(**{k: str(v) for k, v in words.items()}) for a in argv]
    code, out, err = run(capsys, "lake", action, lake, *rest)
    assert code == 2 and message in err and "Traceback" not in err, err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("argv, message", [
    (["info", "{tmp}/nothing"], "not a lake: no such folder"),
    (["info", "{tmp}"], "not a lake: it has no manifest.json"),
    (["add", "{tmp}", str(STREET)], "not a lake: it has no manifest.json and holds other files"),
])
def test_a_path_that_is_not_a_lake_exits_2(tmp_path, capsys, argv, message):
    (tmp_path / "mine.txt").write_text("not a lake")
    before = snapshot(tmp_path)
    code, _, err = run(capsys, "lake", *[a.format(tmp=tmp_path) for a in argv])
    assert code == 2 and message in err, err
    assert snapshot(tmp_path) == before


# --------------------------------------------------------------------------- killed adds


def big_coco(path: Path, n_images: int = 40_000, n_annotations: int = 400_000) -> Path:
    """A seeded COCO detection file, big enough that an add takes a second or more."""
    rng = np.random.default_rng(7)
    names = [f"class_{c:02d}" for c in range(40)]
    split = rng.choice(["train", "val", "test"], size=n_images)
    tod = rng.choice(["day", "night"], size=n_images)
    images = [{"id": i + 1, "file_name": f"{i:07d}.jpg", "width": 640, "height": 480, "split": str(split[i]),
               "time_of_day": str(tod[i])} for i in range(n_images)]
    image_of = np.sort(rng.integers(1, n_images + 1, size=n_annotations))
    category = rng.integers(1, len(names) + 1, size=n_annotations)
    box = np.round(rng.uniform(0, 300, size=(n_annotations, 4)), 1)
    annotations = [{"id": k + 1, "image_id": int(image_of[k]), "category_id": int(category[k]), "area": 100.0,
                    "bbox": box[k].tolist(), "iscrowd": 0} for k in range(n_annotations)]
    doc = {"images": images, "annotations": annotations,
           "categories": [{"id": c + 1, "name": n} for c, n in enumerate(names)]}
    path.write_text(json.dumps(doc))
    return path


def command(*argv) -> list[str]:
    return [sys.executable, "-m", "imbal_core.cli", *map(str, argv)]


@pytest.fixture(scope="module")
def killing_ground(tmp_path_factory):
    """A lake holding the street sample, and a big export to add to it."""
    root = tmp_path_factory.mktemp("kill")
    env = dict(os.environ, IMBAL_CACHE_DIR=str(root / "cache"))
    base = root / "base"
    subprocess.run(command("lake", "add", base, STREET), env=env, check=True, capture_output=True)
    return root, base, big_coco(root / "big.json"), env


def kill_at(moment: float, argv: list[str], env: dict, lake: Path, after_staging: bool = False) -> bool:
    """Start the command and SIGKILL it ``moment`` seconds after its start (or, ``after_staging``,
    after its temporary folder appears in ``lake``: while it writes); True when it was still running."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while after_staging and proc.poll() is None and not any(lake.glob(".tmp-*")) and time.monotonic() < deadline:
        time.sleep(0.002)
    time.sleep(moment)
    running = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return running


def test_an_add_killed_at_any_moment_leaves_the_lake_as_it_was(killing_ground, tmp_path):
    root, base, big, env = killing_ground
    before = info(base).to_dict()
    # the reference: the same add, not killed (it also fills the parse cache, so later runs reach the write sooner)
    reference = tmp_path / "reference"
    shutil.copytree(base, reference)
    subprocess.run(command("lake", "add", reference, big), env=env, check=True, capture_output=True)
    after = without_times(info(reference).to_dict())
    # while starting and parsing (no cache), then from the moment the add starts writing
    moments = [(m, False, "--no-cache") for m in (0.2, 0.5, 1.0, 2.0)]
    moments += [(m, True, None) for m in (0.0, 0.01, 0.03, 0.06, 0.1, 0.2, 0.4)]
    killed_running = killed_writing = 0
    for k, (moment, after_staging, flag) in enumerate(moments):
        lake = tmp_path / f"lake{k}"
        shutil.copytree(base, lake)
        running = kill_at(moment, command("lake", "add", lake, big, *([flag] if flag else [])), env, lake, after_staging)
        killed_running += running
        killed_writing += bool(list(lake.glob(".tmp-*")))
        now = info(lake).to_dict()
        if now["sources"] == before["sources"]:
            assert now == dict(before, path=str(lake)), (moment, flag)
        else:  # it got past its commit before the kill
            assert without_times(now) == dict(after, path=str(lake)), (moment, flag)
    assert killed_running >= 6 and killed_writing >= 1, (killed_running, killed_writing)
    # after a kill, the next add completes and clears what the killed one left
    lake = next(tmp_path / f"lake{k}" for k in range(len(moments)) if list((tmp_path / f"lake{k}").glob(".tmp-*")))
    subprocess.run(command("lake", "add", lake, big), env=env, check=True, capture_output=True)
    assert without_times(info(lake).to_dict()) == dict(after, path=str(lake))
    assert not list(lake.glob(".tmp-*"))
    ids = {f"source={s['id']}" for s in manifest(lake)["sources"]}
    assert {p.name for p in (lake / "images").iterdir()} == ids == {p.name for p in (lake / "annotations").iterdir()}


#: Runs `lake add` and SIGKILLs itself just before its k-th file-system step (rename, replace, rmtree).
STEP_KILLER = textwrap.dedent("""
    import os, shutil, signal, sys
    from imbal_core.lake import add
    lake, export, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
    count = 0
    def step(real):
        def wrapped(*args, **kwargs):
            global count
            count += 1
            if count == k:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args, **kwargs)
        return wrapped
    os.rename, os.replace, shutil.rmtree = step(os.rename), step(os.replace), step(shutil.rmtree)
    add(lake, [export])
    print(count)
""")


def test_a_kill_before_any_step_of_the_commit_leaves_the_previous_or_the_new_lake(killing_ground, tmp_path):
    root, base, _, env = killing_ground
    before = info(base).to_dict()
    states = []
    k = 1
    while True:
        lake = tmp_path / f"lake{k}"
        shutil.copytree(base, lake)
        done = subprocess.run([sys.executable, "-c", STEP_KILLER, lake, LANES, str(k)], env=env,
                              capture_output=True, text=True, cwd=ROOT)
        now = info(lake).to_dict()
        if done.returncode == 0:
            after = without_times(now)
            break
        assert done.returncode == -signal.SIGKILL, done.stderr
        states.append((k, lake, now))
        k += 1
    steps = int(done.stdout.split()[-1])
    assert steps >= 5 and len(states) == steps  # staged manifest, 2 partitions, categories, manifest, clean-up
    kinds = ["before" if now == dict(before, path=str(lake)) else
             "after" if without_times(now) == dict(after, path=str(lake)) else "other" for _, lake, now in states]
    # the manifest is the commit point: before it every state is the old lake, after it the new one
    assert kinds == ["before"] * (steps - 1) + ["after"], kinds
    # the last "before" state holds renamed partitions and uncommitted category rows: the next add clears them
    _, lake, _ = states[-2]
    assert len(list((lake / "images").iterdir())) == 2
    assert manifest(lake)["classes"] < pq.read_metadata(lake / "categories.parquet").num_rows
    subprocess.run(command("lake", "add", lake, LANES), env=env, check=True, capture_output=True)
    assert without_times(info(lake).to_dict()) == dict(after, path=str(lake))
    assert not list(lake.glob(".tmp-*"))


def test_two_adds_at_once_take_turns(tmp_path):
    lake = tmp_path / "lake"
    env = dict(os.environ, IMBAL_CACHE_DIR=str(tmp_path / "cache"))
    exports = [STREET, LANES, SAMPLE_DATA / "surface" / "labels.csv"]
    procs = [subprocess.Popen(command("lake", "add", lake, e), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for e in exports]
    assert [p.wait() for p in procs] == [0, 0, 0], [p.stderr.read() for p in procs]
    doc = info(lake)
    assert sorted(s.path for s in doc.sources) == sorted(map(str, exports))
    assert len(doc.classes) == len(set(doc.classes))


def test_a_bad_export_creates_no_lake(tmp_path, capsys):
    bad = tmp_path / "instances.json"
    bad.write_text('{"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [')
    code, _, err = run(capsys, "lake", "add", tmp_path / "lake", bad)
    assert code == 2 and "instances.json" in err and "Traceback" not in err
    assert not (tmp_path / "lake").exists()
