"""``README.md``: the page that documents the samples, written last from the data just generated.

Every figure in it (counts, shares, recall, file sizes) is computed from the written files or the
generators' bookkeeping, never typed in, so the page cannot drift from the data. Each sample gets a
section saying what the files hold and which pattern is planted; ``Files`` lists the sizes.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

import numpy as np

from .common import SAMPLES, SPLIT_SHARES, STREET_CLASSES, STREET_COUNTS, STREET_ID
from .daily import QUOTA_DATE, QUOTA_TARGETS, WORK_DAYS
from .lanes import LANE_CLASSES
from .street_detector import CONFUSION
from .surface import SURFACE_COUNTS


def num(n: float) -> str:
    return f"{n:,}"


def pct(part: float, whole: float, digits: int = 1) -> str:
    return f"{100 * part / whole:.{digits}f}%" if whole else "n/a"


def table(header: list[str], rows: list[list], text_columns: int = 1) -> str:
    """A Markdown table; the first ``text_columns`` columns align left, the numbers right."""
    align = [" --- "] * text_columns + [" ---: "] * (len(header) - text_columns)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def share_list(values: list[str]) -> str:
    counts = Counter(values)
    return ", ".join(f"{k} {num(v)} ({pct(v, len(values), 0)})" for k, v in counts.most_common())


README_HEAD = """# Sample data

Small, synthetic, realistic exports that the dashboard opens by default and every feature
demonstrates on. Each one has a pattern planted on purpose; the figures below are computed from
the files themselves.

**Generated, do not edit by hand**: this page and every file here come from `generate.py`
and the `samplegen/` package (one module per sample; seed {seed} through `numpy.random.default_rng`, deterministic: two runs give
byte-identical files). To change a sample, change the script and regenerate:

```
make samples                                   # = .venv/bin/python sample_data/generate.py
.venv/bin/python sample_data/generate.py --out /tmp/samples   # somewhere else
```

`tests/test_samples.py` regenerates into a temporary folder and compares byte for byte, keeps
the total under 10 MB, and checks each planted pattern through `imbal_core.load`. No images ship:
the exports name files (`drive_000_000.jpg` ...) that do not exist."""


def readme_street(f: dict) -> str:
    images, anns, drives = f["images"], f["annotations"], f["drives"]
    tod = {im["id"]: im["time_of_day"] for im in images}
    split = {im["id"]: im["split"] for im in images}
    name_of = {cid: name for cid, name, _ in STREET_CLASSES}
    cells: Counter = Counter()
    found: Counter = Counter()
    for a, label in zip(anns, f["outcome"]):
        name = name_of[a["category_id"]]
        cells[name] += 1
        cells[name, tod[a["image_id"]]] += 1
        cells[name, split[a["image_id"]]] += 1
        found[name, tod[a["image_id"]]] += label == name
    day_total = sum(cells[n, "day"] for n in STREET_COUNTS)
    night_total = sum(cells[n, "night"] for n in STREET_COUNTS)
    order = sorted(STREET_COUNTS, key=lambda n: -cells[n])
    rows = [[n, STREET_ID[n], dict((c[1], c[2]) for c in STREET_CLASSES)[n], num(cells[n]), num(cells[n, "day"]),
             num(cells[n, "night"]), num(cells[n, "train"]), num(cells[n, "val"]), num(cells[n, "test"]),
             f"{found[n, 'day'] / cells[n, 'day']:.2f} / {found[n, 'night'] / cells[n, 'night']:.2f}"] for n in order]
    rows.append(["**all**", "", "", num(len(anns)), num(day_total), num(night_total),
                 *(num(sum(cells[n, s] for n in STREET_COUNTS)) for s in SPLIT_SHARES), ""])
    empty = len(images) - len({a["image_id"] for a in anns})
    wc_day, wc_night = cells["Wheelchair", "day"], cells["Wheelchair", "night"]
    kinds, alarms = f["kinds"], f["alarms"]
    confusions = "; ".join(f"{a} as {', '.join(b)}" for a, b in CONFUSION.items())
    return f"""## street/ — detection (COCO boxes)

`annotations.json`: {num(len(images))} images of 1280x720 in {len(drives)} drives (image field `sequence`
drive_000 ...: 20–60 consecutive frames; each drive has one `time_of_day`, `weather` and `camera`),
{num(len(anns))} boxes (`segmentation: []`, `area` = w x h, `iscrowd` 0), 10 classes in three
supercategories, with COCO ids that are **not contiguous** (1, 2, 3, 4, 6, 7, 8, 10, 11, 13).

- `split` is assigned per drive, so no drive straddles splits: {share_list([im["split"] for im in images])} of images.
- `time_of_day`: {share_list([im["time_of_day"] for im in images])}.
- `weather`: {share_list([im["weather"] for im in images])}.
- `camera`: {share_list([im["camera"] for im in images])}.
- {num(empty)} images have no annotations. Every class is present in every split.

{table(["class", "id", "supercategory", "instances", "day", "night", "train", "val", "test", "recall day / night"], rows, 3)}

**Planted hidden gap: Wheelchair is {pct(wc_day, day_total, 2)} of daytime instances ({wc_day} of {num(day_total)})
but {pct(wc_night, night_total, 2)} of night instances ({wc_night} of {num(night_total)})**, while its
overall count ({wc_day + wc_night}, {pct(wc_day + wc_night, len(anns))} of instances) looks merely rare.
Drives also differ in kind (urban / suburban / highway): highway drives have almost no people.

`predictions.json`: {num(sum(kinds.values()))} COCO results (`image_id`, `category_id`, `bbox`, `score`; scores
>= 0.05, 3 decimals) from a simulated detector that is weaker on rare classes and at night.
For each class and time of day exactly the recall in the table is found with the right label
(boxes jittered by about 4% of their size, 6% at night); another share is found with a wrong
label ({confusions}; x1.5 at night), the rest is missed.
Results by kind: {num(kinds["found"])} true detections (scores mostly 0.6–0.99, lower for rare classes
and at night), {num(kinds["confused"])} class confusions (scores around 0.4), {num(kinds["duplicate"])} duplicate
boxes, {num(kinds["background"])} background false positives (scores mostly below 0.3) and
**{num(kinds["wheelchair false alarm"])} confident Wheelchair false alarms on Persons and Strollers**
(hard negatives; median score {float(np.median(alarms)):.2f}, {sum(a >= 0.5 for a in alarms)} at 0.5 or above)."""


def readme_surface(f: dict) -> str:
    labels, split, light, predicted = f["labels"], f["split"], f["lighting"], f["predicted"]
    counts = Counter(labels)
    rows = []
    for c in SURFACE_COUNTS:
        idx = [i for i, lab in enumerate(labels) if lab == c]
        low = [i for i in idx if light[i] == "low"]
        rows.append([c, num(counts[c]), *(num(sum(split[i] == s for i in idx)) for s in SPLIT_SHARES),
                     f"{sum(predicted[i] == c for i in idx) / len(idx):.2f}",
                     f"{sum(predicted[i] == c for i in low) / len(low):.2f} ({len(low)})" if low else "n/a"])
    return f"""## surface/ — classification (CSV)

`labels.csv` (`image,label,split,lighting`): {num(len(labels))} images (`img_00001.jpg` ...), one label each.
The classic inspection case: **Background : Crack = {counts["Background"]} : {counts["Crack"]} =
{counts["Background"] / counts["Crack"]:.1f} : 1**, plus three rarer defects. Splits are stratified by class
(70/15/15 of each class); `lighting`: {share_list(light)}.

`predictions.csv` (`image,predicted,score_Background,score_Crack,...`): a classifier's scores per class
(3 decimals, each row sums to exactly 1; `predicted` is the highest), weaker on the rare classes and in
low light.

{table(["class", "images", "train", "val", "test", "accuracy", "accuracy in low light (images)"], rows)}"""


def readme_lanes(f: dict) -> str:
    images, anns, preds, hits = f["images"], f["annotations"], f["predictions"], f["mask_hits"]
    pixels: Counter = Counter()
    inst: Counter = Counter()
    holders: dict[int, set] = defaultdict(set)
    for a in anns:
        pixels[a["category_id"]] += a["area"]
        inst[a["category_id"]] += 1
        holders[a["category_id"]].add(a["image_id"])
    total = sum(pixels.values())
    pred_count = Counter(p["category_id"] for p in preds)
    rows = []
    for k, c in enumerate(LANE_CLASSES, start=1):
        recall = []
        for t in ("day", "night"):
            gt, hit = hits.get((t, k), (0, 0))
            recall.append(f"{hit / gt:.2f}" if gt else "n/a")
        rows.append([c, k, num(inst[k]), num(len(holders[k])), num(pixels[k]), pct(pixels[k], total, 2),
                     num(pred_count[k]), " / ".join(recall)])
    return f"""## lanes/ — segmentation (COCO polygons, RLE results, PNG masks)

`annotations.json`: {len(images)} images of 1280x720 (`split`: {share_list([im["split"] for im in images])};
`time_of_day`: {share_list([im["time_of_day"] for im in images])}; `weather`:
{share_list([im["weather"] for im in images])}), {num(len(anns))} polygon instances. A road seen from a car:
one large road polygon per image, sidewalks beside it, and thin markings — solid and dashed lane lines
8–12 px wide at the bottom row, thinning with distance (a dashed line is one instance of many dashes),
crosswalks and arrows in some images. `area` is the mask area (pycocotools), so pixel counts are exact.
**Road pixels dominate ({pct(pixels[1], total)} of annotated pixels); the lane lines are thin
(lane_solid {pct(pixels[3], total, 2)}, lane_dashed {pct(pixels[4], total, 2)}).**

`predictions.json`: {num(len(preds))} COCO results with `segmentation` as RLE (pycocotools, `counts` as text)
and a `score`, from a model that finds the road almost perfectly but misses, thins and shortens lane
markings (more at night) and now and then confuses solid with dashed or hallucinates a dashed line.

`masks/<stem>.png` and `pred_masks/<stem>.png`: semantic masks at half resolution (640x360, one channel,
pixel = class index, 0 = background; drawn road, sidewalk, then markings on top); `pred_masks` holds the
predictions scored 0.5 or more. `classes.txt`: line i names index i (line 0 `background`).

{table(["class", "id / index", "instances", "images", "pixels", "share of pixels", "predicted", "pixel recall day / night"], rows)}

Pixel recall is measured on the half-resolution semantic masks (`masks` vs `pred_masks`)."""


def readme_daily(f: dict) -> str:
    images, anns, day_of_ann, day_of_image = f["images"], f["annotations"], f["day_of_ann"], f["day_of_image"]
    name_of = {cid: name for cid, name, _ in STREET_CLASSES}
    rows = []
    cum: Counter = Counter()
    daily_wc, daily_bike = [], []
    for k, day in enumerate(WORK_DAYS):
        new = [a for a, d in zip(anns, day_of_ann) if d == k]
        c = Counter(name_of[a["category_id"]] for a in new)
        who = Counter(a["annotator"] for a in new)
        cum.update(c)
        daily_wc.append(c["Wheelchair"])
        daily_bike.append(c["Bicycle"])
        rows.append([f"day{k + 1:02d}.json", day.strftime("%a %Y-%m-%d"), num(sum(d <= k for d in day_of_image)),
                     num(len(new)), num(sum(cum.values())), f"{c['Wheelchair']} / {cum['Wheelchair']}",
                     f"{c['Bicycle']} / {cum['Bicycle']}", ", ".join(f"{w} {n}" for w, n in sorted(who.items()))])
    per_labeller = Counter(a["annotator"] for a in anns)
    clock = sorted(a["annotated_at"][11:16] for a in anns)
    first_time, last_time = clock[0], clock[-1]
    left = sum(1 for k in range(1, (QUOTA_DATE - WORK_DAYS[-1]).days + 1)
               if (WORK_DAYS[-1] + timedelta(days=k)).weekday() < 5)
    story = []
    for name, daily in (("Bicycle", daily_bike), ("Wheelchair", daily_wc)):
        pace = sum(daily[-5:]) / 5
        story.append(f"- **{name}**: {cum[name]} by {WORK_DAYS[-1].isoformat()}, last-5-day pace {pace:.1f}/day, "
                     f"daily {', '.join(map(str, daily))} -> about {cum[name] + pace * left:.0f} by "
                     f"{QUOTA_DATE.isoformat()} against a target of {QUOTA_TARGETS[name]} "
                     f"({'on track' if cum[name] + pace * left >= QUOTA_TARGETS[name] else 'well short'}).")
    story_text = "\n".join(story)
    return f"""## street_daily/ — an annotation project, day by day (COCO, cumulative)

Ten exports of a street-like project (same classes, ids and image fields as `street/`) as it grew over
ten working days, {WORK_DAYS[0].strftime("%a %Y-%m-%d")} to {WORK_DAYS[-1].strftime("%a %Y-%m-%d")} (weekend skipped). **`dayK.json` holds
exactly the annotations made on days 1..K and their images**, so each file contains the previous one.
Every annotation carries `annotated_at` (ISO 8601 UTC, within its working day: {first_time}–{last_time}) and
`annotator`; every image carries the time and labeller of its first annotation. Boxes are whole pixels
(the labelling tool snaps); to keep the ten files small the records omit `area` and `iscrowd`
(COCO's defaults: w x h and 0). Labellers work through drives frame by frame, one labeller per frame.

Final export: {num(len(images))} images, {num(len(anns))} instances; by labeller:
{", ".join(f"{w} {num(n)}" for w, n in per_labeller.most_common())}; by class:
{", ".join(f"{n} {num(cum[n])}" for n in sorted(cum, key=lambda n: -cum[n]))}.

{table(["file", "day", "images", "new instances", "instances", "Wheelchair new / total", "Bicycle new / total", "new by labeller"], rows, 2)}

**Planted quota story** — a push on rare classes. With targets of {QUOTA_TARGETS["Bicycle"]} Bicycles and
{QUOTA_TARGETS["Wheelchair"]} Wheelchairs by {QUOTA_DATE.strftime("%a %Y-%m-%d")} ({left} working days after the last export;
the targets are not in the files, set them in the quota view):

{story_text}

The team speeds up (a slow first week, a push on the last Friday) while Wheelchair slows down: the
frames that show wheelchairs are running out, not the labellers' time."""


def readme_files(out: Path) -> str:
    files = sorted(p for folder in SAMPLES for p in (out / folder).rglob("*") if p.is_file())
    groups: dict[str, list[Path]] = defaultdict(list)
    for p in files:
        rel = p.relative_to(out)
        key = str(rel.parent) if rel.parent.name in ("masks", "pred_masks") else str(rel)
        groups[key].append(p)
    rows = []
    for key, paths in groups.items():
        size = sum(p.stat().st_size for p in paths)
        label = f"`{key}/` ({len(paths)} PNG)" if len(paths) > 1 else f"`{key}`"
        rows.append([label, f"{size:,} B" if size < 10_000 else f"{size / 1e3:,.0f} kB"])
    total = sum(p.stat().st_size for p in files)
    rows.append(["**total** (data files; with this README and the generator about 0.1 MB more)",
                 f"**{total / 1e6:.2f} MB**"])
    folders = ", ".join(
        f"{folder}/ {sum(p.stat().st_size for p in files if p.relative_to(out).parts[0] == folder) / 1e6:.2f} MB"
        for folder in SAMPLES)
    return "## Files\n\n" + table(["file", "size"], rows) + f"\n\nBy folder: {folders}."


def readme(out: Path, facts: dict, seed: int) -> str:
    parts = [README_HEAD.format(seed=seed), readme_street(facts["street"]), readme_surface(facts["surface"]),
             readme_lanes(facts["lanes"]), readme_daily(facts["daily"]), readme_files(out)]
    return "\n\n".join(parts) + "\n"
