"""The app's caches: keyed by the dataset's content (``hash_funcs={Dataset: dataset_key}``), never by a key
built by hand; a widget moves only re-aggregate, another dataset gets its own entries, nothing re-parses."""
from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import pytest
import streamlit as st

import imbal_core
import imbal_core.plan
from imbal_core.dataset import Dataset, build_dataset
from imbal_core.fingerprint import dataset_key

from .conftest import ROOT, open_on

APP_FILES = sorted([*(ROOT / "views").glob("*.py"), *(ROOT / "imbal_app").glob("*.py"), ROOT / "app.py"])


def tiny(names=("Car", "Wheelchair")) -> Dataset:
    return build_dataset(images={"source_id": ["a", "b"], "split": ["train", "val"]},
                         annotations={"image": [0, 1], "category": [0, 1]}, categories={"name": list(names)},
                         task="classification", format="t", sources=[])


def test_a_cached_function_computes_once_per_content():
    calls = []

    @st.cache_resource(hash_funcs={Dataset: dataset_key})
    def class_names(dataset: Dataset) -> list[str]:
        calls.append(dataset)
        return dataset.class_names

    first, same, other = tiny(), tiny(), tiny(("Car", "Bicycle"))
    assert first.key is None and same is not first
    assert class_names(first) == ["Car", "Wheelchair"] and class_names(same) == ["Car", "Wheelchair"]
    assert len(calls) == 1  # equal content: one entry
    assert class_names(other) == ["Car", "Bicycle"] and len(calls) == 2  # other content: never the first's answer
    assert dataset_key(first)  # remembered on the object now
    relabelled = replace(first, categories=tiny(("Car", "Tram")).categories)  # a copy keeps no remembered key
    assert class_names(relabelled) == ["Car", "Tram"] and len(calls) == 3
    class_names.clear()


def cached_functions(path: Path):
    """(function, decorator call) for every function decorated with st.cache_data / st.cache_resource."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef):
            for deco in node.decorator_list:
                call = deco if isinstance(deco, ast.Call) else None
                target = call.func if call else deco
                if isinstance(target, ast.Attribute) and target.attr in ("cache_data", "cache_resource"):
                    yield node, call


def test_no_page_builds_a_cache_key_by_hand():
    found = {p.name: list(cached_functions(p)) for p in APP_FILES}
    assert sum(len(v) for v in found.values()) >= 8  # the loader's and the seven that take a dataset
    for name, functions in found.items():
        for function, call in functions:
            params = [a.arg for a in function.args.args]
            assert not any(p.startswith("_") for p in params), f"{name}: {function.name} hides {params} from the cache"
            assert not {"key", "token"} & set(params), f"{name}: {function.name} takes a hand-built key"
            if "dataset" in params:
                keywords = {k.arg for k in call.keywords} if call else set()
                assert "hash_funcs" in keywords, f"{name}: {function.name} hashes a Dataset without hash_funcs"
    for path in APP_FILES:
        assert "key or id(" not in path.read_text(encoding="utf-8"), path.name


@pytest.fixture
def counted(monkeypatch):
    """Calls of the incidence builder (the plan page's cached step) and of the loader, by dataset key."""
    st.cache_resource.clear()  # a fresh cache: entries of earlier tests in this process would hide calls
    calls = {"incidence": [], "load": []}
    incidence, load = imbal_core.plan.incidence, imbal_core.load

    def counting_incidence(dataset, split, unit):
        calls["incidence"].append((dataset_key(dataset), split, unit))
        return incidence(dataset, split, unit)

    def counting_load(*args, **kwargs):
        calls["load"].append(args)
        return load(*args, **kwargs)

    monkeypatch.setattr(imbal_core.plan, "incidence", counting_incidence)
    monkeypatch.setattr(imbal_core, "load", counting_load)
    yield calls
    st.cache_resource.clear()


def test_moving_widgets_only_reaggregates_and_another_dataset_gets_its_own_entry(app, counted):
    open_on(app, "views/plan.py")
    street = list(counted["incidence"])
    assert len(street) == 1 and counted["load"] == []  # the sidebar's dataset, not parsed again
    app.slider(key="plan_cap").set_value(2.0).run()
    app.slider(key="plan_floor").set_value(0.2).run()
    open_on(app, "views/longtail.py")
    open_on(app, "views/plan.py")
    assert counted["incidence"] == street and counted["load"] == []  # cache hits only

    open_on(app, "views/plan.py", "surface")
    assert len(counted["load"]) == 1 and len(counted["incidence"]) == 2
    assert counted["incidence"][1][0] != street[0][0]  # the surface export has its own entry
    app.selectbox(key="sample_name").set_value("street").run()
    assert not app.exception, [e.value for e in app.exception]
    # street is read again into a new object (the fixture emptied the loader's cache too); its key is the
    # same, so the incidence entry built for the first object answers
    assert len(counted["load"]) == 2 and len(counted["incidence"]) == 2
