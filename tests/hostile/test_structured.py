"""Hostile structured input against the CLI: a corpus of files built to break the readers.

Classes (issue 12): JSON nested 100,000 levels deep; integers beyond int64 as ids or class
indices, and huge-but-valid numbers as sizes; objects and lists where text is expected; XML
declaring an encoding the parser does not know; class indices of 10^11 in names files; YAML alias
bombs; values so long that quoting them whole would flood the terminal.

Every case runs the CLI in-process and must: exit 0, 1 or 2; print no traceback and no "internal
error"; name the input file (in the error, or in the ``file`` of the report rows); keep every
message short; and, where the input is partly good, keep the good records (``kept``).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from imbal_core.cli import main
from imbal_core.hierarchy import read_mapping
from imbal_core.io import coco as coco_reader
from imbal_core.io.files import BadXML, parse_json, parse_xml, parse_yaml
from imbal_core.plan import read_targets
from imbal_core.report import (EXCERPT_LENGTH, MAX_PROBLEM_LENGTH, MAX_RECORD_LENGTH, LoadError, LoadReport, excerpt,
                               shorten)

DEEP = 100_000
BIG = 2**70  # past int64
HUGE_INDEX = 10**11
LONG = 800_000  # characters of one quoted value
#: The longest an error message (stderr, exit 2) may be.
MAX_ERROR_OUTPUT = 1500

BOMB = "".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n',
        *(f"{b}: &{b} [{','.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi")),
    ]
)


def deep_json(opener: str = "[") -> bytes:
    closer = {"[": "]", "{": "}"}[opener]
    if opener == "{":
        return (b'{"a":' * DEEP) + b"1" + (b"}" * DEEP)
    return opener.encode() * DEEP + closer.encode() * DEEP


def image(i: int, **extra) -> dict:
    return {"id": i, "file_name": f"img{i}.jpg", "width": 100, "height": 80, **extra}


def ann(i: int, image_id: Any = 1, category_id: Any = 1, **extra) -> dict:
    return {"id": i, "image_id": image_id, "category_id": category_id, "bbox": [10, 10, 20, 20], "area": 400.0, **extra}


def coco(images=None, annotations=None, categories=None, **extra) -> dict:
    return {
        "images": images if images is not None else [image(1), image(2)],
        "annotations": annotations if annotations is not None else [ann(1), ann(2, image_id=2)],
        "categories": categories if categories is not None else [{"id": 1, "name": "cat"}],
        **extra,
    }


def task(i: int, **data) -> dict:
    data = {"image": f"/data/img{i}.jpg", **data}
    result = {"id": f"r{i}", "type": "rectanglelabels", "from_name": "label", "to_name": "image",
              "original_width": 100, "original_height": 80,
              "value": {"x": 10, "y": 10, "width": 20, "height": 20, "rectanglelabels": ["cat"]}}
    return {"id": i, "data": data, "annotations": [{"id": i, "result": [result]}]}


VOC = ('<?xml version="1.0" encoding="{enc}"?>\n<annotation><filename>{name}.jpg</filename>'
       "<size><width>100</width><height>80</height><depth>3</depth></size>"
       "<object><name>cat</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>20</xmax><ymax>20</ymax></bndbox></object>"
       "</annotation>")


def voc(name: str, enc: str = "utf-8") -> bytes:
    return VOC.format(enc=enc, name=name).encode("ascii")


def yolo(yaml_text: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A YOLO export: data.yaml and label files under labels/train (no images: sizes unknown)."""
    files: dict[str, Any] = {"y/data.yaml": yaml_text}
    for stem, text in (labels or {"a": "0 0.5 0.5 0.1 0.1\n", "b": "1 0.5 0.5 0.2 0.2\n"}).items():
        files[f"y/labels/train/{stem}.txt"] = text
    return files


@dataclass(frozen=True)
class Case:
    """Files to write (relative path -> bytes, text, or an object written as JSON), the CLI
    arguments (``{d}`` is the folder written to), the file the messages must name, and, for a
    load that succeeds, what ``imbal summary --json`` must keep and report."""

    files: dict[str, Any]
    argv: tuple[str, ...]
    named: str
    exit: int | None = None  # the exit code expected, when it is sure
    kept: dict[str, int] = field(default_factory=dict)  # summary --json keys: images, annotations, classes_declared
    codes: frozenset[str] = frozenset()  # report codes that must appear


def summary(path: str, *extra: str, **kw) -> tuple[str, ...]:
    return ("summary", "{d}/" + path, "--json", "--no-cache", *extra)


CASES: dict[str, Case] = {
    # ------------------------------------------------------------ JSON nested 100,000 levels deep
    "deep/coco top level": Case({"a.json": b'{"images": ' + deep_json() + b"}"}, summary("a.json"), "a.json", exit=2),
    "deep/coco inside an image record": Case(
        {"a.json": json.dumps(coco()).encode().replace(b'"height": 80}', b'"height": 80, "meta": ' + deep_json("{") + b"}", 1)},
        summary("a.json"), "a.json", exit=2),
    # the fast path (large files) never reads `info`: it may load the file, the per-record path refuses it
    "deep/coco in a part no reader uses": Case(
        {"a.json": json.dumps(coco()).encode()[:-1] + b', "info": ' + deep_json("{") + b"}"},
        summary("a.json"), "a.json"),
    "deep/labelstudio": Case({"t.json": deep_json()}, summary("t.json", "--format", "labelstudio"), "t.json", exit=2),
    "deep/coco predictions": Case(
        {"gt.json": coco(), "pred.json": deep_json()},
        ("eval", "{d}/gt.json", "--pred", "{d}/pred.json", "--json", "--no-cache"), "pred.json", exit=2),
    "deep/plan targets": Case(
        {"targets.json": b'{"cat": ' + deep_json() + b"}"},
        ("plan", "--counts", "cat=10,dog=100", "--targets", "{d}/targets.json", "--json"), "targets.json", exit=2),
    "deep/hierarchy mapping json": Case(
        {"gt.json": coco(), "map.json": deep_json("{")},
        ("hierarchy", "{d}/gt.json", "--mapping", "{d}/map.json", "--json", "--no-cache"), "map.json", exit=2),
    "deep/data.yaml": Case(yolo("names: " + "[" * DEEP + "]" * DEEP + "\n"), summary("y/data.yaml"), "data.yaml", exit=2),
    # ------------------------------------------------------------ integers beyond int64, huge sizes
    "int64/coco image id": Case(
        {"a.json": coco(images=[image(BIG), image(1)], annotations=[ann(1), ann(2, image_id=BIG)])},
        summary("a.json"), "a.json", exit=0, kept={"images": 1, "annotations": 1}, codes=frozenset({"bad_id"})),
    "int64/coco negative image id": Case(
        {"a.json": coco(images=[image(-BIG), image(1)], annotations=[ann(1)])},
        summary("a.json"), "a.json", exit=0, kept={"images": 1, "annotations": 1}, codes=frozenset({"bad_id"})),
    "int64/coco annotation id kept as text": Case(
        {"a.json": coco(annotations=[ann(BIG), ann(2, image_id=2)])},
        summary("a.json"), "a.json", exit=0, kept={"images": 2, "annotations": 2}),
    "int64/coco category id": Case(
        {"a.json": coco(categories=[{"id": BIG, "name": "dog"}, {"id": 1, "name": "cat"}])},
        summary("a.json"), "a.json", exit=0, kept={"annotations": 2, "classes_declared": 1}, codes=frozenset({"bad_category"})),
    "int64/coco annotation category_id": Case(
        {"a.json": coco(annotations=[ann(1), ann(2, category_id=BIG)])},
        summary("a.json"), "a.json", exit=0, kept={"annotations": 1}, codes=frozenset({"bad_id"})),
    "int64/coco annotation image_id": Case(
        {"a.json": coco(annotations=[ann(1), ann(2, image_id=BIG)])},
        summary("a.json"), "a.json", exit=0, kept={"images": 2, "annotations": 1}, codes=frozenset({"bad_id"})),
    "int64/coco 4,000-digit id": Case(
        {"a.json": coco(annotations=[ann(1), ann(2, image_id=10**4000)])},
        summary("a.json"), "a.json", kept={"images": 2, "annotations": 1}, codes=frozenset({"bad_id"})),
    "int64/coco huge image sizes": Case(
        {"a.json": coco(images=[image(1, width=1e12, height=1e20), image(2)])},
        summary("a.json"), "a.json", exit=0, kept={"images": 2, "annotations": 2}, codes=frozenset({"bad_image_size"})),
    "int64/coco huge box": Case(
        {"a.json": coco(annotations=[ann(1, bbox=[0, 0, 1e20, 1e12], area=1e30), ann(2, image_id=2)])},
        summary("a.json"), "a.json", exit=0, kept={"annotations": 2}),
    "int64/coco results ids": Case(
        {"gt.json": coco(), "pred.json": [
            {"image_id": BIG, "category_id": 1, "bbox": [10, 10, 20, 20], "score": 0.9},
            {"image_id": 1, "category_id": BIG, "bbox": [10, 10, 20, 20], "score": 0.9},
            {"image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "score": 0.9}]},
        ("eval", "{d}/gt.json", "--pred", "{d}/pred.json", "--json", "--no-cache"), "pred.json"),
    "int64/labelstudio ids and sizes": Case(
        {"t.json": [task(BIG), {**task(2), "annotations": [{"id": BIG, "result": [
            {**task(2)["annotations"][0]["result"][0], "original_width": 1e20}]}]}]},
        summary("t.json"), "t.json", exit=0, kept={"images": 2, "annotations": 2}),
    "int64/yolo names keys": Case(
        yolo(f"names:\n  0: cat\n  1: dog\n  {HUGE_INDEX}: eel\n  {BIG}: fox\n"),
        summary("y/data.yaml"), "data.yaml", exit=0, kept={"images": 2, "annotations": 2}),
    "int64/yolo label class index": Case(
        yolo("names: [cat, dog]\n", {"a": f"0 0.5 0.5 0.1 0.1\n{HUGE_INDEX} 0.5 0.5 0.1 0.1\n{BIG} 0.5 0.5 0.1 0.1\n"}),
        summary("y/data.yaml"), "a.txt", exit=0, kept={"images": 1, "annotations": 1}, codes=frozenset({"unknown_class"})),
    "int64/yolo classes.txt without yaml": Case(
        {"y/classes.txt": "cat\ndog\n", "y/labels/a.txt": f"0 0.5 0.5 0.1 0.1\n{BIG} 0.5 0.5 0.1 0.1\n"},
        summary("y", "--format", "yolo"), "a.txt", exit=0, kept={"annotations": 1}, codes=frozenset({"unknown_class"})),
    "int64/list names file indices": Case(
        {"train.txt": "a/1.jpg 0\nb/2.jpg 1\n", "names.txt": f"0 cat\n1 dog\n{HUGE_INDEX} eel\n{BIG} fox\n{'1' + '0' * 5000} gnu\n"},
        summary("train.txt", "--opt", "names_file={d}/names.txt"), "names.txt", exit=0,
        kept={"images": 2, "annotations": 2}),
    "int64/list labels": Case(
        {"train.txt": f"a/1.jpg 0\nb/2.jpg {BIG}\nc/3.jpg {HUGE_INDEX}\n"},
        summary("train.txt"), "train.txt", exit=0, kept={"images": 2, "annotations": 2}, codes=frozenset({"bad_line"})),
    "int64/csv sizes": Case(
        {"t.csv": "image,label,width,height\na.jpg,cat,1e12,1e20\nb.jpg,dog,100,80\n"},
        summary("t.csv"), "t.csv", exit=0, kept={"images": 2, "annotations": 2}, codes=frozenset({"bad_image_size"})),
    "int64/masks class index 10^11": Case(
        {"m/classes.txt": f"0 background\n1 road\n{HUGE_INDEX} lane\n", "m/masks/a.png": "png:1"},
        summary("m", "--format", "masks"), "classes.txt", exit=0, kept={"images": 1}),
    # ------------------------------------------------------------ objects and lists where text is expected
    "type/coco split object and list": Case(
        {"a.json": coco(images=[image(1, split={"a": 1}), image(2, split=["val"]), image(3, split="train")])},
        summary("a.json"), "a.json", exit=0, kept={"images": 3, "annotations": 2}, codes=frozenset({"bad_field"})),
    "type/coco every split an object": Case(
        {"a.json": coco(images=[image(1, split={"a": 1}), image(2, split={"b": [2]})])},
        summary("a.json"), "a.json", exit=0, kept={"images": 2, "annotations": 2}, codes=frozenset({"bad_field"})),
    "type/coco file_name object and list": Case(
        {"a.json": coco(images=[{**image(1), "file_name": {"x": 1}}, {**image(2), "file_name": ["b.jpg"]}])},
        summary("a.json"), "a.json", exit=0, kept={"images": 2, "annotations": 2}, codes=frozenset({"bad_field"})),
    "type/coco condition mixed": Case(
        {"a.json": coco(images=[image(1, weather={"a": [1]}), image(2, weather="sun"), image(3, weather="rain")])},
        summary("a.json"), "a.json", exit=0, kept={"images": 3}, codes=frozenset({"bad_field"})),
    "type/coco group and annotator objects": Case(
        {"a.json": coco(images=[image(1, sequence={"s": 1}, annotator=["x"]), image(2, sequence={"s": 2}, annotator=["y"])],
                        annotations=[ann(1, annotated_at={"t": 1}), ann(2, image_id=2, annotator=[1])])},
        summary("a.json"), "a.json", exit=0, kept={"images": 2, "annotations": 2}),
    "type/coco category name object": Case(
        {"a.json": coco(categories=[{"id": 1, "name": {"x": 1}, "supercategory": ["v"]}, {"id": 2, "name": ["y"]}])},
        summary("a.json"), "a.json", exit=0, kept={"annotations": 2}, codes=frozenset({"bad_category"})),
    "type/coco annotation id object": Case(
        {"a.json": coco(annotations=[ann(1), {**ann(2, image_id=2), "id": {"deep": [[1]]}}])},
        summary("a.json"), "a.json", exit=0, kept={"annotations": 2}),
    "type/taco scene fields": Case(
        {"a.json": coco(scene_annotations=[{"image_id": 1, "background_ids": [{"a": 1}, 2]}, {"image_id": {"x": 1},
                        "background_ids": [1]}, {"image_id": 2, "background_ids": [1]}],
                        scene_categories=[{"id": {"a": 1}, "name": ["x"]}, {"id": 1, "name": {"n": 1}}, {"id": 2, "name": "sea"}])},
        summary("a.json"), "a.json", exit=0, kept={"images": 2, "annotations": 2}, codes=frozenset({"bad_record"})),
    "type/coco results wrong types": Case(
        {"gt.json": coco(), "pred.json": [
            {"image_id": {"a": 1}, "category_id": 1, "bbox": [10, 10, 20, 20], "score": 0.9},
            {"image_id": 1, "category_id": [1], "bbox": [10, 10, 20, 20], "score": {"s": 1}},
            {"image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "score": 0.9}]},
        ("eval", "{d}/gt.json", "--pred", "{d}/pred.json", "--json", "--no-cache"), "pred.json"),
    "type/labelstudio fields": Case(
        {"t.json": [task(1, split={"a": 1}, weather=["x"], site={"s": 1}), task(2, split=["train"], image={"url": "x"}),
                    {**task(3), "annotations": [{"id": 3, "completed_by": {"id": {"id": {"id": [1]}}},
                                                 "created_at": {"t": 1}, "result": [
                        {**task(3)["annotations"][0]["result"][0], "from_name": {"f": 1},
                         "value": {"x": 1, "y": 1, "width": 2, "height": 2, "rectanglelabels": [{"n": 1}, "cat"]}}]}]}]},
        summary("t.json"), "t.json", exit=0, kept={"images": 3, "annotations": 3}),
    "type/yolo names entries": Case(
        yolo("names:\n  0: cat\n  1: {deep: [1, 2]}\n  2: [a, b]\npath: [x]\n"),
        summary("y/data.yaml"), "data.yaml", exit=0, kept={"images": 2, "annotations": 2, "classes_declared": 3},
        codes=frozenset({"bad_category", "stale_path"})),
    "type/yolo split entry object": Case(
        yolo("names: [cat, dog]\ntrain: {a: 1}\n"), summary("y/data.yaml"), "data.yaml", exit=2),
    "type/hierarchy mapping nested child": Case(
        {"gt.json": coco(), "map.yaml": "animal: [cat, {x: [1, 2]}]\n"},
        ("hierarchy", "{d}/gt.json", "--mapping", "{d}/map.yaml", "--json", "--no-cache"), "map.yaml", exit=2),
    "type/plan target object": Case(
        {"targets.json": b'{"cat": {"n": [1, 2]}}'},
        ("plan", "--counts", "cat=10,dog=100", "--targets", "{d}/targets.json", "--json"), "targets.json", exit=2),
    "type/sidecar parquet nested and uint64 columns": Case(
        {"a.json": coco(), "side.parquet": "parquet:sidecar"},
        summary("a.json", "--conditions", "{d}/side.parquet"), "side.parquet", exit=0, kept={"images": 2},
        codes=frozenset({"condition_ignored"})),
    "type/parquet table with an object label column": Case(
        {"t.parquet": "parquet:labels"}, summary("t.parquet"), "t.parquet", exit=2),
    # ------------------------------------------------------------ XML declaring an encoding the parser does not know
    "xml/voc unknown encoding": Case(
        {"v/Annotations/a.xml": voc("a", "x-no-such-encoding"), "v/Annotations/b.xml": voc("b")},
        summary("v"), "a.xml", exit=0, kept={"images": 2, "annotations": 2}, codes=frozenset({"unknown_encoding"})),
    "xml/voc codec that is not a text encoding": Case(
        {"v/Annotations/a.xml": voc("a", "rot13"), "v/Annotations/b.xml": voc("b", "base64")},
        summary("v"), "a.xml", exit=0, kept={"images": 2, "annotations": 2}, codes=frozenset({"unknown_encoding"})),
    "xml/voc multi-byte encoding": Case(
        {"v/Annotations/a.xml": VOC.format(enc="shift_jis", name="猫").encode("shift_jis"), "v/Annotations/b.xml": voc("b")},
        summary("v"), "a.xml", exit=0, kept={"images": 2, "annotations": 2}),
    "xml/voc utf-16 declared, ascii bytes": Case(
        {"v/Annotations/a.xml": voc("a", "utf-16"), "v/Annotations/b.xml": voc("b")},
        summary("v"), "a.xml", exit=0, kept={"images": 1}, codes=frozenset({"bad_xml"})),
    "xml/labelstudio config unknown encoding": Case(
        {"t.json": [task(1)], "config.xml": b'<?xml version="1.0" encoding="x-no-such"?><View><Image name="image" '
                                            b'value="$image"/><RectangleLabels name="label" toName="image"><Label value="cat"/>'
                                            b'<Label value="dog"/></RectangleLabels></View>'},
        summary("t.json", "--opt", "label_config={d}/config.xml"), "t.json", exit=0,
        kept={"images": 1, "annotations": 1, "classes_declared": 2}),
    "xml/voc entity expansion": Case(
        {"v/Annotations/a.xml": b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
                                + b"".join(b'<!ENTITY %c "%s">' % (c, (b"&%c;" % p) * 10) for p, c in zip(b"abcdefgh", b"bcdefghi"))
                                + b"]><annotation><filename>&i;</filename></annotation>",
         "v/Annotations/b.xml": voc("b")},
        summary("v"), "a.xml", exit=0, kept={"images": 1}, codes=frozenset({"bad_xml"})),
    # ------------------------------------------------------------ YAML alias bombs
    "yaml/data.yaml alias bomb": Case(yolo(BOMB + "names: *i\n"), summary("y/data.yaml"), "data.yaml", exit=2),
    "yaml/data.yaml self-referencing alias": Case(yolo("names: &n [cat, *n]\n"), summary("y/data.yaml"), "data.yaml", exit=2),
    "yaml/folder with bomb data.yaml": Case(yolo(BOMB + "names: *i\n"), summary("y", "--format", "yolo"), "data.yaml", exit=2),
    "yaml/hierarchy mapping alias bomb": Case(
        {"gt.json": coco(), "map.yaml": BOMB + "cat: *i\n"},
        ("hierarchy", "{d}/gt.json", "--mapping", "{d}/map.yaml", "--json", "--no-cache"), "map.yaml", exit=2),
    "yaml/data.yaml 5,000-digit number": Case(yolo(f"names: [cat, dog]\nnc: 1{'0' * 5000}\n"), summary("y/data.yaml"),
                                               "data.yaml", exit=2),
    # ------------------------------------------------------------ values too long to quote whole
    "long/coco image id": Case(
        {"a.json": coco(images=[image(1), {**image(2), "id": "y" * LONG}])},
        summary("a.json"), "a.json", exit=0, kept={"images": 1, "annotations": 1}, codes=frozenset({"bad_id"})),
    "long/coco bbox": Case(
        {"a.json": coco(annotations=[ann(1), ann(2, image_id=2, bbox=["x" * LONG])])},
        summary("a.json"), "a.json", exit=0, kept={"annotations": 1}, codes=frozenset({"bad_box"})),
    "long/coco category": Case(
        {"a.json": coco(categories=[{"id": 1, "name": "cat"}, {"id": "z" * LONG, "name": "dog"}])},
        summary("a.json"), "a.json", exit=0, kept={"annotations": 2}, codes=frozenset({"bad_category"})),
    "long/coco annotation id": Case(
        {"a.json": coco(annotations=[ann(1), ann("w" * LONG, image_id=99)])},
        summary("a.json"), "a.json", exit=0, kept={"annotations": 1}, codes=frozenset({"dangling_image"})),
    "long/labelstudio label and type": Case(
        {"t.json": [task(1), {**task(2), "annotations": [{"id": 2, "result": [
            {"id": "q" * LONG, "type": "t" * LONG, "value": {"v": 1}}]}]}]},
        summary("t.json"), "t.json", exit=0, kept={"images": 2, "annotations": 1}),
    "long/yolo line": Case(
        yolo("names: [cat, dog]\n", {"a": "0 0.5 0.5 0.1 0.1\n" + "9" * LONG + " 0.5 0.5 0.1 0.1\n"}),
        summary("y/data.yaml"), "a.txt", exit=0, kept={"annotations": 1}),
    "long/voc object name and size": Case(
        {"v/Annotations/a.xml": voc("a").replace(b"<width>100</width>", b"<width>" + b"1" * LONG + b"</width>")
         .replace(b"<xmin>1</xmin>", b"<xmin>" + b"n" * LONG + b"</xmin>"),
         "v/Annotations/b.xml": voc("b")},
        summary("v"), "a.xml", exit=0, kept={"images": 2, "annotations": 1}, codes=frozenset({"bad_box"})),
    "long/plan target name": Case(
        {"targets.json": json.dumps({"c" * LONG: -1}).encode()},
        ("plan", "--counts", "cat=10,dog=100", "--targets", "{d}/targets.json", "--json"), "targets.json", exit=2),
    "long/plan targets csv columns": Case(
        {"targets.csv": ",".join("k" * 1000 for _ in range(1000)) + "\n"},
        ("plan", "--counts", "cat=10,dog=100", "--targets", "{d}/targets.csv", "--json"), "targets.csv", exit=2),
    "long/hierarchy unknown child": Case(
        {"gt.json": coco(), "map.csv": "m" * LONG + ",animal\n"},
        ("hierarchy", "{d}/gt.json", "--mapping", "{d}/map.csv", "--json", "--no-cache"), "map.csv", exit=2),
    "long/sidecar key": Case(
        {"a.json": coco(), "side.csv": "file_name,weather\n" + "k" * LONG + ",sun\nimg1.jpg,rain\n"},
        summary("a.json", "--conditions", "{d}/side.csv"), "side.csv", exit=0, kept={"images": 2}),
}


def _png(spec: str) -> bytes:
    """``png:V``: a 4x4 grey mask filled with class index V."""
    import io

    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.full((4, 4), int(spec.split(":")[1]), np.uint8), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def _parquet(spec: str) -> bytes:
    """``parquet:sidecar``: file names with a struct, a list and a uint64 column past int64;
    ``parquet:labels``: a classification table whose label column holds objects."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    if spec == "parquet:sidecar":
        table = pa.table({"file_name": ["img1.jpg", "img2.jpg"], "meta": [{"a": 1}, {"a": 2}], "tags": [["x"], ["y"]],
                          "counter": pa.array([2**64 - 1, 3], pa.uint64()), "weather": ["sun", "rain"]})
    else:
        table = pa.table({"image": ["a.jpg", "b.jpg"], "label": [{"name": "cat"}, {"name": "dog"}]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def write(root: Path, files: dict[str, Any]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str) and content.startswith("png:"):
            content = _png(content)
        if isinstance(content, str) and content.startswith("parquet:"):
            content = _parquet(content)
        if isinstance(content, (dict, list)):
            content = json.dumps(content).encode()
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


def check(case: Case, root: Path, capsys) -> None:
    write(root, case.files)
    argv = [a.replace("{d}", str(root)) for a in case.argv]
    rc, out, err = run(argv, capsys)
    text = out + err
    assert rc in (0, 1, 2), (rc, text[-2000:])
    assert "Traceback" not in text and "internal error" not in text, text[-2000:]
    if case.exit is not None:
        assert rc == case.exit, (rc, text[-2000:])
    assert len(err) <= MAX_ERROR_OUTPUT, err[:300] + " ... " + err[-300:]
    if rc == 2:
        assert case.named in err, err
        return
    doc = json.loads(out)
    rows = doc.get("report", [])
    for row in rows:
        assert len(row["problem"]) <= MAX_PROBLEM_LENGTH and len(row["record"]) <= MAX_RECORD_LENGTH, row
    if case.codes:
        assert case.codes <= {r["code"] for r in rows}, rows
        assert any(case.named in r["file"] for r in rows if r["code"] in case.codes), rows
    for key, value in case.kept.items():
        assert doc[key] == value, (key, doc[key], rows)
    if "predictions" in doc:  # eval: the prediction problems name the prediction file
        preds = doc["predictions"]
        assert any(case.named in r["file"] for r in preds.get("report", [])), preds


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_structured_input(name, tmp_path, capsys):
    check(CASES[name], tmp_path, capsys)


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if "/coco" in n and c.argv[0] == "summary"])
def test_coco_fast_path_meets_the_same_cases(name, tmp_path, capsys, monkeypatch):
    """The fast path (large files) tries first and falls back, or handles the case itself: same outcome."""
    monkeypatch.setattr(coco_reader, "FAST_PATH_MIN_BYTES", 0)
    check(CASES[name], tmp_path, capsys)


SUBPROCESS_CASES = ["deep/coco top level", "yaml/data.yaml alias bomb", "xml/voc unknown encoding",
                    "int64/coco image id", "type/coco every split an object"]


@pytest.mark.parametrize("name", SUBPROCESS_CASES)
def test_as_a_real_process_nothing_is_printed_at_exit(name, tmp_path):
    case = CASES[name]
    write(tmp_path, case.files)
    exe = Path(sys.executable).with_name("imbal")
    argv = [a.replace("{d}", str(tmp_path)) for a in case.argv]
    env = {**os.environ, "IMBAL_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([str(exe), *argv], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == case.exit, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "terminate called" not in done.stderr, done.stderr[-2000:]
    assert len(done.stderr) <= MAX_ERROR_OUTPUT
    if done.returncode == 2:
        assert case.named in done.stderr


# --------------------------------------------------------------------------- the shared pieces, called directly


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "value, expected",
    [
        ("cat", "'cat'"),
        (7, "7"),
        ("x" * LONG, "(800,000 characters)"),
        (10**4000, "<a number of about 4,001 digits>"),
        (-(2**70), "-1180591620717411303424"),
        ({"a": ["y" * LONG]}, "{'a': ["),
        (nested(100_000), "[[[...]]]"),
        (list(range(10_000)), "0, 1, 2"),
    ],
)
def test_excerpt_is_short_and_says_what_it_cut(value, expected):
    text = excerpt(value)
    assert expected in text
    assert len(text) <= EXCERPT_LENGTH + 30


def test_shorten_keeps_both_ends():
    assert shorten("abc", 10) == "abc"
    cut = shorten("a" * 50 + "b" * 50, 20)
    assert len(cut) == 20 and cut.startswith("a") and cut.endswith("b") and "…" in cut


def test_report_rows_and_load_errors_are_bounded_whatever_the_caller_quotes():
    report = LoadReport()
    report.add("f.json", "r" * LONG, "code", "p" * LONG, "skipped")
    report.add("f.json", 10**4000, "code", "short", "kept")
    report.add_many("f.json", ["q" * LONG], "code", "p" * LONG, "skipped")
    assert all(len(r.problem) <= MAX_PROBLEM_LENGTH and len(r.record) <= MAX_RECORD_LENGTH for r in report)
    assert len(str(LoadError("f.json: " + "m" * LONG))) <= 1200


def test_parse_json_turns_the_parsers_recursion_into_a_load_error():
    with pytest.raises(LoadError, match=r"a\.json: not valid JSON — nested too deeply") as info:
        parse_json(deep_json(), "a.json", LoadReport())
    assert info.value.file == "a.json"


@pytest.mark.parametrize(
    "text, match",
    [
        (BOMB + "names: *i\n", r"m\.yaml: not usable YAML — its aliases expand it to more than 1,000,000 values"),
        ("a: &a [x, *a]\n", r"m\.yaml: not usable YAML — an alias refers to a value that holds it"),
        ("a: " + "[" * 5000 + "]" * 5000 + "\n", r"m\.yaml: not valid YAML — nested too deeply"),
        ("a: [\n", r"m\.yaml: not valid YAML — .* at line 2"),
    ],
)
def test_parse_yaml_refuses_what_would_blow_up(text, match):
    with pytest.raises(LoadError, match=match):
        parse_yaml(text, "m.yaml")


def test_parse_yaml_still_expands_ordinary_aliases():
    doc = parse_yaml("base: &b {lr: 0.1, size: [640, 640]}\ntrain: *b\nval: *b\n", "d.yaml")
    assert doc["train"] == doc["val"] == {"lr": 0.1, "size": [640, 640]}


@pytest.mark.parametrize("encoding", ["x-no-such", "rot13", "base64", "undefined"])
def test_parse_xml_reads_an_unusable_declared_encoding_as_utf8_and_says_so(encoding):
    report = LoadReport()
    root = parse_xml(f'<?xml version="1.0" encoding="{encoding}"?><a>café</a>'.encode(), "a.xml", report)
    assert root.text == "café"
    assert [(r.file, r.code) for r in report] == [("a.xml", "unknown_encoding")]


def test_parse_xml_names_the_file_when_it_cannot_parse():
    with pytest.raises(BadXML, match=r"a\.xml: not well-formed XML") as info:
        parse_xml(b"<a><b></a>", "a.xml", LoadReport())
    assert info.value.reason.startswith("not well-formed XML")


@pytest.mark.parametrize(
    "data, match",
    [
        (b'{"cat": ' + deep_json() + b"}", r"t\.json: not valid JSON — nested too deeply"),
        (b'{"cat": {"n": [1, 2]}}', r"t\.json: the target of 'cat' must be a number"),
        (json.dumps({"c" * LONG: -1}).encode(), r"t\.json: `targets\['ccc.*must be at least 0"),
    ],
)
def test_read_targets_errors_name_the_file_and_stay_short(data, match):
    with pytest.raises(ValueError, match=match) as info:
        read_targets(data, "t.json")
    assert len(str(info.value)) < 500


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory):
    from imbal_core import load

    root = tmp_path_factory.mktemp("gt")
    write(root, {"gt.json": coco(categories=[{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}])})
    return load(root / "gt.json", cache=False)


@pytest.mark.parametrize(
    "name, text, match",
    [
        ("m.yaml", BOMB + "cat: *i\n", r"m\.yaml: not usable YAML — its aliases expand"),
        ("m.json", deep_json("{").decode(), r"m\.json: not valid YAML — nested too deeply"),
        ("m.yaml", "animal: [cat, {x: [1, 2]}]\n", r"m\.yaml: the children of 'animal' must be names"),
        ("m.yaml", "cat: {x: 1}\n", r"m\.yaml: the parent of 'cat' must be a name"),
        ("m.csv", "m" * 200_000 + ",animal\n", r"m\.csv:1: not a readable CSV row \(field larger than field limit"),
        ("m.csv", "m" * 100_000 + ",animal\n", r"m\.csv: The mapping names classes the dataset does not have: \['mmm"),
    ],
)
def test_read_mapping_errors_name_the_file_and_stay_short(small_dataset, name, text, match):
    with pytest.raises(ValueError, match=match) as info:
        read_mapping(text.encode(), small_dataset, name)
    assert len(str(info.value)) < 600


def test_a_split_export_of_a_file_the_fast_path_read_survives_its_deep_unread_parts(tmp_path, monkeypatch):
    """The fast path loads a large COCO file without reading ``info``; exporting its splits re-reads
    the whole file, which must not crash on what the fast path never looked at (the export is
    rebuilt from the tables instead)."""
    from imbal_core import load
    from imbal_core.splits import export_splits

    monkeypatch.setattr(coco_reader, "FAST_PATH_MIN_BYTES", 0)
    doc = coco(images=[image(1, split="train"), image(2, split="val")])
    write(tmp_path, {"a.json": json.dumps(doc).encode()[:-1] + b', "info": ' + deep_json("{") + b"}"})
    dataset = load(tmp_path / "a.json", cache=False)
    export = export_splits(dataset, "coco")
    assert sorted(export.files) == ["instances_train.json", "instances_val.json"]
    assert "rebuilt from the loaded tables" in export.note
