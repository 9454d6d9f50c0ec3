"""RAZORPAY: the documented shapes (``_wire``), the requests payql sends, and payql end to end.

Razorpay is played by :class:`tests.fake_razorpay.FakeRazorpay`, a stateful fake of its HTTP
API whose entities are the documented examples under ``tests/fixtures/razorpay``. The
end-to-end tests run the real app (GraphQL, the return route, the webhook inbox) with the
RAZORPAY gateway built on that fake.
"""

import base64
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from gateways.base import (
    DisputeState,
    GatewayBadRequest,
    GatewayNotSupported,
    GatewayOutcomeUnknown,
    GatewayState,
    InvalidWebhook,
    PaymentRequest,
    RefundRequest,
    RefundState,
)
from gateways.razorpay import RazorpayGateway, _wire
from gateways.razorpay.gateway import CHECKOUT_SCRIPT
from gateways.registry import GatewayRegistry
from gateways.units import CurrencyNotSupported
from models import Dispute, Order, Payment, PaymentEvent, Refund, WebhookEvent
from models.enums import OrderStatus, PaymentStatus, RefundStatus
from resolvers.refunds import submit_stuck_refunds
from tests.fake_razorpay import CHECKOUT_URL, RETURN_URL, FakeRazorpay, fixture
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
SUCCESS_URL = "https://shop.example/thanks"
FAILURE_URL = "https://shop.example/sorry"

PAY = """
mutation Pay($input: InitiatePaymentInput!) {
  initiatePayment(input: $input) {
    payment { id status reference failureCode }
    clientSecret nextAction { type redirectUrl }
    errors { code message }
  }
}
"""
CONFIRM = """
mutation Confirm($input: ConfirmPaymentInput!) {
  confirmPayment(input: $input) { payment { id status failureCode } errors { code } }
}
"""
REFUND = """
mutation R($input: RequestRefundInput!) {
  requestRefund(input: $input) { refund { id status amount { amount } } errors { code } }
}
"""


def _request(
    *, amount: int = 4200, currency: str = "INR", token: str | None = None
) -> PaymentRequest:
    payment_id = str(uuid4())
    return PaymentRequest(
        payment_id=payment_id,
        order_number="PQ-1001",
        amount=amount,
        currency=currency,
        idempotency_key=f"payql-payment-{payment_id}",
        payment_method_token=token,
    )


def _refund_request(reference: str, amount: int, refund_id: str | None = None) -> RefundRequest:
    refund_id = refund_id or str(uuid4())
    return RefundRequest(
        refund_id=refund_id,
        payment_reference=reference,
        amount=amount,
        currency="INR",
        idempotency_key=f"payql-refund-{refund_id}",
        reason="REQUESTED_BY_CUSTOMER",
    )


def _signed(
    fake: FakeRazorpay, payload: dict[str, Any], **headers: str
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    return body, {"X-Razorpay-Signature": fake.sign(body), **headers}


# =========================================================================== amounts
@pytest.mark.parametrize(
    ("currency", "amount", "sent"),
    [
        ("INR", 12345, 12345),  # 2 decimals, as ISO
        ("USD", 1999, 1999),
        ("JPY", 1500, 1500),  # 0 decimals
        ("KWD", 12340, 12340),  # 3 decimals, last digit 0
        ("OMR", 5000, 5000),
        ("MGA", 1500, 150000),  # ISO (CLDR) 0 decimals, Razorpay 2
        ("IQD", 25, 25000),  # ISO (CLDR) 0 decimals, Razorpay 3
    ],
)
def test_amounts_reach_razorpay_in_its_units_and_come_back(
    currency: str, amount: int, sent: int
) -> None:
    assert _wire.to_razorpay_amount(amount, currency) == sent
    assert _wire.from_razorpay_amount(sent, currency) == amount


@pytest.mark.parametrize(
    ("currency", "amount"),
    [("KWD", 12345), ("BHD", 1), ("JOD", 1001), ("ARS", 1000), ("XTS", 100)],
)
def test_amounts_razorpay_cannot_take_exactly_are_refused(currency: str, amount: int) -> None:
    with pytest.raises(CurrencyNotSupported):
        _wire.to_razorpay_amount(amount, currency)


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (_request(currency="ARS"), "currency_not_supported"),
        (_request(currency="KWD", amount=1255), "currency_not_supported"),
        (_request(token="tok_visa"), "token_not_supported"),
    ],
)
async def test_a_token_or_an_unsupported_amount_is_refused_before_any_request(
    request_: PaymentRequest, code: str
) -> None:
    fake = FakeRazorpay()
    gateway = fake.gateway()

    with pytest.raises(GatewayBadRequest) as checked:
        gateway.check_request(request_)
    with pytest.raises(GatewayBadRequest) as created:
        await gateway.create_payment(request_)

    assert (checked.value.code, created.value.code) == (code, code)
    assert fake.requests == []


# =========================================================================== payments
@pytest.mark.parametrize(
    ("status", "captured", "state"),
    [
        ("created", False, GatewayState.PROCESSING),
        ("authorized", False, GatewayState.PROCESSING),
        ("captured", True, GatewayState.SUCCEEDED),
        ("refunded", True, GatewayState.SUCCEEDED),
        ("refunded", False, GatewayState.FAILED),
        ("failed", False, GatewayState.FAILED),
    ],
)
def test_every_payment_status_is_mapped(status: str, captured: bool, state: GatewayState) -> None:
    payment = {**fixture("order_payments")["items"][1], "status": status, "captured": captured}

    result = _wire.payment_result(payment)

    assert result.state is state
    assert (result.reference, result.amount, result.currency) == (
        "order_N8FRN5zTm5S3wx",
        100,
        "INR",
    )
    if state is GatewayState.FAILED:
        assert result.failure_code == (
            "refunded_before_capture" if status == "refunded" else "payment_failed"
        )
    else:
        assert result.failure_code is None


def test_an_order_reports_its_captured_payment_over_an_earlier_failure() -> None:
    result = _wire.order_result("order_N8FRN5zTm5S3wx", fixture("order_payments"))

    assert (result.state, result.amount, result.currency) == (GatewayState.SUCCEEDED, 100, "INR")
    assert result.raw["payment_id"] == "pay_N8FVRD1DzYzBh1"
    assert result.fee == 2


def test_a_failed_attempt_reports_why() -> None:
    failed = fixture("order_payments")["items"][0]

    from_order = _wire.order_result("order_N8FRN5zTm5S3wx", {"items": [failed]})
    cancelled = _wire.payment_result(fixture("payment_failed"), order_id="order_X1")

    assert from_order.state is GatewayState.FAILED
    assert from_order.failure_code == "payment_failed"
    assert from_order.failure_message is not None
    assert "temporary issue" in from_order.failure_message
    assert (cancelled.failure_code, cancelled.reference) == ("payment_cancelled", "order_X1")


def test_an_order_nobody_paid_yet_requires_action() -> None:
    result = _wire.order_result("order_N8FRN5zTm5S3wx", {"entity": "collection", "items": []})

    assert (result.state, result.reference, result.amount) == (
        GatewayState.REQUIRES_ACTION,
        "order_N8FRN5zTm5S3wx",
        None,
    )


def test_money_on_its_way_is_not_hidden_by_a_later_failed_retry() -> None:
    failed, captured = fixture("order_payments")["items"]
    authorized = {**captured, "status": "authorized", "captured": False, "created_at": 1}

    result = _wire.order_result("order_N8FRN5zTm5S3wx", {"items": [authorized, failed]})

    assert result.state is GatewayState.PROCESSING


def test_the_fee_is_reported_only_when_it_is_in_the_payment_currency() -> None:
    captured = fixture("order_payments")["items"][1]

    usd = _wire.payment_result({**captured, "currency": "USD", "base_currency": "INR", "fee": 207})

    assert usd.fee is None
    assert _wire.payment_result(captured).fee == 2


# =========================================================================== refunds
@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("pending", RefundState.PENDING),
        ("processed", RefundState.SUCCEEDED),
        ("failed", RefundState.FAILED),
    ],
)
def test_every_refund_status_is_mapped(status: str, state: RefundState) -> None:
    refund = {**fixture("refund_create_response"), "status": status}

    result = _wire.refund_result(refund)

    assert (result.state, result.reference, result.amount) == (
        state,
        "rfnd_FP8QHiV938haTz",
        500100,
    )
    assert result.refund_id is None  # the documented example carries no payql note
    assert result.failure_code == ("refund_failed" if status == "failed" else None)


# =========================================================================== webhooks
@pytest.mark.parametrize(
    ("name", "state", "reference", "amount"),
    [
        ("webhook_payment_authorized", GatewayState.PROCESSING, "order_DESlLckIVRkHWj", 100),
        ("webhook_payment_captured", GatewayState.SUCCEEDED, "order_DESlLckIVRkHWj", 100),
        ("webhook_payment_failed", GatewayState.FAILED, "order_DEATVTRRctwEGb", 50000),
        ("webhook_order_paid", GatewayState.SUCCEEDED, "order_DESlLckIVRkHWj", 100),
    ],
)
def test_payment_events_name_the_order(
    name: str, state: GatewayState, reference: str, amount: int
) -> None:
    event = _wire.gateway_event(fixture(name), "evt_1")

    assert event.payment is not None
    assert (event.payment.state, event.payment.reference) == (state, reference)
    assert (event.payment.amount, event.payment.currency) == (amount, "INR")
    assert (event.refund, event.dispute, event.event_id) == (None, None, "evt_1")


def test_order_paid_carries_payqls_payment_id_from_the_order_notes() -> None:
    payload = fixture("webhook_order_paid")
    payload["payload"]["order"]["entity"]["notes"] = {
        "payql_payment_id": "p-1",
        "order_number": "A",
    }

    event = _wire.gateway_event(payload, "evt_1")

    assert event.payment_id == "p-1"


@pytest.mark.parametrize(
    ("name", "state"),
    [
        ("webhook_refund_created", RefundState.SUCCEEDED),  # the documented one is processed
        ("webhook_refund_processed", RefundState.SUCCEEDED),
        ("webhook_refund_failed", RefundState.FAILED),
    ],
)
def test_refund_events_name_payqls_refund(name: str, state: RefundState) -> None:
    payload = fixture(name)
    payload["payload"]["refund"]["entity"]["notes"] = {"payql_refund_id": "r-1"}

    event = _wire.gateway_event(payload, "evt_1")

    assert event.refund is not None
    assert (event.refund.state, event.refund.refund_id, event.refund.reference) == (
        state,
        "r-1",
        "rfnd_FS8TWyPrCsa0OB",
    )
    assert event.refund.amount == 50000
    assert event.payment is None


def test_an_auto_refund_of_an_uncaptured_payment_is_not_payqls_refund() -> None:
    payload = fixture("webhook_refund_processed")
    payload["payload"]["payment"]["entity"]["captured"] = False

    event = _wire.gateway_event(payload, "evt_1")

    assert (event.type, event.refund, event.payment) == ("refund.processed", None, None)


@pytest.mark.parametrize(
    ("name", "state"),
    [
        ("webhook_payment_dispute_created", DisputeState.OPEN),
        ("webhook_payment_dispute_won", DisputeState.WON),
        ("webhook_payment_dispute_lost", DisputeState.LOST),
        ("webhook_payment_dispute_closed", DisputeState.CLOSED),
    ],
)
def test_dispute_events_name_the_disputed_order(name: str, state: DisputeState) -> None:
    event = _wire.gateway_event(fixture(name), "evt_1")

    assert event.dispute is not None
    assert event.dispute.state is state
    assert (event.dispute.reference, event.dispute.payment_reference) == (
        "disp_EsIAlDcoUr8CaQ",
        "order_EFtkA6f5jdkfud",
    )
    assert (event.dispute.amount, event.dispute.currency, event.dispute.reason) == (
        39000,
        "INR",
        "pre_arbitration",
    )


def test_a_dispute_without_its_payment_entity_names_the_payment_id() -> None:
    payload = fixture("webhook_payment_dispute_created")
    del payload["payload"]["payment"]

    event = _wire.gateway_event(payload, "evt_1")

    assert event.dispute is not None
    assert event.dispute.payment_reference == "pay_EFtmUsbwpXwBHI"


def test_other_events_are_stored_and_ignored() -> None:
    event = _wire.gateway_event(fixture("webhook_payment_downtime_started"), "evt_1")

    assert event.type == "payment.downtime.started"
    assert (event.payment, event.refund, event.dispute) == (None, None, None)


def test_a_signed_webhook_parses_with_the_header_event_id() -> None:
    fake = FakeRazorpay()
    gateway = fake.gateway()
    body, headers = _signed(fake, fixture("webhook_payment_captured"))
    headers["x-razorpay-event-id"] = "KEjlC9oVdPnb0c"

    event = gateway.parse_webhook(body, headers)

    assert event.event_id == "KEjlC9oVdPnb0c"
    assert event.payment is not None
    assert event.payment.reference == "order_DESlLckIVRkHWj"


def test_a_delivery_without_an_event_id_is_identified_by_its_body() -> None:
    fake = FakeRazorpay()
    gateway = fake.gateway()
    body, headers = _signed(fake, fixture("webhook_payment_captured"))
    other, other_headers = _signed(fake, fixture("webhook_payment_failed"))

    first = gateway.parse_webhook(body, headers)
    replay = gateway.parse_webhook(body, headers)
    stored = gateway.normalize_webhook(body)

    assert first.event_id.startswith("sha256:")
    assert first.event_id == replay.event_id == stored.event_id
    assert gateway.parse_webhook(other, other_headers).event_id != first.event_id


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        ("body", "signature_mismatch"),
        ("secret", "signature_mismatch"),
        ("missing", "signature_missing"),
    ],
)
def test_a_webhook_whose_signature_does_not_verify_is_rejected(tamper: str, code: str) -> None:
    fake = FakeRazorpay()
    gateway = fake.gateway()
    body, headers = _signed(fake, fixture("webhook_payment_captured"))
    if tamper == "body":
        body = body.replace(b'"amount": 100', b'"amount": 1000')
    elif tamper == "secret":
        headers["X-Razorpay-Signature"] = fake.sign(body, secret="another-secret")
    else:
        headers = {}

    with pytest.raises(InvalidWebhook) as rejected:
        gateway.parse_webhook(body, headers)

    assert rejected.value.code == code
    assert fake.webhook_secret not in str(rejected.value)


def test_without_a_webhook_secret_nothing_verifies() -> None:
    fake = FakeRazorpay()
    gateway = RazorpayGateway(
        key_id=fake.key_id,
        key_secret=fake.key_secret,
        webhook_secret=None,
        return_url=RETURN_URL,
        checkout_url=CHECKOUT_URL,
        transport=fake.transport,
    )
    body, headers = _signed(fake, fixture("webhook_payment_captured"))

    with pytest.raises(InvalidWebhook) as rejected:
        gateway.parse_webhook(body, headers)

    assert rejected.value.code == "not_configured"


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"entity": "collection"}'])
def test_a_malformed_body_is_rejected(body: bytes) -> None:
    fake = FakeRazorpay()

    with pytest.raises(InvalidWebhook) as rejected:
        fake.gateway().parse_webhook(body, {"X-Razorpay-Signature": fake.sign(body)})

    assert rejected.value.code == "malformed"


# =========================================================================== the return
def test_a_successful_return_names_its_order_once_the_signature_verifies() -> None:
    fake = FakeRazorpay()
    params = {
        "razorpay_payment_id": "pay_29QQoUBi66xm2f",
        "razorpay_order_id": "order_9A33XWu170gUtm",
        "razorpay_signature": fake.checkout_signature("order_9A33XWu170gUtm", "pay_29QQoUBi66xm2f"),
    }

    assert fake.gateway().return_reference(params) == "order_9A33XWu170gUtm"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (
            {"razorpay_signature": fixture("checkout_success_callback")["razorpay_signature"]},
            "signature_mismatch",
        ),  # the documented example, signed with another secret
        ({"razorpay_order_id": "order_SomeoneElse1"}, "signature_mismatch"),
        ({"razorpay_signature": ""}, "signature_missing"),
        ({"razorpay_signature": None}, "signature_missing"),
    ],
)
def test_a_return_whose_signature_does_not_verify_is_rejected(
    change: dict[str, str | None], code: str
) -> None:
    fake = FakeRazorpay()
    params = {
        "razorpay_payment_id": "pay_29QQoUBi66xm2f",
        "razorpay_order_id": "order_9A33XWu170gUtm",
        "razorpay_signature": fake.checkout_signature("order_9A33XWu170gUtm", "pay_29QQoUBi66xm2f"),
    }
    for key, value in change.items():
        if value is None:
            del params[key]
        else:
            params[key] = value

    with pytest.raises(InvalidWebhook) as rejected:
        fake.gateway().return_reference(params)

    assert rejected.value.code == code


def test_a_failed_return_names_its_order_from_the_error_metadata() -> None:
    gateway = FakeRazorpay().gateway()
    documented = fixture("checkout_failure_callback")
    bracketed = {"error[code]": "BAD_REQUEST_ERROR", "error[metadata][order_id]": "order_Bracket1"}
    only_query = {"error[code]": "BAD_REQUEST_ERROR", "payql_reference": "order_Query1"}

    assert gateway.return_reference(documented) == "order_DBJKIP31Y4jl8"
    assert gateway.return_reference(bracketed) == "order_Bracket1"
    assert gateway.return_reference(only_query) == "order_Query1"
    with pytest.raises(InvalidWebhook) as rejected:
        gateway.return_reference({"error[code]": "BAD_REQUEST_ERROR", "error[metadata]": "{}"})
    assert rejected.value.code == "reference_missing"


def test_the_checkout_page_opens_razorpay_checkout_with_escaped_public_values() -> None:
    fake = FakeRazorpay()
    hostile = 'Order </script><script>alert(1)</script> & "quotes"'

    page = fake.gateway().checkout_page(
        reference="order_Page12345", amount=12340, currency="KWD", description=hostile
    )

    assert f'<script src="{CHECKOUT_SCRIPT}"></script>' in page
    assert "<script>alert(1)" not in page
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in page  # the title, HTML-escaped
    found = re.search(r"new Razorpay\((.*)\);", page)
    assert found is not None
    assert json.loads(found.group(1)) == {
        "key": fake.key_id,
        "order_id": "order_Page12345",
        "amount": 12340,
        "currency": "KWD",
        "name": hostile,
        "description": hostile,
        "callback_url": f"{RETURN_URL}?payql_reference=order_Page12345",
        "redirect": True,
    }
    assert all(secret not in page for secret in fake.secrets)


# =========================================================================== requests sent
async def test_creating_a_payment_creates_an_order_named_by_payqls_payment_id() -> None:
    fake = FakeRazorpay()
    request = _request(amount=4200)

    result = await fake.gateway().create_payment(request)

    lookup, create = fake.requests
    basic = base64.b64encode(f"{fake.key_id}:{fake.key_secret}".encode()).decode()
    assert (lookup.method, str(lookup.url)) == (
        "GET",
        f"https://api.razorpay.com/v1/orders?receipt={request.payment_id}",
    )
    assert (create.method, str(create.url)) == ("POST", "https://api.razorpay.com/v1/orders")
    assert create.headers["authorization"] == f"Basic {basic}"
    assert json.loads(create.content) == {
        "amount": 4200,
        "currency": "INR",
        "receipt": request.payment_id,
        "notes": {"payql_payment_id": request.payment_id, "order_number": "PQ-1001"},
    }
    order_id = result.reference
    assert order_id in fake.orders
    assert (result.state, result.amount, result.currency) == (
        GatewayState.REQUIRES_ACTION,
        4200,
        "INR",
    )
    assert result.next_action is not None
    assert result.next_action.redirect_url == f"{CHECKOUT_URL}/{order_id}"
    assert result.client_secret == order_id


async def test_a_retried_create_finds_the_order_instead_of_making_another() -> None:
    fake = FakeRazorpay()
    gateway = fake.gateway()
    request = _request()

    first = await gateway.create_payment(request)
    second = await gateway.create_payment(request)

    assert first.reference == second.reference
    assert len(fake.orders) == 1
    assert [r.method for r in fake.requests] == ["GET", "POST", "GET"]


async def test_a_refund_goes_to_the_captured_payment_with_payqls_idempotency_key() -> None:
    fake = FakeRazorpay()
    gateway = fake.gateway()
    created = await gateway.create_payment(_request(amount=5000))
    fake.buyer_fails(created.reference)
    fake.buyer_pays(created.reference)
    refund_id = str(uuid4())
    fake.requests.clear()

    result = await gateway.create_refund(_refund_request(created.reference, 1500, refund_id))

    read, refund = fake.requests
    paid = next(p for p in fake.payments[created.reference] if p["captured"])
    assert str(read.url) == f"https://api.razorpay.com/v1/orders/{created.reference}/payments"
    assert str(refund.url) == f"https://api.razorpay.com/v1/payments/{paid['id']}/refund"
    assert refund.headers["x-refund-idempotency"] == refund_id
    assert json.loads(refund.content) == {
        "amount": 1500,
        "speed": "normal",
        "notes": {"payql_refund_id": refund_id},
    }
    assert (result.state, result.refund_id, result.amount) == (
        RefundState.SUCCEEDED,
        refund_id,
        1500,
    )
    assert result.reference in fake.refunds


async def test_a_refund_is_refused_without_a_captured_payment_and_unknown_on_conflict() -> None:
    fake = FakeRazorpay()
    gateway = fake.gateway()
    unpaid = await gateway.create_payment(_request(amount=5000))
    paid = await gateway.create_payment(_request(amount=5000))
    fake.buyer_pays(paid.reference)
    refund_id = str(uuid4())
    await gateway.create_refund(_refund_request(paid.reference, 1000, refund_id))

    with pytest.raises(GatewayBadRequest) as not_captured:
        await gateway.create_refund(_refund_request(unpaid.reference, 1000))
    with pytest.raises(GatewayOutcomeUnknown) as conflict:  # same key, other body
        await gateway.create_refund(_refund_request(paid.reference, 2000, refund_id))

    assert (not_captured.value.code, conflict.value.code) == ("not_captured", "http_409")
    assert len(fake.refunds) == 1


async def test_verification_reads_the_orders_payments_and_never_guesses() -> None:
    fake = FakeRazorpay()
    gateway = fake.gateway()
    created = await gateway.create_payment(_request())
    fake.requests.clear()

    waiting = await gateway.fetch_payment(created.reference)
    fake.fail_next = 1
    with pytest.raises(GatewayOutcomeUnknown) as timed_out:
        await gateway.fetch_payment(created.reference)
    with pytest.raises(GatewayOutcomeUnknown) as unknown:
        await gateway.fetch_payment("order_Unknown12345")
    with pytest.raises(GatewayBadRequest):
        await gateway.fetch_payment("order_x/../../payments")

    assert waiting.state is GatewayState.REQUIRES_ACTION
    assert str(fake.requests[0].url).endswith(f"/v1/orders/{created.reference}/payments")
    assert (timed_out.value.code, unknown.value.code) == ("timeout", "http_400")


async def test_an_order_cannot_be_cancelled_and_nothing_secret_is_shown() -> None:
    fake = FakeRazorpay()
    gateway = fake.gateway()

    with pytest.raises(GatewayNotSupported):
        await gateway.cancel_payment("order_N8FRN5zTm5S3wx")

    assert gateway.public_config() == {"keyId": fake.key_id}
    assert all(secret not in repr(gateway) for secret in fake.secrets)
    assert fake.requests == []
    await gateway.aclose()


# =========================================================================== through payql
@dataclass
class Shop:
    client: GraphQLClient
    fake: FakeRazorpay
    registry: GatewayRegistry


@pytest.fixture
async def shop(db: str, settings: Settings) -> AsyncIterator[Shop]:
    """payql's real app with RAZORPAY (on the fake) as its only gateway."""
    fake = FakeRazorpay()
    registry = GatewayRegistry({"RAZORPAY": fake.gateway()})
    app = create_app(settings, manage_database=False, gateways=registry, run_jobs=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://payql.test") as http:
        yield Shop(GraphQLClient(http, settings, app=app), fake, registry)
    await registry.aclose()


async def _order(
    shop: Shop, *, price: int = 2500, currency: str = "INR", quantity: int = 2
) -> tuple[Any, str]:
    workspace = await make_workspace(
        f"shop-{uuid4().hex[:8]}", enabled_gateways=["RAZORPAY"], default_currency=currency
    )
    item = await make_product(workspace, price=price, currency=currency, capacity=10)
    created = await shop.client(
        CREATE_ORDER,
        order_input(workspace, (item, quantity), successUrl=SUCCESS_URL, failureUrl=FAILURE_URL),
        as_user=BUYER,
    )
    order = created.data["createOrder"]["order"]
    assert order is not None, created.body
    return workspace, order["id"]


async def _pay(shop: Shop, order_id: str) -> dict[str, Any]:
    response = await shop.client(
        PAY, {"input": {"orderId": order_id, "gateway": "RAZORPAY"}}, as_user=BUYER
    )
    return response.data["initiatePayment"]  # type: ignore[no-any-return]


async def _back_from_checkout(shop: Shop, reference: str, params: dict[str, str]) -> httpx.Response:
    """What the browser does: Checkout posts its form to the callback URL on the page."""
    return await shop.client.http.post(
        "/payments/return/razorpay", params={"payql_reference": reference}, data=params
    )


async def _paid(shop: Shop) -> tuple[Any, str, dict[str, Any]]:
    workspace, order_id = await _order(shop)
    started = await _pay(shop, order_id)
    reference = started["payment"]["reference"]
    shop.fake.buyer_pays(reference)
    answer = await _back_from_checkout(shop, reference, shop.fake.return_params(reference))
    assert answer.status_code == 303
    return workspace, order_id, started["payment"]


def _query(location: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(location).query)


async def test_a_paid_checkout_returns_to_the_success_url_and_pays_the_order(shop: Shop) -> None:
    _, order_id = await _order(shop)

    started = await _pay(shop, order_id)
    reference = started["payment"]["reference"]
    page = await shop.client.http.get(started["nextAction"]["redirectUrl"])
    shop.fake.buyer_pays(reference)
    answer = await _back_from_checkout(shop, reference, shop.fake.return_params(reference))

    assert started["errors"] == []
    assert started["payment"]["status"] == "REQUIRES_ACTION"
    assert started["nextAction"] == {
        "type": "REDIRECT",
        "redirectUrl": f"{CHECKOUT_URL}/{reference}",
    }
    assert started["clientSecret"] == reference
    assert page.status_code == 200
    assert f'"order_id": "{reference}"' in page.text
    assert '"amount": 5000' in page.text
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(SUCCESS_URL + "?")
    assert _query(answer.headers["location"])["status"] == ["SUCCEEDED"]
    order = await Order.get(id=order_id)
    assert (order.status, order.amount_paid) == (OrderStatus.PAID, 5000)
    payment = await Payment.get(id=started["payment"]["id"])
    assert (payment.status, payment.gateway_fee) == (PaymentStatus.SUCCEEDED, 100)
    sent = shop.fake.orders[reference]
    assert (sent["amount"], sent["currency"]) == (5000, "INR")
    assert sent["notes"]["payql_payment_id"] == str(payment.id)


async def test_a_declined_checkout_returns_to_the_failure_url(shop: Shop) -> None:
    _, order_id = await _order(shop)
    started = await _pay(shop, order_id)
    reference = started["payment"]["reference"]

    shop.fake.buyer_fails(reference)
    answer = await _back_from_checkout(shop, reference, shop.fake.return_params(reference))

    assert answer.status_code == 303
    assert answer.headers["location"].startswith(FAILURE_URL + "?")
    assert _query(answer.headers["location"])["status"] == ["FAILED"]
    payment = await Payment.get(id=started["payment"]["id"])
    assert (payment.status, payment.failure_code) == (PaymentStatus.FAILED, "payment_failed")
    assert (await Order.get(id=order_id)).status is OrderStatus.PENDING


async def test_an_authorized_payment_is_processing_until_razorpay_captures_it(
    shop: Shop,
) -> None:
    _, order_id = await _order(shop)
    started = await _pay(shop, order_id)
    reference = started["payment"]["reference"]
    confirm = {"input": {"paymentId": started["payment"]["id"]}}

    shop.fake.buyer_authorizes(reference)
    pending = await shop.client(CONFIRM, confirm, as_user=BUYER)
    shop.fake.payments[reference][-1].update(status="captured", captured=True)
    captured = await shop.client(CONFIRM, confirm, as_user=BUYER)

    assert pending.data["confirmPayment"]["payment"]["status"] == "PROCESSING"
    assert captured.data["confirmPayment"]["payment"]["status"] == "SUCCEEDED"
    assert (await Order.get(id=order_id)).status is OrderStatus.PAID


@pytest.mark.parametrize(
    ("misreport", "code"),
    [({"amount": 4999}, "amount_mismatch"), ({"currency": "USD"}, "currency_mismatch")],
)
async def test_a_success_for_other_money_fails_the_payment(
    shop: Shop, misreport: dict[str, Any], code: str
) -> None:
    _, order_id = await _order(shop)
    started = await _pay(shop, order_id)
    reference = started["payment"]["reference"]

    shop.fake.buyer_pays(reference)
    shop.fake.misreport(reference, **misreport)
    answer = await _back_from_checkout(shop, reference, shop.fake.return_params(reference))

    assert answer.headers["location"].startswith(FAILURE_URL + "?")
    payment = await Payment.get(id=started["payment"]["id"])
    assert (payment.status, payment.failure_code) == (PaymentStatus.FAILED, code)
    order = await Order.get(id=order_id)
    assert (order.status, order.amount_paid) == (OrderStatus.PENDING, 0)


@pytest.mark.parametrize(
    ("change", "code"),
    [({"razorpay_signature": "0" * 64}, "signature_mismatch"), ({}, "signature_missing")],
)
async def test_a_return_with_a_bad_checkout_signature_changes_nothing(
    shop: Shop, change: dict[str, str], code: str
) -> None:
    _, order_id = await _order(shop)
    started = await _pay(shop, order_id)
    reference = started["payment"]["reference"]
    shop.fake.buyer_pays(reference)
    params = shop.fake.return_params(reference)
    params.pop("razorpay_signature")
    params.update(change)
    shop.fake.requests.clear()

    answer = await _back_from_checkout(shop, reference, params)

    assert (answer.status_code, answer.json()["code"]) == (400, code)
    assert shop.fake.requests == []  # not even asked: nothing is applied
    payment = await Payment.get(id=started["payment"]["id"])
    assert payment.status is PaymentStatus.REQUIRES_ACTION


async def test_a_webhook_with_a_bad_signature_is_rejected_and_changes_nothing(
    shop: Shop,
) -> None:
    _, order_id = await _order(shop)
    started = await _pay(shop, order_id)
    reference = started["payment"]["reference"]
    shop.fake.buyer_pays(reference)
    body, headers = shop.fake.signed_payment_webhook(reference)
    headers["X-Razorpay-Signature"] = shop.fake.sign(body, secret="not-the-webhook-secret")

    answer = await shop.client.http.post("/webhooks/razorpay", content=body, headers=headers)

    assert (answer.status_code, answer.json()["code"]) == (400, "signature_mismatch")
    assert (await Payment.get(id=started["payment"]["id"])).status is PaymentStatus.REQUIRES_ACTION
    assert (await Order.get(id=order_id)).status is OrderStatus.PENDING
    stored = await WebhookEvent.get(gateway="RAZORPAY")
    assert (stored.verified, stored.processed, stored.error) == (False, False, "signature_mismatch")


async def test_a_duplicate_webhook_is_answered_duplicate_and_changes_nothing(shop: Shop) -> None:
    _, order_id = await _order(shop)
    started = await _pay(shop, order_id)
    reference = started["payment"]["reference"]
    shop.fake.buyer_pays(reference)
    body, headers = shop.fake.signed_payment_webhook(reference)

    first = await shop.client.http.post("/webhooks/razorpay", content=body, headers=headers)
    again = await shop.client.http.post("/webhooks/razorpay", content=body, headers=headers)

    assert first.json() == {"status": "processed"}
    assert again.json() == {"status": "duplicate"}
    order = await Order.get(id=order_id)
    assert (order.status, order.amount_paid) == (OrderStatus.PAID, 5000)
    types = [e.type for e in await PaymentEvent.filter(order_id=order_id)]
    assert (types.count("payment.succeeded"), types.count("order.paid")) == (1, 1)
    stored = await WebhookEvent.get(gateway="RAZORPAY")
    assert stored.event_id == headers["X-Razorpay-Event-Id"]


async def test_a_signed_webhook_the_api_does_not_confirm_changes_nothing(shop: Shop) -> None:
    _, order_id = await _order(shop)
    started = await _pay(shop, order_id)
    reference = started["payment"]["reference"]
    body, headers = shop.fake.signed_payment_webhook(reference)  # claims a capture nobody made
    shop.fake.requests.clear()

    answer = await shop.client.http.post("/webhooks/razorpay", content=body, headers=headers)

    assert answer.status_code == 200
    assert [str(r.url) for r in shop.fake.requests] == [
        f"https://api.razorpay.com/v1/orders/{reference}/payments"
    ]
    assert (await Payment.get(id=started["payment"]["id"])).status is PaymentStatus.REQUIRES_ACTION
    order = await Order.get(id=order_id)
    assert (order.status, order.amount_paid) == (OrderStatus.PENDING, 0)


async def test_a_timeout_on_initiate_leaves_the_payment_processing(shop: Shop) -> None:
    _, order_id = await _order(shop)
    shop.fake.fail_next = 1

    started = await _pay(shop, order_id)

    assert started["errors"] == []
    assert (started["payment"]["status"], started["payment"]["failureCode"]) == ("PROCESSING", None)
    assert (await Payment.get(id=started["payment"]["id"])).status is PaymentStatus.PROCESSING


@pytest.mark.parametrize(
    ("currency", "price", "sent"),
    [("INR", 2500, 5000), ("JPY", 1500, 3000), ("KWD", 12340, 24680)],
)
async def test_amounts_for_each_currency_class_pay_the_order(
    shop: Shop, currency: str, price: int, sent: int
) -> None:
    _, order_id = await _order(shop, price=price, currency=currency)
    started = await _pay(shop, order_id)
    reference = started["payment"]["reference"]

    shop.fake.buyer_pays(reference)
    await _back_from_checkout(shop, reference, shop.fake.return_params(reference))

    assert (shop.fake.orders[reference]["amount"], shop.fake.orders[reference]["currency"]) == (
        sent,
        currency,
    )
    order = await Order.get(id=order_id)
    assert (order.status, order.amount_paid) == (OrderStatus.PAID, 2 * price)


async def test_an_unsupported_currency_is_refused_before_calling_razorpay(shop: Shop) -> None:
    _, order_id = await _order(shop, price=1000, currency="ARS")

    started = await _pay(shop, order_id)

    assert started["payment"] is None
    assert [e["code"] for e in started["errors"]] == ["PAYMENT_METHOD_INVALID"]
    assert shop.fake.requests == []
    assert await Payment.all().count() == 0


async def test_a_partial_then_a_full_refund_settle_from_razorpays_answer(shop: Shop) -> None:
    workspace, order_id, payment = await _paid(shop)
    await make_staff(STAFF, workspace)

    partial = await shop.client(
        REFUND, {"input": {"paymentId": payment["id"], "amount": 2000}}, as_user=STAFF
    )
    partly = await Order.get(id=order_id)
    rest = await shop.client(REFUND, {"input": {"paymentId": payment["id"]}}, as_user=STAFF)

    assert partial.data["requestRefund"]["refund"]["status"] == "SUCCEEDED"
    assert partly.status is OrderStatus.PARTIALLY_REFUNDED
    assert rest.data["requestRefund"]["refund"] == {
        "id": rest.data["requestRefund"]["refund"]["id"],
        "status": "SUCCEEDED",
        "amount": {"amount": 3000},
    }
    order = await Order.get(id=order_id)
    assert (order.status, order.amount_refunded) == (OrderStatus.REFUNDED, 5000)
    ids = {
        partial.data["requestRefund"]["refund"]["id"],
        rest.data["requestRefund"]["refund"]["id"],
    }
    at_razorpay = {r["notes"]["payql_refund_id"]: r["amount"] for r in shop.fake.refunds.values()}
    assert set(at_razorpay) == ids
    assert sorted(at_razorpay.values()) == [2000, 3000]
    for refund in await Refund.filter(payment_id=payment["id"]):
        assert refund.gateway_refund_id in shop.fake.refunds


async def test_pending_refunds_settle_from_refund_webhooks(shop: Shop) -> None:
    workspace, order_id, payment = await _paid(shop)
    await make_staff(STAFF, workspace)
    shop.fake.refund_status = "pending"

    first = await shop.client(
        REFUND, {"input": {"paymentId": payment["id"], "amount": 1000}}, as_user=STAFF
    )
    second = await shop.client(
        REFUND, {"input": {"paymentId": payment["id"], "amount": 500}}, as_user=STAFF
    )
    one = await Refund.get(id=first.data["requestRefund"]["refund"]["id"])
    two = await Refund.get(id=second.data["requestRefund"]["refund"]["id"])
    assert (one.status, two.status) == (RefundStatus.PENDING, RefundStatus.PENDING)

    for refund, kind in ((one, "refund.processed"), (two, "refund.failed")):
        assert refund.gateway_refund_id is not None
        body, headers = shop.fake.signed_refund_webhook(refund.gateway_refund_id, kind)
        answer = await shop.client.http.post("/webhooks/razorpay", content=body, headers=headers)
        assert answer.json() == {"status": "processed"}

    await one.refresh_from_db()
    await two.refresh_from_db()
    assert (one.status, two.status) == (RefundStatus.SUCCEEDED, RefundStatus.FAILED)
    paid = await Payment.get(id=payment["id"])
    assert (paid.amount_refunded, paid.refund_reserved) == (1000, 0)
    assert (await Order.get(id=order_id)).status is OrderStatus.PARTIALLY_REFUNDED


async def test_a_refund_retried_after_a_lost_answer_refunds_once(shop: Shop) -> None:
    workspace, order_id, payment = await _paid(shop)
    await make_staff(STAFF, workspace)
    shop.fake.lose_next = 1  # Razorpay refunds, the answer never arrives

    answer = await shop.client(REFUND, {"input": {"paymentId": payment["id"]}}, as_user=STAFF)
    lost = await Refund.get(id=answer.data["requestRefund"]["refund"]["id"])
    resubmitted = await submit_stuck_refunds(
        gateways=shop.registry, now=datetime.now(UTC) + timedelta(minutes=5)
    )
    await lost.refresh_from_db()

    assert answer.data["requestRefund"]["refund"]["status"] == "PENDING"
    assert resubmitted == 1
    assert len(shop.fake.refunds) == 1
    (only,) = shop.fake.refunds.values()
    assert (lost.status, lost.gateway_refund_id) == (RefundStatus.SUCCEEDED, only["id"])
    posts = [r for r in shop.fake.requests if r.url.path.endswith("/refund")]
    assert [r.headers["x-refund-idempotency"] for r in posts] == [str(lost.id)] * 2
    assert (await Order.get(id=order_id)).status is OrderStatus.REFUNDED


async def test_dispute_webhooks_open_and_close_a_dispute(shop: Shop) -> None:
    _, order_id, payment = await _paid(shop)
    reference = payment["reference"]

    for kind, status in (("payment.dispute.created", "open"), ("payment.dispute.lost", "lost")):
        body, headers = shop.fake.signed_dispute_webhook(reference, kind, status)
        answer = await shop.client.http.post("/webhooks/razorpay", content=body, headers=headers)
        assert answer.json() == {"status": "processed"}

    dispute = await Dispute.get(payment_id=payment["id"])
    assert (dispute.status.value, dispute.amount, dispute.currency) == ("LOST", 5000, "INR")
    types = [e.type for e in await PaymentEvent.filter(order_id=order_id).order_by("created_at")]
    assert types[-2:] == ["dispute.opened", "dispute.closed"]


async def test_public_config_shows_the_key_id_only(shop: Shop) -> None:
    workspace, _ = await _order(shop)

    answer = await shop.client(
        "query G($id: ID!) { gateways(workspaceId: $id) { name config } }",
        {"id": str(workspace.id)},
    )

    assert answer.data["gateways"] == [{"name": "RAZORPAY", "config": {"keyId": shop.fake.key_id}}]
    assert all(secret not in json.dumps(answer.body) for secret in shop.fake.secrets)
