"""FLUTTERWAVE: the documented v3 shapes, the requests payql sends, and whole payments
through the real app against a stateful fake of Flutterwave's API (``FakeFlutterwave``).

No network: the fake is an ``httpx.MockTransport`` serving the bodies of
``tests/fixtures/flutterwave`` (each names the documentation page it comes from).
"""

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from gateways.base import (
    GatewayBadRequest,
    GatewayNotSupported,
    GatewayOutcomeUnknown,
    GatewayState,
    InvalidWebhook,
    PaymentRequest,
    RefundRequest,
    RefundState,
)
from gateways.flutterwave import FlutterwaveGateway
from gateways.flutterwave import _wire as wire
from gateways.registry import GatewayRegistry
from gateways.units import CurrencyNotSupported
from models import Order, Payment, PaymentEvent, Refund, WebhookEvent
from models.enums import OrderStatus, PaymentStatus, RefundStatus
from resolvers.refunds import submit_stuck_refunds
from tests.fake_flutterwave import RETURN_URL, FakeFlutterwave, fixture
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
    nextAction { type redirectUrl }
    errors { code }
  }
}
"""
CONFIRM = """
mutation Confirm($input: ConfirmPaymentInput!) {
  confirmPayment(input: $input) { payment { id status failureCode } errors { code } }
}
"""
REFUND = """
mutation Refund($input: RequestRefundInput!) {
  requestRefund(input: $input) { refund { id status amount { amount } } errors { code } }
}
"""


def _request(amount: int = 4200, currency: str = "USD", **extra: Any) -> PaymentRequest:
    payment_id = str(uuid4())
    return PaymentRequest(
        payment_id=payment_id,
        order_number="PQ-7K2M9",
        amount=amount,
        currency=currency,
        idempotency_key=f"payql-payment-{payment_id}",
        description="Order PQ-7K2M9",
        **extra,
    )


def _refund_request(reference: str, amount: int, currency: str = "USD") -> RefundRequest:
    refund_id = str(uuid4())
    return RefundRequest(
        refund_id=refund_id,
        payment_reference=reference,
        amount=amount,
        currency=currency,
        idempotency_key=f"payql-refund-{refund_id}",
        reason="REQUESTED_BY_CUSTOMER",
    )


def _json(request: httpx.Request) -> Any:
    return json.loads(request.content)


# ============================================================================ _wire
@pytest.mark.parametrize(
    ("amount", "currency", "sent"),
    [
        (1250, "USD", "12.50"),  # 2 decimals
        (100000, "NGN", "1000.00"),
        (1, "KES", "0.01"),
        (5000, "UGX", "5000"),  # 0 decimals: whole shillings
        (150000, "XAF", "150000"),
        (7, "RWF", "7"),
    ],
)
def test_amounts_go_out_as_exact_major_unit_strings(amount: int, currency: str, sent: str) -> None:
    assert wire.major_amount(amount, currency) == sent


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [
        (12.5, "USD", 1250),
        ("12.50", "USD", 1250),
        (1000, "NGN", 100000),
        (0.01, "KES", 1),
        (5000, "UGX", 5000),
        (12.345, "USD", None),  # more decimals than USD has: never rounded
        (0.5, "UGX", None),
        (None, "USD", None),
        (True, "USD", None),
        (12, "", None),
    ],
)
def test_reported_amounts_come_back_exactly_or_not_at_all(
    value: Any, currency: str, minor: int | None
) -> None:
    assert wire.minor_amount(value, currency) == minor


@pytest.mark.parametrize(("amount", "currency"), [(1000, "KWD"), (1000, "JPY"), (0, "USD")])
def test_unsupported_currencies_and_amounts_are_refused(amount: int, currency: str) -> None:
    with pytest.raises(CurrencyNotSupported):
        wire.major_amount(amount, currency)


@pytest.mark.parametrize(
    ("status", "state", "code"),
    [
        ("successful", GatewayState.SUCCEEDED, None),
        ("failed", GatewayState.FAILED, "payment_failed"),
        ("reversed", GatewayState.FAILED, "reversed"),
        ("cancelled", GatewayState.CANCELLED, None),
        ("pending", GatewayState.PROCESSING, None),
        ("something-new", GatewayState.PROCESSING, None),  # unknown is never failed
    ],
)
def test_every_transaction_status_is_mapped(
    status: str, state: GatewayState, code: str | None
) -> None:
    transaction = {**fixture("verify_successful")["data"], "status": status}

    result = wire.payment_result(transaction)

    assert (result.state, result.failure_code) == (state, code)
    assert (result.reference, result.amount, result.currency) == ("LiveCardTest", 10000, "NGN")
    assert result.fee == 140  # app_fee 1.4 NGN
    assert result.raw["flw_transaction_id"] == 288200108  # what a refund needs
    assert set(result.raw) == {
        "status",
        "flw_transaction_id",
        "flw_ref",
        "payment_type",
        "created_at",
    }  # no card or customer data


def test_a_failed_transaction_carries_the_processor_response() -> None:
    transaction = {**fixture("verify_successful")["data"], "status": "failed"}
    transaction["processor_response"] = "Insufficient funds"

    assert wire.payment_result(transaction).failure_message == "Insufficient funds"


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("completed", RefundState.SUCCEEDED),
        ("completed-momo", RefundState.SUCCEEDED),
        ("pending", RefundState.PENDING),
        ("processing", RefundState.PENDING),
        ("pending-momo", RefundState.PENDING),
        ("new", RefundState.PENDING),
        ("failed", RefundState.FAILED),
        ("disburse-failed", RefundState.FAILED),
        ("declined", RefundState.FAILED),
    ],
)
def test_every_refund_status_is_mapped(status: str, state: RefundState) -> None:
    assert wire.refund_state(status) is state


def test_the_refund_note_carries_payqls_refund_id_both_ways() -> None:
    refund_id = str(uuid4())
    refund = {**fixture("refunds_list")["data"][0], "comments": wire.refund_note(refund_id, "DUP")}

    assert wire.refund_id_of(refund) == refund_id
    assert wire.refund_id_of(fixture("refunds_list")["data"][0]) is None  # someone else's
    result = wire.refund_result(refund, currency="NGN")
    assert (result.state, result.reference, result.refund_id, result.amount) == (
        RefundState.SUCCEEDED,
        "75923",
        refund_id,
        690000,
    )


def test_a_charge_completed_webhook_is_a_payment_event_keyed_by_transaction_and_status() -> None:
    body = json.dumps(fixture("webhook_charge_completed")).encode()

    event = wire.parse_event(body)

    assert event.event_id == "charge.completed:285959875:successful"
    assert event.type == "charge.completed"
    assert event.payment_id == "Links-616626414629"
    assert event.payment is not None
    assert (event.payment.state, event.payment.reference, event.payment.amount) == (
        GatewayState.SUCCEEDED,
        "Links-616626414629",
        10000,
    )


def test_the_flat_refund_webhook_is_a_refund_event() -> None:
    refund_id = str(uuid4())
    payload = {**fixture("webhook_refund"), "comments": wire.refund_note(refund_id)}

    event = wire.parse_event(json.dumps(payload).encode())

    assert (event.event_id, event.type) == ("refund:89074:completed", "refund.completed")
    assert event.refund is not None
    assert (event.refund.state, event.refund.reference, event.refund.refund_id) == (
        RefundState.SUCCEEDED,
        "89074",
        refund_id,
    )


def test_an_event_with_its_own_id_is_deduplicated_on_it() -> None:
    payload = {**fixture("webhook_charge_completed"), "id": "wbk_W5p6ktwU0jQ8RO4By860"}

    assert wire.parse_event(json.dumps(payload).encode()).event_id == "wbk_W5p6ktwU0jQ8RO4By860"


def test_other_events_are_kept_but_carry_nothing() -> None:
    body = json.dumps({"event": "transfer.completed", "data": {"id": 9, "status": "SUCCESSFUL"}})

    event = wire.parse_event(body.encode())

    assert (event.event_id, event.type) == ("transfer.completed:9:SUCCESSFUL", "transfer.completed")
    assert (event.payment, event.refund, event.dispute) == (None, None, None)
    odd = b'{"event": "bvn.completed"}'
    assert wire.parse_event(odd).event_id == wire.parse_event(odd).event_id  # stable


def _hmac(body: bytes, key: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def test_signatures_prefer_the_body_bound_hmac_and_fall_back_to_verif_hash() -> None:
    body, key = b'{"event":"charge.completed"}', "my-secret-hash"

    wire.verify_signature(body, {"Flutterwave-Signature": _hmac(body, key)}, key)
    wire.verify_signature(body, {"Verif-Hash": key}, key)
    with pytest.raises(InvalidWebhook) as tampered:  # HMAC present: it alone decides
        wire.verify_signature(
            body + b" ", {"flutterwave-signature": _hmac(body, key), "verif-hash": key}, key
        )
    with pytest.raises(InvalidWebhook) as wrong:
        wire.verify_signature(body, {"verif-hash": "guess"}, key)
    with pytest.raises(InvalidWebhook) as missing:
        wire.verify_signature(body, {}, key)

    assert tampered.value.code == wrong.value.code == "signature_mismatch"
    assert missing.value.code == "signature_missing"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (fixture("verify_not_found"), True),
        ({"status": "error", "message": "Invalid authorization key", "data": None}, False),
        (fixture("verify_successful"), False),
        (["not", "an", "object"], False),
    ],
)
def test_no_transaction_is_told_apart_from_other_errors(body: Any, expected: bool) -> None:
    assert wire.says_not_found(body) is expected


# ============================================================================ gateway
@pytest.fixture
def fake() -> FakeFlutterwave:
    return FakeFlutterwave()


@pytest.fixture
async def gateway(fake: FakeFlutterwave) -> AsyncIterator[FlutterwaveGateway]:
    gateway = fake.gateway()
    yield gateway
    await gateway.aclose()


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (_request(payment_method_token="tok_visa"), "token_not_supported"),
        (_request(currency="KWD", amount=1500), "currency_not_supported"),  # 3 decimals
        (_request(currency="JPY"), "currency_not_supported"),
    ],
)
async def test_a_request_flutterwave_cannot_take_is_refused_before_anything_is_sent(
    gateway: FlutterwaveGateway, fake: FakeFlutterwave, request_: PaymentRequest, code: str
) -> None:
    with pytest.raises(GatewayBadRequest) as refused:
        gateway.check_request(request_)
    with pytest.raises(GatewayBadRequest):
        await gateway.create_payment(request_)

    assert refused.value.code == code
    assert fake.requests == []


async def test_the_hosted_link_request_is_the_documented_one(
    gateway: FlutterwaveGateway, fake: FakeFlutterwave
) -> None:
    request = _request(4200, "USD")

    created = await gateway.create_payment(request)

    [sent] = fake.requests
    assert (sent.method, str(sent.url)) == ("POST", "https://api.flutterwave.com/v3/payments")
    assert sent.headers["authorization"] == f"Bearer {fake.secret_key}"
    assert _json(sent) == {
        "tx_ref": request.payment_id,
        "amount": "42.00",
        "currency": "USD",
        "redirect_url": RETURN_URL,
        "customer": {"email": "pq-7k2m9@payql.invalid", "name": "Order PQ-7K2M9"},
        "meta": {"payql_payment_id": request.payment_id, "payql_order_number": "PQ-7K2M9"},
        "customizations": {"title": "Order PQ-7K2M9", "description": "Order PQ-7K2M9"},
    }
    assert created.state is GatewayState.REQUIRES_ACTION
    assert created.reference == request.payment_id
    assert (created.amount, created.currency) == (4200, "USD")
    assert created.next_action is not None
    assert created.next_action.type == "REDIRECT"
    assert created.next_action.redirect_url == (
        f"https://checkout.flutterwave.com/v3/hosted/pay/flwlnk-{request.payment_id}"
    )


async def test_verification_is_by_tx_ref_and_reports_payql_minor_units(
    gateway: FlutterwaveGateway, fake: FakeFlutterwave
) -> None:
    request = _request(5000, "UGX")
    await gateway.create_payment(request)
    assert _json(fake.requests[0])["amount"] == "5000"

    before = await gateway.fetch_payment(request.payment_id)
    fake.buyer_pays(request.payment_id)
    after = await gateway.fetch_payment(request.payment_id)

    verify = fake.requests[-1]
    assert (verify.method, verify.url.path) == ("GET", "/v3/transactions/verify_by_reference")
    assert verify.url.params["tx_ref"] == request.payment_id
    assert verify.headers["authorization"] == f"Bearer {fake.secret_key}"
    assert before.state is GatewayState.REQUIRES_ACTION  # the buyer has not paid yet
    assert (after.state, after.reference, after.amount, after.currency) == (
        GatewayState.SUCCEEDED,
        request.payment_id,
        5000,
        "UGX",
    )


async def test_no_transaction_answered_with_http_200_is_still_awaiting_the_buyer(
    gateway: FlutterwaveGateway, fake: FakeFlutterwave
) -> None:
    fake.not_found_status = 200

    result = await gateway.fetch_payment(str(uuid4()))

    assert result.state is GatewayState.REQUIRES_ACTION


async def test_an_answer_about_another_transaction_is_not_trusted(
    gateway: FlutterwaveGateway, fake: FakeFlutterwave
) -> None:
    request = _request()
    await gateway.create_payment(request)
    fake.buyer_pays(request.payment_id)
    fake.transactions[request.payment_id]["tx_ref"] = "someone-else"

    with pytest.raises(GatewayOutcomeUnknown) as unknown:
        await gateway.fetch_payment(request.payment_id)

    assert unknown.value.code == "reference_mismatch"


async def test_a_wrong_key_or_a_timeout_is_an_unknown_outcome_without_secrets(
    fake: FakeFlutterwave,
) -> None:
    wrong = FlutterwaveGateway(
        secret_key="FLWSECK_TEST-wrong",
        webhook_hash=None,
        return_url=RETURN_URL,
        transport=fake.transport,
    )
    with pytest.raises(GatewayOutcomeUnknown) as refused:
        await wrong.fetch_payment("any")
    request = _request()
    fake.fail_next = 1
    with pytest.raises(GatewayOutcomeUnknown) as timed_out:
        await fake.gateway().create_payment(request)

    assert refused.value.code == "http_401"
    assert "FLWSECK" not in str(refused.value)
    assert timed_out.value.code == "timeout"
    assert timed_out.value.reference == request.payment_id  # verifiable later by tx_ref
    assert repr(wrong) == "FlutterwaveGateway()"
    await wrong.aclose()


async def test_a_link_flutterwave_refuses_fails_the_attempt(
    gateway: FlutterwaveGateway,
) -> None:
    bad = replace(_request(), payment_id="")  # Flutterwave requires a tx_ref

    with pytest.raises(GatewayBadRequest) as refused:
        await gateway.create_payment(bad)

    assert refused.value.code == "http_400"


async def test_there_is_no_cancel_and_the_public_config_is_the_public_key(
    gateway: FlutterwaveGateway, fake: FakeFlutterwave
) -> None:
    with pytest.raises(GatewayNotSupported):
        await gateway.cancel_payment(str(uuid4()))

    shown = json.dumps(gateway.public_config())
    assert gateway.public_config() == {"publicKey": fake.public_key}
    assert all(secret not in shown for secret in fake.secrets)
    assert fake.requests == []


def test_the_return_names_the_payment_by_tx_ref_only(gateway: FlutterwaveGateway) -> None:
    params = {"status": "successful", "tx_ref": "abc", "transaction_id": "4106582"}

    assert gateway.return_reference(params) == "abc"
    with pytest.raises(InvalidWebhook) as missing:
        gateway.return_reference({"status": "successful", "transaction_id": "4106582"})
    assert missing.value.code == "missing_reference"


async def test_webhooks_need_the_hash_configured(fake: FakeFlutterwave) -> None:
    unconfigured = FlutterwaveGateway(
        secret_key=fake.secret_key, webhook_hash=None, return_url=RETURN_URL
    )
    body = json.dumps(fixture("webhook_charge_completed")).encode()

    with pytest.raises(InvalidWebhook) as refused:
        unconfigured.parse_webhook(body, fake.sign(body))
    with pytest.raises(InvalidWebhook) as malformed:
        fake.gateway().parse_webhook(b"not json", fake.sign(b"not json"))

    assert refused.value.code == "not_configured"
    assert malformed.value.code == "malformed"
    await unconfigured.aclose()


async def _paid(gateway: FlutterwaveGateway, fake: FakeFlutterwave, amount: int = 5000) -> str:
    request = _request(amount, "USD")
    await gateway.create_payment(request)
    fake.buyer_pays(request.payment_id)
    return request.payment_id


async def test_a_refund_is_sent_for_the_verified_transaction_with_payqls_id(
    gateway: FlutterwaveGateway, fake: FakeFlutterwave
) -> None:
    reference = await _paid(gateway, fake)
    refund = _refund_request(reference, 1500)

    result = await gateway.create_refund(refund)

    transaction_id = fake.transactions[reference]["id"]
    verify, listing, post = fake.requests[-3:]
    assert verify.url.params["tx_ref"] == reference
    assert (listing.method, listing.url.path) == ("GET", "/v3/refunds")
    assert listing.url.params["from"] == "2026-11-02"
    assert (post.method, post.url.path) == ("POST", f"/v3/transactions/{transaction_id}/refund")
    assert _json(post) == {
        "amount": "15.00",
        "comments": f"payql refund {refund.refund_id} (REQUESTED_BY_CUSTOMER)",
    }
    assert (result.state, result.refund_id, result.amount) == (
        RefundState.SUCCEEDED,
        refund.refund_id,
        1500,
    )
    assert result.reference == str(fake.refunds[0]["id"])


async def test_a_retried_refund_finds_the_first_one_even_pages_later(
    gateway: FlutterwaveGateway, fake: FakeFlutterwave
) -> None:
    fake.refunds_page_size = 2
    reference = await _paid(gateway, fake, amount=10000)
    for _ in range(5):  # other refunds fill the first pages
        await gateway.create_refund(_refund_request(reference, 100))
    refund = _refund_request(reference, 1500)

    first = await gateway.create_refund(refund)
    again = await gateway.create_refund(refund)

    assert again.reference == first.reference
    assert len(fake.refunds) == 6
    assert len(fake.calls("POST", "/refund")) == 6


async def test_a_payment_without_a_successful_transaction_is_not_refunded(
    gateway: FlutterwaveGateway, fake: FakeFlutterwave
) -> None:
    request = _request()
    await gateway.create_payment(request)

    with pytest.raises(GatewayBadRequest) as unpaid:
        await gateway.create_refund(_refund_request(request.payment_id, 100))
    fake.buyer_fails(request.payment_id)
    with pytest.raises(GatewayBadRequest) as failed:
        await gateway.create_refund(_refund_request(request.payment_id, 100))
    with pytest.raises(GatewayBadRequest) as odd_currency:
        await gateway.create_refund(_refund_request(request.payment_id, 100, "KWD"))

    assert (unpaid.value.code, failed.value.code) == ("transaction_not_found", "not_refundable")
    assert odd_currency.value.code == "currency_not_supported"
    assert fake.calls("POST", "/refund") == []


# ============================================================================ API
@dataclass
class Flutterwave:
    api: GraphQLClient
    fake: FakeFlutterwave
    registry: GatewayRegistry


@pytest.fixture
async def flw(db: str, settings: Settings) -> AsyncIterator[Flutterwave]:
    """The real app with FLUTTERWAVE in its registry, built on the fake."""
    fake = FakeFlutterwave()
    registry = GatewayRegistry({"FLUTTERWAVE": fake.gateway()})
    app = create_app(settings, manage_database=False, gateways=registry, run_jobs=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://payql.test") as http:
        yield Flutterwave(GraphQLClient(http, settings, app=app), fake, registry)
    await registry.aclose()


async def _order(flw: Flutterwave, *, price: int = 250000, currency: str = "NGN") -> Any:
    shop = await make_workspace(
        f"shop-{uuid4().hex[:8]}", enabled_gateways=["FLUTTERWAVE"], default_currency=currency
    )
    item = await make_product(shop, price=price, currency=currency, capacity=10)
    created = await flw.api(
        CREATE_ORDER,
        order_input(shop, (item, 2), successUrl=SUCCESS_URL, failureUrl=FAILURE_URL),
        as_user=BUYER,
    )
    order = created.data["createOrder"]["order"]
    assert order is not None, created.body
    return shop, order


async def _pay(flw: Flutterwave, order_id: str) -> dict[str, Any]:
    response = await flw.api(
        PAY, {"input": {"orderId": order_id, "gateway": "FLUTTERWAVE"}}, as_user=BUYER
    )
    return response.data["initiatePayment"]  # type: ignore[no-any-return]


async def _return(flw: Flutterwave, reference: str) -> httpx.Response:
    return await flw.api.http.get(
        "/payments/return/flutterwave", params=flw.fake.return_params(reference)
    )


def _redirect(response: httpx.Response) -> tuple[str, dict[str, list[str]]]:
    assert response.status_code == 303, response.text
    target = urlsplit(response.headers["location"])
    return f"{target.scheme}://{target.netloc}{target.path}", parse_qs(target.query)


async def _post_webhook(flw: Flutterwave, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await flw.api.http.post("/webhooks/flutterwave", content=body, headers=headers)


@pytest.mark.parametrize(
    ("currency", "price", "sent"),
    [("NGN", 250000, "5000.00"), ("UGX", 5000, "10000"), ("USD", 1250, "25.00")],
)
async def test_a_buyer_who_pays_comes_back_to_the_success_url_and_the_order_is_paid(
    flw: Flutterwave, currency: str, price: int, sent: str
) -> None:
    _, order = await _order(flw, price=price, currency=currency)

    paid = await _pay(flw, order["id"])
    payment = paid["payment"]
    assert paid["errors"] == []
    assert payment["status"] == "REQUIRES_ACTION"
    assert payment["reference"] == payment["id"]  # tx_ref is payql's payment id
    assert paid["nextAction"]["type"] == "REDIRECT"
    assert paid["nextAction"]["redirectUrl"].startswith("https://checkout.flutterwave.com/")
    assert _json(flw.fake.calls("POST", "/payments")[0])["amount"] == sent

    flw.fake.buyer_pays(payment["reference"])
    target, query = _redirect(await _return(flw, payment["reference"]))

    assert target == SUCCESS_URL
    assert query["status"] == ["SUCCEEDED"]
    assert query["payment"] == [payment["id"]]
    stored = await Order.get(id=order["id"])
    assert (stored.status, stored.amount_paid) == (OrderStatus.PAID, price * 2)
    # payql asked the API by its own reference, never by the browser's transaction_id
    assert [r.url.path for r in flw.fake.calls("GET", "")] == [
        "/v3/transactions/verify_by_reference"
    ]


async def test_a_declined_buyer_comes_back_to_the_failure_url(flw: Flutterwave) -> None:
    _, order = await _order(flw)
    payment = (await _pay(flw, order["id"]))["payment"]

    flw.fake.buyer_fails(payment["reference"])
    target, query = _redirect(await _return(flw, payment["reference"]))

    assert (target, query["status"]) == (FAILURE_URL, ["FAILED"])
    stored = await Payment.get(id=payment["id"])
    assert (stored.status, stored.failure_code) == (PaymentStatus.FAILED, "payment_failed")
    assert stored.failure_message == "Insufficient funds"
    assert (await Order.get(id=order["id"])).status is OrderStatus.PENDING


async def test_a_pending_payment_is_processing_until_its_webhook_pays_it(
    flw: Flutterwave,
) -> None:
    _, order = await _order(flw)
    payment = (await _pay(flw, order["id"]))["payment"]

    flw.fake.buyer_pending(payment["reference"])
    target, query = _redirect(await _return(flw, payment["reference"]))
    assert (target, query["status"]) == (SUCCESS_URL, ["PROCESSING"])
    assert (await Order.get(id=order["id"])).status is OrderStatus.PENDING

    flw.fake.buyer_pays(payment["reference"])  # the mobile-money prompt is approved
    answer = await _post_webhook(flw, *flw.fake.signed_payment_webhook(payment["reference"]))

    assert answer.json() == {"status": "processed"}
    assert (await Payment.get(id=payment["id"])).status is PaymentStatus.SUCCEEDED
    assert (await Order.get(id=order["id"])).status is OrderStatus.PAID


async def test_a_buyer_who_leaves_the_page_keeps_the_payment_awaiting_action(
    flw: Flutterwave,
) -> None:
    _, order = await _order(flw)
    payment = (await _pay(flw, order["id"]))["payment"]

    _, query = _redirect(await _return(flw, payment["reference"]))  # status=cancelled

    assert query["status"] == ["REQUIRES_ACTION"]  # the browser's word changes nothing
    assert (await Payment.get(id=payment["id"])).status is PaymentStatus.REQUIRES_ACTION


@pytest.mark.parametrize(
    ("reported", "code"),
    [({"amount": "1.00"}, "amount_mismatch"), ({"currency": "USD"}, "currency_mismatch")],
)
async def test_a_success_for_other_money_fails_the_payment(
    flw: Flutterwave, reported: dict[str, str], code: str
) -> None:
    _, order = await _order(flw)
    payment = (await _pay(flw, order["id"]))["payment"]

    flw.fake.buyer_pays(payment["reference"], **reported)
    target, query = _redirect(await _return(flw, payment["reference"]))

    assert (target, query["status"]) == (FAILURE_URL, ["FAILED"])
    stored = await Payment.get(id=payment["id"])
    assert (stored.status, stored.failure_code) == (PaymentStatus.FAILED, code)
    order_row = await Order.get(id=order["id"])
    assert (order_row.status, order_row.amount_paid) == (OrderStatus.PENDING, 0)


async def test_confirm_payment_asks_flutterwave(flw: Flutterwave) -> None:
    _, order = await _order(flw)
    payment = (await _pay(flw, order["id"]))["payment"]
    flw.fake.buyer_pays(payment["reference"])

    confirmed = await flw.api(CONFIRM, {"input": {"paymentId": payment["id"]}}, as_user=BUYER)

    assert confirmed.data["confirmPayment"]["payment"]["status"] == "SUCCEEDED"
    assert (await Order.get(id=order["id"])).status is OrderStatus.PAID


async def test_a_return_without_tx_ref_or_for_an_unknown_payment_applies_nothing(
    flw: Flutterwave,
) -> None:
    missing = await flw.api.http.get("/payments/return/flutterwave", params={"status": "x"})
    unknown = await flw.api.http.get(
        "/payments/return/flutterwave", params={"tx_ref": str(uuid4())}
    )

    assert (missing.status_code, missing.json()["code"]) == (400, "missing_reference")
    assert unknown.status_code == 404
    assert flw.fake.requests == []


async def test_a_badly_signed_webhook_is_rejected_and_applies_nothing(flw: Flutterwave) -> None:
    _, order = await _order(flw)
    payment = (await _pay(flw, order["id"]))["payment"]
    flw.fake.buyer_pays(payment["reference"])
    body, _ = flw.fake.signed_payment_webhook(payment["reference"])

    forged = await _post_webhook(flw, body, flw.fake.sign(body, secret="not-the-hash"))
    unsigned = await _post_webhook(flw, body, {"content-type": "application/json"})

    assert (forged.status_code, forged.json()["code"]) == (400, "signature_mismatch")
    assert (unsigned.status_code, unsigned.json()["code"]) == (400, "signature_missing")
    assert (await Payment.get(id=payment["id"])).status is PaymentStatus.REQUIRES_ACTION
    assert (await Order.get(id=order["id"])).status is OrderStatus.PENDING
    rows = await WebhookEvent.filter(gateway="FLUTTERWAVE")
    assert [(r.verified, r.processed) for r in rows] == [(False, False), (False, False)]


async def test_a_duplicate_webhook_changes_nothing(flw: Flutterwave) -> None:
    _, order = await _order(flw)
    payment = (await _pay(flw, order["id"]))["payment"]
    flw.fake.buyer_pays(payment["reference"])
    body, headers = flw.fake.signed_payment_webhook(payment["reference"])

    first = await _post_webhook(flw, body, headers)
    second = await _post_webhook(flw, body, headers)

    assert first.json() == {"status": "processed"}
    assert second.json() == {"status": "duplicate"}
    order_row = await Order.get(id=order["id"])
    assert (order_row.status, order_row.amount_paid) == (OrderStatus.PAID, 500000)
    types = [e.type for e in await PaymentEvent.filter(order_id=order["id"])]
    assert (types.count("payment.succeeded"), types.count("order.paid")) == (1, 1)


async def test_the_v3_verif_hash_alone_is_accepted(flw: Flutterwave) -> None:
    _, order = await _order(flw)
    payment = (await _pay(flw, order["id"]))["payment"]
    flw.fake.buyer_pays(payment["reference"])
    body, headers = flw.fake.signed_payment_webhook(payment["reference"])
    del headers["flutterwave-signature"]

    answer = await _post_webhook(flw, body, headers)

    assert answer.json() == {"status": "processed"}
    assert (await Order.get(id=order["id"])).status is OrderStatus.PAID


async def test_a_signed_success_the_api_does_not_confirm_changes_nothing(
    flw: Flutterwave,
) -> None:
    _, order = await _order(flw)
    payment = (await _pay(flw, order["id"]))["payment"]
    # Signed correctly (a replay, or a leaked hash), but Flutterwave has no transaction.
    body, headers = flw.fake.signed_payment_webhook(payment["reference"])

    answer = await _post_webhook(flw, body, headers)

    assert answer.status_code == 200
    assert (await Payment.get(id=payment["id"])).status is PaymentStatus.REQUIRES_ACTION
    assert (await Order.get(id=order["id"])).status is OrderStatus.PENDING
    assert flw.fake.calls("GET", "/verify_by_reference")  # payql asked before applying


async def test_a_timeout_on_initiate_leaves_the_payment_processing(flw: Flutterwave) -> None:
    _, order = await _order(flw)
    flw.fake.fail_next = 1

    paid = await _pay(flw, order["id"])

    assert paid["errors"] == []
    assert paid["payment"]["status"] == "PROCESSING"  # unknown is never FAILED
    assert paid["payment"]["failureCode"] is None
    assert paid["nextAction"] is None
    assert len(flw.fake.requests) == 1
    assert (await Order.get(id=order["id"])).status is OrderStatus.PENDING


async def _paid_order(flw: Flutterwave) -> tuple[Any, dict[str, Any]]:
    shop, order = await _order(flw)
    payment = (await _pay(flw, order["id"]))["payment"]
    flw.fake.buyer_pays(payment["reference"])
    _redirect(await _return(flw, payment["reference"]))
    assert (await Order.get(id=order["id"])).status is OrderStatus.PAID
    await make_staff(STAFF, shop)
    return order, payment


async def _refund(flw: Flutterwave, payment_id: str, amount: int | None = None) -> Any:
    fields: dict[str, Any] = {"paymentId": payment_id}
    if amount is not None:
        fields["amount"] = amount
    response = await flw.api(REFUND, {"input": fields}, as_user=STAFF)
    return response.data["requestRefund"]


async def test_a_full_refund_is_settled_from_flutterwaves_answer(flw: Flutterwave) -> None:
    order, payment = await _paid_order(flw)

    answer = await _refund(flw, payment["id"])

    assert answer["errors"] == []
    assert answer["refund"]["status"] == "SUCCEEDED"
    assert answer["refund"]["amount"] == {"amount": 500000}
    refund = await Refund.get(payment_id=payment["id"])
    [created] = flw.fake.refunds
    assert refund.gateway_refund_id == str(created["id"])
    [post] = flw.fake.calls("POST", "/refund")
    assert _json(post)["amount"] == "5000.00"
    assert str(refund.id) in _json(post)["comments"]
    assert (await Order.get(id=order["id"])).status is OrderStatus.REFUNDED


async def test_a_pending_partial_refund_is_settled_by_its_webhook(flw: Flutterwave) -> None:
    order, payment = await _paid_order(flw)
    flw.fake.refund_status = "pending"

    answer = await _refund(flw, payment["id"], amount=100000)
    assert answer["refund"]["status"] == "PENDING"
    [created] = flw.fake.refunds
    flw.fake.settle_refund(created["id"], "completed")
    delivered = await _post_webhook(flw, *flw.fake.signed_refund_webhook(created["id"]))

    assert delivered.json() == {"status": "processed"}
    refund = await Refund.get(payment_id=payment["id"])
    assert (refund.status, refund.amount) == (RefundStatus.SUCCEEDED, 100000)
    order_row = await Order.get(id=order["id"])
    assert (order_row.status, order_row.amount_refunded) == (
        OrderStatus.PARTIALLY_REFUNDED,
        100000,
    )


async def test_a_failed_refund_webhook_releases_the_amount(flw: Flutterwave) -> None:
    _, payment = await _paid_order(flw)
    flw.fake.refund_status = "pending"
    await _refund(flw, payment["id"], amount=100000)
    [created] = flw.fake.refunds

    flw.fake.settle_refund(created["id"], "failed")
    await _post_webhook(flw, *flw.fake.signed_refund_webhook(created["id"]))

    refund = await Refund.get(payment_id=payment["id"])
    assert refund.status is RefundStatus.FAILED
    assert (await Payment.get(id=payment["id"])).refund_reserved == 0


@pytest.mark.parametrize(("lost", "made_before_retry"), [("answer", 1), ("request", 0)])
async def test_a_refund_retried_after_a_timeout_refunds_once(
    flw: Flutterwave, lost: str, made_before_retry: int
) -> None:
    order, payment = await _paid_order(flw)
    if lost == "answer":
        flw.fake.lose_response("POST", "/refund")  # Flutterwave refunds; payql never hears
    else:
        flw.fake.fail_next = 1  # the first call never arrives

    answer = await _refund(flw, payment["id"])
    assert answer["refund"]["status"] == "PENDING"  # unknown is not failed
    assert len(flw.fake.refunds) == made_before_retry

    later = datetime.now(UTC) + timedelta(minutes=1)
    resubmitted = await submit_stuck_refunds(gateways=flw.registry, now=later)

    assert resubmitted == 1
    assert len(flw.fake.refunds) == 1
    assert len(flw.fake.calls("POST", "/refund")) == 1
    refund = await Refund.get(payment_id=payment["id"])
    assert refund.status is RefundStatus.SUCCEEDED
    assert refund.gateway_refund_id == str(flw.fake.refunds[0]["id"])
    assert (await Order.get(id=order["id"])).status is OrderStatus.REFUNDED
