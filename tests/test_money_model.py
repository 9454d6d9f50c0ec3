"""A stateful property test of the money lifecycle, through the GraphQL API.

Hypothesis draws a sequence of steps — pay (succeeding or declined cards, a card whose
refunds fail), record cash, refund (partial, full, too much), deliver the sandbox's pending
webhooks in a drawn order, replay an already delivered webhook (duplicates, stale
out-of-order outcomes), expire the hold — and after *every* step checks the invariants:

- per payment, Σ non-failed refunds = refunded + reserved ≤ captured, and nothing negative;
- the order's ``amount_paid`` / ``amount_refunded`` are the sums of its payments / refunds;
- the order's status agrees with those sums (PENDING: what it keeps is short of the total;
  PAID: it covers the total; PARTIALLY_REFUNDED: some returned and no longer covered;
  REFUNDED: everything returned);
- the gateway never refunded more than it captured.

Webhooks are held in a queue instead of being sent, so every run is deterministic and
Hypothesis can shrink a failure to the shortest sequence that shows it. (Written with
``@given`` over a list of steps rather than ``RuleBasedStateMachine``: the steps are
coroutines on the session's event loop, which the state-machine runner cannot await.)
"""

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import Order, Payment, Refund
from models.enums import OrderStatus, PaymentStatus, RefundStatus
from resolvers.expiry import expire_holds
from tests.helpers import CREATE_ORDER, GraphQLClient, make_product, make_staff, make_workspace

BUYER = "ann@example.com"
STAFF = "clerk@example.com"
PAY = """
mutation Pay($input: InitiatePaymentInput!) {
  initiatePayment(input: $input) { payment { id } errors { code } }
}
"""
REFUND = """
mutation R($input: RequestRefundInput!) { requestRefund(input: $input) { errors { code } } }
"""
MANUAL = """
mutation M($input: RecordManualPaymentInput!) {
  recordManualPayment(input: $input) { errors { code } }
}
"""
EXPECTED_REFUSALS = {
    "ORDER_NOT_PAYABLE",
    "REFUND_EXCEEDS_BALANCE",
    "PAYMENT_NOT_REFUNDABLE",
    "OVERPAYMENT",
}


class HeldWebhooks:
    """A sandbox sender that keeps every webhook until the test delivers it."""

    def __init__(self) -> None:
        self.queue: list[tuple[bytes, dict[str, str]]] = []
        self.delivered: list[tuple[bytes, dict[str, str]]] = []

    async def send(self, body: bytes, headers: Mapping[str, str]) -> None:
        self.queue.append((body, dict(headers)))


steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("pay"),
            st.sampled_from(["pm_card_visa", "pm_card_chargeDeclined", "pm_card_refundFail"]),
        ),
        st.tuples(st.just("cash"), st.integers(min_value=1, max_value=3000)),
        st.tuples(st.just("refund"), st.one_of(st.none(), st.integers(-10, 3000))),
        st.tuples(st.just("deliver"), st.integers(min_value=0, max_value=1000)),
        st.tuples(st.just("replay"), st.integers(min_value=0, max_value=1000)),
        st.tuples(st.just("expire"), st.just(0)),
    ),
    min_size=1,
    max_size=14,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=steps)
async def test_money_invariants_hold_after_every_step(
    api: GraphQLClient, plan: list[tuple[str, Any]]
) -> None:
    held = HeldWebhooks()
    api.sandbox.sender = held
    api.sandbox.delay = 0.0
    shop = await make_workspace(f"m-{uuid4().hex[:10]}")
    await make_staff(f"{shop.slug}-{STAFF}", shop)
    product = await make_product(shop, price=2500, capacity=5)
    # A buyer per example: the per-caller rate limits count across examples (in Redis too).
    buyer = f"{shop.slug}-{BUYER}"
    created = await api(
        CREATE_ORDER,
        {
            "input": {
                "workspaceId": str(shop.id),
                "items": [{"productId": str(product.id), "quantity": 2}],
            }
        },
        as_user=buyer,
    )
    order_id = created.data["createOrder"]["order"]["id"]
    staff = f"{shop.slug}-{STAFF}"

    for step, value in plan:
        await _run(api, held, step, value, order_id, staff, buyer)
        await api.sandbox.drain()  # scheduled webhooks reach the queue
        await _check_invariants(api, order_id)


async def _run(
    api: GraphQLClient,
    held: HeldWebhooks,
    step: str,
    value: Any,
    order_id: str,
    staff: str,
    buyer: str = BUYER,
) -> None:
    if step == "pay":
        answer = await api(
            PAY,
            {"input": {"orderId": order_id, "gateway": "SANDBOX", "paymentMethodToken": value}},
            as_user=buyer,
        )
        _expected(answer.data["initiatePayment"]["errors"])
    elif step == "cash":
        answer = await api(MANUAL, {"input": {"orderId": order_id, "amount": value}}, as_user=staff)
        _expected(answer.data["recordManualPayment"]["errors"])
    elif step == "refund":
        payments = await Payment.filter(order_id=order_id).order_by("attempt")
        if not payments:
            return
        target = payments[-1]
        fields: dict[str, Any] = {"paymentId": str(target.id)}
        if value is not None:
            fields["amount"] = value
        answer = await api(REFUND, {"input": fields}, as_user=staff)
        errors = answer.data["requestRefund"]["errors"]
        if value is not None and value <= 0:
            assert errors[0]["code"] == "VALIDATION"
        else:
            _expected(errors)
    elif step == "deliver" and held.queue:
        body, headers = held.queue.pop(value % len(held.queue))
        await _post(api, body, headers)
        held.delivered.append((body, headers))
    elif step == "replay" and held.delivered:
        body, headers = held.delivered[value % len(held.delivered)]
        response = await _post(api, body, headers)
        assert response["status"] == "duplicate"
    elif step == "expire":
        await Order.filter(id=order_id).update(
            hold_expires_at=datetime.now(UTC) - timedelta(seconds=1)
        )
        await expire_holds(gateways=api.app.state.gateways, now=datetime.now(UTC))


async def _post(api: GraphQLClient, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    response = await api.http.post("/webhooks/sandbox", content=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _expected(errors: list[dict[str, Any]]) -> None:
    assert all(e["code"] in EXPECTED_REFUSALS for e in errors), errors


async def _check_invariants(api: GraphQLClient, order_id: str) -> None:
    order = await Order.get(id=order_id)
    payments = await Payment.filter(order_id=order_id)
    refunds = await Refund.filter(order_id=order_id)
    captured = 0
    for payment in payments:
        mine = [r for r in refunds if r.payment_id == payment.id]
        succeeded = sum(r.amount for r in mine if r.status is RefundStatus.SUCCEEDED)
        pending = sum(r.amount for r in mine if r.status is RefundStatus.PENDING)
        assert min(payment.amount, payment.amount_refunded, payment.refund_reserved) >= 0
        assert payment.amount_refunded == succeeded
        assert payment.refund_reserved == pending
        assert succeeded + pending <= payment.amount
        if payment.status is not PaymentStatus.SUCCEEDED:
            assert succeeded + pending == 0
        else:
            captured += payment.amount
    assert all(r.amount > 0 for r in refunds)
    refunded = sum(r.amount for r in refunds if r.status is RefundStatus.SUCCEEDED)
    assert order.amount_paid == captured
    assert order.amount_refunded == refunded
    assert refunded <= captured
    kept, status = captured - refunded, order.status
    if status is OrderStatus.PENDING:
        assert kept < order.total
    elif status is OrderStatus.PAID:
        assert kept >= order.total
    elif status is OrderStatus.PARTIALLY_REFUNDED:
        assert 0 < refunded < captured
        assert kept < order.total
    elif status is OrderStatus.REFUNDED:
        assert refunded >= captured > 0
    gateway_refunds = sum(
        r.amount or 0
        for r in api.sandbox._refunds.values()
        if r.state.value != "FAILED" and r.refund_id in {str(x.id) for x in refunds}
    )
    assert gateway_refunds <= captured


async def test_a_refunded_deposit_is_still_owed(api: GraphQLClient) -> None:
    # Cash 20.00, 10.00 of it handed back, cash 30.00: the order keeps 40.00 of 50.00, so it
    # stays PENDING with 10.00 due (counting paid without refunds would call it PAID).
    held = HeldWebhooks()
    api.sandbox.sender = held
    shop = await make_workspace("deposit")
    await make_staff(STAFF, shop)
    product = await make_product(shop, price=2500, capacity=5)
    created = await api(
        CREATE_ORDER,
        {
            "input": {
                "workspaceId": str(shop.id),
                "items": [{"productId": str(product.id), "quantity": 2}],
            }
        },
        as_user=BUYER,
    )
    order_id = created.data["createOrder"]["order"]["id"]

    for step, value in [("cash", 2000), ("refund", 1000), ("cash", 3000)]:
        await _run(api, held, step, value, order_id, STAFF)
        await _check_invariants(api, order_id)
    owed = await Order.get(id=order_id)
    await _run(api, held, "cash", 1000, order_id, STAFF)

    assert (owed.status, owed.balance_due) == (OrderStatus.PENDING, 1000)
    paid = await Order.get(id=order_id)
    assert (paid.status, paid.amount_paid, paid.amount_refunded) == (OrderStatus.PAID, 6000, 1000)
