"""``street_daily/``: ten cumulative daily exports of a growing annotation project.

Planted pattern, the **quota story**: the team (five labellers, :data:`THROUGHPUT`) speeds up
over ten working days (:data:`DAY_FACTOR`; two absences), while a push on rare classes goes
differently for each: Bicycle keeps pace, Wheelchair slows down as the frames that show wheelchairs
run out (:data:`WHEELCHAIR_PER_DAY`). Against :data:`QUOTA_TARGETS` by :data:`QUOTA_DATE`, Bicycle
is on track and Wheelchair falls well short, which is what the quota view forecasts.

``dayK.json`` holds exactly the annotations made on days 1..K and their images, each with
``annotated_at`` and ``annotator``; labellers work through their own drives frame by frame. Same
classes, ids and image fields as ``street/`` (:mod:`samplegen.common`).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from .common import (AFFINITY, DRIVE_TYPES, HEIGHT, SPLIT_SHARES, STREET_CLASSES, STREET_ID, WIDTH, dump_json,
                     sample_boxes, write)

WORK_DAYS = [date(2026, 11, 16) + timedelta(days=k) for k in range(12) if (date(2026, 11, 16) + timedelta(days=k)).weekday() < 5]
#: Instances a labeller makes on a normal day.
THROUGHPUT = {"ana": 115, "ben": 98, "chen": 86, "dara": 70, "eli": 55}
#: Team pace per working day: learning the guidelines in week one, a push on the last Friday.
DAY_FACTOR = [0.74, 0.77, 0.79, 0.81, 0.85, 0.89, 0.91, 0.99, 1.11, 1.32]
ABSENT = {(6, "dara"), (8, "chen")}  # (day index, labeller)
INSTANCES_PER_FRAME = 6.5
#: The rare-class push: Wheelchair per day (slowing as candidate frames run out), Bicycle per day.
WHEELCHAIR_PER_DAY = [34, 31, 29, 27, 25, 23, 22, 21, 20, 20]
BICYCLE_PER_DAY = [30, 32, 35, 36, 38, 30, 37, 38, 40, 36]
#: The rest of each day's instances, by class.
DAILY_MIX = {"Car": 0.40, "Person": 0.30, "Traffic sign": 0.09, "Traffic light": 0.07, "Truck": 0.06,
             "Bus": 0.035, "Motorcycle": 0.03, "Stroller": 0.015}
QUOTA_TARGETS = {"Bicycle": 500, "Wheelchair": 600}
QUOTA_DATE = date(2026, 12, 10)


def generate_street_daily(rng: np.random.Generator, out: Path) -> dict:
    drives: list[dict] = []
    split_have = Counter()

    def new_drive() -> dict:
        frames = int(rng.integers(20, 61))
        total = sum(split_have.values()) + frames
        split = max(SPLIT_SHARES, key=lambda s: SPLIT_SHARES[s] * total - split_have[s])
        split_have[split] += frames
        d = {"sequence": f"drive_{len(drives):03d}", "frames": frames, "next": 0, "split": split,
             "time_of_day": "night" if rng.random() < 0.3 else "day",
             "weather": str(rng.choice(["clear", "rain", "fog", "snow"], p=[0.6, 0.2, 0.08, 0.12])),
             "camera": f"cam_{int(rng.integers(1, 6))}",
             "type": str(rng.choice(DRIVE_TYPES[:2], p=(0.65, 0.35))),  # the push skips highway drives
             "density": float(rng.gamma(4.0, 0.25))}
        drives.append(d)
        return d

    current: dict[str, dict] = {}
    images, annotations = [], []
    day_of_image = []
    for k, day in enumerate(WORK_DAYS):
        # Which frames each labeller takes today: the next frames of their own drive.
        todays: list[tuple[str, dict]] = []  # (labeller, image)
        budgets: dict[str, float] = {}
        for who, rate in THROUGHPUT.items():
            if (k, who) in ABSENT:
                continue
            budget = rate * DAY_FACTOR[k] * np.exp(rng.normal(0, 0.1))
            budgets[who] = budget
            for _ in range(max(1, round(budget / INSTANCES_PER_FRAME))):
                d = current.get(who)
                if d is None or d["next"] >= d["frames"]:
                    d = current[who] = new_drive()
                image = {"sequence": d["sequence"], "frame": d["next"], "drive": d}
                d["next"] += 1
                todays.append((who, image))
        total = sum(round(THROUGHPUT[w] * DAY_FACTOR[k]) for w in THROUGHPUT if (k, w) not in ABSENT)
        counts = {"Wheelchair": WHEELCHAIR_PER_DAY[k], "Bicycle": BICYCLE_PER_DAY[k]}
        rest = total - sum(counts.values())
        mix = np.array(list(DAILY_MIX.values()))
        counts.update(zip(DAILY_MIX, rng.multinomial(rest, mix / mix.sum()).tolist()))
        per_image = daily_instances(todays, budgets, counts, rng)
        # Timestamps: each labeller works a ~8 h day (UTC), annotations in the order of their frames.
        by_who: dict[str, list[int]] = defaultdict(list)
        for j, (who, _) in enumerate(todays):
            by_who[who].append(j)
        stamps: dict[int, list[datetime]] = {}
        for who, js in by_who.items():
            n = sum(len(per_image[j]) for j in js)
            start = datetime(day.year, day.month, day.day, 8, tzinfo=timezone.utc) + timedelta(minutes=float(rng.uniform(0, 50)))
            seconds = np.sort(rng.uniform(0, rng.uniform(7.3, 8.6) * 3600, n))
            times = [start + timedelta(seconds=int(s)) for s in seconds]
            pos = 0
            for j in js:
                stamps[j] = times[pos:pos + len(per_image[j])]
                pos += len(per_image[j])
        order = sorted(range(len(todays)), key=lambda j: (stamps[j][0], j))
        for j in order:
            who, im = todays[j]
            d = im["drive"]
            image_id = len(images) + 1
            first = stamps[j][0]
            images.append({
                "id": image_id, "file_name": f"{d['sequence']}_{im['frame']:03d}.jpg", "width": WIDTH, "height": HEIGHT,
                "split": d["split"], "sequence": d["sequence"], "time_of_day": d["time_of_day"],
                "weather": d["weather"], "camera": d["camera"], "annotated_at": iso(first), "annotator": who,
            })
            day_of_image.append(k)
            for (name, box), when in zip(per_image[j], stamps[j]):
                x, y, x2, y2 = (round(v) for v in (box[0], box[1], box[0] + box[2], box[1] + box[3]))
                w, h = x2 - x, y2 - y
                annotations.append({
                    "id": len(annotations) + 1, "image_id": image_id, "category_id": STREET_ID[name],
                    "bbox": [x, y, w, h], "annotated_at": iso(when), "annotator": who,
                })
    categories = [{"id": cid, "name": name, "supercategory": sup} for cid, name, sup in STREET_CLASSES]
    day_of_ann = [day_of_image[a["image_id"] - 1] for a in annotations]
    for k, day in enumerate(WORK_DAYS):
        coco = {
            "info": {"description": f"imbal sample: street annotation project, export of {day.isoformat()} (synthetic)",
                     "version": f"day{k + 1:02d}", "date_created": f"{day.isoformat()}T18:00:00Z"},
            "categories": categories,
            "images": [im for im, dk in zip(images, day_of_image) if dk <= k],
            "annotations": [a for a, dk in zip(annotations, day_of_ann) if dk <= k],
        }
        write(out / "street_daily" / f"day{k + 1:02d}.json", dump_json(coco))
    return {"images": images, "annotations": annotations, "day_of_ann": day_of_ann, "day_of_image": day_of_image}


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def daily_instances(todays: list[tuple[str, dict]], budgets: dict[str, float], counts: dict[str, int],
                    rng: np.random.Generator) -> list[list]:
    """Spread the day's class counts over its frames; every frame ends up with at least one box.

    Each labeller's expected share of every class is their share of the day's budget.
    """
    n = len(todays)
    frame = rng.gamma(2.0, 0.5, n)
    per_image: list[list] = [[] for _ in range(n)]
    for name, count in counts.items():
        aff = np.array([AFFINITY[name][DRIVE_TYPES.index(im["drive"]["type"])] for _, im in todays])
        night = np.array([im["drive"]["time_of_day"] == "night" for _, im in todays])
        factor = np.where(night, {"Wheelchair": 0.15, "Stroller": 0.4}.get(name, 1.0), 1.0)
        w = frame * aff * factor * np.array([im["drive"]["density"] for _, im in todays]) * rng.gamma(1.5, 1 / 1.5, n)
        for who, budget in budgets.items():
            mine = np.array([w_ == who for w_, _ in todays])
            if w[mine].sum() > 0:
                w[mine] *= budget / w[mine].sum()
        boxes = sample_boxes(name, count, rng)
        which = np.repeat(np.arange(n), rng.multinomial(count, w / w.sum()))
        for j, box in zip(which.tolist(), boxes.tolist()):
            per_image[j].append((name, box))
    for j in range(n):  # an empty frame takes a Car from the frame with the most
        if not per_image[j]:
            donor = max(range(n), key=lambda i: sum(1 for c, _ in per_image[i] if c == "Car"))
            moved = next(k for k, (c, _) in enumerate(per_image[donor]) if c == "Car")
            per_image[j].append(per_image[donor].pop(moved))
    for j in range(n):
        per_image[j].sort(key=lambda item: STREET_ID[item[0]])
    return per_image
