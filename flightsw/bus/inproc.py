"""In-process transport: deterministic queues, no sockets; for tests and Monte Carlo.

Publications made during a tick are staged and delivered together when the
scheduler closes the tick, so no app sees a message from its own tick.
"""
from __future__ import annotations

from collections import defaultdict


def topic_of(frames) -> str:
    return bytes(frames[0]).rstrip(b"\0").decode("ascii", "replace")


class InProcBus:
    def __init__(self):
        self._subscribers: dict[str, list[str]] = defaultdict(list)
        self._queues: dict[str, list] = {}
        self._staged: list = []

    def attach(self, name: str, topics) -> None:
        self._queues[name] = []
        for t in topics:
            self._subscribers[t].append(name)

    def publish(self, frames) -> None:
        self._staged.append(frames)

    def deliver(self) -> list:
        """Close the tick: route the staged messages; return them for the recorder."""
        staged, self._staged = self._staged, []
        for frames in staged:
            for name in self._subscribers.get(topic_of(frames), ()):
                self._queues[name].append(frames)
        return staged

    def take(self, name: str) -> list:
        """Everything delivered to ``name`` since its previous take."""
        q, self._queues[name] = self._queues[name], []
        return q
