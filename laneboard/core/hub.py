"""`Hub[T]`: fan-out of events to any number of async subscribers.

Why `subscribe()` registers at once: the old hubs added a subscriber's queue only when its
iterator first ran, so an event published between `subscribe()` and the first `async for`
step (the first `StateChanged("starting")`) was lost, and tests needed `asyncio.sleep(0)`.
Here the queue exists from the call on. Each subscriber has its own unbounded queue, so a
slow reader (the TUI) never blocks a publisher (the relay).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

T = TypeVar("T")

_CLOSED = object()


class Subscription(Generic[T]):
    """One subscriber's stream: `async for item in sub`; `close()` (or the hub's) ends it."""

    def __init__(self, hub: Hub[T]) -> None:
        self._hub = hub
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        hub._subs.add(self)

    def __aiter__(self) -> AsyncIterator[T]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[T]:
        try:
            while True:
                item = await self._queue.get()
                if item is _CLOSED:
                    return
                yield item  # type: ignore[misc]
        finally:
            self.close()

    def close(self) -> None:
        """Stop receiving (idempotent): what was already received is still delivered, then
        the stream ends."""
        if self in self._hub._subs:
            self._hub._subs.discard(self)
            self._queue.put_nowait(_CLOSED)

    def _put(self, item: object) -> None:
        self._queue.put_nowait(item)


class Hub(Generic[T]):
    def __init__(self) -> None:
        self._subs: set[Subscription[T]] = set()

    def publish(self, item: T) -> None:
        for sub in list(self._subs):
            sub._put(item)

    def subscribe(self) -> Subscription[T]:
        """A new subscriber, registered now: it sees everything published from here on."""
        return Subscription(self)

    def close(self) -> None:
        """End every subscriber's stream after what it has already received."""
        for sub in list(self._subs):
            sub.close()

    @property
    def subscribers(self) -> int:
        return len(self._subs)
