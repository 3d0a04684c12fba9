"""compare_weights: the fitted-vs-LVIS table of the Rebalancing plan page, computed by the library."""
from __future__ import annotations

import numpy as np
import pytest

from imbal_core.plan import fit_weights, incidence_from_pairs, make_spec, repeat_factor_weights, solve
from imbal_core.plan.compare import compare_weights


def incidence_of(rows, classes=("a", "b", "c")):
    """An incidence in images from per-image class lists."""
    pairs = sorted({(i, classes.index(n)) for i, names in enumerate(rows) for n in names})
    image = np.array([p[0] for p in pairs], dtype=np.int64)
    category = np.array([p[1] for p in pairs], dtype=np.int64)
    return incidence_from_pairs(image, category, None, np.arange(len(rows)), classes, "images")


def weights_for(rows, classes=("a", "b", "c")):
    inc = incidence_of(rows, classes)
    plan = solve(dict(zip(inc.classes, inc.counts.tolist())), make_spec("balanced", cap=3.0, unit="images"),
                 image_counts=inc.image_counts, total_images=inc.num_images)
    return fit_weights(inc, plan), repeat_factor_weights(inc, plan, threshold=0.5)


def test_one_class_per_image_rows_match_both_weights_largest_first():
    # a: 6 images, b: 3, c: 1 — one class per image, so the fitted weights meet the plan exactly
    fitted, lvis = weights_for([["a"]] * 6 + [["b"]] * 3 + [["c"]])
    table = compare_weights(fitted, lvis).to_pylist()
    assert [r["class"] for r in table] == ["a", "b", "c"]
    by_class = {r["class"]: r for r in table}
    for i, name in enumerate(fitted.classes):
        row = by_class[name]
        assert row["count"] == fitted.counts[i] and row["target"] == fitted.targets[i]
        assert row["achieved"] == pytest.approx(round(fitted.achieved[i], 1))
        assert row["alternative_achieved"] == pytest.approx(round(lvis.achieved[i], 1))
        assert row["alternative_error"] == pytest.approx(lvis.achieved[i] / lvis.targets[i] - 1)
    assert all(abs(r["relative_error"]) < 1e-9 for r in table)
    assert any(abs(r["alternative_error"]) > 0.05 for r in table)  # LVIS has no cap: it misses somewhere


def test_ties_keep_the_plan_order_and_an_empty_class_has_no_error():
    fitted, lvis = weights_for([["b"], ["c"], ["b", "c"]], classes=("a", "b", "c"))  # b and c tie, a is empty
    table = compare_weights(fitted, lvis)
    assert table.column("class").to_pylist() == ["b", "c", "a"]
    last = table.to_pylist()[-1]
    assert last["count"] == 0 and last["target"] == 0 and last["relative_error"] is None


def test_weights_of_another_plan_are_refused():
    fitted, _ = weights_for([["a"], ["b"], ["c"]])
    _, other = weights_for([["a"], ["b"]], classes=("a", "b"))
    with pytest.raises(ValueError, match="`alternative` must carry the same plan as `fitted`"):
        compare_weights(fitted, other)
