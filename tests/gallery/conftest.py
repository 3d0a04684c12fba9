"""Fixtures of the gallery tests: the real BCCD export (read in place) and its boxes recounted from the XML."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import imbal_core
from imbal_core.io.predictions import read_predictions


@pytest.fixture(scope="session")
def bccd_root(realdata) -> Path:
    root = realdata / "bccd_voc"
    if not (root / "BCCD" / "JPEGImages").is_dir():
        pytest.skip(f"the BCCD images are not at {root / 'BCCD' / 'JPEGImages'}")
    return root


@pytest.fixture(scope="session")
def bccd(bccd_root):
    return imbal_core.load(bccd_root)


@pytest.fixture(scope="session")
def bccd_xml(bccd_root) -> dict[str, Counter]:
    """Image stem -> boxes per class name, read from the XML files with ElementTree (not imbal's reader)."""
    out = {}
    for path in sorted((bccd_root / "BCCD" / "Annotations").glob("*.xml")):
        root = ET.parse(path).getroot()
        out[path.stem] = Counter((obj.findtext("name") or "").strip() for obj in root.iter("object"))
    return out


@pytest.fixture()
def own_cache(tmp_path, monkeypatch) -> Path:
    """A cache folder of the test's own (thumbnails and sample frames start empty)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("IMBAL_CACHE_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def swapped_predictions():
    """``make(dataset, folder, seed=7, share=0.1)`` -> (predictions, swapped per image source id, file)."""
    return _swapped_predictions


def _swapped_predictions(bccd, folder: Path, seed: int = 7, share: float = 0.1):
    """Every ground-truth box as a prediction (score 0.9), a seeded share of the RBC boxes of positive
    size predicted WBC instead (score 0.8). Returns the predictions and, per image source id, how many
    RBC boxes were swapped."""
    rng = np.random.default_rng(seed)
    names = bccd.class_names
    source = bccd.images.column("source_id").to_pylist()
    rows = bccd.annotations.select(["image_id", "category_id", "x", "y", "w", "h"]).to_pylist()
    results, swapped = [], Counter()
    for r in rows:
        label = names[r["category_id"]]
        score = 0.9
        if label == "RBC" and r["w"] > 0 and r["h"] > 0 and rng.random() < share:
            label, score = "WBC", 0.8
            swapped[source[r["image_id"]]] += 1
        results.append({"image_id": source[r["image_id"]], "category_id": label, "score": score,
                        "bbox": [r["x"], r["y"], r["w"], r["h"]]})
    path = folder / "predictions.json"
    path.write_text(json.dumps(results))
    return read_predictions(path, bccd), swapped, path
