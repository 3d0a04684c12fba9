"""Split fixtures: the street sample loaded once per module, and a dataset's splits read back."""
from __future__ import annotations

from pathlib import Path

import pytest

import imbal_core

ROOT = Path(__file__).resolve().parents[2]
STREET = ROOT / "sample_data" / "street" / "annotations.json"
SURFACE = ROOT / "sample_data" / "surface" / "labels.csv"


@pytest.fixture(scope="module")
def street():
    return imbal_core.load(STREET, cache=False)


def split_of(ds) -> list[str]:
    """The split of each image, in row order."""
    return ds.images.column("split").combine_chunks().dictionary_decode().to_pylist()


def membership(ds, key="source_id") -> dict:
    """Image (by ``key``) -> split."""
    return dict(zip(ds.images.column(key).to_pylist(), split_of(ds)))
