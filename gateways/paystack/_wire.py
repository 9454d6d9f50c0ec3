"""Paystack's documented shapes, and nothing else: amounts, statuses, events, signatures.

Pure functions over the JSON Paystack sends and returns, so they are tested without a
network and shared by the API path and the webhook path. Sources (checked 2026):

* Initialize / Verify transaction: https://paystack.com/docs/api/transaction/
* Refunds (create, list with ``transaction`` = the transaction's numeric id, fetch):
  https://paystack.com/docs/api/refund/
* Webhooks (``x-paystack-signature`` = hex HMAC-SHA512 of the raw body keyed with the
  secret key; event payloads): https://paystack.com/docs/payments/webhooks/

Amounts: Paystack takes every supported currency in its subunit, 100 to the unit (kobo,
pesewas, cents, piastres; XOF too, although ISO 4217 gives the CFA franc no minor unit).
payql's ISO minor units are rescaled exactly; an amount that would need rounding is refused.

Transaction statuses (``data.status`` of Verify and of ``charge.success``):

==========================  ===================================================
success                     SUCCEEDED
failed                      FAILED (``declined``; Paystack's gateway_response
                            is the message)
reversed                    FAILED (``reversed``): the money went back
abandoned                   REQUIRES_ACTION: Paystack reports a transaction the
                            buyer has not completed (yet) as abandoned, including
                            one whose checkout page is still open, so it is not
                            final; the order's hold expiry ends it in payql
ongoing                     REQUIRES_ACTION: the buyer is completing a step
                            (OTP, PIN, bank app)
pending, processing, queued PROCESSING
anything else               PROCESSING (never a failure on an unknown word)
==========================  ===================================================

Refund statuses: ``processed`` → SUCCEEDED; ``failed`` → FAILED; ``pending``,
``processing`` and ``needs-attention`` (Paystack waits for the customer's bank details,
see Retry Refund) → PENDING.

Refund references: Paystack's refund webhooks carry only ``transaction_reference``,
``amount``, ``status`` and a processor ``refund_reference`` — never the refund's id nor its
``merchant_note``. The one key that the API answer and the webhooks share is therefore
(transaction reference, amount), and that is what payql stores as the gateway refund
reference: ``<transaction reference>:<amount in subunits>`` (see :func:`refund_key`).
"""

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from gateways.base import (
    DisputeResult,
    DisputeState,
    GatewayEvent,
    GatewayState,
    NextAction,
    PaymentRequest,
    PaymentResult,
    RefundResult,
    RefundState,
)
from gateways.units import CurrencyNotSupported, from_scale, rescale

SUPPORTED_CURRENCIES = frozenset({"NGN", "GHS", "ZAR", "KES", "USD", "XOF", "EGP"})
SUBUNIT_EXPONENT = 2  # every supported currency: 100 subunits to the unit

PAYMENT_ID_KEY = "payql_payment_id"
ORDER_NUMBER_KEY = "payql_order_number"
PLACEHOLDER_EMAIL_DOMAIN = "payql.invalid"  # RFC 2606: never delivered
REFUND_NOTE_PREFIX = "payql refund"

SIGNATURE_HEADER = "x-paystack-signature"
REFERENCE_PATTERN = re.compile(r"^[A-Za-z0-9.=-]{1,100}$")  # Paystack: -, ., = and alnum

PAYMENT_EVENTS = frozenset({"charge.success"})
REFUND_EVENTS = frozenset(
    {"refund.pending", "refund.processing", "refund.processed", "refund.failed"}
)
DISPUTE_EVENTS = frozenset(
    {"charge.dispute.create", "charge.dispute.remind", "charge.dispute.resolve"}
)

_PAYMENT_STATES = {
    "success": GatewayState.SUCCEEDED,
    "failed": GatewayState.FAILED,
    "reversed": GatewayState.FAILED,
    "abandoned": GatewayState.REQUIRES_ACTION,
    "ongoing": GatewayState.REQUIRES_ACTION,
    "pending": GatewayState.PROCESSING,
    "processing": GatewayState.PROCESSING,
    "queued": GatewayState.PROCESSING,
}
_FAILURE_CODES = {"failed": "declined", "reversed": "reversed"}
_REFUND_STATES = {
    "processed": RefundState.SUCCEEDED,
    "failed": RefundState.FAILED,
    "pending": RefundState.PENDING,
    "processing": RefundState.PENDING,
    "needs-attention": RefundState.PENDING,
}
_DISPUTE_WON = frozenset({"declined", "auto-declined", "merchant-declined"})
_DISPUTE_LOST = frozenset({"merchant-accepted", "auto-accepted"})


# ---------------------------------------------------------------------------- amounts
def check_currency(currency: str) -> str:
    """The upper-cased code, if Paystack takes it.

    :raises CurrencyNotSupported: not one of :data:`SUPPORTED_CURRENCIES`.
    """
    code = currency.upper()
    if code not in SUPPORTED_CURRENCIES:
        raise CurrencyNotSupported(f"Paystack does not take {code}")
    return code


def to_paystack_amount(amount: int, currency: str) -> int:
    """payql minor units → Paystack subunits (``1250 NGN`` → ``1250``; ``500 XOF`` →
    ``50000``).

    :raises CurrencyNotSupported: unsupported currency, or not expressible exactly.
    """
    return rescale(amount, check_currency(currency), to_exponent=SUBUNIT_EXPONENT)


def from_paystack_amount(amount: Any, currency: str) -> int:
    """Paystack subunits (an int, or a numeric string as in refund webhooks) → payql
    minor units.

    :raises CurrencyNotSupported: unsupported currency or a fraction payql cannot keep.
    :raises ValueError: not a whole number.
    """
    return from_scale(int(str(amount)), check_currency(currency), from_exponent=SUBUNIT_EXPONENT)


def _money(amount: Any, currency: str) -> int | None:
    """Best effort for answers: an amount payql cannot represent is None, which payql
    treats as a mismatch if the payment claims success."""
    if amount is None or amount == "" or not currency:
        return None
    try:
        return from_paystack_amount(amount, currency)
    except (CurrencyNotSupported, ValueError):
        return None


# ---------------------------------------------------------------------------- payments
def placeholder_email(order_number: str) -> str:
    """Paystack requires ``email``; payql's payment request has none. A per-order address
    under the reserved ``.invalid`` domain keeps Paystack's customer records per order and
    can never reach anyone (Paystack's e-mail receipt is therefore not delivered)."""
    local = re.sub(r"[^a-z0-9.-]", "-", order_number.lower()).strip(".-") or "order"
    return f"{local}@{PLACEHOLDER_EMAIL_DOMAIN}"


def initialize_body(request: PaymentRequest, *, callback_url: str) -> dict[str, Any]:
    """``POST /transaction/initialize``. ``reference`` is payql's payment id (the reference
    payql stores); ``label`` replaces the placeholder e-mail on Paystack's checkout;
    ``metadata.cancel_action`` sends a buyer who cancels back to payql's return route,
    which verifies the transaction like any other return."""
    reference = request.payment_id
    return {
        "email": placeholder_email(request.order_number),
        "amount": to_paystack_amount(request.amount, request.currency),
        "currency": request.currency.upper(),
        "reference": reference,
        "callback_url": callback_url,
        "label": f"Order {request.order_number}",
        "metadata": {
            PAYMENT_ID_KEY: request.payment_id,
            ORDER_NUMBER_KEY: request.order_number,
            "cancel_action": with_reference(callback_url, reference),
        },
    }


def with_reference(url: str, reference: str) -> str:
    """``url`` with ``reference`` added to its query string."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}reference={reference}"


def initialized_result(data: Mapping[str, Any], request: PaymentRequest) -> PaymentResult:
    """The Initialize answer: the buyer goes to ``authorization_url`` (Paystack Checkout);
    ``access_code`` is what Paystack's InlineJS needs to resume the same transaction."""
    url = data.get("authorization_url")
    if not isinstance(url, str) or not url:
        raise ValueError("Initialize answered without an authorization_url")
    return PaymentResult(
        state=GatewayState.REQUIRES_ACTION,
        reference=str(data.get("reference") or request.payment_id),
        amount=request.amount,
        currency=request.currency.upper(),
        client_secret=str(data["access_code"]) if data.get("access_code") else None,
        next_action=NextAction(type="REDIRECT", redirect_url=url),
        raw={"status": "initialized"},
    )


def is_duplicate_reference(body: Any) -> bool:
    """Paystack's 400 for a reference it has seen: ``code: duplicate_reference`` (older
    answers: only the message "Duplicate Transaction Reference")."""
    if not isinstance(body, Mapping):
        return False
    return (
        body.get("code") == "duplicate_reference"
        or "duplicate" in str(body.get("message") or "").lower()
    )


def payment_result(transaction: Mapping[str, Any]) -> PaymentResult:
    """A Transaction (Verify's ``data``, or ``charge.success``'s) as payql sees it; the
    status table is in the module docstring."""
    status = str(transaction.get("status") or "").lower()
    currency = str(transaction.get("currency") or "").upper()
    state = _PAYMENT_STATES.get(status, GatewayState.PROCESSING)
    failed = state is GatewayState.FAILED
    fees = transaction.get("fees")
    return PaymentResult(
        state=state,
        reference=str(transaction.get("reference") or ""),
        amount=_money(transaction.get("amount"), currency),
        currency=currency or None,
        failure_code=_FAILURE_CODES.get(status, "payment_failed") if failed else None,
        failure_message=str(transaction.get("gateway_response") or status) if failed else None,
        fee=_money(fees, currency) if fees is not None else None,
        raw={
            "status": status,
            "gateway_response": str(transaction.get("gateway_response") or ""),
            "channel": str(transaction.get("channel") or ""),
            "domain": str(transaction.get("domain") or ""),
        },
    )


def metadata_of(transaction: Mapping[str, Any]) -> Mapping[str, Any]:
    """``metadata`` is an object, a JSON string, or ``""`` depending on how it was sent."""
    metadata = transaction.get("metadata")
    if isinstance(metadata, str) and metadata.strip():
        try:
            metadata = json.loads(metadata)
        except ValueError:
            return {}
    return metadata if isinstance(metadata, Mapping) else {}


def payment_id_of(transaction: Mapping[str, Any]) -> str | None:
    value = metadata_of(transaction).get(PAYMENT_ID_KEY)
    return str(value) if value else None


def return_reference(params: Mapping[str, str]) -> str:
    """Paystack sends the buyer to ``callback_url?trxref=<ref>&reference=<ref>``.

    :raises ValueError: no reference, or not one Paystack could have issued.
    """
    reference = (params.get("reference") or params.get("trxref") or "").strip()
    if not reference:
        raise ValueError("missing_reference")
    if not REFERENCE_PATTERN.fullmatch(reference):
        raise ValueError("malformed_reference")
    return reference


# ---------------------------------------------------------------------------- refunds
def refund_note(refund_id: str, reason: str) -> str:
    """``merchant_note``: carries payql's refund id, so a retry finds the refund."""
    note = f"{REFUND_NOTE_PREFIX} {refund_id}"
    return f"{note} ({reason})" if reason else note


def refund_key(transaction_reference: str, amount: Any) -> str:
    """The gateway reference payql stores for a Paystack refund (module docstring)."""
    return f"{transaction_reference}:{int(str(amount))}"


def refund_body(
    *, transaction_reference: str, amount: int, currency: str, refund_id: str, reason: str
) -> dict[str, Any]:
    """``POST /refund``: ``transaction`` takes the reference (or the id)."""
    return {
        "transaction": transaction_reference,
        "amount": to_paystack_amount(amount, currency),
        "currency": currency.upper(),
        "merchant_note": refund_note(refund_id, reason),
    }


def transaction_id_of(refund: Mapping[str, Any]) -> str:
    """A refund's transaction: an object in Create's answer, the numeric id in List's."""
    transaction = refund.get("transaction")
    if isinstance(transaction, Mapping):
        return str(transaction.get("id") or "")
    return str(transaction or "")


def find_refund(
    refunds: Iterable[Mapping[str, Any]], *, refund_id: str, transaction_id: str
) -> Mapping[str, Any] | None:
    """The refund of this transaction whose ``merchant_note`` names payql's refund."""
    for refund in refunds:
        note = str(refund.get("merchant_note") or "")
        if refund_id in note and transaction_id_of(refund) == transaction_id:
            return refund
    return None


def is_ambiguous(
    refunds: Iterable[Mapping[str, Any]], ours: Mapping[str, Any], *, transaction_id: str
) -> bool:
    """Another live refund of the same transaction for the same amount: webhooks could not
    tell the two apart (they carry transaction reference and amount only)."""
    return any(
        refund.get("id") != ours.get("id")
        and transaction_id_of(refund) == transaction_id
        and str(refund.get("amount")) == str(ours.get("amount"))
        and str(refund.get("status") or "").lower() != "failed"
        for refund in refunds
    )


def refund_state(status: Any) -> RefundState:
    return _REFUND_STATES.get(str(status or "").lower(), RefundState.PENDING)


def refund_result(
    refund: Mapping[str, Any],
    *,
    transaction_reference: str,
    currency: str,
    refund_id: str | None,
    ambiguous: bool = False,
) -> RefundResult:
    """A Refund from the API. When another refund of the same transaction has the same
    amount, the reference is left empty: payql then keeps resubmitting the refund (its
    job for unacknowledged refunds), and each resubmission finds this same refund and
    reports its status, until it settles — webhooks cannot settle it unambiguously."""
    status = str(refund.get("status") or "pending").lower()
    state = refund_state(status)
    amount = refund.get("amount")
    return RefundResult(
        state=state,
        reference="" if ambiguous else refund_key(transaction_reference, amount),
        refund_id=refund_id,
        amount=_money(amount, currency),
        failure_code=f"refund_{status}" if state is RefundState.FAILED else None,
    )


def refund_event_result(data: Mapping[str, Any]) -> RefundResult:
    """A ``refund.*`` webhook's ``data``; matched to payql's refund by :func:`refund_key`."""
    transaction_reference = str(data.get("transaction_reference") or "")
    amount = data.get("amount")
    if not transaction_reference or amount is None:
        raise ValueError("refund event without transaction_reference or amount")
    state = refund_state(data.get("status"))
    return RefundResult(
        state=state,
        reference=refund_key(transaction_reference, amount),
        amount=_money(amount, str(data.get("currency") or "")),
        failure_code="refund_failed" if state is RefundState.FAILED else None,
    )


# ---------------------------------------------------------------------------- disputes
def dispute_result(data: Mapping[str, Any]) -> DisputeResult:
    """A Dispute (``charge.dispute.*``). Open while awaiting feedback or pending; once
    ``resolved``, the resolution decides: accepted (by the merchant or automatically)
    means the customer got the money back (LOST); declined means the merchant kept it
    (WON); anything else is CLOSED. The amount is ``refund_amount``, the sum in dispute."""
    transaction = data.get("transaction")
    transaction = transaction if isinstance(transaction, Mapping) else {}
    currency = str(data.get("currency") or transaction.get("currency") or "").upper()
    status = str(data.get("status") or "").lower()
    resolution = str(data.get("resolution") or "").lower()
    state = DisputeState.OPEN
    if status == "resolved" or resolution:
        state = (
            DisputeState.LOST
            if resolution in _DISPUTE_LOST
            else DisputeState.WON
            if resolution in _DISPUTE_WON
            else DisputeState.CLOSED
        )
    amount = data.get("refund_amount")
    if amount is None:
        amount = transaction.get("amount")
    payment_reference = transaction.get("reference") or data.get("transaction_reference")
    return DisputeResult(
        reference=str(data.get("id") or ""),
        payment_reference=str(payment_reference or ""),
        state=state,
        amount=_money(amount, currency) or 0,
        currency=currency,
        reason=str(data.get("category") or data.get("reason") or ""),
    )


# ---------------------------------------------------------------------------- events
def event_id(kind: str, data: Mapping[str, Any]) -> str:
    """Paystack events carry no id: a stable one from what the delivery is about, so a
    retried or replayed delivery dedupes while a real change (a new status) does not.

    ``charge.success:<transaction id>``; ``charge.dispute.*:<dispute id>:<status>``;
    ``refund.*:<transaction reference>:<amount>:<refund_reference>``; anything else: the
    type and a SHA-256 of the canonical JSON of ``data``.
    """
    if kind in PAYMENT_EVENTS and (data.get("id") or data.get("reference")):
        return f"{kind}:{data.get('id') or data.get('reference')}"
    if kind in DISPUTE_EVENTS and data.get("id"):
        return f"{kind}:{data['id']}:{data.get('status') or ''}"
    if kind in REFUND_EVENTS and data.get("transaction_reference"):
        return ":".join(
            [
                kind,
                str(data["transaction_reference"]),
                str(data.get("amount") or ""),
                str(data.get("refund_reference") or ""),
            ]
        )
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return f"{kind}:sha256:{hashlib.sha256(canonical.encode()).hexdigest()}"


def gateway_event(payload: Mapping[str, Any]) -> GatewayEvent:
    """A webhook body (``{"event": …, "data": …}``) → payql's normalized event.

    :raises ValueError: not a Paystack event.
    """
    kind = payload.get("event")
    data = payload.get("data")
    if not isinstance(kind, str) or not kind or not isinstance(data, Mapping):
        raise ValueError("not a Paystack event")
    identifier = event_id(kind, data)[:255]
    if kind in PAYMENT_EVENTS:
        result = payment_result(data)
        if not result.reference:
            raise ValueError("charge event without a reference")
        return GatewayEvent(identifier, kind, payment_id=payment_id_of(data), payment=result)
    if kind in REFUND_EVENTS:
        return GatewayEvent(identifier, kind, refund=refund_event_result(data))
    if kind in DISPUTE_EVENTS:
        return GatewayEvent(identifier, kind, dispute=dispute_result(data))
    return GatewayEvent(identifier, kind)


def signature(body: bytes, secret_key: str) -> str:
    """``x-paystack-signature`` for ``body``: hex HMAC-SHA512 keyed with the secret key."""
    return hmac.new(secret_key.encode(), body, hashlib.sha512).hexdigest()


def signature_matches(body: bytes, header: str, secret_key: str) -> bool:
    return hmac.compare_digest(signature(body, secret_key), header.strip().lower())
