"""The Redis broker: one Redis subscription per worker process, fanned out in-process.

    publish ──► PUBLISH payql:<topic>  (any worker, any host)
    Redis  ──► this worker's single pub/sub connection ──► MemoryBroker ──► its websockets

Never one Redis connection per websocket: a worker holds one connection for publishing and
one for its subscriptions, whatever the number of clients. The reader task reconnects with
exponential backoff (0.1 s → 5 s) when Redis goes away, subscribes again to every topic that
still has local subscribers, and then sends each of them a ``{"type": "resync"}`` message:
subscriptions re-read current state, so a message missed while Redis was away cannot leave
a screen stale. ``publish`` raises when Redis is unreachable; the caller leaves the outbox
row undispatched and the dispatcher sends it later.

A subscription waits for Redis to confirm its topic, except while Redis is known to be
unreachable (the last connection attempt failed): then it goes on at once, reads its first
state from the database, and the resync once a connection opens covers whatever it missed
meanwhile, on the first connection too when Redis was down at start-up.
"""

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from events.broker import MemoryBroker, Message

logger = logging.getLogger("payql.events.redis")

PREFIX = "payql:"
CONTROL = PREFIX + "_control"  # always subscribed, so the reader has a subscription to read
RESYNC: Message = {"type": "resync"}
CONFIRM_TIMEOUT = 5.0
MAX_BACKOFF = 5.0


class RedisBroker:
    """Broker over Redis pub/sub (``REDIS_URL``). Call :meth:`start` before use."""

    def __init__(self, url: str, *, confirm_timeout: float = CONFIRM_TIMEOUT) -> None:
        self._publisher: Redis = Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30
        )
        self._subscriber: Redis = Redis.from_url(
            url, socket_connect_timeout=2, health_check_interval=30
        )
        self._local = MemoryBroker()
        self._confirm_timeout = confirm_timeout
        self._pubsub: PubSub | None = None
        self._confirmed: dict[str, asyncio.Event] = {}
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.unreachable = asyncio.Event()  # set while the last connection attempt failed
        self.reconnects = 0

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="payql-redis-broker")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._close_pubsub()
        await self._publisher.aclose()
        await self._subscriber.aclose()

    async def ping(self) -> bool:
        try:
            return bool(await self._publisher.ping())
        except (RedisError, OSError):
            return False

    # ------------------------------------------------------------------ Broker
    async def publish(self, topic: str, message: Message) -> None:
        """:raises RedisError: Redis is unreachable (the outbox keeps the event)."""
        await self._publisher.publish(PREFIX + topic, json.dumps(message, default=str))

    async def publish_many(self, messages: list[tuple[str, Message]]) -> None:
        """All in one pipeline: one round trip for a unit of work's events (each goes to
        two or three topics).

        :raises RedisError: Redis is unreachable (the outbox keeps the events)."""
        pipeline = self._publisher.pipeline(transaction=False)
        for topic, message in messages:
            pipeline.publish(PREFIX + topic, json.dumps(message, default=str))
        await pipeline.execute()

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[Message]]:
        async with self._local.subscribe(topic) as messages:
            try:
                # Inside the try: a subscriber that goes away while Redis has not confirmed
                # yet must still let go of the topic (it stayed subscribed for good).
                await self._listen(topic)
                yield messages
            finally:
                if self._local.subscriber_count(topic) <= 1:  # we are the last one here
                    await self._unlisten(topic)

    def subscriber_count(self, topic: str) -> int:
        return self._local.subscriber_count(topic)

    def listening(self, topic: str) -> bool:
        """True once Redis confirmed this worker's subscription to ``topic``."""
        event = self._confirmed.get(PREFIX + topic)
        return event is not None and event.is_set()

    # ------------------------------------------------------------------ internals
    async def _listen(self, topic: str) -> None:
        channel = PREFIX + topic
        event = self._confirmed.get(channel)
        if event is None:
            event = self._confirmed[channel] = asyncio.Event()
            pubsub = self._pubsub
            if pubsub is not None:
                with suppress(RedisError, OSError):  # the reader reconnects and resubscribes
                    await pubsub.subscribe(channel)
        if self.unreachable.is_set():
            return  # no Redis to wait for: the resync once it is back covers this topic
        waits = [asyncio.ensure_future(e.wait()) for e in (event, self.unreachable)]
        try:
            await asyncio.wait(
                waits, timeout=self._confirm_timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiting in waits:
                waiting.cancel()

    async def _unlisten(self, topic: str) -> None:
        channel = PREFIX + topic
        self._confirmed.pop(channel, None)
        pubsub = self._pubsub
        if pubsub is not None:
            with suppress(RedisError, OSError):
                await pubsub.unsubscribe(channel)

    async def _run(self) -> None:
        backoff = 0.1
        first = True
        while True:
            try:
                await self._connect()
                # Also on a first connection after failed ones: topics subscribed to
                # meanwhile went on without Redis and may have missed messages.
                missed = not first or self.unreachable.is_set()
                self.unreachable.clear()
                if not first:
                    self.reconnects += 1
                if missed:
                    await self._resync()
                first = False
                backoff = 0.1
                await self._read_forever()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                self.connected.clear()
                self.unreachable.set()
                for event in self._confirmed.values():
                    event.clear()
                await self._close_pubsub()
                logger.warning("redis pub/sub lost (%s); retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)

    async def _connect(self) -> None:
        pubsub = self._subscriber.pubsub()
        channels = [CONTROL, *self._confirmed]
        await pubsub.subscribe(*channels)
        self._pubsub = pubsub
        # Topics first listened to while that subscribe was in flight saw no connection
        # and left it to us, and so did topics dropped meanwhile; from here on, _listen and
        # _unlisten talk to Redis themselves.
        asked = set(channels)
        late = [channel for channel in self._confirmed if channel not in asked]
        if late:
            await pubsub.subscribe(*late)
            asked.update(late)
        dropped = [c for c in asked if c != CONTROL and c not in self._confirmed]
        if dropped:
            await pubsub.unsubscribe(*dropped)
            asked.difference_update(dropped)
        pending = asked
        deadline = asyncio.get_running_loop().time() + self._confirm_timeout
        while pending and asyncio.get_running_loop().time() < deadline:
            message = await pubsub.get_message(timeout=0.5)
            if message is not None:
                await self._handle(message)
                if message["type"] == "subscribe":
                    pending.discard(_text(message["channel"]))
        self.connected.set()

    async def _read_forever(self) -> None:
        pubsub = self._pubsub
        if pubsub is None:
            raise RedisError("not connected")
        while True:
            message = await pubsub.get_message(timeout=1.0)
            if message is not None:
                await self._handle(message)

    async def _handle(self, message: dict[str, Any]) -> None:
        channel = _text(message["channel"])
        if message["type"] == "subscribe":
            event = self._confirmed.get(channel)
            if event is not None:
                event.set()
            return
        if message["type"] != "message" or not channel.startswith(PREFIX):
            return
        try:
            payload = json.loads(message["data"])
        except (TypeError, ValueError):
            logger.warning("ignoring a malformed message on %s", channel)
            return
        await self._local.publish(channel[len(PREFIX) :], payload)

    async def _resync(self) -> None:
        for channel in list(self._confirmed):
            await self._local.publish(channel[len(PREFIX) :], dict(RESYNC))

    async def _close_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with suppress(Exception):
                # Typed since redis 8.2; untyped in the older releases the range allows.
                await pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
