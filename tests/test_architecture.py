"""The one architectural rule: truth stays in the plant."""
import ast
from pathlib import Path

import pytest

import flightsw
import hil
from flightsw.msg import Field, Message
from flightsw.runtime.app import App


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
            if node.args and isinstance(node.args[0], ast.Constant):
                names.add(str(node.args[0].value))
    return names


def python_sources(package) -> list[Path]:
    root = Path(package.__file__).parent
    return sorted(root.rglob("*.py"))


def test_flight_software_never_imports_the_plant():
    offenders = {
        str(p): sorted(m for m in imported_modules(p) if m == "hil" or m.startswith("hil."))
        for p in python_sources(flightsw)
    }
    assert not {k: v for k, v in offenders.items() if v}
    pyx = [p for p in Path(flightsw.__file__).parent.rglob("*.pyx")
           if "import hil" in p.read_text() or "from hil" in p.read_text()]
    assert not pyx


def test_plant_uses_flight_software_only_for_contracts_and_the_app_runtime():
    allowed = ("flightsw.msg", "flightsw.runtime", "flightsw.record")
    offenders = {}
    for p in python_sources(hil):
        bad = [m for m in imported_modules(p)
               if (m == "flightsw" or m.startswith("flightsw.")) and not m.startswith(allowed)]
        if bad:
            offenders[str(p)] = bad
    assert not offenders


class _SecretTruth(Message):
    """Test-only truth message."""

    TOPIC = "test.truth_secret"
    VERSION = 1
    TRUTH = True
    FIELDS = (Field.vec("r_TN_N", "m", "target position", 3),)


def test_a_flight_app_cannot_subscribe_to_truth():
    with pytest.raises(TypeError, match="truth"):
        type("Peeker", (App,), {"__module__": "flightsw.nav.app", "SUBSCRIBES": (_SecretTruth,)})


def test_a_plant_app_may_subscribe_to_truth():
    cls = type("Bench", (App,), {"__module__": "hil.bench", "SUBSCRIBES": (_SecretTruth,)})
    assert cls.SUBSCRIBES == (_SecretTruth,)
