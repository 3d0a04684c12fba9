"""Gallery benchmark: a page of 24 thumbnails on the real BCCD export (364 JPEGs of 640 x 480), first time and cached.

    .venv/bin/python bench/gallery.py [--runs 5] [--realdata ../shared/realdata]

Every run is its own process with its own cache folder (``IMBAL_CACHE_DIR``), so nothing is warm
that a first visit would not have. Measured, medians over ``--runs``:

- ``page, first time``: ``thumbnails(ds, select_images(ds, "Platelets").page(0))`` in a fresh
  process with an empty cache: resolving 24 image files, decoding them (JPEG draft mode), drawing
  the boxes, encoding the thumbnails (written to the cache in the background);
- ``page, cached, fresh process``: the same call in a new process once the cache holds the page
  (the app after a restart); ``page, cached, same process``: the call again in the process that
  drew it (the app on the next visit to the page);
- ``load + select``: ``imbal_core.load`` (its parse cache warm) and ``select_images``, for scale;
- ``imbal gallery ... --out sheet.jpg``: the whole command as a process, with an empty cache
  folder and with a warm one (parse, thumbnails).

The budgets the issue sets: a page ≤ 1.0 s the first time, ≤ 0.15 s cached.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REALDATA = Path(os.environ.get("IMBAL_REALDATA", ROOT.parent / "shared" / "realdata"))

PAGE = textwrap.dedent("""
    import json, sys, time
    import imbal_core
    from imbal_core.gallery import select_images, thumbnails, flush
    started = time.perf_counter()
    ds = imbal_core.load(sys.argv[1])
    chosen = select_images(ds, "Platelets")
    loaded = time.perf_counter()
    page = thumbnails(ds, chosen.page(0, 24))
    drawn = time.perf_counter()
    again = thumbnails(ds, chosen.page(0, 24))
    repeated = time.perf_counter()
    flush()
    print(json.dumps({"load_select": loaded - started, "page": drawn - loaded, "same_process": repeated - drawn,
                      "shown": len(page), "cached": sum(t.cached for t in page.thumbnails),
                      "missing": page.missing}))
""")


def run_page(bccd: Path, cache: Path) -> dict:
    env = {**os.environ, "IMBAL_CACHE_DIR": str(cache)}
    done = subprocess.run([sys.executable, "-c", PAGE, str(bccd)], capture_output=True, text=True, env=env, check=True,
                          cwd=ROOT)
    return json.loads(done.stdout)


def run_cli(bccd: Path, cache: Path, out: Path) -> float:
    env = {**os.environ, "IMBAL_CACHE_DIR": str(cache)}
    script = Path(sys.executable).parent / "imbal"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "imbal_core.cli"]
    started = time.perf_counter()
    subprocess.run([*command, "gallery", str(bccd), "--class", "Platelets", "--out", str(out)], env=env, check=True,
                   stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--realdata", type=Path, default=REALDATA)
    args = parser.parse_args()
    bccd = args.realdata / "bccd_voc"
    if not (bccd / "BCCD" / "JPEGImages").is_dir():
        sys.exit(f"the BCCD export with its images is not at {bccd}")
    rows: dict[str, list[float]] = {k: [] for k in ("cold", "cached", "same", "load", "cli_cold", "cli_warm")}
    with tempfile.TemporaryDirectory(prefix="imbal-bench-gallery-") as tmp:
        for k in range(args.runs):
            cache = Path(tmp) / f"cache{k}"
            first = run_page(bccd, cache)  # empty cache: parse and thumbnails made
            assert first["shown"] == 24 and first["cached"] == 0 and first["missing"] == 0, first
            second = run_page(bccd, cache)
            assert second["cached"] == 24, second
            rows["cold"].append(first["page"])
            rows["cached"].append(second["page"])
            rows["same"].append(second["same_process"])
            rows["load"].append(second["load_select"])
            rows["cli_cold"].append(run_cli(bccd, Path(tmp) / f"cli{k}", Path(tmp) / "sheet.jpg"))
            rows["cli_warm"].append(run_cli(bccd, Path(tmp) / f"cli{k}", Path(tmp) / "sheet.jpg"))
    table = [
        ("page of 24 thumbnails, first time (fresh process, empty cache)", "cold", 1.0),
        ("page of 24 thumbnails, cached (fresh process)", "cached", 0.15),
        ("page of 24 thumbnails, cached (same process)", "same", 0.15),
        ("load (parse cached) + select_images, for scale", "load", None),
        ("imbal gallery bccd_voc --class Platelets --out sheet.jpg, empty cache", "cli_cold", None),
        ("imbal gallery ... the same again (parse and thumbnails cached)", "cli_warm", None),
    ]
    print(f"BCCD ({bccd}), 24 thumbnails of 256 px, medians of {args.runs} runs, each a fresh process\n")
    print(f"{'measure':<72} {'median s':>9} {'min s':>7} {'budget':>7}")
    for label, key, budget in table:
        values = rows[key]
        budget_text = f"≤ {budget:g}" if budget else ""
        print(f"{label:<72} {statistics.median(values):>9.3f} {min(values):>7.3f} {budget_text:>7}")


if __name__ == "__main__":
    main()
