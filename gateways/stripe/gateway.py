"""STRIPE: PaymentIntents through the official SDK's async client.

* ``stripe.StripeClient`` with its HTTPX client, explicit timeouts and
  ``max_network_retries``; every POST carries payql's own idempotency key, so the SDK's
  retries and payql's never charge or refund twice.
* With a payment-method token (``pm_…``) the intent is created *and confirmed* server-side
  (``confirm=true``); without one it is created unconfirmed and the client finishes it with
  Stripe.js using the payment's ``clientSecret``. 3-D Secure comes back as
  ``REQUIRES_ACTION`` with ``nextAction.type = USE_STRIPE_SDK`` (or ``REDIRECT``).
* A timeout, a connection error, 429 or 5xx is "outcome unknown", never "failed".
* Webhooks: ``Stripe-Signature`` verified on the raw body by the SDK (300 s tolerance).

The shapes (statuses, amounts, events) live in :mod:`gateways.stripe._wire`.
"""

import json
from collections.abc import Mapping
from typing import Any, NoReturn

import stripe

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
from gateways.stripe import _wire
from gateways.units import CurrencyNotSupported

SIGNATURE_HEADER = "stripe-signature"
WEBHOOK_TOLERANCE = 300
TOKEN_PREFIXES = ("pm_",)


class StripeGateway:
    """Stripe behind payql's gateway Protocol."""

    name = "STRIPE"
    reverify_webhooks = False  # Stripe-Signature carries a timestamp (300 s tolerance)

    def __init__(
        self,
        *,
        secret_key: str,
        webhook_secret: str | None,
        publishable_key: str | None = None,
        api_base: str | None = None,
        timeout: float = 30.0,
        max_network_retries: int = 2,
        send_refund_reason: bool = True,
    ) -> None:
        self._http = stripe.HTTPXClient(timeout=timeout)
        self._client = stripe.StripeClient(
            secret_key,
            http_client=self._http,
            base_addresses={"api": api_base.rstrip("/")} if api_base else {},
            max_network_retries=max_network_retries,
        )
        self._webhook_secret = webhook_secret
        self._publishable_key = publishable_key
        self._send_refund_reason = send_refund_reason

    def __repr__(self) -> str:  # never show keys
        return "StripeGateway()"

    async def aclose(self) -> None:
        """Close the HTTP connection pool (at shutdown)."""
        await self._http.close_async()  # type: ignore[no-untyped-call]

    # ------------------------------------------------------------------ Protocol
    def check_request(self, request: PaymentRequest) -> None:
        token = request.payment_method_token
        if token is not None and not token.startswith(TOKEN_PREFIXES):
            raise GatewayBadRequest(
                "Stripe takes a PaymentMethod id (pm_…) as the token", code="invalid_token"
            )
        self._amount(request.amount, request.currency)

    async def create_payment(self, request: PaymentRequest) -> PaymentResult:
        params: dict[str, Any] = {
            "amount": self._amount(request.amount, request.currency),
            "currency": request.currency.lower(),
            "payment_method_types": ["card"],
            "metadata": {
                _wire.PAYMENT_ID_KEY: request.payment_id,
                _wire.ORDER_NUMBER_KEY: request.order_number,
            },
        }
        if request.payment_method_token:
            params.update(payment_method=request.payment_method_token, confirm=True)
        try:
            intent = await self._client.v1.payment_intents.create_async(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as exc:
            _raise(exc)
        return _wire.payment_result(intent.to_dict())

    async def fetch_payment(self, reference: str) -> PaymentResult:
        try:
            intent = await self._client.v1.payment_intents.retrieve_async(reference)
        except stripe.InvalidRequestError as exc:
            # A reference Stripe does not know is not a failure of the payment.
            raise GatewayOutcomeUnknown(_message(exc), code=_code(exc)) from None
        except stripe.StripeError as exc:
            _raise(exc)
        return _wire.payment_result(intent.to_dict())

    async def cancel_payment(self, reference: str) -> PaymentResult:
        try:
            intent = await self._client.v1.payment_intents.cancel_async(
                reference, options={"idempotency_key": f"payql-cancel-{reference}"}
            )
        except stripe.InvalidRequestError as exc:
            # Stripe refuses to cancel an intent that succeeded, is processing or is gone.
            raise GatewayNotSupported(_message(exc), code=_code(exc)) from None
        except stripe.StripeError as exc:
            _raise(exc)
        return _wire.payment_result(intent.to_dict())

    async def create_refund(self, request: RefundRequest) -> RefundResult:
        params: dict[str, Any] = {
            "payment_intent": request.payment_reference,
            "amount": self._amount(request.amount, request.currency),
            "metadata": {_wire.REFUND_ID_KEY: request.refund_id, "reason": request.reason},
        }
        reason = _wire.refund_reason(request.reason)
        if reason and self._send_refund_reason:
            params["reason"] = reason
        try:
            refund = await self._client.v1.refunds.create_async(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as exc:
            _raise(exc)
        result = _wire.refund_result(refund.to_dict(), request.currency)
        if result.refund_id is None:  # a stand-in that drops metadata
            return RefundResult(
                state=result.state,
                reference=result.reference,
                refund_id=request.refund_id,
                amount=result.amount,
                failure_code=result.failure_code,
            )
        return result

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        header = _header(headers, SIGNATURE_HEADER)
        if not header:
            raise InvalidWebhook("missing Stripe-Signature", code="signature_missing")
        if not self._webhook_secret:
            raise InvalidWebhook("STRIPE_WEBHOOK_SECRET is not set", code="not_configured")
        try:
            stripe.WebhookSignature.verify_header(
                body.decode("utf-8"), header, self._webhook_secret, tolerance=WEBHOOK_TOLERANCE
            )
        except UnicodeDecodeError:
            raise InvalidWebhook("body is not UTF-8", code="malformed") from None
        except stripe.SignatureVerificationError as exc:
            raise InvalidWebhook("signature does not verify", code=_signature_code(exc)) from None
        return self.normalize_webhook(body)

    def normalize_webhook(self, body: bytes) -> GatewayEvent:
        try:
            event = json.loads(body)
            if not isinstance(event, dict):
                raise ValueError("not an object")
            return _wire.gateway_event(event)
        except (ValueError, TypeError, CurrencyNotSupported):
            raise InvalidWebhook("not a Stripe event", code="malformed") from None

    def public_config(self) -> dict[str, str]:
        return {"publishableKey": self._publishable_key} if self._publishable_key else {}

    def return_reference(self, params: Mapping[str, str]) -> str:
        raise GatewayNotSupported("Stripe payments finish with Stripe.js, not a return route")

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _amount(amount: int, currency: str) -> int:
        try:
            return _wire.to_stripe_amount(amount, currency)
        except CurrencyNotSupported as exc:
            raise GatewayBadRequest(str(exc), code="currency_not_supported") from None


def _raise(exc: stripe.StripeError) -> NoReturn:
    """Map the SDK's errors onto payql's tree (messages carry no secrets)."""
    message, code = _message(exc), _code(exc)
    if isinstance(exc, stripe.CardError):
        raise GatewayDeclined(message, code=code, reference=_intent_id(exc)) from None
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError):
        raise GatewayOutcomeUnknown(message, code=code) from None
    if isinstance(exc, stripe.APIError) or (exc.http_status or 0) >= 500:
        raise GatewayOutcomeUnknown(message, code=code) from None
    raise GatewayBadRequest(message, code=code) from None


def _message(exc: stripe.StripeError) -> str:
    return str(exc.user_message or type(exc).__name__)


def _error_body(exc: stripe.StripeError) -> dict[str, Any]:
    body = exc.json_body if isinstance(exc.json_body, dict) else {}
    error = body.get("error")
    return error if isinstance(error, dict) else {}


def _code(exc: stripe.StripeError) -> str:
    error = _error_body(exc)
    return str(error.get("decline_code") or exc.code or type(exc).__name__.lower())


def _intent_id(exc: stripe.StripeError) -> str:
    intent = _error_body(exc).get("payment_intent") or {}
    return str(intent.get("id") or "") if isinstance(intent, dict) else ""


def _signature_code(exc: stripe.SignatureVerificationError) -> str:
    text = str(exc).lower()
    if "tolerance" in text:
        return "signature_stale"
    if "matching" in text:
        return "signature_mismatch"
    return "signature_malformed"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None
