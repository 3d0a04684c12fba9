"""The label hierarchy: mappings, suggestions, merges, what-if and exports that reload; TACO's supercategories."""
from __future__ import annotations

import io
import json
import zipfile

import pytest
import yaml

import imbal_core
from imbal_core.cube import class_totals
from imbal_core.dataset import build_dataset
from imbal_core.hierarchy import (
    Hierarchy, apply_merges, from_supercategories, hierarchy_from_pairs, mapping_csv, mapping_json, merged_coco,
    merged_labels_csv, merged_yolo_zip, parent_images, read_mapping, resolve_merges, roll_up, suggest_merges, what_if,
)
from imbal_core.samples import SAMPLES

# class: (supercategory, instances); each instance in an image of its own except where noted
CLASSES = {"car": ("vehicle", 100), "bus": ("vehicle", 20), "tram": ("vehicle", 35), "person": ("person", 80),
           "stroller": ("Person", 10), "cone": ("infrastructure", 5), "sign": (None, 3)}


@pytest.fixture
def street():
    names = list(CLASSES)
    image, category, splits = [], [], []
    for c, name in enumerate(names):
        for i in range(CLASSES[name][1]):
            image.append(len(splits))
            category.append(c)
            splits.append("train" if i % 4 else "val")
    # one more image holding a bus and a tram together: merged, it is one image of the parent
    image += [len(splits), len(splits)]
    category += [names.index("bus"), names.index("tram")]
    splits.append("train")
    return build_dataset(
        images={"source_id": [str(i) for i in range(len(splits))], "split": splits, "width": [100] * len(splits),
                "height": [80] * len(splits), "file_name": [f"img_{i}.jpg" for i in range(len(splits))]},
        annotations={"image": image, "category": category, "x": [10.0] * len(image), "y": [20.0] * len(image),
                     "w": [30.0] * len(image), "h": [40.0] * len(image), "area": [1200.0] * len(image)},
        categories={"name": names, "supercategory": [CLASSES[n][0] for n in names],
                    "source_id": [str(10 + i) for i in range(len(names))]},
        task="detection", format="test", sources=[],
    )


def totals(ds):
    return {r["class"]: (r["images"], r["instances"]) for r in class_totals(ds).to_pylist()}


def test_parents_from_supercategories(street):
    h = from_supercategories(street)
    assert h.parents["bus"] == "vehicle" and "sign" not in h.parents
    assert h.children()["vehicle"] == ["car", "bus", "tram"]
    assert dict(zip(*(roll_up(street, h).column(k).to_pylist() for k in ("class", "parent"))))["sign"] is None
    assert parent_images(street, h)["vehicle"] == 100 + 20 + 35 + 1  # the bus-and-tram image once


@pytest.mark.parametrize(
    "name, text",
    [
        ("map.csv", "child,parent\nbus,vehicle\ncone,street furniture\n"),
        ("map.csv", "bus,vehicle\n\ncone, street furniture\n"),
        ("map.yaml", "bus: vehicle\ncone: street furniture\n"),
        ("map.yml", "vehicle: [bus]\nstreet furniture:\n  - cone\n"),
        ("map.json", '{"bus": "vehicle", "cone": "street furniture"}'),
    ],
)
def test_mappings_from_csv_and_yaml(street, tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    expected = {"bus": "vehicle", "cone": "street furniture"}
    assert read_mapping(path, street).parents == expected
    assert read_mapping(text.encode(), street, name).parents == expected


@pytest.mark.parametrize(
    "name, text, match",
    [
        ("m.csv", "bus,vehicle\nghost,vehicle\n", r"The mapping names classes the dataset does not have: \['ghost'\]"),
        ("m.csv", "bus,vehicle\nbus,road\n", r"The mapping gives 'bus' two parents: 'vehicle' and 'road'"),
        ("m.csv", "bus\n", r"m.csv:1: a mapping row must be `child,parent`"),
        ("m.yaml", "bus: [\n", r"m.yaml: not valid YAML"),
        ("m.yaml", "- bus\n", r"the mapping must be \{child: parent\} or \{parent: \[children\]\}. Got a list"),
        ("m.xlsx", "", r"`mapping` must be a .csv, .yaml, .yml or .json file. Got 'm.xlsx' instead."),
    ],
)
def test_bad_mappings_are_explained(street, name, text, match):
    with pytest.raises(ValueError, match=match):
        read_mapping(text.encode(), street, name)


def suggestion_rows(s):
    return {r["class"]: r for r in s.table.to_pylist()}


def test_suggestions(street):
    s = suggestion_rows(suggest_merges(street, from_supercategories(street), 50))
    # bus (21) and tram (36) are below 50; together in a new class 'vehicle' they pass (57)
    assert s["bus"]["suggested"] and s["tram"]["suggested"] and s["bus"]["target"] == "vehicle"
    assert s["bus"]["merged_instances"] == 21 + 36 and s["bus"]["target_instances"] == 0
    # the parent 'Person' is the class 'person' (case ignored): stroller joins it, 80 + 10 pass
    assert s["stroller"]["target"] == "person" and s["stroller"]["merged_instances"] == 90 and s["stroller"]["suggested"]
    # cone alone under 'infrastructure' stays at 5: not suggested, and why
    assert not s["cone"]["suggested"] and s["cone"]["reason"] == "'infrastructure' would still have only 5 instances"
    assert not s["car"]["suggested"] and s["car"]["merged_instances"] is None
    assert s["person"]["reason"] == "it is the parent's own class"
    assert "sign" not in s  # no parent, nothing to suggest


def test_critical_classes_are_never_suggested(street):
    s = suggest_merges(street, from_supercategories(street), 50, critical=["stroller"])
    rows = suggestion_rows(s)
    assert not rows["stroller"]["suggested"] and "flagged critical" in rows["stroller"]["reason"]
    assert s.merges() == {"bus": "vehicle", "tram": "vehicle"}


def test_suggestion_counts_for_the_page(street):
    s = suggest_merges(street, from_supercategories(street), 50)
    # below 50 with a parent: bus 21, tram 36, stroller 10, cone 5; suggested: bus, tram, stroller
    assert (s.below_count, s.suggested_count, s.smallest_instances) == (4, 3, 5)
    none_below = suggest_merges(street, from_supercategories(street), 1)
    assert (none_below.below_count, none_below.suggested_count, none_below.smallest_instances) == (0, 0, 5)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_suggestion_minimum_is_validated(street, bad):
    with pytest.raises(ValueError, match=rf"`min_instances` must be a whole number of at least 1. Got {bad!r} instead."):
        suggest_merges(street, from_supercategories(street), bad)


def test_resolve_follows_chains_and_refuses_cycles(street):
    assert resolve_merges(street, {"stroller": "Person", "bus": "tram", "tram": "vehicle"}) == {
        "stroller": "person", "bus": "vehicle", "tram": "vehicle"}
    with pytest.raises(ValueError, match=r"`merges` has a cycle: bus -> tram -> bus"):
        resolve_merges(street, {"bus": "tram", "tram": "bus"})
    with pytest.raises(ValueError, match=r"`merges` names classes the dataset does not have: \['ghost'\]"):
        resolve_merges(street, {"ghost": "vehicle"})


def test_apply_merges_counts_images_once(street):
    merged = apply_merges(street, {"bus": "vehicle", "tram": "vehicle", "stroller": "Person"})
    t = totals(merged)
    assert "bus" not in t and "stroller" not in t
    assert t["vehicle"] == (20 + 35 + 1, 21 + 36)  # the image holding both is one image of 'vehicle'
    assert t["person"] == (90, 90) and t["car"] == totals(street)["car"]
    cats = {r["name"]: r for r in merged.categories.to_pylist()}
    assert cats["vehicle"]["supercategory"] == "vehicle" and merged.num_annotations == street.num_annotations
    assert apply_merges(street, {}) is street


def test_what_if(street):
    result = what_if(street, {"bus": "vehicle", "tram": "vehicle", "cone": "infrastructure"})
    changes = {r["class"]: (r["before"], r["after"], r["merged_into"]) for r in result.changes.to_pylist()}
    assert changes["bus"] == (21, 0, "vehicle") and changes["vehicle"] == (0, 57, None)
    assert changes["infrastructure"] == (0, 5, None)
    assert result.before.metrics.present == 7 and result.after.metrics.present == 6
    assert result.before.metrics.imbalance_ratio == pytest.approx(100 / 3)  # sign (3) is still the smallest
    assert result.to_dict()["after"]["largest"] == "car"


def test_mapping_downloads_round_trip(street):
    merges = {"bus": "vehicle", "stroller": "Person"}
    assert read_mapping(mapping_csv(merges), street, "merges.csv").parents == merges
    doc = json.loads(mapping_json(merges, resolve_merges(street, merges)))
    assert doc == {"merges": merges, "resolved": {"bus": "vehicle", "stroller": "person"}}


def test_coco_written_from_the_tables_reloads_with_merged_counts(street, tmp_path):
    path = tmp_path / "merged.json"
    path.write_bytes(merged_coco(street, {"bus": "vehicle", "tram": "vehicle"}))
    reloaded = imbal_core.load(path, cache=False)
    assert totals(reloaded) == totals(apply_merges(street, {"bus": "vehicle", "tram": "vehicle"}))
    assert reloaded.splits == street.splits


def test_yolo_zip_reloads_with_merged_counts(street, tmp_path):
    data = merged_yolo_zip(street, {"stroller": "Person"})
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = yaml.safe_load(zf.read("data.yaml"))["names"]
        zf.extractall(tmp_path)
        first = zf.read("labels/val/img_0.txt").decode().split()
    assert "stroller" not in names and names.index("person") == 3
    assert first == ["0", "0.250000", "0.500000", "0.300000", "0.500000"]  # car, box centre (25, 40) of 100x80
    reloaded = imbal_core.load(tmp_path / "data.yaml", cache=False)
    assert {n: i for n, (_, i) in totals(reloaded).items()} == {
        n: i for n, (_, i) in totals(apply_merges(street, {"stroller": "Person"})).items()}


def test_classification_merges_as_a_labels_csv(tmp_path):
    ds = imbal_core.load(SAMPLES["surface"].files())
    h = Hierarchy({"Efflorescence": "Defect", "Exposed rebar": "Defect"}, "mapping")
    merges = suggest_merges(ds, h, 50).merges()
    assert merges == {"Efflorescence": "Defect", "Exposed rebar": "Defect"}  # 35 + 20 = 55
    path = tmp_path / "labels.csv"
    path.write_bytes(merged_labels_csv(ds, merges))
    assert totals(imbal_core.load(path, cache=False))["Defect"] == (55, 55)
    with pytest.raises(ValueError, match="A YOLO export needs boxes"):
        merged_yolo_zip(ds, merges)


def test_street_sample_merge_reloads_from_the_rewritten_file(tmp_path):
    ds = imbal_core.load(SAMPLES["street"].files())
    # At 400, Wheelchair 200, Stroller 360 and Bus 380 fall below (Motorcycle 410 is next; counts from the JSON).
    # The two person classes join the class 'Person': 4,500 + 200 + 360 = 5,060. Bus is not suggested: its parent
    # 'vehicle' is no class, and a new one of Bus alone would have only 380.
    hierarchy = from_supercategories(ds)
    merges = suggest_merges(ds, hierarchy, 400).merges()
    assert merges == {"Wheelchair": "person", "Stroller": "person"}
    # flagged critical, Wheelchair stays to be collected; Stroller still joins Person
    assert suggest_merges(ds, hierarchy, 400, critical=["Wheelchair"]).merges() == {"Stroller": "person"}
    path = tmp_path / "instances_merged.json"
    path.write_bytes(merged_coco(ds, merges))
    reloaded = imbal_core.load(path, cache=False)
    t = totals(reloaded)
    assert "Stroller" not in t and "Wheelchair" not in t and t["Person"][1] == 4500 + 200 + 360 and len(t) == 8
    assert sum(i for _, i in t.values()) == 19270
    assert reloaded.conditions == ds.conditions and reloaded.splits == ds.splits
    original = json.loads(open(ds.sources[0], encoding="utf-8").read())
    rewritten = json.loads(path.read_text())
    assert rewritten["images"] == original["images"]  # only the categories changed


@pytest.mark.realdata
def test_taco_supercategories(realdata, tmp_path):
    ds = imbal_core.load(realdata / "taco" / "annotations.json")
    h = from_supercategories(ds)
    assert len(h.parents) == 60 and len(h.children()) == 28 and len(h.children()["Plastic bag & wrapper"]) == 7
    s = suggest_merges(ds, h, 50)
    merges = s.merges()
    assert len(merges) == 17 and merges["Pizza box"] == "Carton"
    result = what_if(ds, merges)
    assert (result.before.metrics.classes, result.after.metrics.classes) == (60, 47)
    after = {r["class"]: r["after"] for r in result.changes.to_pylist()}
    rows = suggestion_rows(s)
    for child, parent in merges.items():
        assert after[rows[child]["target"]] >= 50  # every suggested parent passes once merged
    path = tmp_path / "taco_merged.json"
    path.write_bytes(merged_coco(ds, merges))
    reloaded = imbal_core.load(path, cache=False)
    assert totals(reloaded) == totals(apply_merges(ds, merges))
    assert reloaded.task == "segmentation"  # polygons kept: pixel counts survive the merge
    assert sum(r["pixels"] or 0 for r in class_totals(reloaded).to_pylist()) == pytest.approx(
        sum(r["pixels"] or 0 for r in class_totals(ds).to_pylist()))


def test_hierarchy_from_pairs_accepts_a_mapping(street):
    assert hierarchy_from_pairs({"bus": "vehicle", "car": "car"}, street).parents == {"bus": "vehicle"}


def test_merges_relabel_the_boxes_counting_leaves_out_too():
    """A box wholly outside its image is not counted but is evaluated: merged, it carries the parent's id."""
    ds = build_dataset(
        images={"source_id": ["a"], "width": [100], "height": [80], "file_name": ["a.jpg"]},
        annotations={"image": [0, 0, 0], "category": [0, 1, 1], "x": [5.0, 10.0, 500.0], "y": [5.0, 10.0, 500.0],
                     "w": [10.0, 10.0, 10.0], "h": [10.0, 10.0, 10.0]},
        categories={"name": ["car", "bus"]}, task="detection", format="t", sources=[])
    assert ds.uncounted is not None and ds.uncounted.num_rows == 1  # the bus at (500, 500)
    merged = apply_merges(ds, {"bus": "vehicle", "car": "vehicle"})
    names = merged.categories.column("name").to_pylist()
    exported = merged.exported_annotations.column("category_id").to_pylist()
    assert [names[i] for i in exported] == ["vehicle"] * 3
