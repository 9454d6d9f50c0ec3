"""PAYSTACK: the documented shapes (``_wire``), the requests payql sends, and the whole flow
through the real app — checkout, return route, webhooks, refunds — with Paystack played by
the stateful fake in ``tests/fake_paystack.py`` (no network).
"""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from gateways.base import (
    DisputeResult,
    DisputeState,
    GatewayBadRequest,
    GatewayNotSupported,
    GatewayOutcomeUnknown,
    GatewayState,
    InvalidWebhook,
    NextAction,
    PaymentRequest,
    RefundRequest,
    RefundResult,
    RefundState,
)
from gateways.paystack import PaystackGateway, _wire
from gateways.registry import GatewayRegistry
from gateways.units import CurrencyNotSupported
from models import Dispute, Order, Payment, PaymentEvent, Refund, WebhookEvent
from models.enums import DisputeStatus, OrderStatus, PaymentStatus, RefundStatus
from resolvers.refunds import submit_stuck_refunds
from tests.fake_paystack import API_BASE, FakePaystack, fixture
from tests.helpers import (
    CREATE_ORDER,
    GraphQLClient,
    make_product,
    make_staff,
    make_workspace,
    order_input,
)

BUYER = "ada@example.com"
STAFF = "clerk@example.com"
SUCCESS_URL = "https://shop.example/paid"
FAILURE_URL = "https://shop.example/failed"

PAY = """
mutation Pay($input: InitiatePaymentInput!) {
  initiatePayment(input: $input) {
    payment { id status reference failureCode }
    clientSecret
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
  requestRefund(input: $input) {
    refund { id status amount { amount } failureCode }
    errors { code message field }
  }
}
"""


def _request(amount: int = 250_000, currency: str = "NGN", **fields: Any) -> PaymentRequest:
    payment_id = str(uuid4())
    return PaymentRequest(
        payment_id=payment_id,
        order_number="PQ-7K2M",
        amount=amount,
        currency=currency,
        idempotency_key=f"payql-payment-{payment_id}",
        **fields,
    )


def _refund_request(reference: str, amount: int, currency: str = "NGN") -> RefundRequest:
    refund_id = str(uuid4())
    return RefundRequest(
        refund_id=refund_id,
        payment_reference=reference,
        amount=amount,
        currency=currency,
        idempotency_key=f"payql-refund-{refund_id}",
        reason="REQUESTED_BY_CUSTOMER",
    )


@pytest.fixture
def fake() -> FakePaystack:
    return FakePaystack()


@pytest.fixture
async def gateway(fake: FakePaystack) -> AsyncIterator[PaystackGateway]:
    gateway = fake.gateway()
    yield gateway
    await gateway.aclose()


async def _paid(fake: FakePaystack, gateway: PaystackGateway, amount: int = 250_000) -> str:
    created = await gateway.create_payment(_request(amount))
    fake.buyer_pays(created.reference)
    return created.reference


# ============================================================================ _wire
@pytest.mark.parametrize(
    ("amount", "currency", "subunits"),
    [
        (1250, "NGN", 1250),  # kobo
        (4200, "USD", 4200),  # cents
        (99, "GHS", 99),  # pesewas
        (500, "XOF", 50_000),  # ISO has no CFA centime; Paystack still counts 100 a franc
        (1, "EGP", 1),
    ],
)
def test_amounts_are_paystack_subunits_both_ways(amount: int, currency: str, subunits: int) -> None:
    assert _wire.to_paystack_amount(amount, currency) == subunits
    assert _wire.from_paystack_amount(subunits, currency) == amount
    assert _wire.from_paystack_amount(str(subunits), currency.lower()) == amount


def test_a_paystack_amount_payql_cannot_keep_exactly_is_refused() -> None:
    with pytest.raises(CurrencyNotSupported):
        _wire.from_paystack_amount(150, "XOF")  # 1.50 franc


@pytest.mark.parametrize("currency", ["EUR", "JPY", "KWD", "XYZ"])
def test_a_currency_paystack_does_not_take_is_refused_before_any_request(
    fake: FakePaystack, gateway: PaystackGateway, currency: str
) -> None:
    with pytest.raises(GatewayBadRequest) as refused:
        gateway.check_request(_request(currency=currency, amount=1000))

    assert refused.value.code == "currency_not_supported"
    assert fake.requests == []


async def test_create_payment_refuses_an_unsupported_currency_without_calling_paystack(
    fake: FakePaystack, gateway: PaystackGateway
) -> None:
    with pytest.raises(GatewayBadRequest) as refused:
        await gateway.create_payment(_request(currency="KWD", amount=1234))

    assert refused.value.code == "currency_not_supported"
    assert fake.requests == []


def test_a_payment_method_token_is_refused(fake: FakePaystack, gateway: PaystackGateway) -> None:
    with pytest.raises(GatewayBadRequest) as refused:
        gateway.check_request(_request(payment_method_token="pm_card_visa"))

    assert refused.value.code == "token_not_accepted"
    assert fake.requests == []


@pytest.mark.parametrize(
    ("status", "state", "code"),
    [
        ("success", GatewayState.SUCCEEDED, None),
        ("failed", GatewayState.FAILED, "declined"),
        ("reversed", GatewayState.FAILED, "reversed"),
        ("abandoned", GatewayState.REQUIRES_ACTION, None),
        ("ongoing", GatewayState.REQUIRES_ACTION, None),
        ("pending", GatewayState.PROCESSING, None),
        ("processing", GatewayState.PROCESSING, None),
        ("queued", GatewayState.PROCESSING, None),
        ("something-new", GatewayState.PROCESSING, None),
    ],
)
def test_every_transaction_status_maps(status: str, state: GatewayState, code: str | None) -> None:
    data = fixture("verify_response")["data"] | {"status": status}

    result = _wire.payment_result(data)

    assert (result.state, result.failure_code) == (state, code)
    assert (result.reference, result.amount, result.currency) == ("rd0bz6z2wu", 20000, "NGN")
    assert result.fee == 100
    if code:
        assert result.failure_message == "Successful"  # Paystack's gateway_response


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"payql_payment_id": "p-1"}, "p-1"),
        (json.dumps({"payql_payment_id": "p-2"}), "p-2"),
        ("", None),
        (0, None),  # as in the documented charge.success sample
        ("not json", None),
    ],
)
def test_metadata_is_read_whatever_shape_paystack_sends(
    metadata: Any, expected: str | None
) -> None:
    assert _wire.payment_id_of({"metadata": metadata}) == expected


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("pending", RefundState.PENDING),
        ("processing", RefundState.PENDING),
        ("needs-attention", RefundState.PENDING),
        ("processed", RefundState.SUCCEEDED),
        ("failed", RefundState.FAILED),
        ("unheard-of", RefundState.PENDING),
    ],
)
def test_every_refund_status_maps(status: str, state: RefundState) -> None:
    assert _wire.refund_state(status) is state


def test_a_refund_answer_and_its_webhooks_share_one_reference() -> None:
    created = fixture("refund_create_response")["data"]
    answer = _wire.refund_result(
        created, transaction_reference="T685312322670591", currency="NGN", refund_id="r-1"
    )
    webhook = fixture("webhook_refund_processed")["data"] | {
        "transaction_reference": "T685312322670591",
        "amount": "10000",
    }

    from_webhook = _wire.refund_event_result(webhook)

    assert answer == RefundResult(
        state=RefundState.PENDING, reference="T685312322670591:10000", refund_id="r-1", amount=10000
    )
    assert from_webhook.reference == answer.reference
    assert (from_webhook.state, from_webhook.amount) == (RefundState.SUCCEEDED, 10000)


@pytest.mark.parametrize(
    ("name", "state", "code"),
    [
        ("webhook_refund_pending", RefundState.PENDING, None),
        ("webhook_refund_processed", RefundState.SUCCEEDED, None),
        ("webhook_refund_failed", RefundState.FAILED, "refund_failed"),
    ],
)
def test_documented_refund_webhooks_normalize(
    name: str, state: RefundState, code: str | None
) -> None:
    payload = fixture(name)
    data = payload["data"]

    event = _wire.gateway_event(payload)

    assert event.refund is not None
    assert (event.refund.state, event.refund.failure_code) == (state, code)
    assert event.refund.reference == f"{data['transaction_reference']}:{int(data['amount'])}"
    assert event.refund.refund_id is None  # Paystack's refund events do not carry it
    assert event.event_id.startswith(f"{payload['event']}:{data['transaction_reference']}:")


def test_a_second_refund_of_the_same_amount_is_left_to_polling() -> None:
    first = {"id": 1, "transaction": 9, "amount": 500, "status": "pending", "merchant_note": "a"}
    second = {"id": 2, "transaction": 9, "amount": 500, "status": "pending", "merchant_note": "b"}
    failed = {"id": 3, "transaction": 9, "amount": 500, "status": "failed", "merchant_note": "c"}

    assert _wire.is_ambiguous([first, second], second, transaction_id="9")
    assert not _wire.is_ambiguous([failed, second], second, transaction_id="9")
    result = _wire.refund_result(
        second, transaction_reference="ref", currency="NGN", refund_id="b", ambiguous=True
    )
    assert result.reference == ""  # payql keeps resubmitting it until it settles


def test_documented_dispute_webhooks_normalize() -> None:
    opened = _wire.gateway_event(fixture("webhook_dispute_create"))
    resolved = _wire.gateway_event(fixture("webhook_dispute_resolve"))
    declined_payload = fixture("webhook_dispute_resolve")
    declined_payload["data"]["resolution"] = "declined"

    assert opened.dispute == DisputeResult(
        reference="358950",
        payment_reference="v3mjfgbnc19v97x",
        state=DisputeState.OPEN,
        amount=5800,
        currency="NGN",
        reason="chargeback",
    )
    assert resolved.dispute is not None
    assert resolved.dispute.state is DisputeState.LOST  # auto-accepted: the customer won
    declined = _wire.gateway_event(declined_payload).dispute
    assert declined is not None
    assert declined.state is DisputeState.WON
    assert opened.event_id == "charge.dispute.create:358950:awaiting-merchant-feedback"
    assert resolved.event_id == "charge.dispute.resolve:358950:resolved"


def test_charge_success_normalizes_with_a_stable_event_id() -> None:
    payload = fixture("webhook_charge_success")
    payload["data"]["metadata"] = {"payql_payment_id": "pay-1"}

    event = _wire.gateway_event(payload)
    again = _wire.gateway_event(json.loads(json.dumps(payload, indent=4)))

    assert event.event_id == "charge.success:302961"
    assert again == event
    assert event.payment_id == "pay-1"
    assert event.payment is not None
    assert (event.payment.state, event.payment.reference, event.payment.amount) == (
        GatewayState.SUCCEEDED,
        "qTPrJoy9Bx",
        10000,
    )


def test_an_event_payql_does_not_act_on_is_kept_with_a_content_id() -> None:
    payload = {"event": "subscription.create", "data": {"subscription_code": "SUB_1"}}

    event = _wire.gateway_event(payload)

    assert (event.payment, event.refund, event.dispute) == (None, None, None)
    assert event.event_id.startswith("subscription.create:sha256:")
    assert _wire.gateway_event(payload).event_id == event.event_id


# ============================================================================ signatures
def test_a_webhook_signed_with_the_secret_key_verifies(
    fake: FakePaystack, gateway: PaystackGateway
) -> None:
    payload = fixture("webhook_charge_success")
    body, headers = fake.sign(payload)

    event = gateway.parse_webhook(body, {"X-Paystack-Signature": headers["x-paystack-signature"]})

    assert event.type == "charge.success"
    assert gateway.normalize_webhook(body) == event


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (
            lambda body, headers, fake: (body.replace(b"10000", b"10001"), headers),
            "signature_mismatch",
        ),
        (
            lambda body, headers, fake: fake.sign(json.loads(body), key="sk_test_other"),
            "signature_mismatch",
        ),
        (lambda body, headers, fake: (body, {}), "signature_missing"),
        (lambda body, headers, fake: (body, {"x-paystack-signature": "00"}), "signature_mismatch"),
    ],
)
def test_a_tampered_or_unsigned_webhook_is_refused(
    fake: FakePaystack, gateway: PaystackGateway, mutate: Any, code: str
) -> None:
    body, headers = fake.sign(fixture("webhook_charge_success"))
    bad_body, bad_headers = mutate(body, headers, fake)

    with pytest.raises(InvalidWebhook) as refused:
        gateway.parse_webhook(bad_body, bad_headers)

    assert refused.value.code == code


def test_a_signed_body_that_is_not_an_event_is_refused(
    fake: FakePaystack, gateway: PaystackGateway
) -> None:
    body, headers = fake.sign({"hello": "world"})

    with pytest.raises(InvalidWebhook) as refused:
        gateway.parse_webhook(body, headers)

    assert refused.value.code == "malformed"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"trxref": "abc-1", "reference": "abc-1"}, "abc-1"),
        ({"trxref": "abc.2="}, "abc.2="),
        ({"reference": "abc-3"}, "abc-3"),
    ],
)
def test_the_return_names_the_reference(
    gateway: PaystackGateway, params: dict[str, str], expected: str
) -> None:
    assert gateway.return_reference(params) == expected


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "missing_reference"),
        ({"reference": " "}, "missing_reference"),
        ({"reference": "a b<"}, "malformed_reference"),
    ],
)
def test_a_return_without_a_usable_reference_is_refused(
    gateway: PaystackGateway, params: dict[str, str], code: str
) -> None:
    with pytest.raises(InvalidWebhook) as refused:
        gateway.return_reference(params)

    assert refused.value.code == code


def test_only_the_public_key_is_public(fake: FakePaystack, gateway: PaystackGateway) -> None:
    assert gateway.public_config() == {"publicKey": fake.public_key}
    assert fake.secret_key not in repr(gateway)
    assert PaystackGateway(secret_key="sk_x", return_url="http://x").public_config() == {}


# ============================================================================ requests
async def test_initialize_sends_the_documented_request(
    fake: FakePaystack, gateway: PaystackGateway
) -> None:
    request = _request(250_000, "NGN")

    created = await gateway.create_payment(request)

    [sent] = fake.requests
    assert (sent.method, str(sent.url)) == ("POST", f"{API_BASE}/transaction/initialize")
    assert sent.headers["authorization"] == f"Bearer {fake.secret_key}"
    return_url = "http://payql.test/payments/return/paystack"
    assert json.loads(sent.content) == {
        "email": "pq-7k2m@payql.invalid",
        "amount": 250_000,
        "currency": "NGN",
        "reference": request.payment_id,
        "callback_url": return_url,
        "label": "Order PQ-7K2M",
        "metadata": {
            "payql_payment_id": request.payment_id,
            "payql_order_number": "PQ-7K2M",
            "cancel_action": f"{return_url}?reference={request.payment_id}",
        },
    }
    access_code = fake.transactions[request.payment_id]["access_code"]
    assert created.state is GatewayState.REQUIRES_ACTION
    assert created.reference == request.payment_id
    assert (created.amount, created.currency, created.client_secret) == (
        250_000,
        "NGN",
        access_code,
    )
    assert created.next_action == NextAction(
        type="REDIRECT", redirect_url=f"https://checkout.paystack.com/{access_code}"
    )


async def test_a_xof_payment_is_sent_in_subunits(
    fake: FakePaystack, gateway: PaystackGateway
) -> None:
    await gateway.create_payment(_request(5000, "XOF"))

    assert json.loads(fake.requests[0].content)["amount"] == 500_000


async def test_a_retried_initialize_reports_the_same_transaction(
    fake: FakePaystack, gateway: PaystackGateway
) -> None:
    request = _request()
    first = await gateway.create_payment(request)

    second = await gateway.create_payment(request)

    assert second.reference == first.reference
    assert second.state is GatewayState.REQUIRES_ACTION
    assert len(fake.transactions) == 1
    assert [(r.method, r.url.path) for r in fake.requests] == [
        ("POST", "/transaction/initialize"),
        ("POST", "/transaction/initialize"),
        ("GET", f"/transaction/verify/{request.payment_id}"),
    ]


async def test_a_retried_initialize_of_a_paid_transaction_reports_it_paid(
    fake: FakePaystack, gateway: PaystackGateway
) -> None:
    request = _request(4200, "USD")
    await gateway.create_payment(request)
    fake.buyer_pays(request.payment_id)

    again = await gateway.create_payment(request)

    assert (again.state, again.amount, again.currency) == (GatewayState.SUCCEEDED, 4200, "USD")


async def test_a_timeout_is_an_unknown_outcome(
    fake: FakePaystack, gateway: PaystackGateway
) -> None:
    fake.fail_next = 1

    with pytest.raises(GatewayOutcomeUnknown) as unknown:
        await gateway.create_payment(_request())

    assert unknown.value.code == "timeout"
    assert fake.secret_key not in str(unknown.value)


async def test_verify_reads_the_transaction(fake: FakePaystack, gateway: PaystackGateway) -> None:
    reference = await _paid(fake, gateway, 4200)

    result = await gateway.fetch_payment(reference)

    assert fake.requests[-1].url.path == f"/transaction/verify/{reference}"
    assert fake.requests[-1].headers["authorization"] == f"Bearer {fake.secret_key}"
    assert (result.state, result.reference, result.amount, result.currency) == (
        GatewayState.SUCCEEDED,
        reference,
        4200,
        "NGN",
    )


async def test_verifying_an_unknown_reference_is_not_a_failure(gateway: PaystackGateway) -> None:
    with pytest.raises(GatewayOutcomeUnknown):
        await gateway.fetch_payment("never-initialized")


async def test_a_transaction_cannot_be_cancelled(
    fake: FakePaystack, gateway: PaystackGateway
) -> None:
    created = await gateway.create_payment(_request())

    with pytest.raises(GatewayNotSupported):
        await gateway.cancel_payment(created.reference)

    assert len(fake.requests) == 1


async def test_a_refund_lists_first_then_creates_with_payqls_id_in_the_note(
    fake: FakePaystack, gateway: PaystackGateway
) -> None:
    reference = await _paid(fake, gateway)
    transaction_id = str(fake.transactions[reference]["id"])
    request = _refund_request(reference, 100_000)
    fake.requests.clear()

    result = await gateway.create_refund(request)

    verify, listing, create = fake.requests
    assert verify.url.path == f"/transaction/verify/{reference}"
    assert (listing.method, listing.url.path) == ("GET", "/refund")
    assert dict(listing.url.params) == {
        "transaction": transaction_id,
        "currency": "NGN",
        "perPage": "100",
    }
    assert (create.method, create.url.path) == ("POST", "/refund")
    assert create.headers["authorization"] == f"Bearer {fake.secret_key}"
    assert json.loads(create.content) == {
        "transaction": reference,
        "amount": 100_000,
        "currency": "NGN",
        "merchant_note": f"payql refund {request.refund_id} (REQUESTED_BY_CUSTOMER)",
    }
    assert result == RefundResult(
        state=RefundState.PENDING,
        reference=f"{reference}:100000",
        refund_id=request.refund_id,
        amount=100_000,
    )


async def test_a_retried_refund_finds_the_first_and_reports_its_status(
    fake: FakePaystack, gateway: PaystackGateway
) -> None:
    reference = await _paid(fake, gateway)
    request = _refund_request(reference, 250_000)
    fake.lose_answer("POST", "/refund")
    with pytest.raises(GatewayOutcomeUnknown):
        await gateway.create_refund(request)
    fake.settle_refund(fake.refunds[0]["id"], "processed")

    again = await gateway.create_refund(request)

    assert len(fake.refunds) == 1
    assert len(fake.calls("POST", "/refund")) == 1
    assert (again.state, again.refund_id, again.amount) == (
        RefundState.SUCCEEDED,
        request.refund_id,
        250_000,
    )


async def test_a_refund_paystack_refuses_is_a_bad_request(
    fake: FakePaystack, gateway: PaystackGateway
) -> None:
    reference = await _paid(fake, gateway, 1000)

    with pytest.raises(GatewayBadRequest):
        await gateway.create_refund(_refund_request(reference, 5000))

    assert fake.refunds == []


# ============================================================================ the app
@dataclass
class Shop:
    client: GraphQLClient
    fake: FakePaystack
    registry: GatewayRegistry


@pytest.fixture
async def shop(db: str, settings: Settings) -> AsyncIterator[Shop]:
    """payql with PAYSTACK (on the fake) as its only gateway, over ASGI."""
    fake = FakePaystack()
    registry = GatewayRegistry({"PAYSTACK": fake.gateway()})
    app = create_app(settings, manage_database=False, gateways=registry, run_jobs=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://payql.test") as http:
        yield Shop(GraphQLClient(http, settings, app=app), fake, registry)
    await registry.aclose()


async def _order(shop: Shop, *, price: int = 250_000, currency: str = "NGN") -> dict[str, Any]:
    """An order of 2 × price with success and failure URLs; returns ids and the workspace."""
    workspace = await make_workspace(
        f"ps-{uuid4().hex[:8]}", enabled_gateways=["PAYSTACK"], default_currency=currency
    )
    item = await make_product(workspace, price=price, currency=currency, capacity=10)
    created = await shop.client(
        CREATE_ORDER,
        order_input(workspace, (item, 2), successUrl=SUCCESS_URL, failureUrl=FAILURE_URL),
        as_user=BUYER,
    )
    order = created.data["createOrder"]["order"]
    assert order is not None, created.body
    return {"id": order["id"], "workspace": workspace}


async def _initiate(shop: Shop, order_id: str) -> dict[str, Any]:
    response = await shop.client(
        PAY, {"input": {"orderId": order_id, "gateway": "PAYSTACK"}}, as_user=BUYER
    )
    return response.data["initiatePayment"]  # type: ignore[no-any-return]


async def _return(shop: Shop, reference: str) -> httpx.Response:
    return await shop.client.http.get(
        "/payments/return/paystack", params=shop.fake.return_params(reference)
    )


async def _webhook(shop: Shop, signed: tuple[bytes, dict[str, str]]) -> httpx.Response:
    body, headers = signed
    return await shop.client.http.post("/webhooks/paystack", content=body, headers=headers)


async def _paid_order(shop: Shop) -> dict[str, Any]:
    order = await _order(shop)
    started = await _initiate(shop, order["id"])
    reference = started["payment"]["reference"]
    shop.fake.buyer_pays(reference)
    assert (await _return(shop, reference)).status_code == 303
    assert (await Order.get(id=order["id"])).status is OrderStatus.PAID
    return order | {"payment_id": started["payment"]["id"], "reference": reference}


async def _refund(shop: Shop, payment_id: str, **fields: Any) -> dict[str, Any]:
    response = await shop.client(
        REFUND, {"input": {"paymentId": payment_id, **fields}}, as_user=STAFF
    )
    return response.data["requestRefund"]  # type: ignore[no-any-return]


def _redirect(response: httpx.Response) -> httpx.URL:
    assert response.status_code == 303, response.text
    return httpx.URL(response.headers["location"])


async def test_a_buyer_who_pays_on_paystack_returns_to_the_success_url(shop: Shop) -> None:
    order = await _order(shop)

    started = await _initiate(shop, order["id"])
    payment = started["payment"]
    shop.fake.buyer_pays(payment["reference"])
    back = _redirect(await _return(shop, payment["reference"]))

    assert started["errors"] == []
    assert payment["status"] == "REQUIRES_ACTION"
    assert payment["reference"] == payment["id"]  # payql's payment id is Paystack's reference
    assert started["nextAction"]["type"] == "REDIRECT"
    assert started["nextAction"]["redirectUrl"].startswith("https://checkout.paystack.com/")
    assert str(back).startswith(SUCCESS_URL)
    assert (back.params["status"], back.params["payment"]) == ("SUCCEEDED", payment["id"])
    paid = await Order.get(id=order["id"])
    assert (paid.status, paid.amount_paid) == (OrderStatus.PAID, 500_000)
    assert (await Payment.get(id=payment["id"])).gateway_fee == 5000


async def test_a_declined_buyer_returns_to_the_failure_url(shop: Shop) -> None:
    order = await _order(shop)
    started = await _initiate(shop, order["id"])
    shop.fake.buyer_fails(started["payment"]["reference"])

    back = _redirect(await _return(shop, started["payment"]["reference"]))

    assert str(back).startswith(FAILURE_URL)
    assert back.params["status"] == "FAILED"
    payment = await Payment.get(id=started["payment"]["id"])
    assert (payment.status, payment.failure_code) == (PaymentStatus.FAILED, "declined")
    assert (await Order.get(id=order["id"])).status is OrderStatus.PENDING


async def test_a_pending_transaction_is_processing_until_paystack_decides(shop: Shop) -> None:
    order = await _order(shop)
    started = await _initiate(shop, order["id"])
    reference = started["payment"]["reference"]
    shop.fake.set_status(reference, "pending")

    back = _redirect(await _return(shop, reference))
    shop.fake.buyer_pays(reference)
    confirmed = await shop.client(
        CONFIRM, {"input": {"paymentId": started["payment"]["id"]}}, as_user=BUYER
    )

    assert str(back).startswith(SUCCESS_URL)
    assert back.params["status"] == "PROCESSING"
    assert confirmed.data["confirmPayment"]["payment"]["status"] == "SUCCEEDED"
    assert (await Order.get(id=order["id"])).status is OrderStatus.PAID


async def test_a_buyer_who_left_checkout_keeps_the_payment_awaiting_action(shop: Shop) -> None:
    order = await _order(shop)
    started = await _initiate(shop, order["id"])

    back = _redirect(await _return(shop, started["payment"]["reference"]))  # still abandoned

    assert back.params["status"] == "REQUIRES_ACTION"
    assert (await Payment.get(id=started["payment"]["id"])).status is PaymentStatus.REQUIRES_ACTION


@pytest.mark.parametrize(
    ("reported", "code"),
    [({"amount": 400_000}, "amount_mismatch"), ({"currency": "GHS"}, "currency_mismatch")],
)
async def test_a_success_for_other_money_fails_the_payment(
    shop: Shop, reported: dict[str, Any], code: str
) -> None:
    order = await _order(shop)
    started = await _initiate(shop, order["id"])
    reference = started["payment"]["reference"]
    shop.fake.buyer_pays(reference)
    shop.fake.report(reference, **reported)

    back = _redirect(await _return(shop, reference))

    assert str(back).startswith(FAILURE_URL)
    payment = await Payment.get(id=started["payment"]["id"])
    assert (payment.status, payment.failure_code) == (PaymentStatus.FAILED, code)
    assert (await Order.get(id=order["id"])).status is OrderStatus.PENDING


async def test_a_return_without_a_reference_is_refused(shop: Shop) -> None:
    response = await shop.client.http.get("/payments/return/paystack")

    assert response.status_code == 400
    assert response.json()["code"] == "missing_reference"


async def test_a_signed_success_webhook_pays_the_order_once(shop: Shop) -> None:
    order = await _order(shop)
    started = await _initiate(shop, order["id"])
    reference = started["payment"]["reference"]
    shop.fake.buyer_pays(reference)
    delivery = shop.fake.signed_payment_webhook(reference)

    first = await _webhook(shop, delivery)
    second = await _webhook(shop, delivery)

    assert first.json() == {"status": "processed"}
    assert second.json() == {"status": "duplicate"}
    order_row = await Order.get(id=order["id"])
    assert (order_row.status, order_row.amount_paid) == (OrderStatus.PAID, 500_000)
    types = [e.type for e in await PaymentEvent.filter(order_id=order["id"])]
    assert (types.count("payment.succeeded"), types.count("order.paid")) == (1, 1)
    stored = await WebhookEvent.get(gateway="PAYSTACK", event_type="charge.success")
    assert stored.event_id == f"charge.success:{shop.fake.transactions[reference]['id']}"


async def test_a_webhook_with_a_bad_signature_changes_nothing(shop: Shop) -> None:
    order = await _order(shop)
    started = await _initiate(shop, order["id"])
    reference = started["payment"]["reference"]
    shop.fake.buyer_pays(reference)
    body, _ = shop.fake.signed_payment_webhook(reference)
    forged = shop.fake.sign(json.loads(body), key="sk_test_not_the_merchants")

    response = await _webhook(shop, forged)

    assert response.status_code == 400
    assert response.json()["code"] == "signature_mismatch"
    assert (await Payment.get(id=started["payment"]["id"])).status is PaymentStatus.REQUIRES_ACTION
    assert (await Order.get(id=order["id"])).status is OrderStatus.PENDING
    rejected = await WebhookEvent.get(gateway="PAYSTACK")
    assert (rejected.verified, rejected.processed) == (False, False)


async def test_a_signed_success_that_paystack_does_not_confirm_changes_nothing(shop: Shop) -> None:
    """A replayed (or leaked-key) charge.success for a transaction the buyer never paid:
    payql verifies with Paystack, which says ``abandoned``, so nothing is applied."""
    order = await _order(shop)
    started = await _initiate(shop, order["id"])
    reference = started["payment"]["reference"]
    claimed = shop.fake.signed_payment_webhook(reference)  # says success; Paystack does not

    response = await _webhook(shop, claimed)

    assert response.status_code == 200
    assert shop.fake.calls("GET", f"/transaction/verify/{reference}")
    assert (await Payment.get(id=started["payment"]["id"])).status is PaymentStatus.REQUIRES_ACTION
    assert (await Order.get(id=order["id"])).status is OrderStatus.PENDING
    assert "payment.succeeded" not in [
        e.type for e in await PaymentEvent.filter(order_id=order["id"])
    ]


async def test_a_signed_success_for_a_transaction_paystack_does_not_know_waits(shop: Shop) -> None:
    order = await _order(shop)
    started = await _initiate(shop, order["id"])
    payload = fixture("webhook_charge_success")
    payload["data"].update(
        reference="never-made", metadata={"payql_payment_id": started["payment"]["id"]}
    )

    response = await _webhook(shop, shop.fake.sign(payload))

    assert response.json() == {"status": "pending"}  # not verified: kept, not applied
    assert (await Payment.get(id=started["payment"]["id"])).status is PaymentStatus.REQUIRES_ACTION


async def test_a_timeout_on_initialize_leaves_the_payment_processing(shop: Shop) -> None:
    order = await _order(shop)
    shop.fake.fail_next = 1

    started = await _initiate(shop, order["id"])

    assert started["errors"] == []
    assert started["payment"]["status"] == "PROCESSING"
    assert started["payment"]["failureCode"] is None
    payment = await Payment.get(id=started["payment"]["id"])
    assert payment.status is PaymentStatus.PROCESSING


async def test_a_lost_initialize_answer_is_settled_by_the_verified_webhook(shop: Shop) -> None:
    order = await _order(shop)
    shop.fake.lose_answer("POST", "/transaction/initialize")
    started = await _initiate(shop, order["id"])
    payment_id = started["payment"]["id"]
    shop.fake.buyer_pays(payment_id)  # Paystack made it, under payql's payment id

    response = await _webhook(shop, shop.fake.signed_payment_webhook(payment_id))

    assert started["payment"]["status"] == "PROCESSING"
    assert response.json() == {"status": "processed"}
    payment = await Payment.get(id=payment_id)
    assert (payment.status, payment.reference) == (PaymentStatus.SUCCEEDED, payment_id)
    assert (await Order.get(id=order["id"])).status is OrderStatus.PAID


async def test_a_full_refund_is_pending_then_settled_by_the_processed_webhook(shop: Shop) -> None:
    paid = await _paid_order(shop)
    await make_staff(STAFF, paid["workspace"])

    answered = await _refund(shop, paid["payment_id"])
    settled_refund = shop.fake.settle_refund(shop.fake.refunds[0]["id"], "processed")
    delivered = await _webhook(
        shop, shop.fake.refund_webhook(settled_refund["id"], "refund.processed")
    )

    assert answered["errors"] == []
    assert answered["refund"]["status"] == "PENDING"  # Paystack queues refunds
    assert answered["refund"]["amount"]["amount"] == 500_000
    assert json.loads(shop.fake.calls("POST", "/refund")[0].content)["amount"] == 500_000
    assert delivered.json() == {"status": "processed"}
    refund = await Refund.get(id=answered["refund"]["id"])
    assert (refund.status, refund.gateway_refund_id) == (
        RefundStatus.SUCCEEDED,
        f"{paid['reference']}:500000",
    )
    order = await Order.get(id=paid["id"])
    assert (order.status, order.amount_refunded) == (OrderStatus.REFUNDED, 500_000)


async def test_a_partial_refund_that_fails_at_paystack_gives_the_balance_back(shop: Shop) -> None:
    paid = await _paid_order(shop)
    await make_staff(STAFF, paid["workspace"])

    answered = await _refund(shop, paid["payment_id"], amount=100_000)
    pending = await _webhook(
        shop, shop.fake.refund_webhook(shop.fake.refunds[0]["id"], "refund.pending")
    )
    failed = await _webhook(
        shop, shop.fake.refund_webhook(shop.fake.refunds[0]["id"], "refund.failed")
    )

    assert answered["refund"]["status"] == "PENDING"
    assert (pending.json(), failed.json()) == ({"status": "processed"}, {"status": "processed"})
    refund = await Refund.get(id=answered["refund"]["id"])
    assert (refund.status, refund.failure_code) == (RefundStatus.FAILED, "refund_failed")
    payment = await Payment.get(id=paid["payment_id"])
    assert (payment.amount_refunded, payment.refund_reserved) == (0, 0)
    assert (await Order.get(id=paid["id"])).status is OrderStatus.PAID


async def test_a_partial_refund_processed_leaves_the_order_partially_refunded(shop: Shop) -> None:
    paid = await _paid_order(shop)
    await make_staff(STAFF, paid["workspace"])

    answered = await _refund(shop, paid["payment_id"], amount=100_000)
    await _webhook(shop, shop.fake.refund_webhook(shop.fake.refunds[0]["id"], "refund.processed"))

    refund = await Refund.get(id=answered["refund"]["id"])
    assert refund.status is RefundStatus.SUCCEEDED
    order = await Order.get(id=paid["id"])
    assert (order.status, order.amount_refunded) == (OrderStatus.PARTIALLY_REFUNDED, 100_000)


async def test_a_refund_whose_answer_was_lost_is_not_refunded_twice(shop: Shop) -> None:
    paid = await _paid_order(shop)
    await make_staff(STAFF, paid["workspace"])
    shop.fake.lose_answer("POST", "/refund")

    answered = await _refund(shop, paid["payment_id"], amount=200_000)
    resubmitted = await submit_stuck_refunds(
        gateways=shop.registry, now=datetime.now(UTC) + timedelta(minutes=5)
    )
    await _webhook(shop, shop.fake.refund_webhook(shop.fake.refunds[0]["id"], "refund.processed"))

    assert answered["refund"]["status"] == "PENDING"  # outcome unknown: kept, reserved
    assert resubmitted == 1
    assert len(shop.fake.calls("POST", "/refund")) == 1
    assert len(shop.fake.refunds) == 1
    refund = await Refund.get(id=answered["refund"]["id"])
    assert (refund.status, refund.gateway_refund_id) == (
        RefundStatus.SUCCEEDED,
        f"{paid['reference']}:200000",
    )
    payment = await Payment.get(id=paid["payment_id"])
    assert (payment.amount_refunded, payment.refund_reserved) == (200_000, 0)


async def test_a_chargeback_opens_and_resolves_a_dispute(shop: Shop) -> None:
    paid = await _paid_order(shop)
    opened = fixture("webhook_dispute_create")
    opened["data"]["transaction"]["reference"] = paid["reference"]
    resolved = fixture("webhook_dispute_resolve")
    resolved["data"]["transaction"]["reference"] = paid["reference"]

    await _webhook(shop, shop.fake.sign(opened))
    dispute = await Dispute.get(payment_id=paid["payment_id"])
    await _webhook(shop, shop.fake.sign(resolved))

    assert (dispute.status, dispute.gateway_dispute_id, dispute.amount) == (
        DisputeStatus.OPEN,
        "358950",
        5800,
    )
    assert (await Dispute.get(id=dispute.id)).status is DisputeStatus.LOST
