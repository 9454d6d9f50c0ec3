"""Manual (staff-entered) payments, complimentary orders and hold expiry."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models import Order, Payment, PaymentEvent, Product, Refund
from models.enums import OrderStatus, PaymentStatus, RefundReason, RefundStatus
from resolvers import payments
from resolvers.expiry import expire_holds
from tests.helpers import (
    CREATE_ORDER,
    GraphQLClient,
    make_product,
    make_staff,
    make_voucher,
    make_workspace,
    order_input,
)

BUYER = "ann@example.com"
STAFF = "clerk@example.com"

MANUAL = """
mutation M($input: RecordManualPaymentInput!) {
  recordManualPayment(input: $input) {
    payment { id gateway status amount { amount } reference note }
    errors { code message field }
  }
}
"""
REFUND = """
mutation R($input: RequestRefundInput!) {
  requestRefund(input: $input) { refund { status amount { amount } } errors { code } }
}
"""
PAY = """
mutation Pay($input: InitiatePaymentInput!) {
  initiatePayment(input: $input) { payment { id status } errors { code } }
}
"""


async def _order(api: GraphQLClient, quantity: int = 2, **product: Any) -> tuple[Any, Any, str]:
    shop = await make_workspace()
    await make_staff(STAFF, shop)
    item = await make_product(shop, **{"price": 2500, "capacity": 10, **product})
    created = await api(CREATE_ORDER, order_input(shop, (item, quantity)), as_user=BUYER)
    order = created.data["createOrder"]["order"]
    assert order is not None, created.body
    return shop, item, order["id"]


async def _manual(api: GraphQLClient, order_id: str, amount: int, **extra: Any) -> dict[str, Any]:
    as_user = extra.pop("as_user", STAFF)
    response = await api(
        MANUAL, {"input": {"orderId": order_id, "amount": amount, **extra}}, as_user=as_user
    )
    return response.data["recordManualPayment"]  # type: ignore[no-any-return]


async def test_manual_payments_accumulate_until_the_order_is_paid(api: GraphQLClient) -> None:
    _, _, order_id = await _order(api)  # total 5000

    first = await _manual(api, order_id, 2000, reference="cash drawer 3", note="deposit")
    between = await Order.get(id=order_id)
    second = await _manual(api, order_id, 3000, reference="TRF-118")

    assert first["errors"] == []
    assert first["payment"]["gateway"] == "MANUAL"
    assert first["payment"]["status"] == "SUCCEEDED"
    assert first["payment"]["note"] == "deposit"
    assert (between.status, between.amount_paid) == (OrderStatus.PENDING, 2000)
    assert second["errors"] == []
    order = await Order.get(id=order_id)
    assert (order.status, order.amount_paid) == (OrderStatus.PAID, 5000)
    payment = await Payment.get(id=first["payment"]["id"])
    assert payment.reference == "cash drawer 3"
    who = "query P($id: ID!) { payment(id: $id) { recordedBy } }"
    as_staff = await api(who, {"id": str(payment.id)}, as_user=STAFF)
    as_buyer = await api(who, {"id": str(payment.id)}, as_user=BUYER)
    assert as_staff.data["payment"]["recordedBy"] == STAFF
    assert as_buyer.data["payment"]["recordedBy"] is None


async def test_overpaying_needs_an_explicit_yes(api: GraphQLClient) -> None:
    _, _, order_id = await _order(api)

    refused = await _manual(api, order_id, 6000)
    accepted = await _manual(api, order_id, 6000, allowOverpayment=True)

    assert refused["errors"] == [
        {
            "code": "OVERPAYMENT",
            "message": "the balance due is $50.00; set allowOverpayment to record more",
            "field": ["input", "amount"],
        }
    ]
    assert accepted["errors"] == []
    order = await Order.get(id=order_id)
    assert (order.status, order.amount_paid) == (OrderStatus.PAID, 6000)


async def test_manual_payment_bad_input_writes_nothing(api: GraphQLClient) -> None:
    _, _, order_id = await _order(api)

    customer = await _manual(api, order_id, 100, as_user=BUYER)
    stranger = await _manual(api, order_id, 100, as_user="eve@example.com")
    zero = await _manual(api, order_id, 0)
    negative = await _manual(api, order_id, -1)

    assert customer["errors"][0]["code"] == "FORBIDDEN"
    assert stranger["errors"][0]["code"] == "NOT_FOUND"
    assert zero["errors"][0]["code"] == "VALIDATION"
    assert negative["errors"][0]["field"] == ["input", "amount"]
    assert await Payment.all().count() == 0
    assert (await Order.get(id=order_id)).amount_paid == 0


async def test_manual_payments_are_refunded_by_staff_without_a_gateway(
    api: GraphQLClient,
) -> None:
    _, _, order_id = await _order(api)
    paid = await _manual(api, order_id, 5000)
    payment_id = paid["payment"]["id"]

    by_customer = await api(REFUND, {"input": {"paymentId": payment_id}}, as_user=BUYER)
    by_staff = await api(
        REFUND, {"input": {"paymentId": payment_id, "amount": 2000}}, as_user=STAFF
    )

    assert by_customer.data["requestRefund"]["errors"][0]["code"] == "REFUND_NOT_ALLOWED"
    assert by_staff.data["requestRefund"]["refund"] == {
        "status": "SUCCEEDED",
        "amount": {"amount": 2000},
    }
    order = await Order.get(id=order_id)
    assert (order.status, order.amount_refunded) == (OrderStatus.PARTIALLY_REFUNDED, 2000)


async def test_a_free_order_is_paid_at_creation_with_a_comp_payment(api: GraphQLClient) -> None:
    shop = await make_workspace()
    free = await make_product(shop, price=0, capacity=10)

    created = await api(CREATE_ORDER, order_input(shop, (free, 3)), as_user=BUYER)

    order = created.data["createOrder"]["order"]
    assert order["status"] == "PAID"
    assert order["total"]["amount"] == 0
    assert order["holdExpiresAt"] is None
    payments = await Payment.filter(order_id=order["id"])
    assert [(p.gateway.value, p.status, p.amount) for p in payments] == [
        ("COMP", PaymentStatus.SUCCEEDED, 0)
    ]
    assert [e["type"] for e in order["events"]] == [
        "order.created",
        "payment.succeeded",
        "order.paid",
    ]
    assert (await Product.get(id=free.id)).held == 3  # the seats are taken for good


async def test_a_hundred_percent_voucher_makes_a_comp(api: GraphQLClient) -> None:
    shop = await make_workspace(tax_bps=750, fee_bps=300)
    item = await make_product(shop, price=2500)
    await make_voucher(shop, "FREE", percent_off=100)

    created = await api(
        CREATE_ORDER, order_input(shop, (item, 1), voucherCode="FREE"), as_user=BUYER
    )

    order = created.data["createOrder"]["order"]
    assert (order["status"], order["total"]["amount"]) == ("PAID", 0)
    paying = await api(
        PAY,
        {
            "input": {
                "orderId": order["id"],
                "gateway": "SANDBOX",
                "paymentMethodToken": "pm_card_visa",
            }
        },
        as_user=BUYER,
    )
    assert paying.data["initiatePayment"]["errors"][0]["code"] == "ORDER_NOT_PAYABLE"


async def _overdue(order_id: str) -> None:
    await Order.filter(id=order_id).update(hold_expires_at=datetime.now(UTC) - timedelta(seconds=1))


async def _pay(api: GraphQLClient, order_id: str, token: str | None = None) -> str:
    payload: dict[str, Any] = {"orderId": order_id, "gateway": "SANDBOX"}
    if token:
        payload["paymentMethodToken"] = token
    response = await api(PAY, {"input": payload}, as_user=BUYER)
    return str(response.data["initiatePayment"]["payment"]["id"])


async def test_expiry_cancels_the_payment_in_flight_and_frees_the_seats(
    api: GraphQLClient,
) -> None:
    _, item, order_id = await _order(api)
    payment_id = await _pay(api, order_id)  # hosted checkout, never visited
    await _overdue(order_id)

    expired = await expire_holds(gateways=api.app.state.gateways, now=datetime.now(UTC))
    again = await expire_holds(gateways=api.app.state.gateways, now=datetime.now(UTC))

    assert (expired, again) == (1, 0)
    order = await Order.get(id=order_id)
    assert order.status is OrderStatus.EXPIRED
    assert order.expired_at is not None
    assert (await Payment.get(id=payment_id)).status is PaymentStatus.CANCELLED
    assert (await Product.get(id=item.id)).held == 0
    types = [e.type for e in await PaymentEvent.filter(order_id=order_id).order_by("id")]
    assert types[-2:] == ["order.expired", "payment.cancelled"]
    assert types.count("order.expired") == 1


async def test_orders_within_their_hold_are_left_alone(api: GraphQLClient) -> None:
    _, _, order_id = await _order(api)

    assert await expire_holds(gateways=api.app.state.gateways, now=datetime.now(UTC)) == 0
    assert (await Order.get(id=order_id)).status is OrderStatus.PENDING


async def test_a_late_success_pays_the_expired_order_when_its_seats_are_free(
    api: GraphQLClient,
) -> None:
    api.sandbox.processing_delay = 0.3
    _, item, order_id = await _order(api)
    payment_id = await _pay(api, order_id, "pm_card_processing")  # cannot be cancelled
    await _overdue(order_id)
    await expire_holds(gateways=api.app.state.gateways, now=datetime.now(UTC))
    assert (await Order.get(id=order_id)).status is OrderStatus.EXPIRED

    await api.sandbox.drain()  # the success arrives after expiry

    order = await Order.get(id=order_id)
    assert (order.status, order.amount_paid) == (OrderStatus.PAID, 5000)
    assert (await Payment.get(id=payment_id)).status is PaymentStatus.SUCCEEDED
    assert (await Product.get(id=item.id)).held == 2
    assert await Refund.all().count() == 0


async def test_a_late_success_is_refunded_when_the_seats_are_gone(api: GraphQLClient) -> None:
    api.sandbox.processing_delay = 0.3
    _, item, order_id = await _order(api, capacity=2)
    payment_id = await _pay(api, order_id, "pm_card_processing")
    await _overdue(order_id)
    await expire_holds(gateways=api.app.state.gateways, now=datetime.now(UTC))
    await Product.filter(id=item.id).update(held=2)  # someone else bought the seats

    await api.sandbox.drain()  # the success, then the automatic refund's own webhook

    order = await Order.get(id=order_id)
    assert order.status is OrderStatus.EXPIRED
    assert (order.amount_paid, order.amount_refunded) == (5000, 5000)
    refund = await Refund.get(payment_id=payment_id)
    assert refund.reason is RefundReason.ORDER_EXPIRED
    assert refund.status is RefundStatus.SUCCEEDED
    assert refund.amount == 5000
    assert (await Product.get(id=item.id)).held == 2


async def test_a_gateway_success_after_cash_covered_the_order_is_given_back(
    api: GraphQLClient,
) -> None:
    _, _, order_id = await _order(api)  # total 5000
    api.sandbox.processing_delay = 0.3
    started = await api(
        PAY,
        {
            "input": {
                "orderId": order_id,
                "gateway": "SANDBOX",
                "paymentMethodToken": "pm_card_processing",
            }
        },
        as_user=BUYER,
    )
    cash = await _manual(api, order_id, 5000, reference="till 1")  # paid at the desk meanwhile
    await api.sandbox.drain()  # …and then the card payment succeeds too
    await api.sandbox.drain()  # the automatic refund's own webhook

    assert started.data["initiatePayment"]["payment"]["status"] == "PROCESSING"
    assert cash["errors"] == []
    card = await Payment.get(id=started.data["initiatePayment"]["payment"]["id"])
    refund = await Refund.get(payment_id=card.id)
    order = await Order.get(id=order_id)
    assert card.status is PaymentStatus.SUCCEEDED
    assert (refund.reason, refund.status, refund.amount) == (
        RefundReason.DUPLICATE,
        RefundStatus.SUCCEEDED,
        5000,
    )
    assert (order.status, order.amount_paid, order.amount_refunded) == (
        OrderStatus.PAID,
        10000,
        5000,
    )


async def test_staffs_explicit_overpayment_is_not_refunded(api: GraphQLClient) -> None:
    _, _, order_id = await _order(api)

    await _manual(api, order_id, 6000, allowOverpayment=True)

    assert await Refund.all().count() == 0


async def test_a_card_payment_asks_for_the_balance_left_by_cash_recorded_meanwhile(
    api: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staff record 2,000 in cash while the buyer's initiatePayment is between reading the
    order and locking it: the gateway is asked for the 3,000 left, not the 5,000 first read
    (no overcharge to refund afterwards)."""
    _, _, order_id = await _order(api)
    original = payments._gateway_for

    async def cash_arrives_first(*args: Any, **kwargs: Any) -> Any:
        assert (await _manual(api, order_id, 2000))["errors"] == []
        return await original(*args, **kwargs)

    monkeypatch.setattr(payments, "_gateway_for", cash_arrives_first)
    paid = await api(
        PAY,
        {
            "input": {
                "orderId": order_id,
                "gateway": "SANDBOX",
                "paymentMethodToken": "pm_card_visa",
            }
        },
        as_user=BUYER,
    )
    assert paid.data["initiatePayment"]["errors"] == []
    await api.sandbox.drain()

    card = await Payment.get(gateway="SANDBOX", order_id=order_id)
    assert card.amount == 3000
    order = await Order.get(id=order_id)
    assert (order.status, order.amount_paid) == (OrderStatus.PAID, 5000)
    assert not await Refund.filter(order_id=order_id).exists()
