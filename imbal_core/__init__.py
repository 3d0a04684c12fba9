"""imbal: per-class dataset health for computer vision.

>>> import imbal_core
>>> ds = imbal_core.load("instances_train2017.json")       # any supported export
>>> imbal_core.cube(ds, ("split", "time_of_day"))           # images / instances / pixels per cell and class
>>> imbal_core.long_tail(ds).metrics                        # imbalance ratio, Gini, evenness ...
>>> imbal_core.check(ds)                                    # the data-health checklist (`imbal check`)
>>> imbal_core.hidden_subgroups(ds, "time_of_day")          # class x condition gaps, ranked
>>> imbal_core.make_splits(ds, (0.8, 0.1, 0.1), seed=0)     # stratified, group-aware splits
>>> imbal_core.solve({"Car": 6000, "Wheelchair": 300}, budget=5000, cap=5)   # a rebalancing plan

The analyses live in their own modules (``imbal_core.longtail``, ``.health``, ``.hierarchy``,
``.strata``, ``.splits``, ``.plan``, ``.evaluate``, ``.quotas``, ``.active``);
the names below are imported from them on first use, so ``import imbal_core`` (and with it
every ``imbal`` command, ``imbal --help`` included) stays light: no NumPy, pyarrow or pandas until
a name is used.
"""
from importlib import import_module

# `cube` and `evaluate` are bound now: each is also the name of a submodule, and importing that
# submodule later would otherwise make ``imbal_core.cube`` the module instead of the function.
# Both modules are light: cube.py imports NumPy and pyarrow on first call, the evaluate package
# its task modules.
from .cube import class_totals, cube
from .evaluate import evaluate

_LAZY = {
    "Dataset": "dataset",
    "SchemaError": "dataset",
    "build_dataset": "dataset",
    "validate": "dataset",
    "load": "io",
    "LoadError": "report",
    "LoadReport": "report",
    "summarize": "summary",
    "long_tail": "longtail",
    "check": "health",
    "HealthConfig": "health",
    "suggest_merges": "hierarchy",
    "apply_merges": "hierarchy",
    "hidden_subgroups": "strata",
    "strata_table": "strata",
    "check_splits": "splits",
    "make_splits": "splits",
    "solve": "plan",
    "fit_weights": "plan",
    "plan_for_dataset": "plan",
    "read_predictions": "io.predictions",
}

__all__ = ["class_totals", "cube", "evaluate", *_LAZY]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'imbal_core' has no attribute {name!r}")
