"""Generate the bundled sample data: four small, realistic exports with planted patterns.

    python sample_data/generate.py [--out DIR] [--seed N]

One seed (:data:`SEED`) drives everything through ``numpy.random.default_rng``; each sample
draws from its own child generator, so changing one sample leaves the others unchanged.
Running the script twice gives byte-identical files (tests/test_samples.py checks this).

- ``street/``        detection, COCO boxes + a simulated detector's results (Wheelchair almost absent at night)
- ``surface/``       classification CSV + a classifier's per-class scores (Background:Crack about 33:1)
- ``lanes/``         segmentation, COCO polygons + RLE results + semantic PNG masks (thin lane markings)
- ``street_daily/``  ten cumulative daily exports of a growing annotation project (quota story)

``README.md`` is written last, with the figures computed from the files just written.

This script only parses the options and runs the samples in order; the generators live in the
``samplegen/`` package next to it, one module per sample (see its modules' docstrings).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from samplegen import daily, lanes, readme, street, surface
from samplegen.common import SEED, streams, write


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                        help="folder to write into (default: the folder of this script)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    args = parser.parse_args(argv)
    out: Path = args.out
    for pattern in ("lanes/masks/*.png", "lanes/pred_masks/*.png", "street_daily/day*.json"):
        for stale in out.glob(pattern):  # files of an earlier run that this one might not write
            stale.unlink()
    rng = streams(args.seed)
    facts = {
        "street": street.generate_street(rng["street"], out),
        "surface": surface.generate_surface(rng["surface"], out),
        "lanes": lanes.generate_lanes(rng["lanes"], out),
        "daily": daily.generate_street_daily(rng["street_daily"], out),
    }
    write(out / "README.md", readme.readme(out, facts, args.seed).encode("utf-8"))


if __name__ == "__main__":
    main()
