"""Per-actor rate limits on money-moving mutations and seat holds, and manual-payment bounds.

Limits count calls, not time: each test makes more calls than its limit allows in a window
far longer than the test runs, and counts what got through (and what reached the gateway).
"""

import asyncio
import logging
import os
import socket
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import httpx
import pytest
from redis.asyncio import Redis

from app.main import create_app
from app.settings import Settings
from gateways.registry import GatewayRegistry
from models import Membership, Order, OrderItem, Payment, Product, User
from models.enums import GatewayName, OrderStatus, PaymentStatus
from models.workspace import user_id_for_email
from resolvers.actor import Principal
from resolvers.rate_limits import (
    KEY_PREFIX,
    UNLIMITED,
    Action,
    ActorQuota,
    RateLimited,
    RateLimiter,
    close_connections,
    forget_counts,
)
from schema.payments import quota
from tests.conftest import SECRET
from tests.fakes import RecordingGateway
from tests.helpers import (
    CREATE_ORDER,
    GraphQLClient,
    Response,
    make_product,
    make_staff,
    make_workspace,
    order_input,
)

ALICE, BOB, STAFF = "alice@example.com", "bob@example.com", "clerk@example.com"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12")

REFUND = """
mutation R($input: RequestRefundInput!) {
  requestRefund(input: $input) { refund { id status } errors { code } }
}
"""
PAY = """
mutation Pay($input: InitiatePaymentInput!) {
  initiatePayment(input: $input) { payment { id status } errors { code } }
}
"""
MANUAL = """
mutation M($input: RecordManualPaymentInput!) {
  recordManualPayment(input: $input) {
    payment { id amount { amount } } errors { code message field }
  }
}
"""


@asynccontextmanager
async def _app(**env: Any) -> AsyncIterator[tuple[GraphQLClient, RecordingGateway]]:
    """payql with ``env`` as settings and a recording fake in place of the sandbox."""
    settings = Settings(PAYQL_JWT_SECRET=SECRET, PAYQL_ENV="development", **env)
    gateway = RecordingGateway(latency=0)
    app = create_app(
        settings,
        manage_database=False,
        gateways=GatewayRegistry({"SANDBOX": gateway}),
        run_jobs=False,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://payql.test") as http:
        yield GraphQLClient(http, settings, app=app), gateway


async def _user(email: str) -> User:
    user, _ = await User.get_or_create(id=user_id_for_email(email), defaults={"email": email})
    return user


async def _paid(customer: str, amount: int = 10_000) -> Payment:
    """A PAID order of ``customer`` with one SUCCEEDED sandbox payment of ``amount``."""
    shop = await make_workspace(f"shop-{uuid4().hex[:8]}")
    product = await make_product(shop, price=amount, capacity=10)
    order = await Order.create(
        number=f"PQ-{uuid4().hex[:10].upper()}",
        workspace_id=shop.id,
        customer_id=(await _user(customer)).id,
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
        reference=f"rec_{uuid4().hex}",
    )


async def _refund(api: GraphQLClient, payment: Payment, as_user: str) -> Response:
    variables = {"input": {"paymentId": str(payment.id), "amount": 1}}
    return await api(REFUND, variables, as_user=as_user)


def _outcome(response: Response, field: str) -> str:
    if response.data[field] is not None:
        return "ok"
    (error,) = response.errors
    assert error["path"] == [field]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert isinstance(error["extensions"]["retryAfter"], int)
    return "RATE_LIMITED"


def _retry_after(response: Response) -> int:
    return int(response.errors[0]["extensions"]["retryAfter"])


async def test_one_cent_refunds_past_the_default_limit_are_refused_before_the_gateway(
    db: str,
) -> None:
    # given a customer with a paid order, and payql's default limits
    payment = await _paid(ALICE)
    async with _app() as (api, gateway):
        limit = 60  # PAYQL_RATE_LIMIT_REQUEST_REFUND's per-minute default

        # when they ask for 200 one-cent refunds at once
        results = await asyncio.gather(*(_refund(api, payment, ALICE) for _ in range(200)))

    # then the first 60 reach the gateway and the rest are refused with a retry time
    outcomes = Counter(_outcome(r, "requestRefund") for r in results)
    assert outcomes == {"ok": limit, "RATE_LIMITED": 200 - limit}
    assert len(gateway.refunds) == limit
    refused = [r for r in results if r.data["requestRefund"] is None]
    assert all(0 < _retry_after(r) <= 60 for r in refused)
    await payment.refresh_from_db()
    assert payment.amount_refunded + payment.refund_reserved == limit


async def test_another_customer_keeps_their_own_allowance(db: str) -> None:
    alice_payment, bob_payment = await _paid(ALICE), await _paid(BOB)
    async with _app(PAYQL_RATE_LIMIT_REQUEST_REFUND="2/hour") as (api, gateway):
        alice = [await _refund(api, alice_payment, ALICE) for _ in range(3)]
        bob = await _refund(api, bob_payment, BOB)

    assert [_outcome(r, "requestRefund") for r in alice] == ["ok", "ok", "RATE_LIMITED"]
    assert 3500 < _retry_after(alice[2]) <= 3600
    assert _outcome(bob, "requestRefund") == "ok"
    assert len(gateway.refunds) == 3


async def test_a_refusal_nulls_only_its_own_field(db: str) -> None:
    payment = await _paid(ALICE)
    document = """
    mutation Two($input: RequestRefundInput!) {
      first: requestRefund(input: $input) { refund { id } errors { code } }
      second: requestRefund(input: $input) { refund { id } errors { code } }
    }
    """
    async with _app(PAYQL_RATE_LIMIT_REQUEST_REFUND="1/hour") as (api, _):
        variables = {"input": {"paymentId": str(payment.id), "amount": 1}}
        response = await api(document, variables, as_user=ALICE)

    assert response.data["first"]["errors"] == []
    assert response.data["first"]["refund"]["id"]
    assert _outcome(response, "second") == "RATE_LIMITED"


async def test_initiate_and_confirm_payment_are_limited_per_actor(db: str) -> None:
    shop = await make_workspace()
    product = await make_product(shop, capacity=10)
    env = {
        "PAYQL_RATE_LIMIT_INITIATE_PAYMENT": "2/hour",
        "PAYQL_RATE_LIMIT_CONFIRM_PAYMENT": "1/hour",
    }
    async with _app(**env) as (api, gateway):
        created = await api(CREATE_ORDER, order_input(shop, (product, 1)), as_user=ALICE)
        order_id = created.data["createOrder"]["order"]["id"]
        pay = {"input": {"orderId": order_id, "gateway": "SANDBOX"}}
        tries = [await api(PAY, pay, as_user=ALICE) for _ in range(3)]
        payment_id = tries[0].data["initiatePayment"]["payment"]["id"]
        confirm = (
            "mutation C($id: ID!) { confirmPayment(input: {paymentId: $id}) { errors { code } } }"
        )
        confirms = [await api(confirm, {"id": payment_id}, as_user=ALICE) for _ in range(2)]

    assert [_outcome(r, "initiatePayment") for r in tries] == ["ok", "ok", "RATE_LIMITED"]
    assert [_outcome(r, "confirmPayment") for r in confirms] == ["ok", "RATE_LIMITED"]
    assert len(gateway.calls) == 1  # the second attempt found the first in flight


async def test_a_customer_cannot_hold_every_seat_but_staff_can(db: str) -> None:
    # given an event with 1,000 seats and payql's default seat allowance (200 per 15 minutes)
    shop = await make_workspace()
    await make_staff(STAFF, shop)
    product = await make_product(shop, capacity=1000)
    async with _app() as (api, _):
        # when a customer asks for 100 seats three times, and the box office does the same
        customer = [
            await api(CREATE_ORDER, order_input(shop, (product, 100)), as_user=ALICE)
            for _ in range(3)
        ]
        box_office = [
            await api(CREATE_ORDER, order_input(shop, (product, 100)), as_user=STAFF)
            for _ in range(3)
        ]
        small = await api(CREATE_ORDER, order_input(shop, (product, 2)), as_user=BOB)

    # then the customer's third order is refused, staff are not counted, others are not affected
    assert [_outcome(r, "createOrder") for r in customer] == ["ok", "ok", "RATE_LIMITED"]
    assert 0 < _retry_after(customer[2]) <= 15 * 60
    message = customer[2].errors[0]["message"]
    assert message.startswith("too many seats put on hold: at most 200 per 15 minute; try again")
    assert [_outcome(r, "createOrder") for r in box_office] == ["ok"] * 3
    assert small.data["createOrder"]["errors"] == []
    assert (await Product.get(id=product.id)).held == 200 + 300 + 2


async def test_manual_payments_are_limited_per_staff_member(db: str) -> None:
    shop = await make_workspace()
    await make_staff(STAFF, shop)
    product = await make_product(shop, price=5000, capacity=10)
    async with _app(PAYQL_RATE_LIMIT_MANUAL_PAYMENT="2/hour") as (api, _):
        created = await api(CREATE_ORDER, order_input(shop, (product, 1)), as_user=ALICE)
        order_id = created.data["createOrder"]["order"]["id"]
        manual = {"input": {"orderId": order_id, "amount": 1000}}
        results = [await api(MANUAL, manual, as_user=STAFF) for _ in range(3)]

    assert [_outcome(r, "recordManualPayment") for r in results] == ["ok", "ok", "RATE_LIMITED"]
    assert (await Order.get(id=order_id)).amount_paid == 2000


async def test_limits_can_be_turned_off(db: str) -> None:
    payment = await _paid(ALICE)
    env = {"PAYQL_RATE_LIMITS": "false", "PAYQL_RATE_LIMIT_REQUEST_REFUND": "1/hour"}
    async with _app(**env) as (api, gateway):
        results = [await _refund(api, payment, ALICE) for _ in range(3)]

    assert [_outcome(r, "requestRefund") for r in results] == ["ok"] * 3
    assert len(gateway.refunds) == 3


def test_a_limit_that_does_not_parse_refuses_to_start() -> None:
    settings = Settings(PAYQL_JWT_SECRET=SECRET, PAYQL_RATE_LIMIT_SEATS="lots per fortnight")

    with pytest.raises(ValueError, match="fortnight"):
        create_app(settings, manage_database=False, run_jobs=False)


def _redis_reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 1):
            return True
    except OSError:
        return False


async def test_workers_sharing_redis_count_together(db: str) -> None:
    # given two apps (as two workers would be) counting in the same Redis
    if not _redis_reachable(REDIS_URL):
        pytest.skip(f"Redis not reachable at {REDIS_URL} (set REDIS_URL)")
    await forget_counts(REDIS_URL)
    payment = await _paid(ALICE)
    env = {"REDIS_URL": REDIS_URL, "PAYQL_RATE_LIMIT_REQUEST_REFUND": "3/hour"}
    async with _app(**env) as (first, _), _app(**env) as (second, _):
        # when the customer spreads four refunds over both
        results = [
            await _refund(first, payment, ALICE),
            await _refund(second, payment, ALICE),
            await _refund(first, payment, ALICE),
            await _refund(second, payment, ALICE),
        ]

    # then the fourth is refused: the allowance is one, wherever the request lands
    assert [_outcome(r, "requestRefund") for r in results] == ["ok"] * 3 + ["RATE_LIMITED"]
    client = Redis.from_url(REDIS_URL)
    try:
        assert [key async for key in client.scan_iter(match=f"{KEY_PREFIX}*")]
    finally:
        await client.aclose()
    await forget_counts(REDIS_URL)
    await close_connections()


async def test_an_unreachable_redis_lets_payments_through_and_says_so(
    db: str, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    payment = await _paid(ALICE)
    env = {"REDIS_URL": f"redis://127.0.0.1:{port}/0", "PAYQL_RATE_LIMIT_REQUEST_REFUND": "1/hour"}
    async with _app(**env) as (api, gateway):
        logger = logging.getLogger("payql.rate_limits")  # "payql" does not propagate
        logger.addHandler(caplog.handler)
        try:
            results = [await _refund(api, payment, ALICE) for _ in range(2)]
        finally:
            logger.removeHandler(caplog.handler)

    assert [_outcome(r, "requestRefund") for r in results] == ["ok", "ok"]
    assert len(gateway.refunds) == 2
    assert [r.getMessage() for r in caplog.records] == [
        "rate limit storage unavailable (ConnectionError); requestRefund allowed unchecked"
    ] * 2


# ---------------------------------------------------------------- manual payment bounds
async def _pending(api: GraphQLClient, price: int = 6600, quantity: int = 2) -> str:
    shop = await make_workspace(f"shop-{uuid4().hex[:8]}")
    await Membership.create(user_id=(await _user(STAFF)).id, workspace_id=shop.id)
    product = await make_product(shop, price=price, capacity=10)
    created = await api(CREATE_ORDER, order_input(shop, (product, quantity)), as_user=ALICE)
    return str(created.data["createOrder"]["order"]["id"])


@pytest.mark.parametrize("allow", [False, True])
async def test_an_absurd_manual_payment_is_a_typed_error(db: str, allow: bool) -> None:
    async with _app() as (api, _):
        order_id = await _pending(api)  # $132.00
        manual = {"orderId": order_id, "amount": str(2**63 - 1), "allowOverpayment": allow}
        response = await api(MANUAL, {"input": manual}, as_user=STAFF)

    assert response.errors == []
    payload = response.data["recordManualPayment"]
    assert payload["payment"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("OVERPAYMENT", ["input", "amount"])
    ]
    assert (await Order.get(id=order_id)).amount_paid == 0


async def test_an_overpayment_is_bounded_by_the_order_total(db: str) -> None:
    async with _app() as (api, _):
        too_much = await _pending(api)
        most = await _pending(api)
        over = {"orderId": too_much, "amount": 2 * 13_200 + 1, "allowOverpayment": True}
        refused = await api(MANUAL, {"input": over}, as_user=STAFF)
        top = {"orderId": most, "amount": 2 * 13_200, "allowOverpayment": True}
        accepted = await api(MANUAL, {"input": top}, as_user=STAFF)

    assert refused.data["recordManualPayment"]["errors"][0]["code"] == "OVERPAYMENT"
    assert "$264.00" in refused.data["recordManualPayment"]["errors"][0]["message"]
    assert accepted.data["recordManualPayment"]["errors"] == []
    order = await Order.get(id=most)
    assert (order.status, order.amount_paid) == (OrderStatus.PAID, 26_400)


async def test_a_long_beyond_64_bits_is_a_typed_error(db: str) -> None:
    async with _app() as (api, _):
        order_id = await _pending(api)
        manual = {"orderId": order_id, "amount": str(2**63)}
        response = await api(MANUAL, {"input": manual}, as_user=STAFF)

    assert response.status == 200
    assert "64 bits" in response.errors[0]["message"]
    assert "INTERNAL_SERVER_ERROR" not in str(response.body)


# ---------------------------------------------------------------- who an actor is
def _info(request: object, principal: Principal | None) -> Any:
    return SimpleNamespace(context=SimpleNamespace(request=request, principal=principal))


def test_a_caller_is_counted_by_user_id_or_else_by_address() -> None:
    limiter = RateLimiter({Action.REQUEST_REFUND: "1/hour"})
    app = SimpleNamespace(state=SimpleNamespace(rate_limiter=limiter))
    request = SimpleNamespace(app=app, client=SimpleNamespace(host="203.0.113.9"))
    principal = Principal(email=ALICE)

    signed_in = quota(_info(request, principal))
    anonymous = quota(_info(request, None))
    outside_the_app = quota(_info(None, None))

    assert isinstance(signed_in, ActorQuota)
    assert signed_in.actor_key == f"user:{principal.user_id}"
    assert isinstance(anonymous, ActorQuota)
    assert anonymous.actor_key == "ip:203.0.113.9"
    assert outside_the_app is UNLIMITED


async def test_two_addresses_have_separate_allowances() -> None:
    limiter = RateLimiter({Action.REQUEST_REFUND: "1/hour"})

    await limiter.quota("ip:203.0.113.9").spend(Action.REQUEST_REFUND)
    await limiter.quota("ip:203.0.113.10").spend(Action.REQUEST_REFUND)
    with pytest.raises(RateLimited) as refused:
        await limiter.quota("ip:203.0.113.9").spend(Action.REQUEST_REFUND)

    assert 3500 < refused.value.retry_after <= 3600


def test_a_limiter_served_by_a_new_event_loop_still_counts_in_redis() -> None:
    if not _redis_reachable(REDIS_URL):
        pytest.skip(f"Redis not reachable at {REDIS_URL} (set REDIS_URL)")
    limiter = RateLimiter({Action.CONFIRM_PAYMENT: "1/hour"}, redis_url=REDIS_URL)
    actor = limiter.quota(f"user:{uuid4()}")

    async def confirm() -> None:
        try:
            await actor.spend(Action.CONFIRM_PAYMENT)
        finally:
            await close_connections()  # this loop ends here; its connections with it

    asyncio.run(confirm())
    with pytest.raises(RateLimited):
        asyncio.run(confirm())
    asyncio.run(forget_counts(REDIS_URL))
