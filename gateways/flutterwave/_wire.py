"""Flutterwave v3's documented shapes, and nothing else: amounts, statuses, refunds, events.

Pure functions over the JSON Flutterwave takes and returns, so they are tested without a
network and shared by the API path and the webhook path.

Pages (developer.flutterwave.com): Standard checkout (``POST /payments``), Transaction
verification (``GET /transactions/verify_by_reference``), Refunds
(``POST /transactions/{id}/refund``, ``GET /refunds``), Webhooks.

Amounts: Flutterwave takes and reports **major units** (``"12.50"`` USD, ``"5000"`` UGX).
payql converts exactly with :func:`gateways.units.to_major` and sends the amount as a JSON
*string* of that decimal (the form of Flutterwave's own Standard and Node SDK examples,
``"amount": "7500"``): a binary float could round on its way out. Amounts Flutterwave
reports are read back exactly with :func:`gateways.units.from_major`; one with more
decimals than the currency has is reported as unknown (``None``), which payql treats as
an amount mismatch on a success.

Transaction statuses (``data.status``)::

    successful   SUCCEEDED
    failed       FAILED        failure code ``payment_failed``
    reversed     FAILED        failure code ``reversed`` (never undoes a success)
    cancelled    CANCELLED
    pending      PROCESSING    (mobile money, bank transfer: settles by webhook)
    other        PROCESSING    (an unknown status is never a failure)
    none found   REQUIRES_ACTION: the buyer has not paid on the hosted page yet, or left
                 it. An abandoned checkout keeps REQUIRES_ACTION (Flutterwave has no
                 transaction and no cancel API for it); the order's hold expiry ends it.

Refund statuses: ``completed`` (and ``completed-…`` variants) SUCCEEDED; anything with
``fail``/``declined``/``rejected`` FAILED; everything else (``pending``, ``processing``,
``pending-momo``, ``new`` …) PENDING.
"""

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from gateways.base import (
    GatewayEvent,
    GatewayState,
    InvalidWebhook,
    NextAction,
    PaymentRequest,
    PaymentResult,
    RefundResult,
    RefundState,
)
from gateways.units import CurrencyNotSupported, from_major, to_major

# Collection currencies of Flutterwave's payment methods (card, mobile money, bank
# transfer). payql refuses any other before a request is sent.
SUPPORTED_CURRENCIES = frozenset(
    "NGN GHS KES UGX TZS ZAR USD EUR GBP XAF XOF RWF ZMW MWK EGP".split()  # noqa: SIM905
)

PAYMENT_ID_KEY = "payql_payment_id"
ORDER_NUMBER_KEY = "payql_order_number"
# PaymentRequest carries no e-mail and Flutterwave requires ``customer.email``: payql sends
# a placeholder in the reserved ``.invalid`` domain, so nothing is ever delivered to it.
PLACEHOLDER_EMAIL_DOMAIN = "payql.invalid"

HMAC_HEADER = "flutterwave-signature"  # newer scheme: base64 HMAC-SHA256 of the raw body
HASH_HEADER = "verif-hash"  # v3 scheme: the configured secret hash itself

NOT_FOUND_MARKERS = ("no transaction", "not found")
_REFUND_NOTE = re.compile(r"payql refund ([0-9A-Fa-f-]{36})")

_PAYMENT_STATES = {
    "successful": GatewayState.SUCCEEDED,
    "failed": GatewayState.FAILED,
    "reversed": GatewayState.FAILED,
    "cancelled": GatewayState.CANCELLED,
    "pending": GatewayState.PROCESSING,
}


# ---------------------------------------------------------------------------- amounts
def check_currency(currency: str) -> None:
    """:raises CurrencyNotSupported: Flutterwave does not collect ``currency``."""
    if currency.upper() not in SUPPORTED_CURRENCIES:
        raise CurrencyNotSupported(f"Flutterwave does not collect {currency}")


def major_amount(amount: int, currency: str) -> str:
    """payql minor units → Flutterwave's decimal string (``1250 USD`` → ``"12.50"``).

    :raises CurrencyNotSupported: an unsupported currency or a non-positive amount.
    """
    check_currency(currency)
    if amount <= 0:
        raise CurrencyNotSupported(f"Flutterwave takes positive amounts, not {amount}")
    return format(to_major(amount, currency.upper()), "f")


def minor_amount(value: Any, currency: str) -> int | None:
    """A reported major-unit amount → payql minor units; ``None`` when it is missing or
    cannot be expressed exactly (never rounded)."""
    if value is None or isinstance(value, bool) or not currency:
        return None
    try:
        return from_major(Decimal(str(value)), currency.upper())
    except (ArithmeticError, ValueError):  # includes CurrencyNotSupported
        return None


# ---------------------------------------------------------------------------- payments
def payment_link_request(request: PaymentRequest, *, redirect_url: str) -> dict[str, Any]:
    """The body of ``POST /payments`` (Flutterwave Standard) for one payql payment.

    ``tx_ref`` is payql's payment id: the reference payql stores and later verifies by.
    """
    title = request.description or f"Order {request.order_number}"
    return {
        "tx_ref": request.payment_id,
        "amount": major_amount(request.amount, request.currency),
        "currency": request.currency.upper(),
        "redirect_url": redirect_url,
        "customer": {
            "email": placeholder_email(request.order_number),
            "name": f"Order {request.order_number}",
        },
        "meta": {
            PAYMENT_ID_KEY: request.payment_id,
            ORDER_NUMBER_KEY: request.order_number,
        },
        "customizations": {"title": title, "description": title},
    }


def placeholder_email(order_number: str) -> str:
    local = re.sub(r"[^a-z0-9._-]+", "-", order_number.lower()).strip("-.") or "order"
    return f"{local}@{PLACEHOLDER_EMAIL_DOMAIN}"


def hosted_link(body: Any) -> str | None:
    """``data.link`` of a successful ``POST /payments`` answer."""
    if not isinstance(body, Mapping) or body.get("status") != "success":
        return None
    data = body.get("data")
    link = data.get("link") if isinstance(data, Mapping) else None
    return str(link) if link else None


def awaiting_buyer(
    reference: str, *, amount: int | None = None, currency: str | None = None
) -> PaymentResult:
    """No transaction yet: the buyer still has the hosted page to complete (or left it)."""
    return PaymentResult(
        state=GatewayState.REQUIRES_ACTION,
        reference=reference,
        amount=amount,
        currency=currency,
        raw={"status": "no_transaction"},
    )


def link_result(request: PaymentRequest, link: str) -> PaymentResult:
    return PaymentResult(
        state=GatewayState.REQUIRES_ACTION,
        reference=request.payment_id,
        amount=request.amount,
        currency=request.currency.upper(),
        next_action=NextAction(type="REDIRECT", redirect_url=link),
        raw={"status": "hosted_link"},
    )


def payment_result(transaction: Mapping[str, Any]) -> PaymentResult:
    """A verified transaction (``data`` of verify, or of a ``charge.completed`` webhook)
    as payql sees it; amounts in payql minor units, ``reference`` = ``tx_ref``."""
    status = str(transaction.get("status") or "").lower()
    state = _PAYMENT_STATES.get(status, GatewayState.PROCESSING)
    currency = str(transaction.get("currency") or "").upper()
    failed = state is GatewayState.FAILED
    return PaymentResult(
        state=state,
        reference=str(transaction.get("tx_ref") or ""),
        amount=minor_amount(transaction.get("amount"), currency),
        currency=currency or None,
        failure_code=("reversed" if status == "reversed" else "payment_failed") if failed else None,
        failure_message=(str(transaction.get("processor_response") or "") or None)
        if failed
        else None,
        fee=minor_amount(transaction.get("app_fee"), currency),
        raw=_sanitized(transaction, status),
    )


def _sanitized(transaction: Mapping[str, Any], status: str) -> dict[str, Any]:
    """What payql keeps of a transaction: its ids (refunds need ``id``), never card data."""
    return {
        "status": status,
        "flw_transaction_id": transaction.get("id"),
        "flw_ref": transaction.get("flw_ref"),
        "payment_type": transaction.get("payment_type"),
        "created_at": transaction.get("created_at"),
    }


def verified_transaction(body: Any) -> Mapping[str, Any] | None:
    """``data`` of a successful verify answer."""
    if not isinstance(body, Mapping) or body.get("status") != "success":
        return None
    data = body.get("data")
    return data if isinstance(data, Mapping) and data else None


def says_not_found(body: Any) -> bool:
    """Flutterwave's answer for a reference with no transaction: ``status: error``,
    ``data: null``, "No transaction was found for this id" (sent with 200 or a 4xx)."""
    if not isinstance(body, Mapping) or body.get("status") != "error" or body.get("data"):
        return False
    message = str(body.get("message") or "").lower()
    return any(marker in message for marker in NOT_FOUND_MARKERS)


# ---------------------------------------------------------------------------- refunds
def refund_note(refund_id: str, reason: str = "") -> str:
    """``comments`` of a refund: carries payql's refund id, so a retry can find it."""
    note = f"payql refund {refund_id}"
    return f"{note} ({reason})" if reason else note


def refund_request(*, amount: int, currency: str, refund_id: str, reason: str) -> dict[str, Any]:
    """The body of ``POST /transactions/{id}/refund``."""
    return {
        "amount": major_amount(amount, currency),
        "comments": refund_note(refund_id, reason),
    }


def refund_state(status: str) -> RefundState:
    text = status.lower()
    if text.startswith("completed") or text in ("successful", "succeeded"):
        return RefundState.SUCCEEDED
    if any(word in text for word in ("fail", "declined", "rejected", "cancel")):
        return RefundState.FAILED
    return RefundState.PENDING


def refund_id_of(refund: Mapping[str, Any]) -> str | None:
    """payql's refund id, from the ``comments`` payql wrote."""
    match = _REFUND_NOTE.search(str(refund.get("comments") or ""))
    return match.group(1).lower() if match else None


def _field(refund: Mapping[str, Any], *names: str) -> Any:
    """Refund objects come in snake_case (API) and PascalCase (refund webhooks)."""
    for name in names:
        if refund.get(name) is not None:
            return refund[name]
    return None


def refund_transaction_id(refund: Mapping[str, Any]) -> str:
    return str(_field(refund, "tx_id", "TransactionId", "transaction_id") or "")


def refund_result(
    refund: Mapping[str, Any], *, currency: str | None = None, refund_id: str | None = None
) -> RefundResult:
    """A refund object as payql sees it (amount only when the currency is known)."""
    state = refund_state(str(refund.get("status") or ""))
    refunded = _field(refund, "amount_refunded", "AmountRefunded")
    return RefundResult(
        state=state,
        reference=str(refund.get("id") or ""),
        refund_id=refund_id or refund_id_of(refund),
        amount=minor_amount(refunded, currency) if currency else None,
        failure_code=str(refund.get("status") or "failed") if state is RefundState.FAILED else None,
    )


def matching_refund(
    refunds: Iterable[Any], *, transaction_id: str, refund_id: str
) -> Mapping[str, Any] | None:
    """The refund of this transaction that payql's ``refund_id`` already created."""
    for refund in refunds:
        if not isinstance(refund, Mapping):
            continue
        on_transaction = refund_transaction_id(refund) in ("", transaction_id)
        if on_transaction and refund_id_of(refund) == refund_id.lower():
            return refund
    return None


def page_count(body: Any) -> int:
    meta = body.get("meta") if isinstance(body, Mapping) else None
    info = meta.get("page_info") if isinstance(meta, Mapping) else None
    try:
        return int(info.get("total_pages") or 1) if isinstance(info, Mapping) else 1
    except (TypeError, ValueError):
        return 1


# ---------------------------------------------------------------------------- webhooks
def expected_signature(body: bytes, secret_hash: str) -> str:
    """``flutterwave-signature``: base64 of HMAC-SHA256(raw body, secret hash)."""
    digest = hmac.new(secret_hash.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_signature(body: bytes, headers: Mapping[str, str], secret_hash: str) -> None:
    """Accept the body-bound ``flutterwave-signature`` when present (it alone decides);
    otherwise the v3 ``verif-hash``, which must equal the secret hash. Both compared in
    constant time.

    :raises InvalidWebhook: no signature header, or one that does not match.
    """
    signature = header(headers, HMAC_HEADER)
    if signature is not None:
        if not _same(signature, expected_signature(body, secret_hash)):
            raise InvalidWebhook("flutterwave-signature does not match", code="signature_mismatch")
        return
    legacy = header(headers, HASH_HEADER)
    if legacy is None:
        raise InvalidWebhook("missing flutterwave-signature/verif-hash", code="signature_missing")
    if not _same(legacy, secret_hash):
        raise InvalidWebhook("verif-hash does not match", code="signature_mismatch")


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.strip().encode(), expected.encode())


def header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def parse_event(body: bytes) -> GatewayEvent:
    """A webhook body → payql's event.

    * ``{"event": "charge.completed", "data": {transaction}}`` → a payment event
      (success or failure is in ``data.status``), reference ``data.tx_ref``.
    * ``{"event": "refund.completed", "data": {refund}}``, or the flat refund object the
      Webhooks page documents (``id``, ``AmountRefunded``, ``status``, ``comments``,
      ``TransactionId`` …) → a refund event naming payql's refund from ``comments``.
    * anything else → stored and ignored.

    :raises ValueError: not a JSON object.
    """
    payload = json.loads(body)
    if not isinstance(payload, dict):
        raise ValueError("not an object")
    kind = str(payload.get("event") or payload.get("type") or "")
    data = payload.get("data")
    if not kind and _is_flat_refund(payload):
        status = str(payload.get("status") or "")
        event_id = f"refund:{payload.get('id')}:{status}"
        return GatewayEvent(
            event_id, f"refund.{status or 'updated'}", refund=refund_result(payload)
        )
    if not isinstance(data, Mapping):
        data = {}
    event_id = _event_id(payload, kind, data, body)
    if kind == "charge.completed" and data.get("tx_ref"):
        payment = payment_result(data)
        return GatewayEvent(event_id, kind, payment_id=payment.reference, payment=payment)
    if kind.startswith("refund.") and data.get("id") is not None:
        return GatewayEvent(event_id, kind, refund=refund_result(data))
    return GatewayEvent(event_id, kind or "unknown")


def _is_flat_refund(payload: Mapping[str, Any]) -> bool:
    return payload.get("id") is not None and (
        "AmountRefunded" in payload or "TransactionId" in payload
    )


def _event_id(payload: Mapping[str, Any], kind: str, data: Mapping[str, Any], body: bytes) -> str:
    """The event's own id when the body has one (newer envelopes: ``id``/``webhook_id``);
    else ``<event>:<data.id>:<data.status>``, stable across redeliveries of one outcome."""
    own = payload.get("webhook_id") or payload.get("id")
    if own:
        return str(own)
    if data.get("id") is not None:
        return f"{kind}:{data.get('id')}:{data.get('status') or ''}"
    return f"{kind or 'unknown'}:{hashlib.sha256(body).hexdigest()[:32]}"
