"""Report benchmark: `imbal report` as a whole process, as a user or a CI job waits for it.

Cases (each a whole process: interpreter start, imports, load, every analysis, the HTML and the
Markdown written; the parse cache warm, filled by an untimed first run):

- ``street``: the street sample (3,005 images, 19,270 boxes) — target 3 s, report at most 5 MB;
- ``street + predictions``: the same with ``--pred`` (the evaluation section: COCOeval's AP, as
  ``imbal eval`` runs it) — the issue's done-when command; measured, no separate target;
- ``coco train``: the 860,000-annotation COCO-train-shaped file of bench/coco_gen.py — target 15 s.

    python bench/report.py [--runs 5] [--only street|coco] [--file bench/.data/coco_train.json]

Medians of wall seconds and CPU seconds (of that process alone), the report's size, and the
machine's load average at the start of each run (timings compare only at like loads). Exits 1
when a median misses its target.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from ingest import imbal_command, run_process  # noqa: E402  (the same process timing as the ingest benchmark)

STREET = ROOT / "sample_data" / "street"
MAX_BYTES = 5_000_000


def cases(coco: Path, only: str | None) -> list[tuple[str, list[str], float | None]]:
    """(name, arguments after `imbal report`, target median seconds or None)."""
    out = []
    if only in (None, "street"):
        out += [("street", [str(STREET / "annotations.json")], 3.0),
                ("street + predictions", [str(STREET / "annotations.json"), "--pred", str(STREET / "predictions.json")], None)]
    if only in (None, "coco"):
        out.append(("coco train", [str(coco)], 15.0))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=["street", "coco"])
    parser.add_argument("--file", type=Path, default=HERE / ".data" / "coco_train.json")
    args = parser.parse_args()
    if args.only != "street" and not args.file.exists():
        from coco_gen import generate

        args.file.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {args.file} (seeded; about two minutes) ...", flush=True)
        partial = args.file.with_suffix(".partial")
        generate(partial)
        partial.replace(args.file)

    imbal = imbal_command()
    failed = []
    folder = Path(tempfile.mkdtemp(prefix="imbal-bench-report-"))
    try:
        env = dict(os.environ, IMBAL_CACHE_DIR=str(folder / "cache"))
        print(f"{'case':<22}{'median s':>10}{'cpu s':>8}{'peak MB':>9}{'MB out':>8}{'load':>6}  target   runs (s)")
        for name, paths, target in cases(args.file, args.only):
            out, md = folder / "report.html", folder / "summary.md"
            command = [*imbal, "report", *paths, "--out", str(out), "--markdown", str(md)]
            run_process(command, env)  # untimed: fills the parse cache
            runs = [run_process(command, env) for _ in range(args.runs)]
            median = statistics.median(r["seconds"] for r in runs)
            cpu = statistics.median(r["cpu"] for r in runs)
            peak = statistics.median(r["peak_mb"] for r in runs)
            load = statistics.median(r["load"] for r in runs)
            size = out.stat().st_size
            verdict = "-" if target is None else f"{target:g} s {'met' if median <= target else 'MISSED'}"
            if target is not None and median > target:
                failed.append(name)
            if name == "street" and size > MAX_BYTES:
                failed.append(f"{name} size")
                verdict += f"; {size / 1e6:.2f} MB > 5 MB"
            print(f"{name:<22}{median:>10.2f}{cpu:>8.2f}{peak:>9.0f}{size / 1e6:>8.2f}{load:>6.2f}  {verdict:<10}"
                  + ", ".join(f"{r['seconds']:.2f}" for r in runs), flush=True)
        print(f"{os.cpu_count()} cores; command: imbal report PATH [--pred FILE] --out report.html --markdown summary.md")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if failed:
        print(f"missed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
