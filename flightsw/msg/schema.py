"""Message schemas: fields with units, and the Message base every type derives from.

A message type is a class deriving from :class:`Message` that declares, at the
top, its topic, schema version and fields. The class body holds nothing else:
the contract is the declaration. Example::

    class Heartbeat(Message):
        "Liveness of one app."
        TOPIC = "health.heartbeat"
        VERSION = 1
        FIELDS = (
            Field.u64("steps", "count", "steps taken since boot"),
            Field.f64("load", "1", "fraction of the period spent stepping", lo=0.0),
        )

Field kinds and their wire form (inside the msgpack payload array, in the
declared order):

=========  ===================================  ==========================
kind       Python value after decode            wire form
=========  ===================================  ==========================
``f64``    float (finite unless ``allow_nan``)   msgpack float/int
``i64``    int                                  msgpack int
``bool``   bool                                 msgpack bool
``str``    str                                  msgpack str
``vec``    float64 ndarray of fixed ``shape``   flat list of floats
``array``  read-only ndarray (zero-copy)        [dtype, shape, frame index]
=========  ===================================  ==========================

``array`` fields (camera frames) travel as separate transport frames after the
payload, so the pixels are never copied into msgpack.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

_INT64_MIN = -(2**63)
_UINT64_MAX = 2**64 - 1


UNIT_NORM_TOL = 1e-3   # how far from 1 the norm of a quaternion or direction on the wire may be


def off_unit(v) -> bool:
    """Whether v (a quaternion, a line of sight) is no unit vector within UNIT_NORM_TOL: an
    app refuses it (a zero or scaled one put NaN or a wrong rotation downstream)."""
    return not abs(float(np.linalg.norm(v)) - 1.0) <= UNIT_NORM_TOL


@dataclass(frozen=True)
class Field:
    """One field of a message: name, kind, unit, meaning, and the range it must lie in."""

    name: str
    kind: str
    unit: str
    doc: str
    lo: float | None = None
    hi: float | None = None
    allow_nan: bool = False
    shape: tuple[int, ...] = ()
    max_len: int = 64
    choices: tuple[str, ...] = ()
    dtypes: tuple[str, ...] = ()
    max_shape: tuple[int, ...] = ()

    # -- constructors, one per kind ------------------------------------------------
    @classmethod
    def f64(cls, name, unit, doc, *, lo=None, hi=None, allow_nan=False):
        return cls(name, "f64", unit, doc, lo=lo, hi=hi, allow_nan=allow_nan)

    @classmethod
    def i64(cls, name, unit, doc, *, lo=_INT64_MIN, hi=2**63 - 1):
        return cls(name, "i64", unit, doc, lo=lo, hi=hi)

    @classmethod
    def u64(cls, name, unit, doc, *, hi=_UINT64_MAX):
        return cls(name, "i64", unit, doc, lo=0, hi=hi)

    @classmethod
    def boolean(cls, name, doc):
        return cls(name, "bool", "1", doc)

    @classmethod
    def text(cls, name, doc, *, max_len=64, choices=()):
        return cls(name, "str", "", doc, max_len=max_len, choices=tuple(choices))

    @classmethod
    def vec(cls, name, unit, doc, shape, *, lo=None, hi=None, allow_nan=False):
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        return cls(name, "vec", unit, doc, lo=lo, hi=hi, allow_nan=allow_nan, shape=shape)

    @classmethod
    def array(cls, name, unit, doc, *, dtypes, max_shape):
        return cls(name, "array", unit, doc, dtypes=tuple(dtypes), max_shape=tuple(max_shape))

    @property
    def size(self) -> int:
        """Number of scalars of a ``vec`` field."""
        return int(np.prod(self.shape)) if self.shape else 1


class Message:
    """Base of every message type. Subclasses declare TOPIC, VERSION, FIELDS.

    Instances are plain records: one attribute per field. ``TRUTH`` marks plant
    truth, which is recorded apart and which no flight app may subscribe to.
    ``WALL_CLOCK`` marks telemetry derived from wall-clock time (step timing),
    the only messages allowed to differ between two runs of the same seed.
    """

    TOPIC: ClassVar[str]
    VERSION: ClassVar[int]
    FIELDS: ClassVar[tuple[Field, ...]]
    TRUTH: ClassVar[bool] = False
    WALL_CLOCK: ClassVar[bool] = False
    __slots__ = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        names = [f.name for f in cls.FIELDS]
        if len(set(names)) != len(names):
            raise TypeError(f"{cls.__name__}: duplicate field names")
        cls.__slots__ = tuple(names)
        cls._FIELD_NAMES = tuple(names)
        cls._BLOB_FIELDS = tuple(f.name for f in cls.FIELDS if f.kind == "array")
        from flightsw.msg.registry import register

        register(cls)

    def __init__(self, **values: Any):
        missing = set(self._FIELD_NAMES) - values.keys()
        extra = values.keys() - set(self._FIELD_NAMES)
        if missing or extra:
            raise TypeError(
                f"{type(self).__name__}: missing fields {sorted(missing)}, unknown {sorted(extra)}"
            )
        for name in self._FIELD_NAMES:
            object.__setattr__(self, name, values[name])

    @classmethod
    def from_checked(cls, values: list) -> Message:
        """An instance from one value per field, in declared order, already checked against
        FIELDS (the decoder's constructor; it spares ``__init__``'s checks of the names)."""
        msg = cls.__new__(cls)
        for name, v in zip(cls._FIELD_NAMES, values):
            object.__setattr__(msg, name, v)
        return msg

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._FIELD_NAMES}

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return all(_equal(getattr(self, n), getattr(other, n)) for n in self._FIELD_NAMES)

    def __repr__(self):
        body = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._FIELD_NAMES)
        return f"{type(self).__name__}({body})"


def _equal(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)
    return a == b
