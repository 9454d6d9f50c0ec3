"""Holds and idempotency under many simultaneous requests.

Run on SQLite (writers serialize) and, in ``.ci/run``, on PostgreSQL, where the requests
really overlap: the guarantees come from conditional UPDATEs and unique indexes, not luck.
"""

import asyncio
from collections import Counter

from models import IdempotencyKey, Order, Product
from tests.helpers import CREATE_ORDER, GraphQLClient, make_product, make_workspace, order_input


async def test_twenty_buyers_for_the_last_five_seats_never_oversell(api: GraphQLClient) -> None:
    # given a product with 5 seats left
    shop = await make_workspace()
    product = await make_product(shop, capacity=5)

    # when 20 different customers each ask for one seat at the same moment
    results = await asyncio.gather(
        *(
            api(CREATE_ORDER, order_input(shop, (product, 1)), as_user=f"buyer{i}@example.com")
            for i in range(20)
        )
    )

    # then exactly 5 orders exist and everyone else was told SOLD_OUT
    outcomes = Counter(
        "ok" if r.data["createOrder"]["order"] else r.data["createOrder"]["errors"][0]["code"]
        for r in results
    )
    assert outcomes == {"ok": 5, "SOLD_OUT": 15}
    assert await Order.all().count() == 5
    assert (await Product.get(id=product.id)).held == 5


async def test_concurrent_multi_seat_orders_fill_capacity_exactly(api: GraphQLClient) -> None:
    shop = await make_workspace()
    product = await make_product(shop, capacity=10)

    results = await asyncio.gather(
        *(
            api(CREATE_ORDER, order_input(shop, (product, 3)), as_user=f"b{i}@example.com")
            for i in range(12)
        )
    )

    succeeded = [r for r in results if r.data["createOrder"]["order"]]
    assert len(succeeded) == 3  # 3 × 3 = 9 ≤ 10 < 12
    assert (await Product.get(id=product.id)).held == 9


async def test_same_idempotency_key_concurrently_creates_one_order(api: GraphQLClient) -> None:
    shop = await make_workspace()
    product = await make_product(shop, capacity=100)
    variables = order_input(shop, (product, 2), idempotencyKey="checkout-42")

    results = await asyncio.gather(
        *(api(CREATE_ORDER, variables, as_user="alice@example.com") for _ in range(10))
    )

    ids = {r.data["createOrder"]["order"]["id"] for r in results}
    assert len(ids) == 1
    assert all(r.data["createOrder"]["errors"] == [] for r in results)
    assert await Order.all().count() == 1
    assert (await Product.get(id=product.id)).held == 2  # losers held nothing


async def test_idempotency_replays_and_refuses_reuse(api: GraphQLClient) -> None:
    shop = await make_workspace()
    product = await make_product(shop)
    first = await api(
        CREATE_ORDER, order_input(shop, (product, 1), idempotencyKey="k1"), as_user="a@x.io"
    )
    replay = await api(
        CREATE_ORDER, order_input(shop, (product, 1), idempotencyKey="k1"), as_user="a@x.io"
    )
    changed = await api(
        CREATE_ORDER, order_input(shop, (product, 2), idempotencyKey="k1"), as_user="a@x.io"
    )
    other_user = await api(
        CREATE_ORDER, order_input(shop, (product, 1), idempotencyKey="k1"), as_user="b@x.io"
    )

    first_order = first.data["createOrder"]["order"]
    assert replay.data["createOrder"]["order"] == first_order
    assert changed.data["createOrder"] == {
        "order": None,
        "errors": [
            {
                "code": "IDEMPOTENCY_KEY_REUSED",
                "message": "this idempotencyKey was already used with different input",
                "field": ["input", "idempotencyKey"],
            }
        ],
    }
    assert other_user.data["createOrder"]["order"]["id"] != first_order["id"]  # keys are per user
    assert await Order.all().count() == 2
    assert (await Product.get(id=product.id)).held == 2


async def test_keys_are_kept_at_least_24_hours(api: GraphQLClient) -> None:
    shop = await make_workspace()
    product = await make_product(shop)
    await api(CREATE_ORDER, order_input(shop, (product, 1), idempotencyKey="k"), as_user="a@x.io")
    key = await IdempotencyKey.get(key="k")
    assert (key.expires_at - key.created_at).total_seconds() >= 24 * 3600


async def test_an_expired_key_is_forgotten(api: GraphQLClient) -> None:
    shop = await make_workspace()
    product = await make_product(shop)
    variables = order_input(shop, (product, 1), idempotencyKey="old")
    first = await api(CREATE_ORDER, variables, as_user="a@x.io")
    key = await IdempotencyKey.get(key="old")
    await IdempotencyKey.filter(id=key.id).update(expires_at=key.created_at)

    again = await api(CREATE_ORDER, variables, as_user="a@x.io")

    assert again.data["createOrder"]["order"]["id"] != first.data["createOrder"]["order"]["id"]
    assert await IdempotencyKey.filter(key="old").count() == 1
