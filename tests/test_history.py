"""Recorded events are read once per process however many subscribers ask at once."""

import asyncio

import pytest

from events.history import recorded_event
from models import Order, PaymentEvent
from tests.helpers import CREATE_ORDER, GraphQLClient, make_product, make_workspace, order_input
from tests.test_query_count import counted_queries


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
