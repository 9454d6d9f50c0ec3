"""The broker's batch publish: in order, to every topic's subscribers (the in-memory
broker, or Redis when ``REDIS_URL`` is set, as on ``.ci/run``'s PostgreSQL pass)."""

import asyncio
import os
from typing import Any

import pytest

from events.broker import Broker
from events.redis_broker import RedisBroker


async def test_publish_many_delivers_in_order_to_each_topics_subscribers(broker: Broker) -> None:
    async with broker.subscribe("t:a") as a, broker.subscribe("t:b") as b:
        if isinstance(broker, RedisBroker):
            for _ in range(200):
                if broker.listening("t:a") and broker.listening("t:b"):
                    break
                await asyncio.sleep(0.01)
        await broker.publish_many([("t:a", {"n": 1}), ("t:b", {"n": 2}), ("t:a", {"n": 3})])

        async def take(messages: Any, count: int) -> list[int]:
            return [(await anext(messages))["n"] for _ in range(count)]

        assert await asyncio.wait_for(take(a, 2), 5) == [1, 3]
        assert await asyncio.wait_for(take(b, 1), 5) == [2]


async def test_subscriptions_made_while_redis_connects_are_not_lost() -> None:
    """A subscription that arrives while the broker is (re)connecting must still be
    subscribed at Redis: one made mid-connect once stayed silent until the next reconnect.
    Each broker below gets its subscription a few more loop steps into its connect."""
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("needs REDIS_URL")
    for steps in range(12):
        broker = RedisBroker(url)
        await broker.start()
        try:
            for _ in range(steps):
                await asyncio.sleep(0)
            async with broker.subscribe("t:connecting") as messages:
                assert broker.listening("t:connecting"), f"lost after {steps} steps"
                await broker.publish_many([("t:connecting", {"steps": steps})])
                assert await asyncio.wait_for(anext(messages), 5) == {"steps": steps}
        finally:
            await broker.aclose()


async def test_a_subscriber_gone_before_redis_confirmed_leaves_no_subscription() -> None:
    """A subscriber that goes away while its topic waits for Redis's confirmation (here:
    during the broker's first connect) must not leave the worker subscribed for good,
    decoding every message of a topic nobody here listens to."""
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("needs REDIS_URL")
    channel = "payql:t:dropped"
    for steps in range(12):
        broker = RedisBroker(url)
        await broker.start()

        async def listen(broker: RedisBroker) -> None:
            async with broker.subscribe("t:dropped"):
                await asyncio.Event().wait()

        listener = asyncio.create_task(listen(broker))
        try:
            for _ in range(steps):
                await asyncio.sleep(0)
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
            await asyncio.wait_for(broker.connected.wait(), 5)
            await asyncio.sleep(0.05)  # let Redis apply the unsubscribe
            counts = await broker._publisher.pubsub_numsub(channel)
            assert dict(counts).get(channel.encode(), 0) == 0, f"still subscribed after {steps}"
        finally:
            await broker.aclose()
