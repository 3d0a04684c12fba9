"""The formats imbal reads: each one's name, reader and one-line description.

Shared by :func:`imbal_core.io.load`, format sniffing (:mod:`.sniff`) and the app's format list;
a module of its own so that neither imports the other.
"""
from __future__ import annotations

import importlib
from typing import Callable, Literal

from ..dataset import Dataset

Format = Literal["auto", "coco", "yolo", "voc", "csv", "list", "folder", "labelstudio", "exdark", "masks",
                 "cvat", "labelme", "openimages", "kitti", "mot", "scalabel"]

#: format -> (module, function); imported on first use.
READERS: dict[str, tuple[str, str]] = {
    "coco": ("imbal_core.io.coco", "read_coco"),
    "yolo": ("imbal_core.io.yolo", "read_yolo"),
    "voc": ("imbal_core.io.voc", "read_voc"),
    "csv": ("imbal_core.io.classification", "read_table"),
    "list": ("imbal_core.io.classification", "read_lists"),
    "folder": ("imbal_core.io.classification", "read_folder"),
    "labelstudio": ("imbal_core.io.labelstudio", "read_labelstudio"),
    "exdark": ("imbal_core.io.exdark", "read_exdark"),
    "masks": ("imbal_core.io.masks", "read_masks"),
    "cvat": ("imbal_core.io.cvat", "read_cvat"),
    "labelme": ("imbal_core.io.labelme", "read_labelme"),
    "openimages": ("imbal_core.io.openimages", "read_openimages"),
    "kitti": ("imbal_core.io.kitti", "read_kitti"),
    "mot": ("imbal_core.io.mot", "read_mot"),
    "scalabel": ("imbal_core.io.scalabel", "read_scalabel"),
}

#: What each format reads, for help texts and for the error when nothing matches.
DESCRIPTIONS: dict[str, str] = {
    "coco": "COCO instances JSON (also LVIS, TACO): one file or several",
    "yolo": "YOLO / Ultralytics: data.yaml, or a folder with images/ and labels/; Darknet YOLO 1.1: obj.data with train.txt / valid.txt",
    "voc": "Pascal VOC: a folder with Annotations/*.xml (and ImageSets/Main splits)",
    "csv": "classification table: CSV or Parquet with image and label columns",
    "list": "classification lists: 'path label' text files, one per split (Places-LT style)",
    "folder": "image folder tree: root/[split/]class/image",
    "labelstudio": "Label Studio JSON export",
    "exdark": "ExDark imageclasslist.txt (classes, lighting, indoor/outdoor, splits)",
    "masks": "semantic-mask PNGs (one class index per pixel) with a class-names file",
    "cvat": "CVAT XML 1.1 for images or video (task, job or project export), or a folder of them",
    "labelme": "Labelme JSON files (one per image), or a folder of them, with an optional labels.txt",
    "openimages": "Open Images V5-V7 CSVs: boxes or human-verified image labels, class names, hierarchy",
    "kitti": "KITTI object (label_2/) or tracking (label_02/) label files",
    "mot": "MOTChallenge sequences: gt/gt.txt with labels.txt and seqinfo.ini",
    "scalabel": "Scalabel / BDD100K JSON frames (box2d, poly2d, weather / scene / time of day)",
}


def reader(format: str) -> Callable[..., Dataset]:
    if format not in READERS:
        raise ValueError(f"`format` must be one of {['auto', *READERS]}. Got {format!r} instead.")
    module, name = READERS[format]
    return getattr(importlib.import_module(module), name)


def supported_formats() -> str:
    return "\n".join(f"  {k:12} {v}" for k, v in DESCRIPTIONS.items())
