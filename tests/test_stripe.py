"""STRIPE end to end: payql served by uvicorn, Stripe played by a running localstripe.

localstripe sends real ``Stripe-Signature`` webhooks for ``payment_intent.*``; it sends none
for refunds or disputes, so those webhooks are posted here in Stripe's documented shapes,
signed with the endpoint secret exactly as Stripe signs them.
"""

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import uuid4

import httpx
import pytest

from gateways.base import GatewayOutcomeUnknown, PaymentRequest, PaymentResult
from models import Dispute, Order, Payment, PaymentEvent, Refund, WebhookEvent
from models.enums import OrderStatus, PaymentStatus, RefundStatus
from tests.conftest import STRIPE_WEBHOOK_SECRET
from tests.helpers import (
    CREATE_ORDER,
    GraphQLClient,
    LiveServer,
    make_product,
    make_staff,
    make_workspace,
    order_input,
)
from tests.ws import graphql_ws

BUYER = "ann@example.com"
STAFF = "clerk@example.com"
STRIPE_KEY = ("sk_test_payql", "")

VISA = "4242424242424242"
THREE_D_SECURE = "4000002760003184"
DECLINED_ON_CHARGE = "4000000000000341"

PAY = """
mutation Pay($input: InitiatePaymentInput!) {
  initiatePayment(input: $input) {
    payment { id status reference failureCode attempt }
    clientSecret nextAction { type redirectUrl }
    errors { code message field }
  }
}
"""
REFUND = """
mutation R($input: RequestRefundInput!) {
  requestRefund(input: $input) { refund { id status amount { amount } } errors { code } }
}
"""
PAYMENT_STATUS = "subscription S($id: ID!) { paymentStatus(paymentId: $id) { status } }"


async def _payment_method(localstripe: str, number: str) -> str:
    """A PaymentMethod created through Stripe's API, as Stripe.js would."""
    async with httpx.AsyncClient(base_url=localstripe, auth=STRIPE_KEY) as http:
        response = await http.post(
            "/v1/payment_methods",
            data={
                "type": "card",
                "card[number]": number,
                "card[exp_month]": "12",
                "card[exp_year]": "2034",
                "card[cvc]": "123",
            },
        )
    response.raise_for_status()
    return str(response.json()["id"])


async def _stripe_get(localstripe: str, path: str, **params: str) -> Any:
    async with httpx.AsyncClient(base_url=localstripe, auth=STRIPE_KEY) as http:
        response = await http.get(path, params=params)
    response.raise_for_status()
    return response.json()


async def _order(
    client: GraphQLClient, *, price: int = 2500, currency: str = "USD", quantity: int = 2
) -> tuple[Any, str]:
    shop = await make_workspace(
        f"shop-{uuid4().hex[:8]}", enabled_gateways=["STRIPE"], default_currency=currency
    )
    item = await make_product(shop, price=price, currency=currency, capacity=10)
    created = await client(CREATE_ORDER, order_input(shop, (item, quantity)), as_user=BUYER)
    order = created.data["createOrder"]["order"]
    assert order is not None, created.body
    return shop, order["id"]


async def _pay(client: GraphQLClient, order_id: str, token: str | None) -> dict[str, Any]:
    variables: dict[str, Any] = {"input": {"orderId": order_id, "gateway": "STRIPE"}}
    if token:
        variables["input"]["paymentMethodToken"] = token
    response = await client(PAY, variables, as_user=BUYER)
    return response.data["initiatePayment"]  # type: ignore[no-any-return]


async def _eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def _order_status(order_id: str) -> OrderStatus:
    return (await Order.get(id=order_id)).status


def _signed(payload: dict[str, Any], *, secret: str = STRIPE_WEBHOOK_SECRET) -> tuple[bytes, str]:
    body = json.dumps(payload).encode()
    ts = int(time.time())
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return body, f"t={ts},v1={digest}"


async def _post_webhook(server: LiveServer, payload: dict[str, Any]) -> httpx.Response:
    body, signature = _signed(payload)
    return await server.client.http.post(
        "/webhooks/stripe",
        content=body,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )


def _stripe_gateway(server: LiveServer) -> Any:
    gateway = server.client.app.state.gateways.get("STRIPE")
    assert gateway is not None
    return gateway


async def test_a_card_payment_whose_answer_is_lost_is_paid_by_the_signed_webhook(
    stripe_live: LiveServer, localstripe: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = stripe_live.client
    _, order_id = await _order(client)
    token = await _payment_method(localstripe, VISA)
    gateway = _stripe_gateway(stripe_live)
    real_create = gateway.create_payment

    async def answer_lost(request: PaymentRequest) -> PaymentResult:
        await real_create(request)  # Stripe charges the card…
        raise GatewayOutcomeUnknown("read timeout")  # …but payql never hears back

    monkeypatch.setattr(gateway, "create_payment", answer_lost)

    paid = await _pay(client, order_id, token)
    assert paid["errors"] == []
    assert paid["payment"]["status"] == "PROCESSING"  # unknown is never FAILED
    await _eventually(lambda: _is(order_id, OrderStatus.PAID))
    payment = await Payment.get(id=paid["payment"]["id"])

    async def webhook_processed() -> bool:  # marked processed just after it is applied
        return await WebhookEvent.filter(
            gateway="STRIPE", processed=True, raw_body__contains=payment.reference or "-"
        ).exists()

    await _eventually(webhook_processed)
    assert payment.status is PaymentStatus.SUCCEEDED
    assert (payment.reference or "").startswith("pi_")
    webhook = await WebhookEvent.get(  # other tests' deliveries may arrive here too
        gateway="STRIPE",
        event_type="payment_intent.succeeded",
        raw_body__contains=payment.reference or "-",
    )
    assert (webhook.verified, webhook.processed) == (True, True)
    intent = await _stripe_get(localstripe, f"/v1/payment_intents/{payment.reference}")
    assert intent["metadata"]["payql_payment_id"] == str(payment.id)
    assert intent["amount"] == 5000


async def _is(order_id: str, status: OrderStatus) -> bool:
    return await _order_status(order_id) is status


async def test_the_answer_and_the_webhook_credit_the_order_once(
    stripe_live: LiveServer, localstripe: str
) -> None:
    client = stripe_live.client
    _, order_id = await _order(client)

    paid = await _pay(client, order_id, await _payment_method(localstripe, VISA))

    assert paid["payment"]["status"] == "SUCCEEDED"
    assert paid["nextAction"] is None

    async def webhook_applied() -> bool:
        return await WebhookEvent.filter(
            gateway="STRIPE", processed=True, raw_body__contains=paid["payment"]["reference"]
        ).exists()

    await _eventually(webhook_applied)
    order = await Order.get(id=order_id)
    assert (order.status, order.amount_paid) == (OrderStatus.PAID, 5000)
    types = [e.type for e in await PaymentEvent.filter(order_id=order_id)]
    assert types.count("payment.succeeded") == 1
    assert types.count("order.paid") == 1


async def test_three_d_secure_requires_action_then_authentication_pays_live(
    stripe_live: LiveServer, localstripe: str
) -> None:
    client = stripe_live.client
    _, order_id = await _order(client)
    paid = await _pay(client, order_id, await _payment_method(localstripe, THREE_D_SECURE))

    assert paid["payment"]["status"] == "REQUIRES_ACTION"
    assert paid["nextAction"] == {"type": "USE_STRIPE_SDK", "redirectUrl": None}
    secret = paid["clientSecret"]
    assert secret.startswith(paid["payment"]["reference"] + "_secret_")

    async with graphql_ws(stripe_live.ws_url) as ws:
        await ws.init(client.token(BUYER))
        await ws.subscribe("s", PAYMENT_STATUS, {"id": paid["payment"]["id"]})
        first = await ws.next_event()
        assert first[2]["data"]["paymentStatus"]["status"] == "REQUIRES_ACTION"
        # What Stripe.js does when the buyer passes the 3-D Secure challenge.
        async with httpx.AsyncClient(base_url=localstripe) as http:
            authenticated = await http.post(
                f"/v1/payment_intents/{paid['payment']['reference']}/_authenticate",
                data={"client_secret": secret, "success": "true", "key": "pk_test_payql"},
            )
        assert authenticated.status_code == 200, authenticated.text
        rest = await ws.collect("s")

    assert [p["data"]["paymentStatus"]["status"] for k, p in rest if k == "next"] == ["SUCCEEDED"]
    assert await _order_status(order_id) is OrderStatus.PAID


async def test_a_declined_card_fails_the_attempt_and_a_retry_succeeds(
    stripe_live: LiveServer, localstripe: str
) -> None:
    client = stripe_live.client
    _, order_id = await _order(client)

    declined = await _pay(client, order_id, await _payment_method(localstripe, DECLINED_ON_CHARGE))
    retried = await _pay(client, order_id, await _payment_method(localstripe, VISA))

    assert declined["errors"] == []
    assert declined["payment"]["status"] == "FAILED"
    assert declined["payment"]["failureCode"] == "card_declined"
    assert retried["payment"]["status"] == "SUCCEEDED"
    assert retried["payment"]["attempt"] == 2
    assert await _order_status(order_id) is OrderStatus.PAID


async def test_without_a_token_the_client_gets_what_stripe_js_needs(
    stripe_live: LiveServer,
) -> None:
    client = stripe_live.client
    _, order_id = await _order(client)

    started = await _pay(client, order_id, None)
    other = await client(
        "query P($id: ID!) { payment(id: $id) { status } }",
        {"id": started["payment"]["id"]},
        as_user="eve@example.com",
    )

    assert started["payment"]["status"] == "REQUIRES_ACTION"
    assert started["nextAction"]["type"] == "USE_STRIPE_SDK"
    assert started["clientSecret"].startswith("pi_")
    assert other.data["payment"] is None


async def test_a_partial_refund_leaves_the_order_partially_refunded(
    stripe_live: LiveServer, localstripe: str
) -> None:
    client = stripe_live.client
    shop, order_id = await _order(client)
    await make_staff(STAFF, shop)
    paid = await _pay(client, order_id, await _payment_method(localstripe, VISA))

    answer = await client(
        REFUND,
        {"input": {"paymentId": paid["payment"]["id"], "amount": 1200}},
        as_user=STAFF,
    )

    assert answer.data["requestRefund"]["errors"] == []
    assert answer.data["requestRefund"]["refund"]["status"] == "SUCCEEDED"
    order = await Order.get(id=order_id)
    assert (order.status, order.amount_refunded) == (OrderStatus.PARTIALLY_REFUNDED, 1200)
    refund = await Refund.get(id=answer.data["requestRefund"]["refund"]["id"])
    at_stripe = await _stripe_get(
        localstripe, "/v1/refunds", payment_intent=paid["payment"]["reference"]
    )
    assert [(r["id"], r["amount"]) for r in at_stripe["data"]] == [(refund.gateway_refund_id, 1200)]
    assert at_stripe["data"][0]["metadata"]["payql_refund_id"] == str(refund.id)


async def test_refund_webhooks_settle_a_refund_whose_answer_was_lost(
    stripe_live: LiveServer, localstripe: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = stripe_live.client
    shop, order_id = await _order(client)
    await make_staff(STAFF, shop)
    paid = await _pay(client, order_id, await _payment_method(localstripe, VISA))
    gateway = _stripe_gateway(stripe_live)

    async def lost(request: Any) -> Any:
        raise GatewayOutcomeUnknown("read timeout")

    monkeypatch.setattr(gateway, "create_refund", lost)
    first = await client(
        REFUND, {"input": {"paymentId": paid["payment"]["id"], "amount": 1000}}, as_user=STAFF
    )
    second = await client(
        REFUND, {"input": {"paymentId": paid["payment"]["id"], "amount": 500}}, as_user=STAFF
    )
    one = await Refund.get(id=first.data["requestRefund"]["refund"]["id"])
    two = await Refund.get(id=second.data["requestRefund"]["refund"]["id"])
    assert (one.status, two.status) == (RefundStatus.PENDING, RefundStatus.PENDING)

    succeeded = await _post_webhook(
        stripe_live, _refund_event("refund.updated", one.id, 1000, "succeeded")
    )
    failed = await _post_webhook(
        stripe_live,
        _refund_event("charge.refunded", two.id, 500, "failed", inside_charge=True),
    )
    replay = await _post_webhook(
        stripe_live, _refund_event("refund.updated", one.id, 1000, "succeeded", event_id="same")
    )
    again = await _post_webhook(
        stripe_live, _refund_event("refund.updated", one.id, 1000, "succeeded", event_id="same")
    )

    assert [r.status_code for r in (succeeded, failed, replay, again)] == [200] * 4
    assert again.json() == {"status": "duplicate"}
    await one.refresh_from_db()
    await two.refresh_from_db()
    assert (one.status, two.status) == (RefundStatus.SUCCEEDED, RefundStatus.FAILED)
    payment = await Payment.get(id=paid["payment"]["id"])
    assert (payment.amount_refunded, payment.refund_reserved) == (1000, 0)
    assert await _order_status(order_id) is OrderStatus.PARTIALLY_REFUNDED


def _refund_event(
    kind: str,
    refund_id: Any,
    amount: int,
    status: str,
    *,
    inside_charge: bool = False,
    event_id: str | None = None,
) -> dict[str, Any]:
    """Stripe's documented Event and Refund shapes (https://docs.stripe.com/api/refunds)."""
    refund = {
        "id": f"re_{uuid4().hex[:14]}",
        "object": "refund",
        "amount": amount,
        "currency": "usd",
        "created": int(time.time()),
        "status": status,
        "failure_reason": "expired_or_canceled_card" if status == "failed" else None,
        "metadata": {"payql_refund_id": str(refund_id)},
    }
    obj: dict[str, Any] = refund
    if inside_charge:
        obj = {
            "id": f"ch_{uuid4().hex[:14]}",
            "object": "charge",
            "currency": "usd",
            "amount_refunded": amount,
            "refunds": {"object": "list", "data": [refund]},
        }
    return {
        "id": f"evt_{event_id or uuid4().hex[:14]}",
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "data": {"object": obj},
    }


async def test_dispute_webhooks_open_and_close_a_dispute(
    stripe_live: LiveServer, localstripe: str
) -> None:
    client = stripe_live.client
    _, order_id = await _order(client)
    paid = await _pay(client, order_id, await _payment_method(localstripe, VISA))
    reference = paid["payment"]["reference"]

    def dispute(kind: str, status: str) -> dict[str, Any]:
        return {
            "id": f"evt_{uuid4().hex[:14]}",
            "object": "event",
            "type": kind,
            "data": {
                "object": {
                    "id": "dp_1payql",
                    "object": "dispute",
                    "amount": 5000,
                    "currency": "usd",
                    "charge": "ch_1payql",
                    "payment_intent": reference,
                    "reason": "fraudulent",
                    "status": status,
                }
            },
        }

    opened = await _post_webhook(stripe_live, dispute("charge.dispute.created", "needs_response"))
    row = await Dispute.get(payment_id=paid["payment"]["id"])
    closed = await _post_webhook(stripe_live, dispute("charge.dispute.closed", "lost"))

    assert (opened.status_code, closed.status_code) == (200, 200)
    assert (row.status.value, row.amount, row.reason) == ("OPEN", 5000, "fraudulent")
    await row.refresh_from_db()
    assert row.status.value == "LOST"
    types = [e.type for e in await PaymentEvent.filter(order_id=order_id)]
    assert (types[-2], types[-1]) == ("dispute.opened", "dispute.closed")


async def test_a_tampered_or_stale_webhook_is_rejected_and_changes_nothing(
    stripe_live: LiveServer, localstripe: str
) -> None:
    client = stripe_live.client
    _, order_id = await _order(client)
    started = await _pay(client, order_id, None)
    event = {
        "id": "evt_forged",
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {
            "object": {
                "id": started["payment"]["reference"],
                "object": "payment_intent",
                "amount": 5000,
                "amount_received": 5000,
                "currency": "usd",
                "status": "succeeded",
                "metadata": {"payql_payment_id": started["payment"]["id"]},
            }
        },
    }
    body, signature = _signed(event)
    tampered = body.replace(b'"amount": 5000', b'"amount": 5001')
    stale_ts = int(time.time()) - 600
    stale_sig = hmac.new(
        STRIPE_WEBHOOK_SECRET.encode(), f"{stale_ts}.".encode() + body, hashlib.sha256
    ).hexdigest()
    http = client.http

    answers = [
        await http.post(
            "/webhooks/stripe", content=tampered, headers={"Stripe-Signature": signature}
        ),
        await http.post(
            "/webhooks/stripe",
            content=body,
            headers={"Stripe-Signature": f"t={stale_ts},v1={stale_sig}"},
        ),
        await http.post("/webhooks/stripe", content=body),
        await http.post(
            "/webhooks/stripe",
            content=body,
            headers={"Stripe-Signature": _signed(event, secret="whsec_wrong")[1]},
        ),
    ]

    assert [a.status_code for a in answers] == [400] * 4
    assert [a.json()["code"] for a in answers] == [
        "signature_mismatch",
        "signature_stale",
        "signature_missing",
        "signature_mismatch",
    ]
    assert "whsec" not in " ".join(a.text for a in answers)
    assert await _order_status(order_id) is OrderStatus.PENDING
    payment = await Payment.get(id=started["payment"]["id"])
    assert payment.status is PaymentStatus.REQUIRES_ACTION
    assert await WebhookEvent.filter(verified=False).count() == 4
    assert not await WebhookEvent.filter(event_id="evt_forged").exists()


@pytest.mark.parametrize(
    ("currency", "price", "sent"),
    [("JPY", 1500, 3000), ("KWD", 12340, 24680), ("USD", 1999, 3998)],
)
async def test_amounts_reach_stripe_in_its_units_and_come_back(
    stripe_live: LiveServer, localstripe: str, currency: str, price: int, sent: int
) -> None:
    client = stripe_live.client
    _, order_id = await _order(client, price=price, currency=currency)

    paid = await _pay(client, order_id, await _payment_method(localstripe, VISA))

    intent = await _stripe_get(localstripe, f"/v1/payment_intents/{paid['payment']['reference']}")
    assert (intent["amount"], intent["currency"]) == (sent, currency.lower())
    order = await Order.get(id=order_id)
    assert (order.status, order.amount_paid) == (OrderStatus.PAID, 2 * price)


async def test_an_amount_stripe_cannot_take_exactly_is_refused_before_calling_it(
    stripe_live: LiveServer,
) -> None:
    client = stripe_live.client
    _, order_id = await _order(client, price=1255, currency="KWD", quantity=1)  # 1.255 KWD

    answer = await _pay(client, order_id, "pm_card_visa")

    assert answer["payment"] is None
    assert answer["errors"][0]["code"] == "PAYMENT_METHOD_INVALID"
    assert "multiples of 10" in answer["errors"][0]["message"]
    assert await Payment.all().count() == 0


async def test_public_config_shows_the_publishable_key_only(stripe_live: LiveServer) -> None:
    client = stripe_live.client
    shop, _ = await _order(client)

    answer = await client(
        "query G($id: ID!) { gateways(workspaceId: $id) { name config } }", {"id": str(shop.id)}
    )

    assert answer.data["gateways"] == [
        {"name": "STRIPE", "config": {"publishableKey": "pk_test_payql"}}
    ]
    assert "sk_test" not in json.dumps(answer.body)
