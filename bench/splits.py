"""Split generation benchmark: label-distribution error of imbal's generator against a random split and
iterstrat's ``MultilabelStratifiedShuffleSplit`` at the same ratios, and the generator's time at scale.

    python bench/splits.py [--seeds 10] [--runs 3] [--ratios 0.8,0.1,0.1] [--skip-large]

Label-distribution error (LD): the mean over splits and classes of ``|share of the class in the split - its
share in the whole|``, in instances (each object counts) and in images (each image holding the class counts
once). Medians over ``--seeds`` seeds. Datasets: the street sample (73 drives: imbal keeps each drive in one
split; the random and iterstrat baselines split images and so leak drives, which is counted) and
``../shared/realdata/taco`` (1,500 images, several classes per image, no groups). iterstrat makes three
splits the usual way: ``test_size = val + test``, then that part in two.

Time: ``make_splits`` on generated data (``--runs`` runs, median): 200,000 images in 10,000 sequences and
200,000 lone images, 80 long-tail classes, two conditions.

Needs ``iterative-stratification`` (bench/requirements.txt), a benchmark-only dependency.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import imbal_core  # noqa: E402
from imbal_core.dataset import build_dataset  # noqa: E402
from imbal_core.splits import label_distribution_error, make_splits  # noqa: E402

STREET = ROOT / "sample_data" / "street" / "annotations.json"
TACO = ROOT.parent / "shared" / "realdata" / "taco" / "annotations.json"


def matrices(ds):
    """(images x classes) instance counts, and the group of each image (None when it has none)."""
    ic = ds.image_classes
    counts = np.zeros((ds.num_images, ds.categories.num_rows))
    np.add.at(counts, (ic.column("image_id").to_numpy(), ic.column("category_id").to_numpy()),
              ic.column("instances").to_numpy())
    return counts, ds.images.column("group").to_pylist()


def errors(counts: np.ndarray, assign: np.ndarray, n_splits: int) -> tuple[float, float]:
    presence = (counts > 0).astype(float)
    per = [np.stack([m[assign == s].sum(0) for s in range(n_splits)]) for m in (counts, presence)]
    return label_distribution_error(per[0]), label_distribution_error(per[1])


def leaked(groups, assign) -> int:
    seen: dict = {}
    bad = set()
    for g, s in zip(groups, assign):
        if g is None:
            continue
        if seen.setdefault(g, s) != s:
            bad.add(g)
    return len(bad)


def random_split(n: int, ratios, seed: int) -> np.ndarray:
    order = np.random.default_rng(seed).permutation(n)
    assign = np.empty(n, dtype=np.int64)
    cuts = np.round(np.cumsum(ratios)[:-1] * n).astype(int)
    for s, part in enumerate(np.split(order, cuts)):
        assign[part] = s
    return assign


def random_group_split(groups, ratios, seed: int) -> np.ndarray:
    keys = sorted({g for g in groups if g is not None})
    order = np.random.default_rng(seed).permutation(len(keys))
    sizes = {g: 0 for g in keys}
    for g in groups:
        if g is not None:
            sizes[g] += 1
    total, acc, split_of = len(groups), 0, {}
    bounds = np.cumsum(ratios) * total
    for i in order:
        g = keys[i]
        split_of[g] = int(np.searchsorted(bounds, acc + sizes[g] / 2))
        acc += sizes[g]
    return np.array([split_of[g] for g in groups])


def iterstrat_split(counts: np.ndarray, ratios, seed: int) -> np.ndarray:
    from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit

    y = (counts > 0).astype(int)
    n = len(y)
    assign = np.zeros(n, dtype=np.int64)
    rest = 1 - ratios[0]
    _, held = next(MultilabelStratifiedShuffleSplit(n_splits=1, test_size=rest, random_state=seed).split(np.zeros(n), y))
    assign[held] = 1
    if len(ratios) == 3:
        _, last = next(MultilabelStratifiedShuffleSplit(n_splits=1, test_size=ratios[2] / rest, random_state=seed)
                       .split(np.zeros(len(held)), y[held]))
        assign[held[last]] = 2
    return assign


def compare(name: str, ds, ratios, seeds: int, stratify_options) -> None:
    counts, groups = matrices(ds)
    has_groups = any(g is not None for g in groups)
    names = ("train", "val", "test")[: len(ratios)]
    rows: dict[str, list[tuple[float, float, int, float]]] = {}

    def add(label, assign, seconds=0.0):
        rows.setdefault(label, []).append((*errors(counts, assign, len(ratios)), leaked(groups, assign), seconds))

    for seed in range(seeds):
        add("random (images)", random_split(len(counts), ratios, seed))
        if has_groups:
            add("random (whole groups)", random_group_split(groups, ratios, seed))
        t = time.perf_counter()
        assign = iterstrat_split(counts, ratios, seed)
        add("iterstrat MultilabelStratifiedShuffleSplit", assign, time.perf_counter() - t)
        for stratify in stratify_options:
            t = time.perf_counter()
            result = make_splits(ds, ratios, stratify, "auto", seed)
            seconds = time.perf_counter() - t
            split = np.array(result.dataset.images.column("split").combine_chunks().dictionary_decode().to_pylist())
            assign = np.array([names.index(s) for s in split])
            add(f"imbal make_splits, stratify {'+'.join(stratify)}", assign, seconds)
    print(f"\n### {name}: {ds.num_images:,} images, {ds.num_annotations:,} instances, {ds.categories.num_rows} classes"
          + (f", {len({g for g in groups if g is not None})} groups" if has_groups else ", no groups")
          + f"; ratios {', '.join(f'{r:g}' for r in ratios)}; medians over {seeds} seeds\n")
    print("| method | LD error, instances | LD error, images | groups split across subsets | seconds |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for label, values in rows.items():
        med = [statistics.median(v[k] for v in values) for k in range(4)]
        seconds = f"{med[3]:.2f}" if med[3] else "-"
        print(f"| {label} | {med[0]:.5f} | {med[1]:.5f} | {med[2]:.0f} | {seconds} |")


def generated(n_images: int, n_groups: int | None, classes: int = 80, seed: int = 0):
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, classes + 1) ** 1.1
    p /= p.sum()
    k = rng.poisson(2.0, n_images) + 1
    image = np.repeat(np.arange(n_images), k)
    category = rng.choice(classes, size=len(image), p=p)
    groups = rng.integers(0, n_groups, n_images) if n_groups else None
    group_col = [f"seq_{g}" for g in groups] if groups is not None else None
    cond_a = rng.choice(["day", "night"], size=n_images, p=[0.7, 0.3])
    cond_b = rng.choice(["cam_1", "cam_2", "cam_3", "cam_4"], size=n_images)
    return build_dataset(
        images={"file_name": [f"img_{i:07d}.jpg" for i in range(n_images)], "group": group_col,
                "time_of_day": cond_a, "camera": cond_b},
        annotations={"image": image, "category": category},
        categories={"name": [f"class_{c:02d}" for c in range(classes)]},
        task="detection", format="coco", sources=["generated"], conditions=("time_of_day", "camera"))


def timing(runs: int) -> None:
    print(f"\n### make_splits time on generated data (80 long-tail classes, 1 + Poisson(2) objects per image, two conditions; median of {runs})\n")
    print("| images | groups | stratify | blocks | median seconds | LD error, instances |")
    print("| ---: | ---: | --- | ---: | ---: | ---: |")
    for n_images, n_groups, stratify in ((200_000, 10_000, ("class", "time_of_day", "camera")),
                                         (200_000, None, ("class", "time_of_day", "camera")),
                                         (1_000_000, 50_000, ("class",))):
        ds = generated(n_images, n_groups)
        times, result = [], None
        for run in range(runs):
            t = time.perf_counter()
            result = make_splits(ds, (0.8, 0.1, 0.1), stratify, "auto", run)
            times.append(time.perf_counter() - t)
        print(f"| {n_images:,} | {n_groups or 0:,} | {'+'.join(stratify)} | {result.blocks:,} | "
              f"{statistics.median(times):.1f} | {result.label_distribution_error['instances']:.6f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--ratios", default="0.8,0.1,0.1")
    ap.add_argument("--skip-large", action="store_true")
    args = ap.parse_args()
    ratios = tuple(float(r) for r in args.ratios.split(","))
    compare("street sample", imbal_core.load(STREET), ratios, args.seeds, [("class",), ("class", "time_of_day")])
    if TACO.exists():
        compare("TACO (realdata)", imbal_core.load(TACO), ratios, args.seeds, [("class",)])
    else:
        print(f"\n(TACO not found at {TACO}: skipped)")
    if not args.skip_large:
        timing(args.runs)


if __name__ == "__main__":
    main()
