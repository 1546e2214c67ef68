"""Build the Cython hot paths ahead of time.

Every ``.pyx`` under ``flightsw/`` and ``hil/`` is compiled to C and then to an
extension module; there is no pure-Python fallback at run time (the numpy
reference implementations live beside each kernel for the tests only).
"""
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = Path(__file__).parent


def _extensions():
    exts = []
    for pyx in sorted(HERE.glob("flightsw/**/*.pyx")) + sorted(HERE.glob("hil/**/*.pyx")):
        rel = pyx.relative_to(HERE)
        exts.append(
            Extension(
                ".".join(rel.with_suffix("").parts),
                [str(rel)],
                include_dirs=[numpy.get_include()],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
                extra_compile_args=["-O3"],
            )
        )
    return exts


setup(
    ext_modules=cythonize(
        _extensions(),
        language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True},
    )
)
