"""The lake: datasets beyond one machine's memory, as a folder of Parquet tables (format in
``manifest.py``'s docstring), and the engine that answers the count cube from it in SQL.

``add`` / ``register_table`` / ``info`` / ``open_lake`` (the store) write and read the folder;
the engine reads it out-of-core. Names are imported from their module on first use, so
``import imbal_core.lake`` stays light (no pyarrow, no DuckDB).
"""
from .._lazy import lazy_names

#: Public name -> the module of this package that defines it.
_LAZY = {
    # the store: the folder, its manifest, copied exports and registered tables
    "LakeError": "manifest",
    "Lake": "manifest",
    "LakeSource": "manifest",
    "open_lake": "manifest",
    "is_lake": "manifest",
    "AddResult": "store",
    "LakeInfo": "store",
    "add": "store",
    "add_dataset": "store",
    "register_table": "store",
    "info": "store",
    "parse_mapping": "table",
    # the engine (engine.py) adds its names below
    "cube": "engine",
    "incidence": "engine",
    "query": "engine",
    "stream": "engine",
    "image_keys": "engine",
    "EngineUnavailable": "engine",
    "ENGINES": "engine",
    # a lake as the count-level analyses see it
    "LakeDataset": "dataset",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
