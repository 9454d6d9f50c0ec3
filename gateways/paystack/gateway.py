"""PAYSTACK: hosted checkout (Initialize → redirect → return route → Verify), refunds and
signed webhooks, over httpx (:class:`gateways.http.JsonApi`).

* ``POST /transaction/initialize`` with ``reference`` = payql's payment id: the reference
  payql stores, verifies and receives in webhooks. Paystack answers a reference it has
  seen with 400 ``duplicate_reference``; a retry therefore verifies that transaction and
  reports it instead of creating another (its checkout URL is not available again, so
  an attempt still awaiting the buyer comes back REQUIRES_ACTION without a redirect).
* The buyer returns to ``/payments/return/paystack?trxref=…&reference=…``; the return
  carries no signature, payql always asks ``GET /transaction/verify/:reference``.
* Webhooks: ``x-paystack-signature`` = hex HMAC-SHA512 of the raw body with the secret
  key, compared in constant time. It carries no timestamp, so ``reverify_webhooks`` is
  True: payql verifies a payment event's transaction before applying it.
* Refunds are queued at Paystack (PENDING until ``refund.processed`` / ``refund.failed``).
  Paystack has no idempotency header: before creating one, the transaction's refunds are
  listed (``GET /refund?transaction=<id>``) and one whose ``merchant_note`` carries
  payql's refund id is reported instead of creating a second.
* Paystack cannot cancel a transaction: :meth:`cancel_payment` is not supported.
* Timeouts, connection errors, 429 and 5xx are "outcome unknown" (``JsonApi``).

The shapes and every mapping live in :mod:`gateways.paystack._wire`.
"""

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from gateways.base import (
    GatewayBadRequest,
    GatewayEvent,
    GatewayNotSupported,
    GatewayOutcomeUnknown,
    GatewayState,
    InvalidWebhook,
    PaymentRequest,
    PaymentResult,
    RefundRequest,
    RefundResult,
)
from gateways.http import JsonApi, error_text
from gateways.paystack import _wire
from gateways.units import CurrencyNotSupported

REFUND_PAGE_SIZE = 100


class PaystackGateway:
    """Paystack behind payql's gateway Protocol."""

    name = "PAYSTACK"
    reverify_webhooks = True  # the signature has no timestamp: a replay would verify

    def __init__(
        self,
        *,
        secret_key: str,
        public_key: str | None = None,
        return_url: str,
        api_base: str = "https://api.paystack.co",
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._secret_key = secret_key
        self._public_key = public_key
        self._return_url = return_url
        self._api = JsonApi(
            name="Paystack",
            base_url=api_base,
            headers={"Authorization": f"Bearer {secret_key}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )

    def __repr__(self) -> str:  # never show keys
        return "PaystackGateway()"

    async def aclose(self) -> None:
        """Close the HTTP connection pool (at shutdown)."""
        await self._api.aclose()

    # ------------------------------------------------------------------ payments
    def check_request(self, request: PaymentRequest) -> None:
        """Refuse a token (Paystack Checkout collects the card) and a currency or amount
        Paystack cannot take, before anything is stored or sent.

        :raises GatewayBadRequest: ``token_not_accepted`` / ``currency_not_supported``.
        """
        if request.payment_method_token is not None:
            raise GatewayBadRequest(
                "Paystack takes no payment-method token: the buyer pays on Paystack Checkout",
                code="token_not_accepted",
            )
        _amount(request.amount, request.currency)

    async def create_payment(self, request: PaymentRequest) -> PaymentResult:
        """Initialize a transaction; the buyer is redirected to its ``authorization_url``.

        :raises GatewayBadRequest: refused by Paystack (nothing to pay).
        :raises GatewayOutcomeUnknown: no definite answer.
        """
        self.check_request(request)
        # The callback is always payql's return route (never ``request.return_url``): it
        # verifies the transaction, then sends the buyer on to the order's own URLs.
        body = _wire.initialize_body(request, callback_url=self._return_url)
        status, answer = await self._api.call("POST", "/transaction/initialize", json=body)
        if status >= 400 and _wire.is_duplicate_reference(answer):
            return await self._existing(request)
        data = _data(status, answer)
        try:
            return _wire.initialized_result(data, request)
        except ValueError as exc:
            raise GatewayOutcomeUnknown(str(exc), code="bad_response") from None

    async def _existing(self, request: PaymentRequest) -> PaymentResult:
        """A retry whose first Initialize landed: report that transaction."""
        result = await self.fetch_payment(request.payment_id)
        if result.state is GatewayState.REQUIRES_ACTION:
            return PaymentResult(
                state=result.state,
                reference=result.reference,
                amount=request.amount,
                currency=request.currency.upper(),
                raw=result.raw,
            )
        return result

    async def fetch_payment(self, reference: str) -> PaymentResult:
        """``GET /transaction/verify/:reference``. A reference Paystack does not know is not
        a failure of the payment: it is reported as an unknown outcome.

        :raises GatewayOutcomeUnknown: no definite answer, or the reference is unknown.
        """
        path = f"/transaction/verify/{quote(reference, safe='')}"
        status, answer = await self._api.call("GET", path)
        if status >= 400:
            raise GatewayOutcomeUnknown(
                f"Paystack could not verify the transaction (HTTP {status}): {error_text(answer)}",
                code="not_found" if status == 404 else f"http_{status}",
                reference=reference,
            )
        data = _data(status, answer)
        return _wire.payment_result(data)

    async def cancel_payment(self, reference: str) -> PaymentResult:
        """Paystack has no endpoint to cancel a transaction; the buyer's checkout stays
        usable until Paystack's session times out, and a late success is still applied.

        :raises GatewayNotSupported: always.
        """
        raise GatewayNotSupported("Paystack cannot cancel a transaction", code="not_supported")

    # ------------------------------------------------------------------ refunds
    async def create_refund(self, request: RefundRequest) -> RefundResult:
        """Refund through ``POST /refund``, unless a refund carrying payql's refund id
        already exists for the transaction (a retry after an unknown outcome).

        :raises GatewayBadRequest: Paystack refused (nothing was refunded).
        :raises GatewayOutcomeUnknown: no definite answer (the refund stays PENDING).
        """
        currency = request.currency.upper()
        body = _wire.refund_body(
            transaction_reference=request.payment_reference,
            amount=_amount(request.amount, currency),
            currency=currency,
            refund_id=request.refund_id,
            reason=request.reason,
        )
        transaction_id = await self._transaction_id(request.payment_reference)
        refunds = await self._refunds(transaction_id, currency)
        ours = _wire.find_refund(
            refunds, refund_id=request.refund_id, transaction_id=transaction_id
        )
        if ours is None:
            ours = _data(*await self._api.call("POST", "/refund", json=body))
            refunds = [*refunds, ours]
        return _wire.refund_result(
            ours,
            transaction_reference=request.payment_reference,
            currency=currency,
            refund_id=request.refund_id,
            ambiguous=_wire.is_ambiguous(refunds, ours, transaction_id=transaction_id),
        )

    async def _transaction_id(self, reference: str) -> str:
        """The numeric id List Refunds filters on, from Verify."""
        if not reference:
            raise GatewayBadRequest("the payment has no Paystack reference", code="no_reference")
        path = f"/transaction/verify/{quote(reference, safe='')}"
        status, answer = await self._api.call("GET", path)
        if status >= 400:
            raise GatewayBadRequest(
                f"Paystack does not know transaction {reference} (HTTP {status})",
                code="transaction_not_found",
            )
        transaction_id = _data(status, answer).get("id")
        if transaction_id is None:
            raise GatewayOutcomeUnknown("Verify answered without an id", code="bad_response")
        return str(transaction_id)

    async def _refunds(self, transaction_id: str, currency: str) -> list[Mapping[str, Any]]:
        """``GET /refund?transaction=<id>``: this transaction's refunds (filtered here too)."""
        status, answer = await self._api.call(
            "GET",
            "/refund",
            params={
                "transaction": transaction_id,
                "currency": currency,
                "perPage": str(REFUND_PAGE_SIZE),
            },
        )
        if status >= 400 or not isinstance(answer, Mapping):
            raise GatewayOutcomeUnknown(
                f"Paystack could not list refunds (HTTP {status})", code=f"http_{status}"
            )
        items = answer.get("data") or []
        return [
            item
            for item in items
            if isinstance(item, Mapping) and _wire.transaction_id_of(item) == transaction_id
        ]

    # ------------------------------------------------------------------ webhooks
    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        """Check ``x-paystack-signature`` on the raw body, then normalize.

        :raises InvalidWebhook: missing or wrong signature, malformed body.
        """
        header = _header(headers, _wire.SIGNATURE_HEADER)
        if not header:
            raise InvalidWebhook("missing x-paystack-signature", code="signature_missing")
        if not _wire.signature_matches(body, header, self._secret_key):
            raise InvalidWebhook("signature does not match", code="signature_mismatch")
        return self.normalize_webhook(body)

    def normalize_webhook(self, body: bytes) -> GatewayEvent:
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict):
                raise ValueError("not an object")
            return _wire.gateway_event(payload)
        except (ValueError, TypeError):
            raise InvalidWebhook("not a Paystack event", code="malformed") from None

    def return_reference(self, params: Mapping[str, str]) -> str:
        """``reference`` (or ``trxref``) from Paystack's redirect; no signature to check.

        :raises InvalidWebhook: ``missing_reference`` / ``malformed_reference``.
        """
        try:
            return _wire.return_reference(params)
        except ValueError as exc:
            raise InvalidWebhook("no Paystack reference in the return", code=str(exc)) from None

    def public_config(self) -> dict[str, str]:
        return {"publicKey": self._public_key} if self._public_key else {}


def _amount(amount: int, currency: str) -> int:
    """payql minor units, checked: Paystack must be able to take them exactly.

    :raises GatewayBadRequest: ``currency_not_supported``.
    """
    try:
        _wire.to_paystack_amount(amount, currency)
    except CurrencyNotSupported as exc:
        raise GatewayBadRequest(str(exc), code="currency_not_supported") from None
    return amount


def _data(status: int, answer: Any) -> Mapping[str, Any]:
    """The ``data`` of Paystack's envelope ``{status, message, data}``.

    :raises GatewayBadRequest: a 4xx, or ``status: false``.
    :raises GatewayOutcomeUnknown: a 2xx without a ``data`` object.
    """
    if status >= 400 or not isinstance(answer, Mapping) or answer.get("status") is False:
        raise GatewayBadRequest(
            f"Paystack refused the request (HTTP {status}): {error_text(answer)}",
            code=str(answer.get("code") or f"http_{status}")
            if isinstance(answer, Mapping)
            else f"http_{status}",
        )
    data = answer.get("data")
    if not isinstance(data, Mapping):
        raise GatewayOutcomeUnknown("Paystack answered without data", code="bad_response")
    return data


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None
