"""The (image, class) pairs behind the cube are found three ways, by what is cheapest for the
input (annotations in image order: a stable sort; otherwise a dense count, or a sort when the grid
is too large); all three give the same pairs, counts and pixel sums, to the last bit."""
from __future__ import annotations



import numpy as np
import pyarrow as pa

import imbal_core
from imbal_core.dataset import build_dataset

from imbal_core import image_classes


def _keys(seed: int, grouped: bool):
    rng = np.random.default_rng(seed)
    n_images, n_classes, n = 300, 7, 5000
    image = rng.integers(0, n_images, n)
    if grouped:
        image = np.sort(image)
    return image * n_classes + rng.integers(0, n_classes, n), n_images * n_classes


def test_the_three_ways_agree():
    key, cells = _keys(0, grouped=True)
    ways = {
        "stable sort": image_classes._distinct(key, cells, grouped=True, with_inverse=True),
        "dense count": image_classes._distinct(key, cells, grouped=False, with_inverse=True),
        "unique": image_classes._distinct(key, 10**12, grouped=False, with_inverse=True),
    }
    uniq, counts, inverse = ways["unique"]
    assert np.array_equal(uniq, np.unique(key)) and counts.sum() == len(key)
    assert np.array_equal(uniq[inverse], key)
    for name, (u, c, i) in ways.items():
        assert np.array_equal(u, uniq) and np.array_equal(c, counts) and np.array_equal(i, inverse), name
    assert image_classes._distinct(key, cells, grouped=True, with_inverse=False)[2] is None


def _dataset(order: np.ndarray, image: np.ndarray, category: np.ndarray, pixels: np.ndarray):
    n_images = int(image.max()) + 1
    return build_dataset(
        images={"source_id": [str(i) for i in range(n_images)], "split": ["train", "val"] * (n_images // 2) + ["test"] * (n_images % 2)},
        annotations={"image": image[order], "category": category[order], "pixels": pa.array(pixels[order])},
        categories={"name": [f"c{i}" for i in range(int(category.max()) + 1)]},
        task="segmentation",
        format="coco",
        sources=["generated"],
    )


def test_image_order_and_any_order_give_the_same_cube():
    rng = np.random.default_rng(1)
    n = 4000
    image = np.sort(rng.integers(0, 250, n))
    category = rng.integers(0, 9, n)
    pixels = np.round(rng.uniform(1, 5000, n), 1)
    pixels[rng.random(n) < 0.2] = np.nan  # some instances without a pixel count
    in_order = _dataset(np.arange(n), image, category, pixels)
    shuffled = _dataset(rng.permutation(n), image, category, pixels)
    a, b = in_order.image_classes, shuffled.image_classes
    for column in ("image_id", "category_id", "instances"):
        assert a.column(column).equals(b.column(column)), column
    # pixel sums: equal up to the order of addition (the two datasets list the rows differently)
    assert np.allclose(a.column("pixels").to_numpy(zero_copy_only=False), b.column("pixels").to_numpy(zero_copy_only=False),
                       rtol=1e-12, equal_nan=True)
    assert imbal_core.cube(in_order, ("split",)).drop_columns("pixels").equals(
        imbal_core.cube(shuffled, ("split",)).drop_columns("pixels"))
