"""Subscriptions opened while Redis is down: first state from the database at once, live
updates once Redis is back. A private redis-server on a port nobody else uses plays Redis
"down" (not started yet) and "back" (started)."""

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from events.broker import current_broker, use_broker
from events.redis_broker import RESYNC, RedisBroker
from tests.conftest import serving
from tests.helpers import CREATE_ORDER, make_product, make_workspace, order_input
from tests.test_production import RedisServer, _free_port
from tests.ws import graphql_ws

# Longer than any test may run: a subscription that waits for Redis to confirm never
# gets its first state, instead of getting it late.
NEVER = 3600.0
GENEROUS = 30.0
ORDER_UPDATES = "subscription O($id: ID!) { orderUpdates(orderId: $id) { status } }"

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None and not Path("/usr/bin/redis-server").exists(),
    reason="needs redis-server",
)


@pytest.fixture
def redis_later(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis that is down until the test starts it."""
    server = RedisServer(_free_port(), tmp_path)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def down_broker(redis_later: RedisServer) -> AsyncIterator[RedisBroker]:
    """The process's broker, pointed at the Redis that is not up yet."""
    broker = RedisBroker(redis_later.url, confirm_timeout=NEVER)
    await broker.start()
    previous = current_broker()
    use_broker(broker)
    try:
        yield broker
    finally:
        use_broker(previous)
        await broker.aclose()


async def test_subscribing_while_redis_is_down_does_not_wait_for_it(
    down_broker: RedisBroker, redis_later: RedisServer
) -> None:
    async def subscribe_and_read() -> tuple[dict[str, str], bool]:
        async with down_broker.subscribe("order:outage") as messages:
            assert not down_broker.connected.is_set()
            redis_later.start()  # Redis comes back while we listen
            return await anext(messages), down_broker.listening("order:outage")

    message, listening = await asyncio.wait_for(subscribe_and_read(), GENEROUS)

    assert message == RESYNC  # the first connection resyncs what went on without Redis
    assert listening


async def test_a_subscription_opened_while_redis_is_down_gets_its_state_at_once(
    db: str, down_broker: RedisBroker, redis_later: RedisServer
) -> None:
    workspace = await make_workspace("outage")
    product = await make_product(workspace)
    async with serving() as live:
        created = await live.client(
            CREATE_ORDER, order_input(workspace, (product, 1)), as_user="ann@example.com"
        )
        order_id = created.data["createOrder"]["order"]["id"]
        async with graphql_ws(live.ws_url) as ws:
            await ws.init(live.client.token("ann@example.com"))
            await ws.subscribe("o", ORDER_UPDATES, {"id": order_id})
            first = await ws.next_event(GENEROUS)
            redis_later.start()
            after_redis = await ws.next_event(GENEROUS)

    pending = {"orderUpdates": {"status": "PENDING"}}
    assert (first[0], first[1], first[2]["data"]) == ("next", "o", pending)
    assert (after_redis[0], after_redis[1], after_redis[2]["data"]) == ("next", "o", pending)
