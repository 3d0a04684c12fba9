"""Rebalancing benchmark: the class-level solver on 1,000 classes, per-image weights on 1,000,000 images.

    python bench/plan.py [--runs 5] [--images 1000000] [--classes 1000]

The data is generated (seeded) to look like a large detection set: class frequencies follow a
Zipf-like long tail (the head class in ~20% of the images, the rarest in ~100); each image holds
1 + Poisson(1.8) class draws (2.6 distinct classes on average, up to ~12), half drawn from the
global frequencies — so head classes turn up next to everything — and half from the image's
"scene" (40 groups of classes that appear together). Timings are medians over ``--runs`` runs in
this process; per-image weights are timed from the (image, class) pairs: building the incidence
and merging identical rows (done once per dataset; the app caches it) and the fit itself.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from imbal_core.plan import (fit_weights, incidence_from_pairs, make_spec, repeat_factor_weights,  # noqa: E402
                             solve)


def generate(n_images: int, n_classes: int, seed: int = 0, scenes: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """(image, class) pairs of a long-tailed, co-occurring multi-label dataset."""
    rng = np.random.default_rng(seed)
    p = np.arange(1, n_classes + 1) ** -1.1
    p = (p / p.sum())[np.argsort(rng.permutation(n_classes))]  # class ids unrelated to frequency
    scene_of_class = rng.integers(0, scenes, n_classes)
    scene = rng.choice(scenes, n_images, p=rng.dirichlet(np.full(scenes, 2.0)))
    draws = 1 + rng.poisson(1.8, n_images)
    image = np.repeat(np.arange(n_images), draws)
    category = np.empty(len(image), np.int64)
    from_head = rng.random(len(image)) < 0.5
    category[from_head] = rng.choice(n_classes, int(from_head.sum()), p=p)
    local = np.flatnonzero(~from_head)
    local_scene = scene[image[local]]
    for s in range(scenes):
        members = np.flatnonzero(scene_of_class == s)
        where = local[local_scene == s]
        if len(members) and len(where):
            category[where] = rng.choice(members, len(where), p=p[members] / p[members].sum())
    key = np.unique(image * n_classes + category)
    return key // n_classes, key % n_classes


def timed(fn, runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--images", type=int, default=1_000_000)
    parser.add_argument("--classes", type=int, default=1000)
    args = parser.parse_args()

    image, category = generate(args.images, args.classes)
    names = tuple(f"class_{i:04d}" for i in range(args.classes))
    probe = incidence_from_pairs(image, category, None, np.arange(args.images), names)
    counts = dict(zip(names, probe.counts.tolist()))
    per_image = np.diff(probe.matrix.indptr)
    print(f"{args.images:,} images, {len(image):,} image-class pairs, {args.classes:,} classes; "
          f"classes per annotated image: mean {per_image[per_image > 0].mean():.2f}, max {per_image.max()}; "
          f"largest class {probe.counts.max():,} images, smallest {probe.counts.min():,}; "
          f"{len(probe.groups[1]):,} distinct rows")

    print(f"\nclass-level solver, {args.classes:,} classes (median of {max(args.runs, 20)} runs):")
    for strategy in ("balanced", "sqrt", "effective-number", "repeat-factor"):
        spec = make_spec(strategy, cap=5)
        seconds, plan = timed(lambda: solve(counts, spec, image_counts=probe.image_counts, total_images=args.images),
                              max(args.runs, 20))
        print(f"  {strategy:<17} {seconds * 1000:7.2f} ms   total {plan.total_effective:,} of {plan.budget:,}")

    print(f"\nper-image weights, {args.images:,} images (median of {args.runs} runs):")
    for strategy in ("balanced", "sqrt"):
        plan = solve(counts, make_spec(strategy, cap=5), image_counts=probe.image_counts, total_images=args.images)
        rows = []
        for _ in range(args.runs):
            start = time.perf_counter()
            inc = incidence_from_pairs(image, category, None, np.arange(args.images), names)
            inc.groups  # merged rows: computed once per dataset, like the incidence
            built = time.perf_counter()
            weights = fit_weights(inc, plan, check_reachable=0)
            done = time.perf_counter()
            rows.append((built - start, done - built, done - start))
        build, fit, total = (statistics.median(r[i] for r in rows) for i in range(3))
        errors = np.abs(weights.relative_error)
        print(f"  {strategy:<9} incidence {build:.2f} s + fit {fit:.2f} s = {total:.2f} s   "
              f"({weights.iterations} iterations; {int(weights.within().sum())} of {args.classes} classes within 5%, "
              f"median miss {np.nanmedian(errors):.1%})")
    seconds, lvis = timed(lambda: repeat_factor_weights(inc, plan, threshold=0.001), args.runs)
    print(f"  LVIS repeat factors: {seconds:.2f} s")


if __name__ == "__main__":
    main()
