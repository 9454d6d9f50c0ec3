"""The gateway seam: one Protocol, frozen dataclasses in and out, integer minor units.

Error tree (every gateway raises only these)::

    GatewayError
    ├── GatewayDeclined        the gateway said no (card declined, insufficient funds):
    │                          a definite, final answer for this attempt
    ├── GatewayOutcomeUnknown  timeout, connection error, 5xx: the charge may or may not
    │                          have happened; the payment stays PROCESSING and is reconciled
    ├── GatewayBadRequest      we sent something the gateway rejects (unknown token,
    │                          unsupported currency): nothing was charged
    ├── GatewayNotSupported    this gateway cannot do that operation
    └── InvalidWebhook         a webhook whose signature or shape does not verify
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class GatewayState(StrEnum):
    """A payment's state as the gateway reports it (same names as payql's PaymentStatus)."""

    PENDING = "PENDING"
    REQUIRES_ACTION = "REQUIRES_ACTION"
    PROCESSING = "PROCESSING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True, slots=True)
class NextAction:
    """What the buyer must do next: ``REDIRECT`` to ``redirect_url`` (3-D Secure, checkout)."""

    type: str
    redirect_url: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    payment_id: str
    order_number: str
    amount: int
    currency: str
    idempotency_key: str
    payment_method_token: str | None = None
    return_url: str | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class PaymentResult:
    """The gateway's view of one payment."""

    state: GatewayState
    reference: str
    amount: int | None = None
    currency: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    next_action: NextAction | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    fee: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)  # sanitized: no secrets


class RefundState(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class DisputeState(StrEnum):
    OPEN = "OPEN"
    WON = "WON"
    LOST = "LOST"
    CLOSED = "CLOSED"


@dataclass(frozen=True, slots=True)
class RefundRequest:
    refund_id: str
    payment_reference: str
    amount: int
    currency: str
    idempotency_key: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RefundResult:
    """The gateway's view of one refund. ``refund_id`` is payql's id when the gateway echoes
    it back (metadata); ``reference`` is the gateway's own refund id."""

    state: RefundState
    reference: str
    refund_id: str | None = None
    amount: int | None = None
    failure_code: str | None = None


@dataclass(frozen=True, slots=True)
class DisputeResult:
    """A chargeback on a payment, as the gateway reports it."""

    reference: str
    payment_reference: str
    state: DisputeState
    amount: int
    currency: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class GatewayEvent:
    """A verified webhook, normalized. Exactly one of ``payment``, ``refund`` and ``dispute``
    is set for the types payql acts on; none for the others (stored and ignored)."""

    event_id: str
    type: str
    payment_id: str | None = None
    payment: PaymentResult | None = None
    refund: RefundResult | None = None
    dispute: DisputeResult | None = None


class GatewayError(Exception):
    """Base of every gateway failure. Messages never contain secrets."""

    def __init__(self, message: str, *, code: str = "gateway_error", reference: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.reference = reference  # the gateway's id for the payment, when it made one


class GatewayDeclined(GatewayError):
    """The gateway refused the payment: a final answer for this attempt."""


class GatewayOutcomeUnknown(GatewayError):
    """Timeout, connection error or 5xx: the outcome is not known yet."""


class GatewayBadRequest(GatewayError):
    """The request was invalid for this gateway; nothing was charged."""


class GatewayNotSupported(GatewayError):
    """The gateway cannot perform this operation."""


class InvalidWebhook(GatewayError):
    """The webhook's signature, timestamp or body does not verify."""


class Gateway(Protocol):
    """What payql needs from a payment gateway.

    ``reverify_webhooks``: the gateway's webhook signatures carry no timestamp (Paystack,
    Flutterwave, Razorpay), so a replayed delivery must not be trusted on its own: payql
    asks ``fetch_payment`` before applying a payment event.
    """

    name: str
    reverify_webhooks: bool

    def check_request(self, request: PaymentRequest) -> None:
        """Validate a request before anything is stored or sent.

        :raises GatewayBadRequest: unknown token, unsupported currency, …
        """

    async def create_payment(self, request: PaymentRequest) -> PaymentResult:
        """Start collecting ``request.amount``; safe to retry with the same idempotency key.

        :raises GatewayDeclined: refused outright.
        :raises GatewayOutcomeUnknown: no definite answer (timeout, 5xx).
        :raises GatewayBadRequest: the gateway rejected the request.
        """

    async def fetch_payment(self, reference: str) -> PaymentResult:
        """Ask the gateway for the payment's current state (never trust the client).

        :raises GatewayOutcomeUnknown: no definite answer.
        """

    async def cancel_payment(self, reference: str) -> PaymentResult:
        """Cancel a payment that has not completed (an expired hold).

        :raises GatewayNotSupported: it can no longer be cancelled (already decided).
        :raises GatewayOutcomeUnknown: no definite answer.
        """

    async def create_refund(self, request: RefundRequest) -> RefundResult:
        """Refund ``request.amount`` of a succeeded payment; safe to retry with the same key.

        :raises GatewayDeclined: the gateway refused the refund.
        :raises GatewayBadRequest: the request was invalid (nothing was refunded).
        :raises GatewayOutcomeUnknown: no definite answer (the refund stays PENDING).
        """

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        """Verify a webhook on its raw body and normalize it.

        :raises InvalidWebhook: bad or missing signature, stale timestamp, malformed body.
        """

    def normalize_webhook(self, body: bytes) -> GatewayEvent:
        """Normalize a body that was verified when it arrived (for retries from the inbox).

        :raises InvalidWebhook: malformed body.
        """

    def return_reference(self, params: Mapping[str, str]) -> str:
        """The payment reference a buyer's return from a hosted checkout is about (query
        string and form fields, merged), after checking any checkout signature it carries.
        payql then verifies the payment itself with ``fetch_payment``.

        :raises InvalidWebhook: missing fields or a bad checkout signature.
        :raises GatewayNotSupported: the gateway has no return route.
        """

    def public_config(self) -> dict[str, str]:
        """What clients may see (e.g. a publishable key). Never a secret."""
