"""The gateway contract: what payql relies on from every gateway, run over each of them.

SANDBOX runs in process (its webhooks are caught by a recording sender); STRIPE runs against
a live localstripe. A new gateway joins by adding a harness to ``HARNESSES``.
"""

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import uuid4

import pytest

from gateways.base import (
    Gateway,
    GatewayBadRequest,
    GatewayDeclined,
    GatewayNotSupported,
    GatewayState,
    InvalidWebhook,
    PaymentRequest,
    PaymentResult,
    RefundRequest,
    RefundState,
)
from gateways.sandbox import SandboxGateway
from gateways.stripe import StripeGateway

SECRET = "contract-secret-" + "c" * 24


@dataclass
class Recorder:
    """Catches the sandbox's webhooks instead of posting them."""

    sent: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)

    async def send(self, body: bytes, headers: Mapping[str, str]) -> None:
        self.sent.append((body, dict(headers)))


@dataclass
class Harness:
    """How to drive one gateway through the contract.

    Token gateways decide by ``success_token`` / ``decline_token``; redirect gateways take no
    token and decide by what the ``buyer`` does on the hosted checkout (``buyer(reference,
    pays)``). ``settle`` waits for anything asynchronous (the sandbox's webhooks)."""

    gateway: Gateway
    unknown_token: str
    settle: Callable[[], Awaitable[None]]
    signed_event: Callable[[PaymentResult, str], Awaitable[tuple[bytes, dict[str, str]]]]
    secrets: tuple[str, ...]
    success_token: str | None = None
    decline_token: str | None = None
    buyer: Callable[[str, bool], None] | None = None
    honours_idempotency_keys: bool = True
    cancels_undecided: bool = True
    signature_covers_body: bool = True


async def _sandbox() -> AsyncIterator[Harness]:
    recorder = Recorder()
    gateway = SandboxGateway(secret=SECRET, public_url="http://payql.test", sender=recorder)

    async def signed_event(payment: PaymentResult, payment_id: str) -> tuple[bytes, dict[str, str]]:
        await gateway.drain()
        for body, headers in recorder.sent:
            if payment.reference.encode() in body:
                return body, headers
        raise AssertionError("the sandbox sent no webhook for the payment")

    yield Harness(
        gateway=gateway,
        success_token="pm_card_visa",
        decline_token="pm_card_chargeDeclined",
        unknown_token="pm_card_nonsense",
        settle=gateway.drain,
        signed_event=signed_event,
        secrets=(SECRET,),
    )
    await gateway.drain()


async def _stripe(localstripe: str) -> AsyncIterator[Harness]:
    webhook_secret = "whsec_contract_" + "w" * 20
    gateway = StripeGateway(
        secret_key="sk_test_contract",
        webhook_secret=webhook_secret,
        publishable_key="pk_test_contract",
        api_base=localstripe,
        max_network_retries=0,
        send_refund_reason=False,
    )

    async def nothing() -> None:
        return None

    async def signed_event(payment: PaymentResult, payment_id: str) -> tuple[bytes, dict[str, str]]:
        """A payment_intent.succeeded in Stripe's documented shape, signed as Stripe signs."""
        body = json.dumps(
            {
                "id": f"evt_{uuid4().hex[:16]}",
                "object": "event",
                "type": "payment_intent.succeeded",
                "data": {
                    "object": {
                        "id": payment.reference,
                        "object": "payment_intent",
                        "amount": payment.amount,
                        "amount_received": payment.amount,
                        "currency": (payment.currency or "").lower(),
                        "status": "succeeded",
                        "metadata": {"payql_payment_id": payment_id},
                    }
                },
            }
        ).encode()
        ts = int(time.time())
        digest = hmac.new(webhook_secret.encode(), f"{ts}.".encode() + body, hashlib.sha256)
        return body, {"Stripe-Signature": f"t={ts},v1={digest.hexdigest()}"}

    yield Harness(
        gateway=gateway,
        success_token="pm_card_visa",
        decline_token="pm_card_chargeCustomerFail",
        unknown_token="tok_visa",
        settle=nothing,
        signed_event=signed_event,
        secrets=("sk_test_contract", webhook_secret),
        honours_idempotency_keys=False,  # localstripe ignores them (see README)
    )
    await gateway.aclose()


class RedirectFake(Protocol):
    """What each redirect gateway's fake (tests/fake_<name>.py) offers the contract."""

    secrets: tuple[str, ...]

    def gateway(self, return_url: str = ...) -> Any: ...
    def buyer_pays(self, reference: str) -> None: ...
    def buyer_fails(self, reference: str) -> None: ...
    def signed_payment_webhook(self, reference: str) -> tuple[bytes, dict[str, str]]: ...


async def _redirect(fake: RedirectFake, **options: Any) -> AsyncIterator[Harness]:
    """A redirect gateway over its documented-shape fake: the buyer decides on the page."""
    gateway = fake.gateway()

    def buyer(reference: str, pays: bool) -> None:
        (fake.buyer_pays if pays else fake.buyer_fails)(reference)

    async def nothing() -> None:
        return None

    async def signed_event(payment: PaymentResult, payment_id: str) -> tuple[bytes, dict[str, str]]:
        return fake.signed_payment_webhook(payment.reference)

    yield Harness(
        gateway=gateway,
        unknown_token="pm_card_visa",  # redirect gateways take no token at all
        settle=nothing,
        signed_event=signed_event,
        secrets=fake.secrets,
        buyer=buyer,
        cancels_undecided=False,
        **options,
    )
    await gateway.aclose()


def _paystack() -> AsyncIterator[Harness]:
    from tests.fake_paystack import FakePaystack

    return _redirect(FakePaystack())


def _flutterwave() -> AsyncIterator[Harness]:
    from tests.fake_flutterwave import FakeFlutterwave

    return _redirect(FakeFlutterwave())


def _razorpay() -> AsyncIterator[Harness]:
    from tests.fake_razorpay import FakeRazorpay

    return _redirect(FakeRazorpay())


REDIRECT_HARNESSES: dict[str, Callable[[], AsyncIterator[Harness]]] = {
    "PAYSTACK": _paystack,
    "FLUTTERWAVE": _flutterwave,
    "RAZORPAY": _razorpay,
}
HARNESSES = ["SANDBOX", "STRIPE", *REDIRECT_HARNESSES]


@pytest.fixture(params=HARNESSES)
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    if request.param == "SANDBOX":
        source = _sandbox()
    elif request.param == "STRIPE":
        source = _stripe(request.getfixturevalue("localstripe"))
    else:
        source = REDIRECT_HARNESSES[request.param]()
    harness = await anext(source)
    yield harness
    await anext(source, None)


def _request(token: str | None, *, amount: int = 4200, currency: str = "USD") -> PaymentRequest:
    payment_id = str(uuid4())
    return PaymentRequest(
        payment_id=payment_id,
        order_number="PQ-CONTRACT",
        amount=amount,
        currency=currency,
        idempotency_key=f"payql-payment-{payment_id}",
        payment_method_token=token,
        return_url="https://shop.example/thanks",
    )


async def _attempt(
    harness: Harness, *, pays: bool, amount: int = 4200
) -> tuple[PaymentRequest, PaymentResult]:
    """Start a payment and let it be decided; returns what the gateway then reports.

    :raises GatewayDeclined: a token gateway declined outright.
    """
    token = harness.success_token if pays else harness.decline_token
    request = _request(token, amount=amount)
    created = await harness.gateway.create_payment(request)
    assert created.reference
    if harness.buyer is not None:
        harness.buyer(created.reference, pays)
    await harness.settle()
    fetched = await harness.gateway.fetch_payment(created.reference)
    assert fetched.reference == created.reference
    return request, fetched


async def _succeeded(harness: Harness, amount: int = 4200) -> tuple[PaymentRequest, PaymentResult]:
    request, fetched = await _attempt(harness, pays=True, amount=amount)
    assert fetched.state is GatewayState.SUCCEEDED, fetched
    return request, fetched


async def test_an_unknown_token_is_refused_before_anything_is_sent(harness: Harness) -> None:
    with pytest.raises(GatewayBadRequest):
        harness.gateway.check_request(_request(harness.unknown_token))


async def test_a_success_is_reported_with_the_requested_money(harness: Harness) -> None:
    _, fetched = await _succeeded(harness, amount=4200)

    assert (fetched.state, fetched.amount, fetched.currency) == (
        GatewayState.SUCCEEDED,
        4200,
        "USD",
    )


async def test_a_decline_is_a_definite_failure(harness: Harness) -> None:
    """Declined outright (GatewayDeclined with a code), or FAILED with a code once decided."""
    code: str | None
    try:
        _, fetched = await _attempt(harness, pays=False)
    except GatewayDeclined as exc:
        code = exc.code
    else:
        assert fetched.state is GatewayState.FAILED
        code = fetched.failure_code
    assert code


async def test_without_a_token_the_buyer_has_something_to_do(harness: Harness) -> None:
    created = await harness.gateway.create_payment(_request(None))

    assert created.state is GatewayState.REQUIRES_ACTION
    assert created.next_action is not None
    assert created.client_secret or created.next_action.redirect_url


async def test_a_retry_with_the_same_key_does_not_charge_twice(harness: Harness) -> None:
    if not harness.honours_idempotency_keys:
        pytest.skip("the stand-in server ignores idempotency keys; payql's own locks are tested")
    request = _request(harness.success_token)

    first = await harness.gateway.create_payment(request)
    second = await harness.gateway.create_payment(request)

    assert first.reference == second.reference


async def test_a_decided_payment_cannot_be_cancelled(harness: Harness) -> None:
    _, paid = await _succeeded(harness)

    with pytest.raises(GatewayNotSupported):
        await harness.gateway.cancel_payment(paid.reference)


async def test_an_undecided_payment_is_cancelled_or_said_not_to_be(harness: Harness) -> None:
    created = await harness.gateway.create_payment(_request(None))

    if not harness.cancels_undecided:
        with pytest.raises(GatewayNotSupported):
            await harness.gateway.cancel_payment(created.reference)
        return
    cancelled = await harness.gateway.cancel_payment(created.reference)
    assert cancelled.state is GatewayState.CANCELLED


async def test_a_partial_refund_names_payqls_refund(harness: Harness) -> None:
    _, paid = await _succeeded(harness, amount=5000)
    refund_id = str(uuid4())
    refund = RefundRequest(
        refund_id=refund_id,
        payment_reference=paid.reference,
        amount=1500,
        currency="USD",
        idempotency_key=f"payql-refund-{refund_id}",
        reason="REQUESTED_BY_CUSTOMER",
    )

    result = await harness.gateway.create_refund(refund)
    retried = await harness.gateway.create_refund(refund)

    assert result.state in (RefundState.PENDING, RefundState.SUCCEEDED)
    assert result.refund_id == refund_id
    assert result.reference
    assert result.amount == 1500
    if harness.honours_idempotency_keys:
        assert retried.reference == result.reference  # the same refund, not a second one


async def test_a_signed_webhook_parses_and_a_tampered_one_does_not(harness: Harness) -> None:
    request, paid = await _succeeded(harness)
    body, headers = await harness.signed_event(paid, request.payment_id)

    event = harness.gateway.parse_webhook(body, headers)
    again = harness.gateway.normalize_webhook(body)

    assert event.event_id
    assert event.payment is not None
    assert (event.payment.state, event.payment.reference) == (
        GatewayState.SUCCEEDED,
        paid.reference,
    )
    assert event.payment_id in (request.payment_id, None)
    # A retry from the inbox re-reads the stored body: the same facts (the event id may come
    # from a delivery header, as Razorpay's does, and is kept on the stored row).
    assert (again.type, again.payment) == (event.type, event.payment)
    if harness.signature_covers_body:
        tampered = body.rstrip()[:-1] + b" }"  # same JSON, other bytes
        with pytest.raises(InvalidWebhook):
            harness.gateway.parse_webhook(tampered, headers)
    with pytest.raises(InvalidWebhook):
        harness.gateway.parse_webhook(body, {})


async def test_public_config_holds_no_secret(harness: Harness) -> None:
    shown = json.dumps(harness.gateway.public_config())

    assert all(secret not in shown for secret in harness.secrets)
    assert "sk_" not in shown
