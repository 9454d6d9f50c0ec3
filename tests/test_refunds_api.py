"""Refunds, disputes and gateway fees through the GraphQL API and the sandbox."""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from models import Order, Payment, PaymentEvent, Product, Refund, Workspace
from models.enums import OrderStatus, RefundStatus
from tests.helpers import (
    CREATE_ORDER,
    GraphQLClient,
    make_product,
    make_staff,
    make_workspace,
    order_input,
)

BUYER = "ann@example.com"
STAFF = "clerk@example.com"

PAY = """
mutation Pay($input: InitiatePaymentInput!) {
  initiatePayment(input: $input) { payment { id status } errors { code } }
}
"""
REFUND = """
mutation Refund($input: RequestRefundInput!) {
  requestRefund(input: $input) {
    refund { id status amount { amount } reason description failureCode paymentId }
    errors { code message field }
  }
}
"""
ORDER = """
query Order($id: ID!) {
  order(id: $id) {
    status amountPaid { amount } amountRefunded { amount }
    payments {
      id status amountRefunded { amount } gatewayFee { amount currency }
      refunds { status amount { amount } }
      disputes { status amount { amount } reason }
    }
    refunds { status amount { amount } reason }
    disputes { status }
    events { type toStatus }
  }
}
"""


async def _paid(
    api: GraphQLClient, method: str = "pm_card_visa", *, price: int = 2500, **product: Any
) -> dict[str, Any]:
    """An order of 2 × price, paid through the sandbox; returns ids and the workspace."""
    shop = await make_workspace(f"shop-{uuid4().hex[:8]}")
    item = await make_product(shop, price=price, capacity=10, **product)
    created = await api(CREATE_ORDER, order_input(shop, (item, 2)), as_user=BUYER)
    order_id = created.data["createOrder"]["order"]["id"]
    paid = await api(
        PAY,
        {"input": {"orderId": order_id, "gateway": "SANDBOX", "paymentMethodToken": method}},
        as_user=BUYER,
    )
    await api.sandbox.drain()
    payment_id = paid.data["initiatePayment"]["payment"]["id"]
    return {"order_id": order_id, "payment_id": payment_id, "shop": shop, "product": item}


async def _refund(
    api: GraphQLClient, payment_id: str, as_user: str = BUYER, **fields: Any
) -> dict[str, Any]:
    response = await api(REFUND, {"input": {"paymentId": payment_id, **fields}}, as_user=as_user)
    return response.data["requestRefund"]  # type: ignore[no-any-return]


async def _read(api: GraphQLClient, order_id: str, as_user: str = BUYER) -> dict[str, Any]:
    return (await api(ORDER, {"id": order_id}, as_user=as_user)).data["order"]  # type: ignore[no-any-return]


async def test_a_full_refund_by_default_refunds_the_order_and_frees_the_seats(
    api: GraphQLClient,
) -> None:
    paid = await _paid(api)
    assert (await Product.get(id=paid["product"].id)).held == 2

    answer = await _refund(api, paid["payment_id"], description="can't come")
    assert answer["errors"] == []
    assert answer["refund"]["status"] == "PENDING"  # the sandbox settles it by webhook
    assert answer["refund"]["amount"] == {"amount": 5000}
    assert answer["refund"]["reason"] == "REQUESTED_BY_CUSTOMER"
    await api.sandbox.drain()

    order = await _read(api, paid["order_id"])
    assert order["status"] == "REFUNDED"
    assert order["amountRefunded"] == {"amount": 5000}
    assert order["payments"][0]["amountRefunded"] == {"amount": 5000}
    assert order["refunds"] == [
        {"status": "SUCCEEDED", "amount": {"amount": 5000}, "reason": "REQUESTED_BY_CUSTOMER"}
    ]
    assert [e["type"] for e in order["events"]][-3:] == [
        "refund.requested",
        "refund.succeeded",
        "order.refunded",
    ]
    assert (await Product.get(id=paid["product"].id)).held == 0
    assert (await Payment.get(id=paid["payment_id"])).refund_reserved == 0


async def test_partial_refunds_then_the_rest(api: GraphQLClient) -> None:
    paid = await _paid(api)

    first = await _refund(api, paid["payment_id"], amount=1500)
    await api.sandbox.drain()
    partly = await _read(api, paid["order_id"])
    rest = await _refund(api, paid["payment_id"])
    await api.sandbox.drain()

    assert first["refund"]["amount"] == {"amount": 1500}
    assert partly["status"] == "PARTIALLY_REFUNDED"
    assert partly["amountRefunded"] == {"amount": 1500}
    assert rest["refund"]["amount"] == {"amount": 3500}
    assert (await _read(api, paid["order_id"]))["status"] == "REFUNDED"
    nothing_left = await _refund(api, paid["payment_id"], amount=1)
    assert nothing_left["errors"][0]["code"] == "REFUND_EXCEEDS_BALANCE"


async def test_a_pending_refund_counts_against_the_balance(api: GraphQLClient) -> None:
    paid = await _paid(api)

    first = await _refund(api, paid["payment_id"], amount=4000)  # still PENDING here
    second = await _refund(api, paid["payment_id"], amount=1001)
    exact = await _refund(api, paid["payment_id"], amount=1000)
    await api.sandbox.drain()

    assert first["refund"]["status"] == "PENDING"
    assert second["refund"] is None
    assert second["errors"] == [
        {
            "code": "REFUND_EXCEEDS_BALANCE",
            "message": "$10.00 is left to refund",
            "field": ["input", "amount"],
        }
    ]
    assert exact["errors"] == []
    assert (await _read(api, paid["order_id"]))["status"] == "REFUNDED"


async def test_a_refund_the_gateway_fails_releases_its_reservation(api: GraphQLClient) -> None:
    paid = await _paid(api, "pm_card_refundFail")

    answer = await _refund(api, paid["payment_id"], amount=2000)
    await api.sandbox.drain()

    order = await _read(api, paid["order_id"])
    assert answer["errors"] == []
    assert order["status"] == "PAID"
    assert order["amountRefunded"] == {"amount": 0}
    refund = await Refund.get(id=answer["refund"]["id"])
    assert refund.status is RefundStatus.FAILED
    assert refund.failure_code == "refund_failed"
    payment = await Payment.get(id=paid["payment_id"])
    assert (payment.refund_reserved, payment.amount_refunded) == (0, 0)
    assert "refund.failed" in [e["type"] for e in order["events"]]
    # The whole amount can be asked for again.
    assert (await _refund(api, paid["payment_id"]))["refund"]["amount"] == {"amount": 5000}


async def test_a_duplicate_refund_webhook_changes_nothing(api: GraphQLClient) -> None:
    paid = await _paid(api)
    answer = await _refund(api, paid["payment_id"], amount=1000)
    await api.sandbox.drain()
    refund = await Refund.get(id=answer["refund"]["id"])
    from gateways.base import RefundResult, RefundState

    body = api.sandbox.refund_webhook_body(
        RefundResult(
            state=RefundState.SUCCEEDED,
            reference=refund.gateway_refund_id or "",
            refund_id=str(refund.id),
            amount=1000,
        )
    )
    response = await api.http.post(
        "/webhooks/sandbox", content=body, headers=api.sandbox.signed_headers(body)
    )

    assert response.json() == {"status": "processed"}
    assert (await Order.get(id=paid["order_id"])).amount_refunded == 1000
    assert (await Payment.get(id=paid["payment_id"])).amount_refunded == 1000
    assert await PaymentEvent.filter(type="refund.succeeded").count() == 1


async def test_customer_refunds_close_when_the_event_starts_but_staff_can(
    api: GraphQLClient,
) -> None:
    paid = await _paid(api)
    await make_staff(STAFF, paid["shop"])
    await Product.filter(id=paid["product"].id).update(
        starts_at=datetime.now(UTC) - timedelta(minutes=1)
    )

    customer = await _refund(api, paid["payment_id"])
    staff = await _refund(api, paid["payment_id"], as_user=STAFF, reason="EVENT_CANCELLED")

    assert customer["errors"][0]["code"] == "REFUND_NOT_ALLOWED"
    assert staff["errors"] == []
    assert staff["refund"]["reason"] == "EVENT_CANCELLED"
    await api.sandbox.drain()
    assert await Refund.all().count() == 1


async def test_a_workspace_can_turn_customer_refunds_off(api: GraphQLClient) -> None:
    paid = await _paid(api)
    await Workspace.filter(id=paid["shop"].id).update(customer_refunds_allowed=False)

    refused = await _refund(api, paid["payment_id"])

    assert refused["errors"][0]["code"] == "REFUND_NOT_ALLOWED"
    assert await Refund.all().count() == 0


async def test_bad_refund_requests_are_typed_errors_and_write_nothing(
    api: GraphQLClient,
) -> None:
    paid = await _paid(api)
    failed = await _paid(api, "pm_card_chargeDeclined")
    before = await PaymentEvent.all().count()

    zero = await _refund(api, paid["payment_id"], amount=0)
    negative = await _refund(api, paid["payment_id"], amount=-5)
    too_much = await _refund(api, paid["payment_id"], amount=5001)
    not_paid = await _refund(api, failed["payment_id"])
    stranger = await _refund(api, paid["payment_id"], as_user="eve@example.com")
    malformed = await _refund(api, "nope")

    assert zero["errors"][0]["code"] == "VALIDATION"
    assert zero["errors"][0]["field"] == ["input", "amount"]
    assert negative["errors"][0]["code"] == "VALIDATION"
    assert too_much["errors"][0]["code"] == "REFUND_EXCEEDS_BALANCE"
    assert not_paid["errors"][0]["code"] == "PAYMENT_NOT_REFUNDABLE"
    assert stranger["errors"][0]["code"] == "NOT_FOUND"
    assert malformed["errors"][0]["code"] == "INVALID_ID"
    assert await Refund.all().count() == 0
    assert await PaymentEvent.all().count() == before
    payment = await Payment.get(id=paid["payment_id"])
    assert (payment.refund_reserved, payment.amount_refunded) == (0, 0)


async def test_refund_idempotency_key(api: GraphQLClient) -> None:
    paid = await _paid(api)

    first = await _refund(api, paid["payment_id"], amount=1000, idempotencyKey="r1")
    again = await _refund(api, paid["payment_id"], amount=1000, idempotencyKey="r1")
    other = await _refund(api, paid["payment_id"], amount=2000, idempotencyKey="r1")
    await api.sandbox.drain()

    assert again["refund"]["id"] == first["refund"]["id"]
    assert other["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await Refund.all().count() == 1


async def test_a_dispute_blocks_refunds_until_it_closes(api: GraphQLClient) -> None:
    paid = await _paid(api, "pm_card_createDispute")
    await make_staff(STAFF, paid["shop"])

    opened = await _read(api, paid["order_id"])
    blocked = await _refund(api, paid["payment_id"], as_user=STAFF)
    payment = await Payment.get(id=paid["payment_id"])
    api.sandbox.close_dispute(payment.reference or "", won=True)
    await api.sandbox.drain()
    closed = await _read(api, paid["order_id"])
    allowed = await _refund(api, paid["payment_id"], as_user=STAFF, amount=100)
    await api.sandbox.drain()

    assert opened["status"] == "PAID"
    assert opened["disputes"] == [{"status": "OPEN"}]
    assert opened["payments"][0]["disputes"] == [
        {"status": "OPEN", "amount": {"amount": 5000}, "reason": "fraudulent"}
    ]
    assert blocked["errors"][0]["code"] == "DISPUTE_OPEN"
    assert closed["disputes"] == [{"status": "WON"}]
    types = [e["type"] for e in closed["events"]]
    assert types.count("dispute.opened") == 1
    assert types.count("dispute.closed") == 1
    assert allowed["errors"] == []


async def test_the_gateway_fee_is_recorded_per_payment(api: GraphQLClient) -> None:
    paid = await _paid(api, price=1999)  # 2 × 19.99 = 39.98; 2.9 % = 1.1594 → 1.16

    order = await _read(api, paid["order_id"])

    assert order["payments"][0]["gatewayFee"] == {"amount": 116, "currency": "USD"}
    assert (await Order.get(id=paid["order_id"])).status is OrderStatus.PAID
