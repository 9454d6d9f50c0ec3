"""Holds and idempotency under many simultaneous requests.

Run on SQLite (writers serialize) and, in ``.ci/run``, on PostgreSQL, where the requests
really overlap: the guarantees come from conditional UPDATEs and unique indexes, not luck.
"""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from gateways.registry import GatewayRegistry
from models import IdempotencyKey, Order, OrderItem, Payment, PaymentEvent, Product, User
from models.enums import GatewayName, OrderStatus, PaymentStatus
from models.workspace import user_id_for_email
from resolvers.expiry import expire_holds
from tests.fakes import RecordingGateway
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


@pytest.fixture
async def recorded(db: str, settings: Settings) -> AsyncIterator[tuple[GraphQLClient, Any]]:
    """The app with a recording fake in place of the sandbox gateway."""
    gateway = RecordingGateway()
    app = create_app(
        settings,
        manage_database=False,
        gateways=GatewayRegistry({"SANDBOX": gateway}),
        run_jobs=False,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://payql.test") as http:
        yield GraphQLClient(http, settings), gateway


PAY = """
mutation Pay($input: InitiatePaymentInput!) {
  initiatePayment(input: $input) { payment { id status } errors { code } }
}
"""


async def _pending_order(api: GraphQLClient) -> str:
    shop = await make_workspace()
    product = await make_product(shop, capacity=10)
    created = await api(CREATE_ORDER, order_input(shop, (product, 1)), as_user="alice@example.com")
    return str(created.data["createOrder"]["order"]["id"])


async def test_twenty_identical_initiate_payments_with_one_key_call_the_gateway_once(
    recorded: tuple[GraphQLClient, Any],
) -> None:
    api, gateway = recorded
    order_id = await _pending_order(api)
    variables = {"input": {"orderId": order_id, "gateway": "SANDBOX", "idempotencyKey": "pay-42"}}

    results = await asyncio.gather(
        *(api(PAY, variables, as_user="alice@example.com") for _ in range(20))
    )

    payloads = [r.data["initiatePayment"] for r in results]
    assert all(p["errors"] == [] for p in payloads), payloads
    assert len({p["payment"]["id"] for p in payloads}) == 1
    assert len(gateway.calls) == 1
    assert gateway.calls[0].idempotency_key == f"payql-payment-{payloads[0]['payment']['id']}"
    assert await Payment.all().count() == 1
    assert await IdempotencyKey.filter(operation="initiatePayment").count() == 1


async def test_twenty_initiate_payments_with_different_keys_still_charge_once(
    recorded: tuple[GraphQLClient, Any],
) -> None:
    api, gateway = recorded
    order_id = await _pending_order(api)

    results = await asyncio.gather(
        *(
            api(
                PAY,
                {"input": {"orderId": order_id, "gateway": "SANDBOX", "idempotencyKey": f"k{i}"}},
                as_user="alice@example.com",
            )
            for i in range(20)
        )
    )

    ids = {r.data["initiatePayment"]["payment"]["id"] for r in results}
    assert len(ids) == 1  # one payment in flight per order, whoever asks
    assert len(gateway.calls) == 1
    assert await Payment.all().count() == 1


async def _succeeded_payment(amount: int) -> Payment:
    """A PAID order with one SUCCEEDED payment of ``amount`` through the recording gateway."""
    shop = await make_workspace()
    product = await make_product(shop, price=amount, capacity=10)
    order = await Order.create(
        number=f"PQ-{uuid4().hex[:10].upper()}",
        workspace_id=shop.id,
        customer_id=(await ensure_user_row("alice@example.com")).id,
        currency="USD",
        subtotal=amount,
        total=amount,
        amount_paid=amount,
        status=OrderStatus.PAID,
    )
    await OrderItem.create(
        order_id=order.id,
        product_id=product.id,
        product_name=product.name,
        quantity=1,
        unit_price=amount,
        line_total=amount,
        currency="USD",
    )
    return await Payment.create(
        order_id=order.id,
        workspace_id=shop.id,
        gateway=GatewayName.SANDBOX,
        status=PaymentStatus.SUCCEEDED,
        amount=amount,
        currency="USD",
        reference="rec_paid",
    )


async def ensure_user_row(email: str) -> User:
    user, _ = await User.get_or_create(id=user_id_for_email(email), defaults={"email": email})
    return user


REFUND = """
mutation R($input: RequestRefundInput!) {
  requestRefund(input: $input) { refund { id status } errors { code } }
}
"""


async def test_fifty_concurrent_refunds_never_exceed_the_payment(
    recorded: tuple[GraphQLClient, Any],
) -> None:
    # given a 1,000 payment
    api, gateway = recorded
    payment = await _succeeded_payment(1000)
    await ensure_user_row("alice@example.com")

    # when 50 refunds of 100 are requested at the same moment
    results = await asyncio.gather(
        *(
            api(
                REFUND,
                {"input": {"paymentId": str(payment.id), "amount": 100}},
                as_user="alice@example.com",
            )
            for _ in range(50)
        )
    )

    # then exactly 10 succeed, the rest are told why, and the gateway refunded exactly 1,000
    outcomes = Counter(
        r.data["requestRefund"]["refund"]["status"]
        if r.data["requestRefund"]["refund"]
        else r.data["requestRefund"]["errors"][0]["code"]
        for r in results
    )
    assert outcomes == {"SUCCEEDED": 10, "REFUND_EXCEEDS_BALANCE": 40}
    assert sum(r.amount for r in gateway.refunds) == 1000
    assert len({r.idempotency_key for r in gateway.refunds}) == 10
    after = await Payment.get(id=payment.id)
    assert (after.amount_refunded, after.refund_reserved) == (1000, 0)
    order = await Order.get(id=payment.order_id)
    assert (order.status, order.amount_refunded) == (OrderStatus.REFUNDED, 1000)


async def test_concurrent_expiry_runs_expire_each_order_once(
    recorded: tuple[GraphQLClient, Any],
) -> None:
    # given 200 orders whose holds have run out
    api, _ = recorded
    shop = await make_workspace()
    product = await make_product(shop, capacity=1000)
    for i in range(200):
        created = await api(
            CREATE_ORDER, order_input(shop, (product, 1)), as_user=f"b{i}@example.com"
        )
        assert created.data["createOrder"]["order"], created.body
    await Order.all().update(hold_expires_at=datetime.now(UTC) - timedelta(seconds=1))
    registry = api.http._transport.app.state.gateways  # type: ignore[attr-defined]

    # when four workers run the expiry job at the same moment, in batches of 30
    async def worker() -> int:
        total = 0
        while done := await expire_holds(gateways=registry, now=datetime.now(UTC), limit=30):
            total += done
        return total

    counts = await asyncio.gather(*(worker() for _ in range(4)))

    # then every order expired exactly once
    assert sum(counts) == 200
    assert await Order.filter(status=OrderStatus.EXPIRED).count() == 200
    assert await PaymentEvent.filter(type="order.expired").count() == 200
    assert (await Product.get(id=product.id)).held == 0
