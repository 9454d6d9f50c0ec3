"""RAZORPAY: Orders API + Standard Checkout, through httpx (the official SDK is synchronous).

* ``create_payment`` creates a Razorpay **order** (``POST /orders``, HTTP Basic with the key
  id and secret); its id (``order_…``) is the reference payql stores, and the buyer is sent
  to payql's own hosted page (``{checkout_url}/{order_id}``, rendered by
  :meth:`RazorpayGateway.checkout_page`) which opens Razorpay Checkout. Before creating, the
  order is looked up by its receipt (payql's payment id), so a retried call never makes a
  second order.
* ``fetch_payment`` reads ``GET /orders/{id}/payments`` and reports the captured payment (or
  the most advanced attempt): status, amount and currency in payql's minor units. payql
  never calls the capture API: Razorpay captures automatically by default, so an
  ``authorized`` payment is PROCESSING until ``payment.captured`` / reconciliation.
* The return route checks Checkout's ``razorpay_signature`` (HMAC-SHA256 of
  ``order_id|payment_id`` with the key secret); payql then verifies through the API.
* Refunds go to the order's captured payment with ``X-Refund-Idempotency: <payql refund id>``
  so a resubmission after a timeout returns the same refund.
* Webhooks: ``X-Razorpay-Signature`` = hex HMAC-SHA256 of the raw body with the webhook
  secret. No timestamp is signed, so ``reverify_webhooks`` is True; the event id is the
  ``x-razorpay-event-id`` header.
* Orders cannot be cancelled (they stay payable until paid): ``cancel_payment`` is
  GatewayNotSupported.

The shapes (amounts, statuses, events, signatures) live in :mod:`gateways.razorpay._wire`.
"""

import json
from collections.abc import Mapping
from html import escape
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from gateways.base import (
    GatewayBadRequest,
    GatewayEvent,
    GatewayNotSupported,
    GatewayOutcomeUnknown,
    GatewayState,
    InvalidWebhook,
    NextAction,
    PaymentRequest,
    PaymentResult,
    RefundRequest,
    RefundResult,
)
from gateways.http import JsonApi, error_text
from gateways.razorpay import _wire
from gateways.units import CurrencyNotSupported

DEFAULT_API_BASE = "https://api.razorpay.com/v1"
CHECKOUT_SCRIPT = "https://checkout.razorpay.com/v1/checkout.js"
SIGNATURE_HEADER = "x-razorpay-signature"
EVENT_ID_HEADER = "x-razorpay-event-id"
IDEMPOTENCY_HEADER = "X-Refund-Idempotency"


class RazorpayGateway:
    """Razorpay behind payql's gateway Protocol (redirect flow through Standard Checkout)."""

    name = "RAZORPAY"
    reverify_webhooks = True  # X-Razorpay-Signature signs no timestamp: a replay verifies

    def __init__(
        self,
        *,
        key_id: str,
        key_secret: str,
        webhook_secret: str | None,
        return_url: str,
        checkout_url: str,
        api_base: str = DEFAULT_API_BASE,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._api = JsonApi(
            name="Razorpay",
            base_url=api_base,
            auth=(key_id, key_secret),
            timeout=timeout,
            transport=transport,
        )
        self._key_id = key_id
        self._key_secret = key_secret
        self._webhook_secret = webhook_secret
        self._return_url = return_url
        self._checkout_url = checkout_url.rstrip("/")

    def __repr__(self) -> str:  # never show keys
        return "RazorpayGateway()"

    async def aclose(self) -> None:
        """Close the HTTP connection pool (at shutdown)."""
        await self._api.aclose()

    # ------------------------------------------------------------------ payments
    def check_request(self, request: PaymentRequest) -> None:
        """Razorpay takes no token (the buyer pays on Checkout) and only its currencies,
        in amounts it can take exactly.

        :raises GatewayBadRequest: a token, or ``currency_not_supported``.
        """
        if request.payment_method_token is not None:
            raise GatewayBadRequest(
                "Razorpay payments are made on Razorpay Checkout; send no paymentMethodToken",
                code="token_not_supported",
            )
        self._amount(request.amount, request.currency)

    async def create_payment(self, request: PaymentRequest) -> PaymentResult:
        """Create (or find, on a retry) the Razorpay order and point the buyer at Checkout.

        ``request.return_url`` is not used: Checkout returns to payql's return route, which
        then redirects to the order's success or failure URL.

        :raises GatewayBadRequest: a token or an unsupported amount (nothing sent), or
            Razorpay refused the order (e.g. below its minimum amount).
        :raises GatewayOutcomeUnknown: no answer (the order may exist; a retry finds it).
        """
        self.check_request(request)
        amount = self._amount(request.amount, request.currency)
        found = await self._api.ok(
            "GET", "/orders", params={"receipt": request.payment_id[: _wire.RECEIPT_MAX]}
        )
        order_id = _wire.matching_order(found, request, amount)
        if not order_id:
            created = await self._api.ok(
                "POST", "/orders", json=_wire.order_request(request, amount)
            )
            order_id = str(created.get("id") or "") if isinstance(created, dict) else ""
            if not _wire.is_order_id(order_id):
                raise GatewayOutcomeUnknown(
                    "Razorpay answered without an order id", code="bad_response"
                )
        return PaymentResult(
            state=GatewayState.REQUIRES_ACTION,
            reference=order_id,
            amount=request.amount,
            currency=request.currency.upper(),
            client_secret=order_id,  # public: what Razorpay Checkout needs with the key id
            next_action=NextAction(
                type="REDIRECT", redirect_url=f"{self._checkout_url}/{order_id}"
            ),
            raw={"order_id": order_id},
        )

    async def fetch_payment(self, reference: str) -> PaymentResult:
        """Where the order's payment stands (see :func:`_wire.order_result`).

        :raises GatewayBadRequest: ``reference`` is not a Razorpay order id.
        :raises GatewayOutcomeUnknown: no answer, or Razorpay does not know the order
            (not knowing is not a failure of the payment).
        """
        collection = await self._order_payments(reference)
        return _wire.order_result(reference, collection)

    async def cancel_payment(self, reference: str) -> PaymentResult:
        """Razorpay has no API to cancel an order; an unpaid order simply stays unpaid.

        :raises GatewayNotSupported: always.
        """
        raise GatewayNotSupported(
            "Razorpay orders cannot be cancelled; an unpaid order stays unpaid",
            code="not_supported",
            reference=reference,
        )

    # ------------------------------------------------------------------ refunds
    async def create_refund(self, request: RefundRequest) -> RefundResult:
        """Refund ``request.amount`` of the order's captured payment.

        :raises GatewayBadRequest: unsupported amount, no captured payment, or refused.
        :raises GatewayOutcomeUnknown: no answer, or Razorpay is still processing the same
            idempotency key (HTTP 409): the refund stays PENDING and is resubmitted.
        """
        amount = self._amount(request.amount, request.currency)
        key = request.refund_id
        if not _wire.IDEMPOTENCY_KEY.fullmatch(key):
            raise GatewayBadRequest("refund id unusable as an idempotency key", code="bad_key")
        payment_id = _wire.captured_payment_id(
            await self._order_payments(request.payment_reference)
        )
        if payment_id is None:
            raise GatewayBadRequest("the order has no captured payment", code="not_captured")
        status, body = await self._api.call(
            "POST",
            f"/payments/{payment_id}/refund",
            json=_wire.refund_request(request.refund_id, amount),
            headers={IDEMPOTENCY_HEADER: key},
        )
        if status == 409:
            raise GatewayOutcomeUnknown(f"Razorpay: {error_text(body)}", code="http_409")
        if status >= 400 or not isinstance(body, dict):
            raise GatewayBadRequest(
                f"Razorpay refused the refund: {error_text(body)}", code=f"http_{status}"
            )
        result = _wire.refund_result(body, request.currency)
        if result.refund_id is None:  # notes are echoed back; be safe if they are not
            return RefundResult(
                result.state,
                result.reference,
                request.refund_id,
                result.amount,
                result.failure_code,
            )
        return result

    # ------------------------------------------------------------------ webhooks
    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        """Check ``X-Razorpay-Signature`` on the raw body, then normalize.

        :raises InvalidWebhook: ``signature_missing``, ``not_configured``,
            ``signature_mismatch`` or ``malformed``.
        """
        signature = _header(headers, SIGNATURE_HEADER)
        if not signature:
            raise InvalidWebhook("missing X-Razorpay-Signature", code="signature_missing")
        if not self._webhook_secret:
            raise InvalidWebhook("RAZORPAY_WEBHOOK_SECRET is not set", code="not_configured")
        if not _wire.same_signature(_wire.hmac_hex(body, self._webhook_secret), signature):
            raise InvalidWebhook("signature does not match", code="signature_mismatch")
        return _normalize(body, _wire.delivery_id(body, _header(headers, EVENT_ID_HEADER)))

    def normalize_webhook(self, body: bytes) -> GatewayEvent:
        """Normalize a stored delivery. Its event id is a hash of the body (the header is not
        stored); the inbox keeps the original id on the stored row.

        :raises InvalidWebhook: malformed body.
        """
        return _normalize(body, _wire.delivery_id(body, None))

    # ------------------------------------------------------------------ return and page
    def return_reference(self, params: Mapping[str, str]) -> str:
        """The order id of a buyer back from Checkout (see :func:`_wire.return_order_id`).

        :raises InvalidWebhook: ``signature_missing``, ``signature_mismatch`` or
            ``reference_missing``.
        """
        try:
            return _wire.return_order_id(params, self._key_secret)
        except ValueError as exc:
            raise InvalidWebhook("Razorpay return does not verify", code=str(exc)) from None

    def checkout_page(self, *, reference: str, amount: int, currency: str, description: str) -> str:
        """A small page that opens Razorpay Checkout for order ``reference``.

        It carries only public values (the key id, the order, its amount) and escapes all of
        them: HTML-escaped text, and JSON with ``<``, ``>``, ``&`` escaped inside the script.

        :raises GatewayBadRequest: the amount or currency cannot be sent to Razorpay.
        """
        options = _wire.checkout_options(
            key_id=self._key_id,
            order_id=reference,
            amount=self._amount(amount, currency),
            currency=currency,
            description=description,
            callback_url=_with_param(self._return_url, _wire.RETURN_REFERENCE_PARAM, reference),
        )
        return _PAGE.format(
            title=escape(description),
            script=escape(CHECKOUT_SCRIPT),
            options=_script_json(options),
        )

    def public_config(self) -> dict[str, str]:
        return {"keyId": self._key_id}

    # ------------------------------------------------------------------ helpers
    async def _order_payments(self, reference: str) -> Any:
        if not _wire.is_order_id(reference):
            raise GatewayBadRequest("not a Razorpay order id", code="invalid_reference")
        status, body = await self._api.call("GET", f"/orders/{reference}/payments")
        if status >= 400 or not isinstance(body, dict):
            raise GatewayOutcomeUnknown(
                f"Razorpay did not confirm order {reference} (HTTP {status}): {error_text(body)}",
                code=f"http_{status}",
            )
        return body

    @staticmethod
    def _amount(amount: int, currency: str) -> int:
        try:
            return _wire.to_razorpay_amount(amount, currency)
        except CurrencyNotSupported as exc:
            raise GatewayBadRequest(str(exc), code="currency_not_supported") from None


def _normalize(body: bytes, event_id: str) -> GatewayEvent:
    try:
        event = json.loads(body)
        if not isinstance(event, dict):
            raise ValueError("not an object")
        return _wire.gateway_event(event, event_id)
    except (ValueError, TypeError):
        raise InvalidWebhook("not a Razorpay event", code="malformed") from None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _with_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), (name, value)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _script_json(value: Mapping[str, Any]) -> str:
    """JSON safe inside ``<script>``: nothing can close the tag or start markup."""
    text = json.dumps(value, ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
</head>
<body>
<main>
<h1>{title}</h1>
<button id="pay" type="button">Pay with Razorpay</button>
<noscript><p>Razorpay Checkout needs JavaScript.</p></noscript>
</main>
<script src="{script}"></script>
<script>
(function () {{
  var checkout = new Razorpay({options});
  document.getElementById("pay").addEventListener("click", function (event) {{
    event.preventDefault();
    checkout.open();
  }});
  checkout.open();
}})();
</script>
</body>
</html>
"""
