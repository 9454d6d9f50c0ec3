"""Prepared queries return what the queryset they were built from returns."""

from uuid import UUID, uuid4

import pytest
from tortoise.transactions import in_transaction

from models import Order
from models.prepared import PreparedQuery
from tests.helpers import GraphQLClient, make_product, make_workspace


async def _orders(api: GraphQLClient, count: int) -> list[Order]:
    from tests.helpers import CREATE_ORDER, order_input

    shop = await make_workspace()
    product = await make_product(shop, capacity=None)
    for _ in range(count):
        await api(CREATE_ORDER, order_input(shop, (product, 1)), as_user="alice@example.com")
    return await Order.all().order_by("created_at")


async def test_prepared_query_matches_the_queryset(api: GraphQLClient) -> None:
    orders = await _orders(api, 3)
    by_customer = PreparedQuery(
        Order,
        lambda customer_id, number: Order.filter(customer_id=customer_id, number=number),
        customer_id=UUID,
        number=str,
    )
    for order in orders:
        found = await by_customer.all(customer_id=order.customer_id, number=order.number)
        assert [(o.id, o.total, o.status, o.created_at) for o in found] == [
            (order.id, order.total, order.status, order.created_at)
        ]
    assert await by_customer.first(customer_id=uuid4(), number=orders[0].number) is None


async def test_prepared_query_runs_in_the_callers_transaction(api: GraphQLClient) -> None:
    (order,) = await _orders(api, 1)
    by_id = PreparedQuery(Order, lambda order_id: Order.filter(id=order_id), order_id=UUID)
    async with in_transaction():
        await Order.filter(id=order.id).update(number="PQ-INSIDE")
        inside = await by_id.first(order_id=order.id)
        assert inside is not None
        assert inside.number == "PQ-INSIDE"


async def test_prepared_query_refuses_values_that_do_not_reach_the_sql(
    api: GraphQLClient,
) -> None:
    await _orders(api, 1)
    changed = PreparedQuery(Order, lambda number: Order.filter(number=number.upper()), number=str)
    with pytest.raises(ValueError, match="never reach the SQL"):
        await changed.first(number="pq-1")
    with pytest.raises(TypeError, match="expected values"):
        await changed.first(other="x")
    with pytest.raises(TypeError, match="UUID or str"):
        PreparedQuery(Order, lambda n: Order.filter(total=n), n=int)


async def test_the_write_paths_locked_reads_lock_on_postgresql(db: str, dialect: str) -> None:
    """The payment and order reads that decide a state change hold a row lock until commit
    (on SQLite, writers are serialized instead and there is no FOR UPDATE)."""
    from resolvers import payments

    for locked in (payments._order_locked, payments._payment_locked):
        sql = locked.sql()
        assert sql.endswith("FOR UPDATE") == (dialect == "postgres"), sql
    assert "FOR UPDATE" not in payments._attempts_of.sql()  # read under the order's lock
