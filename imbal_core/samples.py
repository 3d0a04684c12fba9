"""The bundled sample exports the dashboard opens by default (see sample_data/README.md)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def sample_root() -> Path:
    return Path(os.environ.get("IMBAL_SAMPLE_DIR") or Path(__file__).resolve().parent.parent / "sample_data")


@dataclass(frozen=True)
class Sample:
    name: str
    title: str
    description: str
    paths: tuple[str, ...]  # relative to the sample root
    format: str
    predictions: str | None = None

    def files(self) -> list[Path]:
        return [sample_root() / p for p in self.paths]

    def predictions_file(self) -> Path | None:
        return sample_root() / self.predictions if self.predictions else None


SAMPLES: dict[str, Sample] = {
    s.name: s
    for s in (
        Sample("street", "Street scenes (detection)",
               "~3,000 dashcam frames in drives; day/night, weather, camera; Wheelchair rare and almost absent at night.",
               ("street/annotations.json",), "coco", "street/predictions.json"),
        Sample("surface", "Surface inspection (classification)",
               "Background vs Crack about 33:1 plus rarer defects; lighting condition.",
               ("surface/labels.csv",), "csv", "surface/predictions.csv"),
        Sample("lanes", "Lane markings (segmentation)",
               "Road pixels dominate; lane markings are thin.",
               ("lanes/annotations.json",), "coco", "lanes/predictions.json"),
        Sample("street_daily", "Street, day by day (annotation project)",
               "Ten daily exports of an annotation push on rare classes; this is the last day.",
               ("street_daily/day10.json",), "coco"),
    )
}
DEFAULT_SAMPLE = "street"
