"""Pub/sub for live updates: the Broker interface and the in-memory implementation.

Topics are ``payment:<id>``, ``order:<id>`` and ``workspace:<id>``; messages are small JSON
dicts naming what changed (subscribers re-read the rows). The in-memory broker serves one
process; the Redis broker (one subscription per worker, fanned out in-process) plugs in
behind the same interface.
"""

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

logger = logging.getLogger("payql.events")

Message = dict[str, Any]
QUEUE_LIMIT = 1000


class Broker(Protocol):
    async def publish(self, topic: str, message: Message) -> None:
        """Deliver ``message`` to every current subscriber of ``topic``."""

    async def publish_many(self, messages: list[tuple[str, Message]]) -> None:
        """Publish ``(topic, message)`` pairs in order (one round trip where it can)."""

    def subscribe(self, topic: str) -> "AbstractSubscription":
        """An async context manager yielding an async iterator of messages."""


AbstractSubscription = Any


class MemoryBroker:
    """In-process fan-out with a bounded queue per subscriber.

    A subscriber that falls ``QUEUE_LIMIT`` messages behind loses the oldest; subscribers
    re-read current state on every message, so they stay correct.
    """

    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[Message]]] = defaultdict(set)

    async def publish(self, topic: str, message: Message) -> None:
        for queue in list(self._queues.get(topic, ())):
            if queue.full():
                queue.get_nowait()
                logger.warning("subscriber on %s fell behind; dropped its oldest message", topic)
            queue.put_nowait(message)

    async def publish_many(self, messages: list[tuple[str, Message]]) -> None:
        for topic, message in messages:
            await self.publish(topic, message)

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[Message]]:
        queue: asyncio.Queue[Message] = asyncio.Queue(maxsize=QUEUE_LIMIT)
        self._queues[topic].add(queue)
        try:
            yield _drain(queue)
        finally:
            self._queues[topic].discard(queue)
            if not self._queues[topic]:
                del self._queues[topic]

    def subscriber_count(self, topic: str) -> int:
        return len(self._queues.get(topic, ()))


async def _drain(queue: "asyncio.Queue[Message]") -> AsyncIterator[Message]:
    while True:
        yield await queue.get()


_broker: Broker = MemoryBroker()


def current_broker() -> Broker:
    return _broker


def use_broker(broker: Broker) -> None:
    """Install the process-wide broker (the app does this at start-up)."""
    global _broker
    _broker = broker
