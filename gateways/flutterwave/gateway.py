"""FLUTTERWAVE: Flutterwave v3 Standard (hosted payment link) over httpx.

* ``POST /payments`` creates a hosted link for ``tx_ref`` = payql's payment id (the
  reference payql stores); the buyer pays there and comes back to payql's return route
  (``redirect_url``) with ``?status=…&tx_ref=…&transaction_id=…``. Only ``tx_ref`` is read
  from the browser: payql then verifies with ``GET /transactions/verify_by_reference``, so
  it never trusts a transaction id, a status or an amount the browser brings.
* Every verification compares ``data.tx_ref`` with the reference asked for, and reports
  ``data.amount``/``data.currency`` in payql minor units, so payql fails a success for
  other money (``amount_mismatch`` / ``currency_mismatch``).
* A timeout, connection error, 429 or 5xx is "outcome unknown", never "failed"
  (:mod:`gateways.http`). v3 has no idempotency header: a payment is safe to retry because
  its ``tx_ref`` is payql's payment id; a refund is safe to retry because payql first lists
  the transaction's refunds and reuses one whose ``comments`` carry payql's refund id.
* Webhooks: ``flutterwave-signature`` (base64 HMAC-SHA256 of the raw body keyed with the
  secret hash) when present, else v3's ``verif-hash`` (the secret hash itself). Neither has
  a timestamp, so ``reverify_webhooks`` is True: payql re-asks the API before applying.
* No cancel API exists for an unpaid hosted link: ``cancel_payment`` is not supported.

Limits worth knowing:

* ``redirect_url`` is always payql's return route (``return_url``); the buyer then lands on
  the order's ``successUrl``/``failureUrl``. A ``returnUrl`` given to ``initiatePayment``
  is not sent to Flutterwave.
* The hosted page may let a buyer retry after a declined attempt on the same ``tx_ref``.
  payql fails the payment on the first ``failed`` it verifies and, with no cancel API,
  cannot close the page: a later success on that ``tx_ref`` then reaches a FAILED payment.
* A timeout on ``POST /payments`` raises ``GatewayOutcomeUnknown`` whose ``reference`` is
  the ``tx_ref``, so the attempt stays verifiable by reference.

The documented shapes and every mapping live in :mod:`gateways.flutterwave._wire`.
"""

from collections.abc import Mapping
from typing import Any

import httpx

from gateways.base import (
    GatewayBadRequest,
    GatewayDeclined,
    GatewayEvent,
    GatewayNotSupported,
    GatewayOutcomeUnknown,
    InvalidWebhook,
    PaymentRequest,
    PaymentResult,
    RefundRequest,
    RefundResult,
)
from gateways.flutterwave import _wire
from gateways.http import JsonApi, error_text
from gateways.units import CurrencyNotSupported

DEFAULT_API_BASE = "https://api.flutterwave.com/v3"
MAX_REFUND_PAGES = 20  # a transaction with more refunds than this is checked by a person


class FlutterwaveGateway:
    """Flutterwave behind payql's gateway Protocol (hosted checkout, refunds, webhooks)."""

    name = "FLUTTERWAVE"
    reverify_webhooks = True  # no timestamp in either signature scheme: replays verify

    def __init__(
        self,
        *,
        secret_key: str,
        public_key: str | None = None,
        webhook_hash: str | None,
        return_url: str,
        api_base: str = DEFAULT_API_BASE,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._api = JsonApi(
            name="Flutterwave",
            base_url=api_base,
            headers={"Authorization": f"Bearer {secret_key}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )
        self._public_key = public_key
        self._webhook_hash = webhook_hash
        self._return_url = return_url

    def __repr__(self) -> str:  # never show keys
        return "FlutterwaveGateway()"

    async def aclose(self) -> None:
        """Close the HTTP connection pool (at shutdown)."""
        await self._api.aclose()

    # ------------------------------------------------------------------ payments
    def check_request(self, request: PaymentRequest) -> None:
        """Refuse a token (the buyer pays on Flutterwave's page) and a currency or amount
        Flutterwave cannot take exactly, before anything is sent.

        :raises GatewayBadRequest: ``token_not_supported`` / ``currency_not_supported``.
        """
        if request.payment_method_token is not None:
            raise GatewayBadRequest(
                "Flutterwave takes no payment-method token: the buyer pays on its hosted page",
                code="token_not_supported",
            )
        self._major(request.amount, request.currency)

    async def create_payment(self, request: PaymentRequest) -> PaymentResult:
        """Create the hosted payment link; the result is REQUIRES_ACTION with a REDIRECT.

        :raises GatewayBadRequest: refused by payql's checks or by Flutterwave.
        :raises GatewayOutcomeUnknown: no answer (carries the ``tx_ref`` as reference).
        """
        self.check_request(request)
        body = _wire.payment_link_request(request, redirect_url=self._return_url)
        try:
            status, answer = await self._api.call("POST", "/payments", json=body)
        except GatewayOutcomeUnknown as exc:
            raise GatewayOutcomeUnknown(
                str(exc), code=exc.code, reference=request.payment_id
            ) from None
        link = _wire.hosted_link(answer) if status < 400 else None
        if link is None:
            raise GatewayBadRequest(
                f"Flutterwave gave no payment link (HTTP {status}): {error_text(answer)}",
                code=f"http_{status}" if status >= 400 else "no_payment_link",
                reference=request.payment_id,
            )
        return _wire.link_result(request, link)

    async def fetch_payment(self, reference: str) -> PaymentResult:
        """Verify by ``tx_ref``; no transaction yet is REQUIRES_ACTION (the buyer has not
        paid on the hosted page).

        :raises GatewayOutcomeUnknown: no definite answer, or one about another ``tx_ref``.
        """
        transaction = await self._verify(reference)
        if transaction is None:
            return _wire.awaiting_buyer(reference)
        return _wire.payment_result(transaction)

    async def cancel_payment(self, reference: str) -> PaymentResult:
        """:raises GatewayNotSupported: v3 has no API to cancel an unpaid hosted link."""
        raise GatewayNotSupported(
            "Flutterwave has no API to cancel a hosted payment link", code="not_supported"
        )

    # ------------------------------------------------------------------ refunds
    async def create_refund(self, request: RefundRequest) -> RefundResult:
        """Refund part or all of the transaction behind ``request.payment_reference``.

        Retry-safe without an idempotency header: the transaction's refunds are listed
        first, and one whose ``comments`` carry ``request.refund_id`` is returned instead
        of refunding again.

        :raises GatewayBadRequest: unsupported currency, no successful transaction.
        :raises GatewayDeclined: Flutterwave refused the refund.
        :raises GatewayOutcomeUnknown: no definite answer (the refund stays PENDING).
        """
        self._major(request.amount, request.currency)  # refused before any request
        body = _wire.refund_request(
            amount=request.amount,
            currency=request.currency,
            refund_id=request.refund_id,
            reason=request.reason,
        )
        transaction = await self._refundable(request.payment_reference)
        transaction_id = str(transaction["id"])
        existing = await self._existing_refund(
            transaction_id, request.refund_id, since=str(transaction.get("created_at") or "")
        )
        if existing is None:
            existing = await self._refund(transaction_id, body)
        return _wire.refund_result(existing, currency=request.currency, refund_id=request.refund_id)

    async def _refundable(self, reference: str) -> Mapping[str, Any]:
        if not reference:
            raise GatewayBadRequest("the payment has no Flutterwave reference", code="no_reference")
        transaction = await self._verify(reference)
        if transaction is None:
            raise GatewayBadRequest(
                "Flutterwave has no transaction for this payment", code="transaction_not_found"
            )
        if str(transaction.get("status") or "").lower() != "successful":
            raise GatewayBadRequest(
                "only a successful Flutterwave transaction can be refunded", code="not_refundable"
            )
        if transaction.get("id") is None:
            raise GatewayOutcomeUnknown("Flutterwave gave no transaction id", code="bad_response")
        return transaction

    async def _existing_refund(
        self, transaction_id: str, refund_id: str, *, since: str
    ) -> Mapping[str, Any] | None:
        """The refund an earlier attempt with ``refund_id`` made, if any.

        :raises GatewayOutcomeUnknown: the list could not be read to the end (refunding
            again could refund twice).
        """
        params = {"from": since[:10]} if since else {}
        for page in range(1, MAX_REFUND_PAGES + 1):
            status, body = await self._api.call(
                "GET", "/refunds", params={**params, "page": str(page)}
            )
            if status >= 400 or not isinstance(body, Mapping):
                raise GatewayOutcomeUnknown(
                    f"Flutterwave refunds could not be listed (HTTP {status})",
                    code="refund_lookup_failed",
                )
            found = _wire.matching_refund(
                body.get("data") or [], transaction_id=transaction_id, refund_id=refund_id
            )
            if found is not None or page >= _wire.page_count(body):
                return found
        raise GatewayOutcomeUnknown(
            "too many Flutterwave refunds to check for an earlier attempt",
            code="refund_lookup_incomplete",
        )

    async def _refund(self, transaction_id: str, body: dict[str, Any]) -> Mapping[str, Any]:
        status, answer = await self._api.call(
            "POST", f"/transactions/{transaction_id}/refund", json=body
        )
        accepted = isinstance(answer, Mapping) and answer.get("status") == "success"
        data = answer.get("data") if accepted else None
        if status >= 400 or not isinstance(data, Mapping):
            raise GatewayDeclined(
                f"Flutterwave refused the refund (HTTP {status}): {error_text(answer)}",
                code=f"http_{status}" if status >= 400 else "refund_refused",
            )
        return data

    # ------------------------------------------------------------------ webhooks
    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        """Check ``flutterwave-signature`` (preferred) or ``verif-hash``, then normalize.

        :raises InvalidWebhook: not configured, missing or wrong signature, malformed body.
        """
        if not self._webhook_hash:
            raise InvalidWebhook("FLUTTERWAVE_WEBHOOK_HASH is not set", code="not_configured")
        _wire.verify_signature(body, headers, self._webhook_hash)
        return self.normalize_webhook(body)

    def normalize_webhook(self, body: bytes) -> GatewayEvent:
        """:raises InvalidWebhook: not a JSON object."""
        try:
            return _wire.parse_event(body)
        except (ValueError, TypeError):
            raise InvalidWebhook("not a Flutterwave webhook", code="malformed") from None

    def return_reference(self, params: Mapping[str, str]) -> str:
        """``tx_ref`` of the redirect back (unsigned: payql verifies it with the API).

        :raises InvalidWebhook: ``missing_reference`` when the return has no ``tx_ref``.
        """
        reference = (params.get("tx_ref") or "").strip()
        if not reference:
            raise InvalidWebhook("the return carries no tx_ref", code="missing_reference")
        return reference

    def public_config(self) -> dict[str, str]:
        return {"publicKey": self._public_key} if self._public_key else {}

    # ------------------------------------------------------------------ helpers
    async def _verify(self, reference: str) -> Mapping[str, Any] | None:
        """The transaction for ``tx_ref``; None when Flutterwave has none.

        :raises GatewayOutcomeUnknown: no definite answer, or one about another ``tx_ref``.
        """
        status, body = await self._api.call(
            "GET", "/transactions/verify_by_reference", params={"tx_ref": reference}
        )
        transaction = _wire.verified_transaction(body) if status < 400 else None
        if transaction is None:
            if _wire.says_not_found(body):
                return None
            raise GatewayOutcomeUnknown(
                f"Flutterwave could not verify the payment (HTTP {status}): {error_text(body)}",
                code=f"http_{status}" if status >= 400 else "bad_response",
            )
        if str(transaction.get("tx_ref") or "") != reference:
            raise GatewayOutcomeUnknown(
                "Flutterwave answered with another transaction", code="reference_mismatch"
            )
        return transaction

    @staticmethod
    def _major(amount: int, currency: str) -> str:
        try:
            return _wire.major_amount(amount, currency)
        except CurrencyNotSupported as exc:
            raise GatewayBadRequest(str(exc), code="currency_not_supported") from None
