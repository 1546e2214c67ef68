"""Loading of the ahead-of-time compiled (Cython) hot paths.

Flight code has no silent pure-Python fallback: if a compiled kernel is
missing, importing the module that needs it fails and says how to build it.
"""
import importlib
from pathlib import Path
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


def build_info(probe: str = "flightsw.msg._vec") -> dict:
    """Where this process imports flightsw from and whether its compiled kernels load (one is
    tried): a launcher or a cluster checks that its workers run the build it runs."""
    import flightsw

    try:
        require(probe)
        error = None
    except ImportError as exc:
        error = str(exc)
    return {"package": str(Path(flightsw.__file__).resolve().parent), "error": error}
