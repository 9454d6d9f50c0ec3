"""The outbox: what a committed change announces reaches subscribers once, even when the
broker fails at the moment of publishing."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise.exceptions import OperationalError

from app.jobs import JobTimings, background_jobs
from app.main import create_app
from events import record
from events.broker import Message, current_broker, use_broker
from events.record import DispatchMarks, dispatch_marks, dispatch_outbox
from models import OutboxEvent, PaymentEvent
from tests.helpers import (
    CREATE_ORDER,
    GraphQLClient,
    make_product,
    make_workspace,
    order_input,
    wait_subscribed,
)

BUYER = "ann@example.com"
LATER = timedelta(seconds=5)


class DownBroker:
    async def publish(self, topic: str, message: Message) -> None:
        raise ConnectionError("broker down")

    async def publish_many(self, messages: list[tuple[str, Message]]) -> None:
        raise ConnectionError("broker down")


@contextmanager
def broker_down() -> Iterator[None]:
    """Every publish fails meanwhile."""
    broker = current_broker()
    use_broker(DownBroker())  # type: ignore[arg-type]
    try:
        yield
    finally:
        use_broker(broker)


async def _order(api: GraphQLClient, slug: str = "acme") -> str:
    """Place an order (its ``order.created`` event goes to the outbox); its workspace id."""
    shop = await make_workspace(slug)
    product = await make_product(shop, capacity=None)
    placed = await api(CREATE_ORDER, order_input(shop, (product, 1)), as_user=BUYER)
    assert not placed.data["createOrder"]["errors"]
    return str(shop.id)


@asynccontextmanager
async def collecting(topic: str) -> AsyncIterator[list[Message]]:
    """Every message published on ``topic`` meanwhile, appended as it arrives."""
    got: list[Message] = []

    async def collect(messages: AsyncIterator[Message]) -> None:
        async for message in messages:
            got.append(message)

    async with current_broker().subscribe(topic) as messages:
        task = asyncio.create_task(collect(messages))
        await wait_subscribed(topic)
        try:
            yield got
        finally:
            task.cancel()


async def settled(received: list[Message], expected: int = 1) -> None:
    """Wait for ``expected`` messages (the Redis broker is a round trip away, and a loaded
    machine slower still), then a moment more for any that should not come."""
    for _ in range(200):
        if len(received) >= expected:
            break
        await asyncio.sleep(0.025)
    await asyncio.sleep(0.3)


async def _dispatch_later() -> int:
    return await dispatch_outbox(now=datetime.now(UTC) + 2 * LATER, older_than=LATER)


async def test_a_broker_failure_leaves_the_event_for_the_dispatcher(api: GraphQLClient) -> None:
    with broker_down():
        workspace_id = await _order(api)
    row = await OutboxEvent.get(type="order.created")
    assert row.dispatched_at is None
    assert dispatch_marks.waiting == 0  # never published, so never marked

    async with collecting(f"workspace:{workspace_id}") as received:
        assert await _dispatch_later() == 1
        await settled(received)

    assert [m["type"] for m in received] == ["order.created"]
    await row.refresh_from_db()
    assert row.dispatched_at is not None
    assert await _dispatch_later() == 0


async def test_a_published_event_is_marked_later_and_never_sent_twice(
    api: GraphQLClient,
) -> None:
    shop = await make_workspace()
    product = await make_product(shop, capacity=None)
    async with collecting(f"workspace:{shop.id}") as received:
        await api(CREATE_ORDER, order_input(shop, (product, 1)), as_user=BUYER)
        row = await OutboxEvent.get(type="order.created")
        assert row.dispatched_at is None  # published; the mark waits for its batch
        assert dispatch_marks.waiting == 1

        assert await _dispatch_later() == 0  # the round writes the marks first
        await settled(received)

    assert [m["type"] for m in received] == ["order.created"]
    event = await PaymentEvent.get(type="order.created")
    assert received[0] == {
        "event_id": event.id,
        "type": "order.created",
        "workspace_id": str(shop.id),
        "order_id": str(event.order_id),
        "payment_id": None,
        "refund_id": None,
        "from_status": None,
        "to_status": "PENDING",
    }
    await row.refresh_from_db()
    assert row.dispatched_at is not None
    assert dispatch_marks.waiting == 0


async def test_marks_are_written_once_a_batch_has_gathered(api: GraphQLClient) -> None:
    with broker_down():
        await _order(api, "one")
        await _order(api, "two")
    rows = await OutboxEvent.all().order_by("id")
    marks = DispatchMarks(batch=2)

    await marks.add([rows[0].id])
    assert await OutboxEvent.filter(dispatched_at=None).count() == 2
    await marks.add([rows[1].id])
    assert await OutboxEvent.filter(dispatched_at=None).count() == 0
    assert marks.waiting == 0


async def test_marks_are_written_promptly_while_job_rounds_are_slow(api: GraphQLClient) -> None:
    """Other workers re-send rows still unmarked after the outbox delay, so marks must not
    wait for this worker's next job round (here a minute away)."""
    timings = JobTimings(interval=60, outbox_delay=2)
    async with background_jobs(api.app.state.gateways, interval=60, timings=timings):
        await _order(api)
        assert dispatch_marks.waiting == 1
        for _ in range(100):
            await asyncio.sleep(0.05)
            if not dispatch_marks.waiting:
                break
        row = await OutboxEvent.get(type="order.created")

    assert row.dispatched_at is not None


async def test_a_failed_flush_keeps_its_marks(
    api: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _order(api)
    marks = DispatchMarks()
    await marks.add([(await OutboxEvent.get(type="order.created")).id])

    class Unreachable:
        @staticmethod
        def filter(**_: Any) -> Any:
            raise OperationalError("database unreachable")

    with monkeypatch.context() as patched:
        patched.setattr(record, "OutboxEvent", Unreachable)
        assert await marks.flush() == 1
    assert marks.waiting == 1
    assert await marks.flush() == 1
    assert await OutboxEvent.filter(dispatched_at=None).count() == 0


async def test_shutdown_writes_the_waiting_marks(api: GraphQLClient) -> None:
    await _order(api)
    row = await OutboxEvent.get(type="order.created")
    assert dispatch_marks.waiting == 1
    app = create_app(api.settings, manage_database=False, run_jobs=True)

    async with app.router.lifespan_context(app):
        pass

    assert dispatch_marks.waiting == 0
    await row.refresh_from_db()
    assert row.dispatched_at is not None
