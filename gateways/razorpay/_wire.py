"""Razorpay's documented shapes, and nothing else: amounts, ids, signatures, statuses, events.

Pure functions over the JSON Razorpay sends and returns (Order, Payment, Refund, Dispute,
webhook Event) and the form its Checkout posts back, so they are tested without a network
and shared by the API path and the webhook path.

Amounts (https://razorpay.com/docs/payments/international-payments/#supported-currencies):
Razorpay takes the smallest unit with *its own* exponent per currency, which is not always
ISO's (ISK 0, MGA 2, IQD 3), and for three-decimal currencies "you should pass the last
decimal number as 0" (https://razorpay.com/docs/api/orders/create/). payql converts exactly
or refuses: a currency missing from the table, or an amount that would need rounding, is
:class:`CurrencyNotSupported` before any request.

Payment states (https://razorpay.com/docs/payments/payments/#payment-life-cycle), as payql
reads an *order* (the reference payql stores is the Razorpay order id)::

    no payment yet                 REQUIRES_ACTION  (the buyer has not paid on Checkout)
    created                        PROCESSING       (details sent, not processed yet)
    authorized                     PROCESSING       (Razorpay auto-captures by default;
                                                     payql never calls the capture API)
    captured                       SUCCEEDED
    refunded (captured before)     SUCCEEDED        (payql tracks refunds itself)
    refunded (never captured)      FAILED  ``refunded_before_capture`` (auto-refund)
    failed                         FAILED  (``error_reason`` / ``error_code``)

An order can carry several payment attempts; the one reported is the captured one, else an
authorized one, else a created one, else the latest (so a later failed retry never hides
money that is on its way).
"""

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from gateways.base import (
    DisputeResult,
    DisputeState,
    GatewayEvent,
    GatewayState,
    PaymentRequest,
    PaymentResult,
    RefundResult,
    RefundState,
)
from gateways.units import CurrencyNotSupported, from_scale, iso_exponent, rescale

PAYMENT_ID_KEY = "payql_payment_id"
ORDER_NUMBER_KEY = "order_number"
REFUND_ID_KEY = "payql_refund_id"
RECEIPT_MAX = 40  # "Can have a maximum length of 40 characters"
NOTE_MAX = 256  # "Maximum 15 key-value pairs, 256 characters (maximum) each"
RETURN_REFERENCE_PARAM = "payql_reference"  # added to Checkout's callback_url

ORDER_ID = re.compile(r"order_[A-Za-z0-9]{1,40}")
PAYMENT_ID = re.compile(r"pay_[A-Za-z0-9]{1,40}")
# X-Refund-Idempotency: "at least 10 character long … alphabets, numbers, hyphens and
# underscores only" (https://razorpay.com/docs/api/refunds/normal-refunds-idempotent/).
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{10,255}")

# The supported-currencies table, ISO code → the exponent Razorpay uses.
_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD OMR TND"
_TWO = (
    "AED ALL AMD AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BZD CAD CHF CNY "
    "COP CRC CUP CVE CZK DKK DOP DZD EGP ETB EUR FJD GBP GHS GIP GMD GTQ GYD HKD HNL HRK "
    "HTG HUF IDR ILS INR JMD KES KGS KHR KYD KZT LAK LKR LRD LSL MAD MDL MGA MKD MMK MNT "
    "MOP MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PEN PGK PHP PKR PLN QAR RON RSD "
    "RUB SAR SCR SEK SGD SLL SOS SVC SZL THB TRY TTD TWD TZS UAH USD UYU UZS XCD YER ZAR ZMW"
)
EXPONENTS: Mapping[str, int] = {
    **dict.fromkeys(_ZERO.split(), 0),
    **dict.fromkeys(_TWO.split(), 2),
    **dict.fromkeys(_THREE.split(), 3),
}

PAYMENT_EVENTS = frozenset(
    {"payment.authorized", "payment.captured", "payment.failed", "order.paid"}
)
REFUND_EVENTS = frozenset({"refund.created", "refund.processed", "refund.failed"})
DISPUTE_EVENTS = frozenset(
    {
        "payment.dispute.created",
        "payment.dispute.won",
        "payment.dispute.lost",
        "payment.dispute.closed",
        "payment.dispute.under_review",
        "payment.dispute.action_required",
    }
)


# ---------------------------------------------------------------------------- amounts
def to_razorpay_amount(amount: int, currency: str) -> int:
    """payql minor units → Razorpay's amount, exactly.

    :raises CurrencyNotSupported: not in Razorpay's table, or not expressible exactly
        (a three-decimal amount must end in 0).
    """
    code = currency.upper()
    if code not in EXPONENTS:
        raise CurrencyNotSupported(f"Razorpay does not accept {code}")
    value = rescale(amount, code, to_exponent=EXPONENTS[code])
    if EXPONENTS[code] == 3 and value % 10:
        raise CurrencyNotSupported(f"Razorpay takes {code} amounts in multiples of 0.010")
    return value


def from_razorpay_amount(amount: int, currency: str) -> int:
    """Razorpay's amount → payql minor units (ISO's exponent for codes outside the table).

    :raises CurrencyNotSupported: more precision than payql keeps.
    """
    code = currency.upper()
    return from_scale(amount, code, from_exponent=EXPONENTS.get(code, iso_exponent(code)))


# ---------------------------------------------------------------------------- orders
def order_request(request: PaymentRequest, amount: int) -> dict[str, Any]:
    """``POST /orders``: the receipt is payql's payment id (also how a retry finds it)."""
    return {
        "amount": amount,
        "currency": request.currency.upper(),
        "receipt": request.payment_id[:RECEIPT_MAX],
        "notes": {
            PAYMENT_ID_KEY: request.payment_id[:NOTE_MAX],
            ORDER_NUMBER_KEY: request.order_number[:NOTE_MAX],
        },
    }


def matching_order(collection: Mapping[str, Any], request: PaymentRequest, amount: int) -> str:
    """The id of an order already created for this payment (same receipt, amount and
    currency) in a ``GET /orders?receipt=…`` answer, or ``""``."""
    for order in _items(collection):
        if (
            order.get("receipt") == request.payment_id[:RECEIPT_MAX]
            and order.get("amount") == amount
            and str(order.get("currency") or "").upper() == request.currency.upper()
            and is_order_id(order.get("id"))
        ):
            return str(order["id"])
    return ""


def is_order_id(value: object) -> bool:
    return isinstance(value, str) and ORDER_ID.fullmatch(value) is not None


# ---------------------------------------------------------------------------- signatures
def hmac_hex(message: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def checkout_signature(order_id: str, payment_id: str, key_secret: str) -> str:
    """``razorpay_signature``: hex HMAC-SHA256 of ``order_id|payment_id`` with the key
    secret (https://razorpay.com/docs/payments/payment-gateway/web-integration/standard/
    integration-steps/#15-verify-payment-signature)."""
    return hmac_hex(f"{order_id}|{payment_id}".encode(), key_secret)


def same_signature(expected: str, received: str) -> bool:
    """Constant-time comparison (bytes, so odd characters cannot raise)."""
    return hmac.compare_digest(expected.encode(), received.strip().lower().encode())


def delivery_id(body: bytes, header: str | None) -> str:
    """The webhook's event id: the ``x-razorpay-event-id`` header ("unique per event",
    https://razorpay.com/docs/webhooks/validate-test/#idempotency); a delivery without it
    gets a stable hash of its raw body, so a replay of the same bytes is still a duplicate."""
    if header and header.strip():
        return header.strip()[:255]
    return "sha256:" + hashlib.sha256(body).hexdigest()


# ---------------------------------------------------------------------------- payments
def order_result(order_id: str, collection: Mapping[str, Any]) -> PaymentResult:
    """``GET /orders/{id}/payments`` → payql's view of the order (see the module table)."""
    payment = choose_payment(_items(collection))
    if payment is None:
        return PaymentResult(
            state=GatewayState.REQUIRES_ACTION, reference=order_id, raw={"payments": 0}
        )
    return payment_result(payment, order_id=order_id)


def choose_payment(payments: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """Captured, else authorized, else created, else the latest attempt."""
    if not payments:
        return None

    def rank(payment: Mapping[str, Any]) -> tuple[int, int]:
        status = str(payment.get("status") or "")
        priority = 3 if payment.get("captured") is True else _PRIORITY.get(status, 0)
        return priority, int(payment.get("created_at") or 0)

    return max(payments, key=rank)


_PRIORITY = {"captured": 3, "authorized": 2, "created": 1}


def payment_result(payment: Mapping[str, Any], *, order_id: str | None = None) -> PaymentResult:
    """One Payment entity as payql sees it; ``reference`` is its order id."""
    status = str(payment.get("status") or "")
    captured = payment.get("captured") is True
    state = _payment_state(status, captured)
    currency = str(payment.get("currency") or "").upper()
    failed = state is GatewayState.FAILED
    return PaymentResult(
        state=state,
        reference=order_id or str(payment.get("order_id") or ""),
        amount=_amount_or_none(payment.get("amount"), currency),
        currency=currency or None,
        failure_code=_failure_code(payment, status) if failed else None,
        failure_message=_text(payment.get("error_description")) if failed else None,
        fee=_fee(payment, currency),
        raw={
            "payment_id": str(payment.get("id") or ""),
            "status": status,
            "method": str(payment.get("method") or ""),
        },
    )


def _payment_state(status: str, captured: bool) -> GatewayState:
    if status == "captured" or (status == "refunded" and captured):
        return GatewayState.SUCCEEDED
    if status in ("failed", "refunded"):
        return GatewayState.FAILED
    return GatewayState.PROCESSING  # created, authorized, and anything new


def _failure_code(payment: Mapping[str, Any], status: str) -> str:
    if status == "refunded":
        return "refunded_before_capture"
    code = _text(payment.get("error_reason")) or _text(payment.get("error_code"))
    return (code or "payment_failed")[:64]


def _fee(payment: Mapping[str, Any], currency: str) -> int | None:
    """Razorpay's fee is in the payment's currency only for INR payments; others are
    charged in ``base_currency`` (INR, https://razorpay.com/docs/payments/
    international-payments/currency-conversion/), which payql cannot record."""
    fee = payment.get("fee")
    if currency != "INR" or not isinstance(fee, int) or isinstance(fee, bool):
        return None
    return fee


def captured_payment_id(collection: Mapping[str, Any]) -> str | None:
    """The id of the order's captured payment (the one a refund goes to)."""
    for payment in _items(collection):
        if payment.get("captured") is True and PAYMENT_ID.fullmatch(str(payment.get("id"))):
            return str(payment["id"])
    return None


# ---------------------------------------------------------------------------- refunds
def refund_request(refund_id: str, amount: int) -> dict[str, Any]:
    """``POST /payments/{id}/refund``: normal speed, payql's refund id in the notes."""
    return {"amount": amount, "speed": "normal", "notes": {REFUND_ID_KEY: refund_id}}


def refund_result(refund: Mapping[str, Any], currency: str | None = None) -> RefundResult:
    """A Refund entity: ``processed`` → SUCCEEDED, ``failed`` → FAILED, ``pending`` (and
    anything new) → PENDING."""
    status = str(refund.get("status") or "pending")
    state = {"processed": RefundState.SUCCEEDED, "failed": RefundState.FAILED}.get(
        status, RefundState.PENDING
    )
    code = str(refund.get("currency") or currency or "").upper()
    notes = _notes(refund)
    return RefundResult(
        state=state,
        reference=str(refund.get("id") or ""),
        refund_id=_text(notes.get(REFUND_ID_KEY)),
        amount=_amount_or_none(refund.get("amount"), code),
        failure_code="refund_failed" if state is RefundState.FAILED else None,
    )


# ---------------------------------------------------------------------------- disputes
def dispute_result(dispute: Mapping[str, Any], payment: Mapping[str, Any]) -> DisputeResult:
    """A Dispute entity (https://razorpay.com/docs/api/disputes/entity/): ``open`` and
    ``under_review`` are OPEN; ``won``, ``lost``, ``closed`` close it.

    The disputed payment is found by its *order* id, which Razorpay puts on the payment
    entity delivered with the dispute. Without it the dispute names the payment id
    (``pay_…``), which payql does not store: the delivery is kept as "not found yet" in the
    webhook inbox (visible to operators) instead of being dropped.
    """
    currency = str(dispute.get("currency") or "").upper()
    status = str(dispute.get("status") or "open")
    return DisputeResult(
        reference=str(dispute.get("id") or ""),
        payment_reference=str(payment.get("order_id") or dispute.get("payment_id") or ""),
        state=_DISPUTE_STATES.get(status, DisputeState.OPEN),
        amount=_amount_or_none(dispute.get("amount"), currency) or 0,
        currency=currency,
        reason=str(dispute.get("reason_code") or ""),
    )


_DISPUTE_STATES = {
    "won": DisputeState.WON,
    "lost": DisputeState.LOST,
    "closed": DisputeState.CLOSED,
}


# ---------------------------------------------------------------------------- events
def gateway_event(event: Mapping[str, Any], event_id: str) -> GatewayEvent:
    """A webhook Event (dict) → payql's normalized event.

    Payment events name the order (``payment.entity.order_id``) and, for ``order.paid``,
    payql's payment id from the order's notes. Refund events of auto-refunds (a payment
    that was never captured, ``payment.entity.captured == false``) are not payql's refunds
    and are ignored, as are payments made outside an order.

    :raises ValueError: not a Razorpay event.
    """
    kind = event.get("event")
    payload = event.get("payload")
    if event.get("entity") != "event" or not isinstance(kind, str) or not kind:
        raise ValueError("not a Razorpay event")
    if not isinstance(payload, Mapping):
        raise ValueError("event without payload")
    payment = _entity(payload, "payment")
    if kind in PAYMENT_EVENTS and payment.get("order_id"):
        order = _entity(payload, "order")
        payment_id = _text(_notes(order).get(PAYMENT_ID_KEY)) or _text(
            _notes(payment).get(PAYMENT_ID_KEY)
        )
        return GatewayEvent(event_id, kind, payment_id=payment_id, payment=payment_result(payment))
    if kind in REFUND_EVENTS and payment.get("captured") is not False:
        refund = _entity(payload, "refund")
        return GatewayEvent(event_id, kind, refund=refund_result(refund, payment.get("currency")))
    if kind in DISPUTE_EVENTS:
        return GatewayEvent(
            event_id, kind, dispute=dispute_result(_entity(payload, "dispute"), payment)
        )
    return GatewayEvent(event_id, kind)


# ---------------------------------------------------------------------------- checkout
def checkout_options(
    *, key_id: str, order_id: str, amount: int, currency: str, description: str, callback_url: str
) -> dict[str, Any]:
    """Standard Checkout's options (https://razorpay.com/docs/payments/payment-gateway/
    web-integration/standard/integration-steps/#123-checkout-options). ``redirect: true``
    posts the outcome to ``callback_url`` — success and failure alike — instead of keeping
    the buyer in the pop-up."""
    return {
        "key": key_id,
        "order_id": order_id,
        "amount": amount,
        "currency": currency.upper(),
        "name": description,
        "description": description,
        "callback_url": callback_url,
        "redirect": True,
    }


def return_order_id(params: Mapping[str, str], key_secret: str) -> str:
    """The order a buyer's return from Checkout is about.

    Success posts ``razorpay_payment_id``, ``razorpay_order_id`` and ``razorpay_signature``:
    the signature must verify (it binds the payment to the order, so the order id returned
    is the one payql then looks up and verifies). A failure posts ``error[…]`` fields; its
    order id comes from ``error[metadata]`` (JSON, or bracketed fields) or else the
    ``payql_reference`` query parameter payql adds to the callback URL. A failure names no
    payment as paid, and payql asks the API before applying anything.

    :raises ValueError: the code of the InvalidWebhook to raise
        (``signature_missing``, ``signature_mismatch``, ``reference_missing``).
    """
    if any(key.startswith("error[") for key in params) and "razorpay_signature" not in params:
        order_id = _failure_order_id(params)
        if not is_order_id(order_id):
            raise ValueError("reference_missing")
        return order_id
    order_id = params.get("razorpay_order_id", "")
    payment_id = params.get("razorpay_payment_id", "")
    signature = params.get("razorpay_signature", "")
    if not signature or not order_id or not payment_id:
        raise ValueError("signature_missing")
    expected = checkout_signature(order_id, payment_id, key_secret)
    if not same_signature(expected, signature) or not is_order_id(order_id):
        raise ValueError("signature_mismatch")
    return order_id


def _failure_order_id(params: Mapping[str, str]) -> str:
    raw = params.get("error[metadata]")
    if raw:
        try:
            metadata = json.loads(raw)
        except ValueError:
            metadata = None
        if isinstance(metadata, dict) and isinstance(metadata.get("order_id"), str):
            return str(metadata["order_id"])
    return params.get("error[metadata][order_id]") or params.get(RETURN_REFERENCE_PARAM, "")


# ---------------------------------------------------------------------------- helpers
def _items(collection: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    items = collection.get("items") if isinstance(collection, Mapping) else None
    return [item for item in items if isinstance(item, Mapping)] if isinstance(items, list) else []


def _entity(payload: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    wrapper = payload.get(name)
    entity = wrapper.get("entity") if isinstance(wrapper, Mapping) else None
    return entity if isinstance(entity, Mapping) else {}


def _notes(entity: Mapping[str, Any]) -> Mapping[str, Any]:
    notes = entity.get("notes")  # Razorpay sends an empty list when there are none
    return notes if isinstance(notes, Mapping) else {}


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def _amount_or_none(amount: object, currency: str) -> int | None:
    if not isinstance(amount, int) or isinstance(amount, bool) or not currency:
        return None
    try:
        return from_razorpay_amount(amount, currency)
    except CurrencyNotSupported:
        return None
