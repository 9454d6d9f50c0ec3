"""Stripe's documented shapes, and nothing else: amounts, statuses, events, reasons.

Pure functions over the JSON Stripe sends and returns (``PaymentIntent``, ``Refund``,
``Dispute``, ``Event``), so they are tested without a network and reused by the webhook
path and the API path alike.

Amounts (https://docs.stripe.com/currencies): Stripe takes the smallest unit, like payql,
except where its conventions differ from ISO 4217 — zero-decimal currencies have exponent
0, the three-decimal ones (BHD, JOD, KWD, OMR, TND) must end in 0, and ISK is sent as a
two-decimal amount divisible by 100. A conversion that would round is refused.
"""

from collections.abc import Mapping
from typing import Any

from gateways.base import (
    DisputeResult,
    DisputeState,
    GatewayEvent,
    GatewayState,
    NextAction,
    PaymentResult,
    RefundResult,
    RefundState,
)
from gateways.units import CurrencyNotSupported, from_scale, rescale

ZERO_DECIMAL = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)
THREE_DECIMAL = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])
TWO_DECIMAL_FOR_COMPATIBILITY = frozenset({"ISK"})

PAYMENT_ID_KEY = "payql_payment_id"
REFUND_ID_KEY = "payql_refund_id"
ORDER_NUMBER_KEY = "payql_order_number"

# payql RefundReason -> Stripe's three reasons; the others travel in metadata only.
REFUND_REASONS = {
    "REQUESTED_BY_CUSTOMER": "requested_by_customer",
    "DUPLICATE": "duplicate",
    "FRAUDULENT": "fraudulent",
}

PAYMENT_EVENTS = frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.requires_action",
        "payment_intent.processing",
        "payment_intent.canceled",
    }
)
REFUND_EVENTS = frozenset(
    {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}
)
DISPUTE_EVENTS = frozenset(
    {
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.funds_reinstated",
    }
)


# ---------------------------------------------------------------------------- amounts
def stripe_exponent(currency: str) -> int:
    code = currency.upper()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def to_stripe_amount(amount: int, currency: str) -> int:
    """payql minor units → Stripe's amount.

    :raises CurrencyNotSupported: Stripe cannot take this amount exactly.
    """
    code = currency.upper()
    value = rescale(amount, code, to_exponent=stripe_exponent(code))
    if code in THREE_DECIMAL and value % 10:
        raise CurrencyNotSupported(f"Stripe takes {code} amounts in multiples of 10 (0.010)")
    if code in TWO_DECIMAL_FOR_COMPATIBILITY and value % 100:
        raise CurrencyNotSupported(f"Stripe takes {code} amounts in whole units")
    return value


def from_stripe_amount(amount: int, currency: str) -> int:
    """Stripe's amount → payql minor units."""
    return from_scale(amount, currency.upper(), from_exponent=stripe_exponent(currency))


# ---------------------------------------------------------------------------- payments
def payment_result(intent: Mapping[str, Any]) -> PaymentResult:
    """A PaymentIntent (dict) as payql sees it. Every documented status is mapped:

    ========================  ================================================
    requires_payment_method   REQUIRES_ACTION (collect a card with Stripe.js),
                              or FAILED when ``last_payment_error`` says why
    requires_confirmation     REQUIRES_ACTION (confirm with Stripe.js)
    requires_action           REQUIRES_ACTION (3-D Secure: redirect or SDK)
    processing                PROCESSING
    requires_capture          PROCESSING (payql captures automatically)
    succeeded                 SUCCEEDED
    canceled                  CANCELLED
    ========================  ================================================
    """
    status = str(intent.get("status") or "")
    currency = str(intent.get("currency") or "").upper()
    error = intent.get("last_payment_error") or {}
    state = _STATES.get(status, GatewayState.PROCESSING)
    if status == "requires_payment_method" and error:
        state = GatewayState.FAILED
    received = intent.get("amount_received") or intent.get("amount")
    amount = from_stripe_amount(int(received), currency) if received and currency else None
    return PaymentResult(
        state=state,
        reference=str(intent.get("id") or ""),
        amount=amount,
        currency=currency or None,
        client_secret=intent.get("client_secret"),
        next_action=_next_action(intent) if state is GatewayState.REQUIRES_ACTION else None,
        failure_code=(error.get("decline_code") or error.get("code") or "payment_failed")
        if state is GatewayState.FAILED
        else None,
        failure_message=error.get("message") if state is GatewayState.FAILED else None,
        raw={"status": status, "livemode": bool(intent.get("livemode"))},
    )


_STATES = {
    "requires_payment_method": GatewayState.REQUIRES_ACTION,
    "requires_confirmation": GatewayState.REQUIRES_ACTION,
    "requires_action": GatewayState.REQUIRES_ACTION,
    "processing": GatewayState.PROCESSING,
    "requires_capture": GatewayState.PROCESSING,
    "succeeded": GatewayState.SUCCEEDED,
    "canceled": GatewayState.CANCELLED,
}


def _next_action(intent: Mapping[str, Any]) -> NextAction:
    """``REDIRECT`` when Stripe gives a URL; otherwise ``USE_STRIPE_SDK``: the client calls
    Stripe.js (``handleNextAction`` / ``confirmPayment``) with the payment's clientSecret."""
    action = intent.get("next_action") or {}
    redirect = action.get("redirect_to_url") or {}
    if action.get("type") == "redirect_to_url" and redirect.get("url"):
        return NextAction(type="REDIRECT", redirect_url=str(redirect["url"]))
    return NextAction(type="USE_STRIPE_SDK")


def payment_id_of(intent: Mapping[str, Any]) -> str | None:
    metadata = intent.get("metadata") or {}
    value = metadata.get(PAYMENT_ID_KEY)
    return str(value) if value else None


# ---------------------------------------------------------------------------- refunds
def refund_result(refund: Mapping[str, Any], currency: str | None = None) -> RefundResult:
    """A Refund (dict): ``succeeded`` → SUCCEEDED; ``failed``/``canceled`` → FAILED;
    ``pending``/``requires_action`` → PENDING."""
    status = str(refund.get("status") or "pending")
    state = {
        "succeeded": RefundState.SUCCEEDED,
        "failed": RefundState.FAILED,
        "canceled": RefundState.FAILED,
    }.get(status, RefundState.PENDING)
    code = (currency or str(refund.get("currency") or "")).upper()
    amount = refund.get("amount")
    metadata = refund.get("metadata") or {}
    return RefundResult(
        state=state,
        reference=str(refund.get("id") or ""),
        refund_id=metadata.get(REFUND_ID_KEY),
        amount=from_stripe_amount(int(amount), code) if amount is not None and code else None,
        failure_code=(refund.get("failure_reason") or status)
        if state is RefundState.FAILED
        else None,
    )


def refund_reason(reason: str) -> str | None:
    return REFUND_REASONS.get(reason.upper())


# ---------------------------------------------------------------------------- disputes
def dispute_result(dispute: Mapping[str, Any]) -> DisputeResult:
    """A Dispute (dict). ``won``/``lost`` close it; ``warning_closed`` (an inquiry that
    ended) is CLOSED; every other status (``needs_response``, ``under_review``, …) is OPEN.
    The payment is found by its PaymentIntent id."""
    status = str(dispute.get("status") or "")
    state = {
        "won": DisputeState.WON,
        "lost": DisputeState.LOST,
        "warning_closed": DisputeState.CLOSED,
        "prevented": DisputeState.CLOSED,
    }.get(status, DisputeState.OPEN)
    currency = str(dispute.get("currency") or "").upper()
    return DisputeResult(
        reference=str(dispute.get("id") or ""),
        payment_reference=str(dispute.get("payment_intent") or dispute.get("charge") or ""),
        state=state,
        amount=from_stripe_amount(int(dispute.get("amount") or 0), currency) if currency else 0,
        currency=currency,
        reason=str(dispute.get("reason") or ""),
    )


# ---------------------------------------------------------------------------- events
def gateway_event(event: Mapping[str, Any]) -> GatewayEvent:
    """A Stripe Event (dict) → payql's normalized event; other types carry nothing.

    ``charge.refunded`` carries the charge; payql acts on the newest refund in it when
    Stripe includes them (``refunds.data``), and otherwise on the ``refund.*`` events.
    """
    event_id = str(event.get("id") or "")
    kind = str(event.get("type") or "")
    obj = (event.get("data") or {}).get("object") or {}
    if not event_id or not kind or not isinstance(obj, Mapping):
        raise ValueError("not a Stripe event")
    if kind in PAYMENT_EVENTS:
        return GatewayEvent(
            event_id, kind, payment_id=payment_id_of(obj), payment=payment_result(obj)
        )
    if kind in REFUND_EVENTS:
        return GatewayEvent(event_id, kind, refund=refund_result(obj))
    if kind == "charge.refunded":
        refunds = (obj.get("refunds") or {}).get("data") or []
        if refunds:
            newest = max(refunds, key=lambda r: int(r.get("created") or 0))
            return GatewayEvent(event_id, kind, refund=refund_result(newest, obj.get("currency")))
        return GatewayEvent(event_id, kind)
    if kind in DISPUTE_EVENTS:
        return GatewayEvent(event_id, kind, dispute=dispute_result(obj))
    return GatewayEvent(event_id, kind)
