"""createOrder / cancelOrder through the real ASGI app: pricing, holds, bad input."""

from typing import Any

import pytest

from models import Order, OrderItem, OutboxEvent, PaymentEvent, Product, Voucher
from tests.helpers import (
    CREATE_ORDER,
    GraphQLClient,
    future,
    make_product,
    make_voucher,
    make_workspace,
    order_input,
)

BUYER = "buyer@example.com"

CANCEL = """
mutation Cancel($input: CancelOrderInput!) {
  cancelOrder(input: $input) { order { id status } errors { code message field } }
}
"""


async def test_order_is_priced_from_the_catalog_with_voucher_tax_and_fee(
    api: GraphQLClient,
) -> None:
    # given a USD workspace with 7.5% tax, a 3% fee and a 10% voucher
    shop = await make_workspace(tax_bps=750, fee_bps=300)
    ticket = await make_product(shop, price=2500, capacity=10)
    await make_voucher(shop, "WELCOME10", percent_off=10)

    # when a customer orders three tickets with the voucher
    result = await api(
        CREATE_ORDER,
        order_input(shop, (ticket, 3), voucherCode="welcome10", metadata={"seat": "A1"}),
        as_user=BUYER,
    )

    # then the server computed every amount
    payload = result.data["createOrder"]
    assert payload["errors"] == []
    order = payload["order"]
    assert order["status"] == "PENDING"
    assert order["subtotal"] == {
        "amount": 7500,
        "currency": "USD",
        "decimal": "75.00",
        "formatted": "$75.00",
    }
    assert order["discount"]["amount"] == 750
    assert order["tax"]["amount"] == 506
    assert order["fee"]["amount"] == 218
    assert order["total"]["amount"] == 7474
    assert order["balanceDue"]["amount"] == 7474
    assert order["metadata"] == {"seat": "A1"}
    assert order["number"].startswith("PQ-")
    assert order["items"] == [
        {
            "productId": str(ticket.id),
            "productName": "Ticket",
            "quantity": 3,
            "unitPrice": {"amount": 2500},
            "lineTotal": {"amount": 7500},
        }
    ]
    assert order["events"] == [
        {"type": "order.created", "toStatus": "PENDING", "actor": f"user:{BUYER}"}
    ]
    # and the seats and the voucher use are held
    await ticket.refresh_from_db()
    assert ticket.held == 3
    assert (await Voucher.get(code="WELCOME10")).uses == 1
    assert await OutboxEvent.filter(type="order.created").count() == 1


@pytest.mark.parametrize(
    ("currency", "price", "tax_bps", "fee_bps", "expected"),
    [
        # ¥3,000 × 2, 10% tax, 2.5% fee: 6000 + 600 + 165
        (
            "JPY",
            3000,
            1000,
            250,
            {"subtotal": 6000, "tax": 600, "fee": 165, "total": 6765, "decimal": "6765"},
        ),
        # KWD 1.255 × 2, 5% tax (0.1255 → 0.126), 2% fee (0.05272 → 0.053)
        (
            "KWD",
            1255,
            500,
            200,
            {"subtotal": 2510, "tax": 126, "fee": 53, "total": 2689, "decimal": "2.689"},
        ),
    ],
)
async def test_zero_and_three_decimal_currencies(
    api: GraphQLClient,
    currency: str,
    price: int,
    tax_bps: int,
    fee_bps: int,
    expected: dict[str, Any],
) -> None:
    shop = await make_workspace(default_currency=currency, tax_bps=tax_bps, fee_bps=fee_bps)
    product = await make_product(shop, price=price, currency=currency)

    result = await api(CREATE_ORDER, order_input(shop, (product, 2)), as_user=BUYER)

    order = result.data["createOrder"]["order"]
    assert order["currency"] == currency
    got = {k: order[k]["amount"] for k in ("subtotal", "tax", "fee", "total")}
    assert got == {k: expected[k] for k in got}
    assert order["total"]["decimal"] == expected["decimal"]


async def test_hold_expires_after_the_workspace_hold_minutes(api: GraphQLClient) -> None:
    shop = await make_workspace(hold_minutes=7)
    product = await make_product(shop)
    result = await api(CREATE_ORDER, order_input(shop, (product, 1)), as_user=BUYER)
    order = await Order.get(id=result.data["createOrder"]["order"]["id"])
    assert order.hold_expires_at is not None
    held_for = (order.hold_expires_at - order.created_at).total_seconds()
    assert 7 * 60 - 5 <= held_for <= 7 * 60 + 5


async def test_sold_out_when_capacity_is_short(api: GraphQLClient) -> None:
    shop = await make_workspace()
    product = await make_product(shop, capacity=2)

    result = await api(CREATE_ORDER, order_input(shop, (product, 3)), as_user=BUYER)

    assert result.data["createOrder"] == {
        "order": None,
        "errors": [
            {
                "code": "SOLD_OUT",
                "message": "only 2 left of Ticket",
                "field": ["input", "items", "0", "quantity"],
            }
        ],
    }
    await product.refresh_from_db()
    assert product.held == 0


async def test_cancel_releases_the_hold_once(api: GraphQLClient) -> None:
    shop = await make_workspace()
    product = await make_product(shop, capacity=5)
    created = await api(CREATE_ORDER, order_input(shop, (product, 4)), as_user=BUYER)
    order_id = created.data["createOrder"]["order"]["id"]

    cancelled = await api(CANCEL, {"input": {"orderId": order_id}}, as_user=BUYER)
    again = await api(CANCEL, {"input": {"orderId": order_id}}, as_user=BUYER)

    assert cancelled.data["cancelOrder"] == {
        "order": {"id": order_id, "status": "CANCELLED"},
        "errors": [],
    }
    assert again.data["cancelOrder"]["order"] is None
    assert [e["code"] for e in again.data["cancelOrder"]["errors"]] == ["ORDER_NOT_CANCELLABLE"]
    await product.refresh_from_db()
    assert product.held == 0
    events = await PaymentEvent.filter(order_id=order_id).order_by("id")
    assert [event.type for event in events] == ["order.created", "order.cancelled"]


async def test_someone_elses_order_cannot_be_cancelled(api: GraphQLClient) -> None:
    shop = await make_workspace()
    product = await make_product(shop)
    created = await api(CREATE_ORDER, order_input(shop, (product, 1)), as_user=BUYER)
    order_id = created.data["createOrder"]["order"]["id"]

    result = await api(CANCEL, {"input": {"orderId": order_id}}, as_user="mallory@example.com")

    assert result.data["cancelOrder"]["errors"] == [
        {"code": "NOT_FOUND", "message": "order not found", "field": ["input", "orderId"]}
    ]
    assert (await Order.get(id=order_id)).status == "PENDING"


BAD_INPUT_CASES = [
    (
        "unknown product",
        lambda p, ws: order_input(ws, (p, 1)),
        "NOT_FOUND",
        ["input", "items", "0", "productId"],
    ),
    (
        "malformed product id",
        lambda p, ws: order_input(ws, (p, 1)),
        "INVALID_ID",
        ["input", "items", "0", "productId"],
    ),
    (
        "quantity zero",
        lambda p, ws: order_input(ws, (p, 0)),
        "INVALID_QUANTITY",
        ["input", "items", "0", "quantity"],
    ),
    (
        "negative quantity",
        lambda p, ws: order_input(ws, (p, -2)),
        "INVALID_QUANTITY",
        ["input", "items", "0", "quantity"],
    ),
    (
        "quantity over 100",
        lambda p, ws: order_input(ws, (p, 101)),
        "INVALID_QUANTITY",
        ["input", "items", "0", "quantity"],
    ),
    ("no items", lambda p, ws: order_input(ws), "VALIDATION", ["input", "items"]),
    (
        "malformed workspace id",
        lambda p, ws: {"input": {**order_input(ws, (p, 1))["input"], "workspaceId": "42"}},
        "INVALID_ID",
        ["input", "workspaceId"],
    ),
    (
        "unknown workspace",
        lambda p, ws: {
            "input": {
                **order_input(ws, (p, 1))["input"],
                "workspaceId": "0b5a3f7e-6a43-4c8e-9b1a-1c2d3e4f5a6b",
            }
        },
        "NOT_FOUND",
        ["input", "workspaceId"],
    ),
    (
        "unknown voucher",
        lambda p, ws: order_input(ws, (p, 1), voucherCode="NOPE"),
        "VOUCHER_INVALID",
        ["input", "voucherCode"],
    ),
    (
        "expired voucher",
        lambda p, ws: order_input(ws, (p, 1), voucherCode="OLD"),
        "VOUCHER_EXPIRED",
        ["input", "voucherCode"],
    ),
    (
        "used-up voucher",
        lambda p, ws: order_input(ws, (p, 1), voucherCode="GONE"),
        "VOUCHER_USED_UP",
        ["input", "voucherCode"],
    ),
    (
        "metadata not an object",
        lambda p, ws: order_input(ws, (p, 1), metadata=[1, 2]),
        "VALIDATION",
        ["input", "metadata"],
    ),
    (
        "success URL not http",
        lambda p, ws: order_input(ws, (p, 1), successUrl="javascript:alert(1)"),
        "VALIDATION",
        ["input", "successUrl"],
    ),
]


@pytest.mark.parametrize(
    ("case", "make_input", "code", "field"), BAD_INPUT_CASES, ids=[c[0] for c in BAD_INPUT_CASES]
)
async def test_bad_input_gets_a_typed_error_and_writes_nothing(
    api: GraphQLClient, case: str, make_input: Any, code: str, field: list[str]
) -> None:
    shop = await make_workspace()
    product = await make_product(shop, capacity=10)
    await make_voucher(shop, "OLD", percent_off=5, valid_until=future(-1))
    await make_voucher(shop, "GONE", percent_off=5, max_uses=1, uses=1)
    variables = make_input(product, shop)
    if case in ("unknown product", "malformed product id"):
        variables["input"]["items"][0]["productId"] = (
            "nope" if case == "malformed product id" else "0b5a3f7e-6a43-4c8e-9b1a-1c2d3e4f5a6b"
        )

    result = await api(CREATE_ORDER, variables, as_user=BUYER)

    errors = result.data["createOrder"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [(code, field)]
    assert result.data["createOrder"]["order"] is None
    assert await Order.all().count() == 0
    assert await OrderItem.all().count() == 0
    assert await PaymentEvent.all().count() == 0
    assert (await Product.get(id=product.id)).held == 0


async def test_inactive_and_started_products_are_unavailable(api: GraphQLClient) -> None:
    shop = await make_workspace()
    inactive = await make_product(shop, active=False)
    started = await make_product(shop, starts_at=future(-1))
    for product in (inactive, started):
        result = await api(CREATE_ORDER, order_input(shop, (product, 1)), as_user=BUYER)
        assert [e["code"] for e in result.data["createOrder"]["errors"]] == ["PRODUCT_UNAVAILABLE"]
    assert await Order.all().count() == 0


async def test_products_in_different_currencies_cannot_share_an_order(api: GraphQLClient) -> None:
    shop = await make_workspace()
    usd = await make_product(shop, currency="USD")
    jpy = await make_product(shop, currency="JPY", name="Tokyo")
    result = await api(CREATE_ORDER, order_input(shop, (usd, 1), (jpy, 1)), as_user=BUYER)
    assert result.data["createOrder"]["errors"] == [
        {
            "code": "CURRENCY_MISMATCH",
            "message": "all items must be in one currency; found JPY, USD",
            "field": ["input", "items", "1", "productId"],
        }
    ]
    assert await Order.all().count() == 0


async def test_a_product_of_another_workspace_is_not_found(api: GraphQLClient) -> None:
    shop = await make_workspace()
    other = await make_workspace("other")
    foreign = await make_product(other)
    result = await api(CREATE_ORDER, order_input(shop, (foreign, 1)), as_user=BUYER)
    assert [e["code"] for e in result.data["createOrder"]["errors"]] == ["NOT_FOUND"]


async def test_client_sent_prices_are_not_part_of_the_api(api: GraphQLClient) -> None:
    shop = await make_workspace()
    product = await make_product(shop)
    variables = order_input(shop, (product, 1))
    variables["input"]["items"][0]["unitPrice"] = 1
    result = await api(CREATE_ORDER, variables, as_user=BUYER)
    assert result.status == 200
    assert "unitPrice" in result.errors[0]["message"]
    assert await Order.all().count() == 0


async def test_float_and_string_quantities_are_rejected_by_the_schema(api: GraphQLClient) -> None:
    shop = await make_workspace()
    product = await make_product(shop)
    variables = order_input(shop, (product, 1))
    variables["input"]["items"][0]["quantity"] = 1.5
    result = await api(CREATE_ORDER, variables, as_user=BUYER)
    assert result.errors
    assert "quantity" in result.errors[0]["message"]
    assert await Order.all().count() == 0
