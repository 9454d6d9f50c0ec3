"""Recorded events are read once per process however many subscribers ask at once."""

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from strawberry.types.base import get_object_definition

from events.history import recorded_event
from models import Order, PaymentEvent
from tests.helpers import (
    CREATE_ORDER,
    GraphQLClient,
    make_product,
    make_workspace,
    order_input,
    wait_subscribed,
)
from tests.test_query_count import counted_queries

BUYER = "ann@example.com"


async def test_concurrent_readers_share_one_query(
    api: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = await make_workspace()
    product = await make_product(shop)
    await api(CREATE_ORDER, order_input(shop, (product, 1)), as_user="ann@example.com")
    order = await Order.get()
    event = await PaymentEvent.create(
        workspace_id=order.workspace_id, order_id=order.id, type="order.created", actor="t"
    )

    with counted_queries(monkeypatch) as seen:
        rows = await asyncio.gather(*(recorded_event(event.id) for _ in range(50)))
        again = await recorded_event(event.id)
    assert len(seen) == 1
    assert {row.id for row in rows if row is not None} == {event.id}
    assert None not in rows
    assert again is not None
    assert again.type == "order.created"


async def test_a_missing_event_is_not_remembered(
    api: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    with counted_queries(monkeypatch) as seen:
        assert await recorded_event(10**12) is None
        assert await recorded_event(10**12) is None
    assert len(seen) == 2


def test_recent_ids_remember_the_last_ones_only() -> None:
    from events.history import RecentIds

    recent = RecentIds(limit=3)
    for event_id in (1, 2, 3, 4):
        recent.add(event_id)
    assert 1 not in recent  # the oldest fell out: memory stays bounded
    assert all(event_id in recent for event_id in (2, 3, 4))
    recent.add(2)  # seen again: now the newest
    recent.add(5)
    assert 3 not in recent
    assert 2 in recent
    assert len(recent) == 3


def test_recent_ids_say_where_a_re_read_of_history_starts() -> None:
    from events.history import RecentIds

    recent = RecentIds(limit=2)
    assert recent.since(7) == 7
    for event_id in (10, 11, 12, 13):
        recent.add(event_id)
    assert recent.since(7) == 11  # 10 and 11 fell out: re-reading them would resend them
    assert recent.since(20) == 20


async def test_a_resync_does_not_resend_events_that_fell_out_of_the_window(
    api: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import schema.subscriptions as subscriptions
    from events.broker import current_broker
    from events.history import RecentIds

    monkeypatch.setattr(subscriptions, "RecentIds", lambda: RecentIds(limit=3))
    shop = await make_workspace()
    product = await make_product(shop)
    created = await api(CREATE_ORDER, order_input(shop, (product, 1)), as_user=BUYER)
    order_id = created.data["createOrder"]["order"]["id"]

    class Staff:
        def is_staff_of(self, workspace_id: object) -> bool:
            return True

    async def actor() -> Staff:
        return Staff()

    info: Any = SimpleNamespace(context=SimpleNamespace(actor=actor))
    field = next(
        f
        for f in get_object_definition(subscriptions.Subscription, strict=True).fields
        if f.python_name == "workspace_events"
    )
    assert field.base_resolver is not None
    resolve: Any = field.base_resolver.wrapped_func  # the field's own async generator
    stream = resolve(None, info, str(shop.id))
    sent: list[int] = []

    async def consume() -> None:
        async for event in stream:
            sent.append(event.row.id)

    consumer = asyncio.create_task(consume())
    await wait_subscribed(f"workspace:{shop.id}")
    topic = f"workspace:{shop.id}"
    for _ in range(6):
        event = await PaymentEvent.create(
            workspace_id=shop.id, order_id=order_id, type="test.event", actor="test"
        )
        await current_broker().publish(topic, {"event_id": event.id})
    await current_broker().publish(topic, {"type": "resync"})
    for _ in range(100):
        if len(sent) >= 6:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)  # what the resync would wrongly add arrives by now
    consumer.cancel()
    await asyncio.gather(consumer, return_exceptions=True)

    assert len(sent) == 6
    assert len(set(sent)) == 6
