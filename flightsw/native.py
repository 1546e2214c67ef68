"""Loading of the ahead-of-time compiled (Cython) hot paths.

Flight code has no silent pure-Python fallback: if a compiled kernel is
missing, importing the module that needs it fails and says how to build it.
"""
import importlib
from types import ModuleType

BUILD_HINT = (
    "build the compiled kernels with `pip install .` (or, in a checkout, "
    "`python setup.py build_ext --inplace`)"
)


def require(module_name: str) -> ModuleType:
    """Import a compiled extension module or raise an ImportError naming the fix."""
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportError(f"compiled module {module_name!r} is missing: {BUILD_HINT}") from exc
