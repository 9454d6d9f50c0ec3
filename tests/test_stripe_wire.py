"""Stripe's documented shapes → payql, without a network; and the failures a network brings.

Where localstripe falls short (intent statuses it never produces, API errors, timeouts),
the mapping is checked here against Stripe's documented response shapes.
"""

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs

import pytest
import respx
import stripe

from app.settings import Settings
from gateways.base import (
    DisputeState,
    GatewayBadRequest,
    GatewayDeclined,
    GatewayError,
    GatewayOutcomeUnknown,
    GatewayState,
    InvalidWebhook,
    PaymentRequest,
    RefundRequest,
    RefundState,
)
from gateways.stripe import StripeGateway
from gateways.stripe import _wire as wire
from gateways.stripe.gateway import _raise
from gateways.units import CurrencyNotSupported


def _intent(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": "pi_3Nxyz",
        "object": "payment_intent",
        "amount": 5000,
        "currency": "usd",
        "client_secret": "pi_3Nxyz_secret_abc",
        "status": status,
        "metadata": {"payql_payment_id": "7d0c…"},
        **extra,
    }


@pytest.mark.parametrize(
    ("status", "extra", "state", "action"),
    [
        ("requires_payment_method", {}, GatewayState.REQUIRES_ACTION, "USE_STRIPE_SDK"),
        ("requires_confirmation", {}, GatewayState.REQUIRES_ACTION, "USE_STRIPE_SDK"),
        (
            "requires_action",
            {"next_action": {"type": "use_stripe_sdk", "use_stripe_sdk": {}}},
            GatewayState.REQUIRES_ACTION,
            "USE_STRIPE_SDK",
        ),
        (
            "requires_action",
            {
                "next_action": {
                    "type": "redirect_to_url",
                    "redirect_to_url": {"url": "https://hooks.stripe.com/3d_secure/x"},
                }
            },
            GatewayState.REQUIRES_ACTION,
            "REDIRECT",
        ),
        ("processing", {}, GatewayState.PROCESSING, None),
        ("requires_capture", {}, GatewayState.PROCESSING, None),
        ("succeeded", {"amount_received": 5000}, GatewayState.SUCCEEDED, None),
        ("canceled", {"cancellation_reason": "abandoned"}, GatewayState.CANCELLED, None),
    ],
)
def test_every_payment_intent_status_is_mapped(
    status: str, extra: dict[str, Any], state: GatewayState, action: str | None
) -> None:
    result = wire.payment_result(_intent(status, **extra))

    assert result.state is state
    assert result.reference == "pi_3Nxyz"
    assert (result.amount, result.currency) == (5000, "USD")
    assert (result.next_action.type if result.next_action else None) == action
    assert result.failure_code is None


def test_a_declined_confirmation_is_a_failure_with_the_decline_code() -> None:
    result = wire.payment_result(
        _intent(
            "requires_payment_method",
            last_payment_error={
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "insufficient_funds",
                "message": "Your card has insufficient funds.",
            },
        )
    )

    assert result.state is GatewayState.FAILED
    assert result.failure_code == "insufficient_funds"
    assert result.failure_message == "Your card has insufficient funds."
    assert result.next_action is None


def test_a_redirect_url_is_passed_through() -> None:
    result = wire.payment_result(
        _intent(
            "requires_action",
            next_action={
                "type": "redirect_to_url",
                "redirect_to_url": {"url": "https://hooks.stripe.com/3ds/abc", "return_url": "x"},
            },
        )
    )

    assert result.next_action is not None
    assert result.next_action.redirect_url == "https://hooks.stripe.com/3ds/abc"


@pytest.mark.parametrize(
    ("currency", "payql", "stripe_amount"),
    [
        ("USD", 1999, 1999),
        ("JPY", 1500, 1500),  # zero-decimal both sides
        ("KRW", 10000, 10000),
        ("KWD", 12340, 12340),  # three decimals, last digit 0
        ("BHD", 5000, 5000),
        ("ISK", 500, 50000),  # zero-decimal, but Stripe wants it ×100
        ("EUR", 1, 1),
    ],
)
def test_amounts_convert_both_ways(currency: str, payql: int, stripe_amount: int) -> None:
    assert wire.to_stripe_amount(payql, currency) == stripe_amount
    assert wire.from_stripe_amount(stripe_amount, currency) == payql


@pytest.mark.parametrize(("currency", "amount"), [("KWD", 12345), ("JOD", 1), ("XXQ", 100)])
def test_amounts_stripe_cannot_take_are_refused(currency: str, amount: int) -> None:
    with pytest.raises(CurrencyNotSupported):
        wire.to_stripe_amount(amount, currency)


def test_a_stripe_amount_finer_than_payql_keeps_is_refused() -> None:
    with pytest.raises(CurrencyNotSupported):
        wire.from_stripe_amount(50050, "ISK")  # 500.50 krónur


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("pending", RefundState.PENDING),
        ("requires_action", RefundState.PENDING),
        ("succeeded", RefundState.SUCCEEDED),
        ("failed", RefundState.FAILED),
        ("canceled", RefundState.FAILED),
    ],
)
def test_refund_statuses(status: str, state: RefundState) -> None:
    refund = {
        "id": "re_1",
        "object": "refund",
        "amount": 300,
        "currency": "jpy",
        "status": status,
        "failure_reason": "lost_or_stolen_card" if status == "failed" else None,
        "metadata": {"payql_refund_id": "r-1"},
    }

    result = wire.refund_result(refund)

    assert (result.state, result.reference, result.refund_id, result.amount) == (
        state,
        "re_1",
        "r-1",
        300,
    )
    assert result.failure_code == {
        "failed": "lost_or_stolen_card",
        "canceled": "canceled",
    }.get(status)


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("warning_needs_response", DisputeState.OPEN),
        ("needs_response", DisputeState.OPEN),
        ("under_review", DisputeState.OPEN),
        ("won", DisputeState.WON),
        ("lost", DisputeState.LOST),
        ("warning_closed", DisputeState.CLOSED),
    ],
)
def test_dispute_statuses(status: str, state: DisputeState) -> None:
    result = wire.dispute_result(
        {
            "id": "dp_1",
            "amount": 2000,
            "currency": "kwd",
            "charge": "ch_1",
            "payment_intent": "pi_1",
            "reason": "product_not_received",
            "status": status,
        }
    )

    assert (result.state, result.payment_reference, result.amount) == (state, "pi_1", 2000)


def test_event_types_payql_does_not_act_on_carry_nothing() -> None:
    event = wire.gateway_event(
        {"id": "evt_1", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}
    )

    assert (event.payment, event.refund, event.dispute) == (None, None, None)


def test_charge_refunded_without_the_refund_list_carries_nothing() -> None:
    event = wire.gateway_event(
        {"id": "evt_2", "type": "charge.refunded", "data": {"object": {"id": "ch_1"}}}
    )

    assert event.refund is None


def _error(cls: type[stripe.StripeError], status: int, **error: Any) -> stripe.StripeError:
    body = {"error": error}
    if cls is stripe.CardError:
        return stripe.CardError(  # type: ignore[no-untyped-call]
            error.get("message", "declined"), None, error.get("code"), 402, None, body
        )
    return cls(error.get("message", "x"), None, status, body, None, error.get("code"))


@pytest.mark.parametrize(
    ("exc", "raised"),
    [
        (
            _error(
                stripe.CardError,
                402,
                code="card_declined",
                decline_code="stolen_card",
                payment_intent={"id": "pi_9"},
            ),
            GatewayDeclined,
        ),
        (_error(stripe.InvalidRequestError, 400, code="parameter_invalid"), GatewayBadRequest),
        (_error(stripe.AuthenticationError, 401), GatewayBadRequest),
        (_error(stripe.RateLimitError, 429, code="rate_limit"), GatewayOutcomeUnknown),
        (_error(stripe.APIError, 500), GatewayOutcomeUnknown),
        (stripe.APIConnectionError("reset"), GatewayOutcomeUnknown),  # type: ignore[no-untyped-call]
    ],
)
def test_sdk_errors_map_onto_payqls_tree(
    exc: stripe.StripeError, raised: type[GatewayError]
) -> None:
    with pytest.raises(raised) as caught:
        _raise(exc)

    if raised is GatewayDeclined:
        assert (caught.value.code, caught.value.reference) == ("stolen_card", "pi_9")


def _gateway(api_base: str, timeout: float = 0.5) -> StripeGateway:
    return StripeGateway(
        secret_key="sk_test_x",
        webhook_secret="whsec_x",
        api_base=api_base,
        timeout=timeout,
        max_network_retries=0,
    )


REQUEST = PaymentRequest(
    payment_id="p-1",
    order_number="PQ-1",
    amount=1000,
    currency="USD",
    idempotency_key="payql-payment-p-1",
    payment_method_token="pm_card_visa",
)


@pytest.fixture
async def silent_server() -> AsyncIterator[str]:
    """Accepts connections and never answers: a gateway that timed out."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_a_timeout_is_outcome_unknown_never_failed(silent_server: str) -> None:
    gateway = _gateway(silent_server)
    try:
        with pytest.raises(GatewayOutcomeUnknown):
            await gateway.create_payment(REQUEST)
    finally:
        await gateway.aclose()


async def test_a_refused_connection_is_outcome_unknown() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    gateway = _gateway(f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(GatewayOutcomeUnknown):
            await gateway.create_payment(REQUEST)
    finally:
        await gateway.aclose()


def test_tokens_that_are_not_payment_methods_are_refused_before_calling() -> None:
    gateway = _gateway("http://127.0.0.1:9")
    bad = replace(REQUEST, payment_method_token="tok_x")

    with pytest.raises(GatewayBadRequest):
        gateway.check_request(bad)


def test_a_body_that_is_not_an_event_is_rejected() -> None:
    gateway = _gateway("http://127.0.0.1:9")

    with pytest.raises(InvalidWebhook):
        gateway.normalize_webhook(b'{"id": "evt_1"}')
    with pytest.raises(InvalidWebhook):
        gateway.normalize_webhook(b"[1, 2]")


def test_a_secret_key_without_a_webhook_secret_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="STRIPE_WEBHOOK_SECRET"):
        Settings(STRIPE_SECRET_KEY="sk_test_x")


def test_the_gateway_never_shows_its_keys() -> None:
    gateway = StripeGateway(
        secret_key="sk_live_secret", webhook_secret="whsec_secret", publishable_key="pk_live_1"
    )

    assert "secret" not in repr(gateway)
    assert gateway.public_config() == {"publishableKey": "pk_live_1"}


async def test_every_post_carries_payqls_own_idempotency_key() -> None:
    """localstripe ignores Idempotency-Key, so what payql sends is checked at the HTTP layer."""
    gateway = _gateway("https://stripe.test")
    intent = _intent("succeeded", amount_received=1000, amount=1000)
    refund = {"id": "re_1", "object": "refund", "amount": 400, "currency": "usd"}
    try:
        with respx.mock(assert_all_called=True) as mock:
            intents = mock.post("https://stripe.test/v1/payment_intents").respond(json=intent)
            refunds = mock.post("https://stripe.test/v1/refunds").respond(
                json={**refund, "status": "succeeded"}
            )
            cancels = mock.post("https://stripe.test/v1/payment_intents/pi_3Nxyz/cancel").respond(
                json=_intent("canceled")
            )
            await gateway.create_payment(REQUEST)
            await gateway.create_refund(
                RefundRequest(
                    refund_id="r-1",
                    payment_reference="pi_3Nxyz",
                    amount=400,
                    currency="USD",
                    idempotency_key="payql-refund-r-1",
                    reason="DUPLICATE",
                )
            )
            await gateway.cancel_payment("pi_3Nxyz")
    finally:
        await gateway.aclose()

    assert intents.calls.last.request.headers["Idempotency-Key"] == "payql-payment-p-1"
    assert refunds.calls.last.request.headers["Idempotency-Key"] == "payql-refund-r-1"
    assert cancels.calls.last.request.headers["Idempotency-Key"] == "payql-cancel-pi_3Nxyz"
    form = parse_qs(refunds.calls.last.request.content.decode())
    assert form["reason"] == ["duplicate"]
    assert form["metadata[payql_refund_id]"] == ["r-1"]
    sent = parse_qs(intents.calls.last.request.content.decode())
    assert (sent["amount"], sent["currency"], sent["confirm"]) == (["1000"], ["usd"], ["true"])
