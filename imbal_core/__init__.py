"""imbal: per-class dataset health for computer vision.

>>> import imbal_core
>>> ds = imbal_core.load("instances_val2017.json")
>>> imbal_core.cube(ds, ("split", "time_of_day"))
"""
from .cube import class_totals, cube
from .dataset import Dataset, SchemaError, build_dataset, validate
from .io import load
from .report import LoadError, LoadReport

__all__ = [
    "Dataset", "LoadError", "LoadReport", "SchemaError", "build_dataset", "class_totals", "cube", "load", "validate",
]
__version__ = "0.1.0"
