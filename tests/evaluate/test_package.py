"""The `imbal_core.evaluate` names: the function stays the function, whatever is imported first."""
from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
import textwrap
import types

import imbal_core

evaluate_package = sys.modules["imbal_core.evaluate"]  # `imbal_core.evaluate` is the function

#: In a fresh interpreter: import the package and a submodule the usual ways, then report what
#: ``imbal_core.evaluate`` is.
PROBE = textwrap.dedent("""
    import json, sys, types
    import imbal_core
    from imbal_core.evaluate import by_condition
    import imbal_core.evaluate.slices
    from imbal_core.evaluate.detection import DetectionEvaluation
    package = sys.modules["imbal_core.evaluate"]
    print(json.dumps({"module": isinstance(imbal_core.evaluate, types.ModuleType),
                      "same": imbal_core.evaluate is package.evaluate}))
""")


def test_imbal_core_evaluate_is_the_function_after_the_package_is_imported():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == {"module": False, "same": True}


def test_importing_the_package_stays_light():
    probe = "import sys, imbal_core.evaluate; print(sorted(m for m in sys.modules if m.split('.')[0] in " \
            "('numpy', 'pyarrow', 'pandas', 'pycocotools')))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_no_public_name_is_shadowed_by_a_submodule():
    """A submodule named like one of the package's names (``hard_negatives``) would replace it
    once imported."""
    for module in pkgutil.iter_modules(evaluate_package.__path__):
        importlib.import_module(f"imbal_core.evaluate.{module.name}")
    for name in evaluate_package.__all__:
        assert not isinstance(getattr(evaluate_package, name), types.ModuleType), name
    assert callable(imbal_core.evaluate) and imbal_core.evaluate is evaluate_package.evaluate
