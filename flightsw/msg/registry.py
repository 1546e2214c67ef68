"""The registry of message types, by topic. Every type registers itself on definition."""
from __future__ import annotations

_BY_TOPIC: dict[str, type] = {}


def register(cls) -> None:
    """Add a message type; a topic may be defined only once in the whole vehicle."""
    topic = cls.TOPIC
    if not topic or "\0" in topic or len(topic) > 64 or not topic.isascii():
        raise TypeError(f"{cls.__name__}: bad topic {topic!r}")
    if topic.startswith("_"):
        raise TypeError(f"{cls.__name__}: topics starting with '_' are reserved for the bus")
    existing = _BY_TOPIC.get(topic)
    if existing is not None and existing.__qualname__ != cls.__qualname__:
        raise TypeError(f"topic {topic!r} already defined by {existing.__name__}")
    _BY_TOPIC[topic] = cls


def lookup(topic: str):
    """The message type of ``topic``, or None if no type defines it."""
    return _BY_TOPIC.get(topic)


def all_types() -> dict[str, type]:
    return dict(_BY_TOPIC)
