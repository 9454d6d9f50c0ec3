"""The SANDBOX gateway: behaves like a real one, offline, with Stripe's test token names.

================================  ===============================================  =========
token                             synchronous answer                               webhook
================================  ===============================================  =========
``pm_card_visa``, ``tok_amex``,   PROCESSING                                       SUCCEEDED
every brand in ``cards.BRANDS``
``pm_card_chargeDeclined…``,      PROCESSING                                       FAILED
``tok_chargeDeclined…``                                                            (its code
(``cards.DECLINES``)                                                               in
                                                                                   ``cards``)
``pm_card_authenticationRequired``  REQUIRES_ACTION → sandbox 3-D Secure page       on Approve
                                                                                   / Fail
``pm_card_processing``            PROCESSING                                       SUCCEEDED
                                                                                   (2 s later)
``pm_card_refundFail``            PROCESSING                                       SUCCEEDED;
                                                                                   refunds
                                                                                   then FAIL
``pm_card_createDispute``         PROCESSING                                       SUCCEEDED,
                                                                                   then a
                                                                                   dispute
(no token)                        REQUIRES_ACTION → hosted checkout page            on Pay /
                                                                                   Decline
================================  ===============================================  =========

Refunds answer PENDING and settle by a ``refund.succeeded`` (or ``refund.failed``) webhook.
A payment not yet decided can be cancelled; a decided one cannot (``GatewayNotSupported``).
Successes report a fee of 2.9 % (half-up, in minor units). ``close_dispute`` settles a
simulated dispute (``dispute.closed``).

Outcomes reach payql only as signed webhooks (``Payql-Sandbox-Signature``, HMAC-SHA256
over ``timestamp.body``), through the same route as every real gateway. The hosted pages
carry a signed *ticket* describing the payment, so any worker can serve them. The sandbox
remembers payments in process memory to answer ``fetch_payment``; a payment it does not
know (another worker, a restart) is reported as "outcome unknown", never as failed.

Every webhook it promises is stored first (a :class:`~gateways.sandbox.promises.PromiseStore`,
the database in ``payql serve``), then sent by this process when due. If the process dies
before sending, :meth:`SandboxGateway.deliver_overdue` (run by every worker's
reconciliation round) sends it: an outcome promised is delivered after a restart, and its
event id makes a second delivery a duplicate the inbox ignores.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from gateways.base import (
    DisputeResult,
    DisputeState,
    GatewayBadRequest,
    GatewayEvent,
    GatewayNotSupported,
    GatewayOutcomeUnknown,
    GatewayState,
    NextAction,
    PaymentRequest,
    PaymentResult,
    RefundRequest,
    RefundResult,
    RefundState,
)
from gateways.sandbox._wire import dispute_event, parse_event, payment_event, refund_event
from gateways.sandbox.cards import DECLINES, KNOWN_TOKENS
from gateways.sandbox.promises import MemoryPromiseStore, PromisedWebhook, PromiseStore
from gateways.sandbox.sender import WebhookNotDelivered, WebhookSender
from gateways.signing import sign, verify

logger = logging.getLogger("payql.gateways.sandbox")

SIGNATURE_HEADER = "Payql-Sandbox-Signature"
FEE_BPS = 290
PROCESSING_DELAY = 2.0
RECOVERY_LEASE = timedelta(seconds=60)  # one worker's hold on an overdue promise
RECOVERY_BATCH = 50


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Ticket:
    """What a hosted sandbox page needs to know, signed so it cannot be altered."""

    reference: str
    payment_id: str
    order_number: str
    amount: int
    currency: str
    kind: str  # "checkout" or "3ds"
    return_url: str | None = None


class SandboxGateway:
    """The built-in test gateway. See the module docstring for its behaviour."""

    name = "SANDBOX"
    reverify_webhooks = False  # its signatures carry a timestamp (300 s tolerance)

    def __init__(
        self,
        *,
        secret: str,
        public_url: str,
        sender: WebhookSender,
        delay: float = 0.05,
        processing_delay: float = PROCESSING_DELAY,
        promises: PromiseStore | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._secret = secret
        self.promises: PromiseStore = promises or MemoryPromiseStore()
        self.clock = clock
        self.public_url = public_url.rstrip("/")
        self.sender = sender
        self.delay = delay
        self.processing_delay = processing_delay
        self._payments: dict[str, PaymentResult] = {}  # what fetch_payment answers now
        self._decided: set[str] = set()  # references whose outcome is already on its way
        self._methods: dict[str, str | None] = {}
        self._refunds: dict[str, RefundResult] = {}  # by payql refund id
        self._payment_ids: dict[str, str] = {}
        self._deliveries: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ Protocol
    def check_request(self, request: PaymentRequest) -> None:
        method = request.payment_method_token
        if method is not None and method not in KNOWN_TOKENS:
            raise GatewayBadRequest(
                "unknown sandbox payment method; use one of Stripe's test names "
                "(pm_card_visa, tok_mastercard, pm_card_chargeDeclinedInsufficientFunds, …)",
                code="unknown_payment_method",
            )

    async def create_payment(self, request: PaymentRequest) -> PaymentResult:
        """Accept the payment; its outcome follows as a webhook (idempotent per payment)."""
        self.check_request(request)
        reference = f"sbx_{request.payment_id}"
        if reference in self._payments:  # a retry with the same idempotency key
            return self._payments[reference]
        method = request.payment_method_token
        base = PaymentResult(
            state=GatewayState.PROCESSING,
            reference=reference,
            amount=request.amount,
            currency=request.currency,
            client_secret=f"{reference}_secret_{secrets.token_urlsafe(12)}",
        )
        self._payment_ids[reference] = request.payment_id
        self._methods[reference] = method
        if method is None or method == "pm_card_authenticationRequired":
            kind = "checkout" if method is None else "3ds"
            ticket = Ticket(
                reference=reference,
                payment_id=request.payment_id,
                order_number=request.order_number,
                amount=request.amount,
                currency=request.currency,
                kind=kind,
                return_url=request.return_url,
            )
            url = f"{self.public_url}/sandbox/{kind}/{self.seal(ticket)}"
            result = replace(
                base,
                state=GatewayState.REQUIRES_ACTION,
                next_action=NextAction(type="REDIRECT", redirect_url=url),
            )
        elif (decline := DECLINES.get(method)) is not None:
            result = base
            await self._schedule(
                replace(
                    base,
                    state=GatewayState.FAILED,
                    failure_code=decline.code,
                    failure_message=decline.message,
                ),
                self.delay,
            )
        else:
            result = base
            delay = self.processing_delay if method == "pm_card_processing" else self.delay
            success = self._success(base)
            await self._schedule(success, delay)
            if method == "pm_card_createDispute":
                await self._promise(
                    self._dispute_body(success, DisputeState.OPEN), delay + self.delay
                )
        self._payments[reference] = result
        return result

    async def cancel_payment(self, reference: str) -> PaymentResult:
        known = self._payments.get(reference)
        if known is None:
            raise GatewayOutcomeUnknown("this sandbox process does not know that payment")
        if reference in self._decided or known.state in (
            GatewayState.SUCCEEDED,
            GatewayState.FAILED,
        ):
            raise GatewayNotSupported("the payment is already decided", code="already_decided")
        cancelled = replace(known, state=GatewayState.CANCELLED, next_action=None)
        self._decided.add(reference)
        self._payments[reference] = cancelled
        return cancelled

    async def create_refund(self, request: RefundRequest) -> RefundResult:
        """Accept the refund (PENDING); the outcome follows as a webhook."""
        if request.refund_id in self._refunds:  # a retry with the same idempotency key
            return self._refunds[request.refund_id]
        payment = self._payments.get(request.payment_reference)
        if payment is None or payment.state is not GatewayState.SUCCEEDED:
            raise GatewayBadRequest("no succeeded sandbox payment", code="payment_not_refundable")
        refunded = sum(
            r.amount or 0
            for r in self._refunds.values()
            if r.state is not RefundState.FAILED and r.reference.startswith(f"{payment.reference}:")
        )
        if refunded + request.amount > (payment.amount or 0):
            raise GatewayBadRequest("refund exceeds the payment", code="amount_too_large")
        pending = RefundResult(
            state=RefundState.PENDING,
            reference=f"{payment.reference}:re_{request.refund_id}",
            refund_id=request.refund_id,
            amount=request.amount,
        )
        self._refunds[request.refund_id] = pending
        fails = self._methods.get(payment.reference) == "pm_card_refundFail"
        outcome = (
            replace(pending, state=RefundState.FAILED, failure_code="refund_failed")
            if fails
            else replace(pending, state=RefundState.SUCCEEDED)
        )
        await self._promise(
            self.refund_webhook_body(outcome), self.delay, lambda: self._settle_refund(outcome)
        )
        return pending

    def close_dispute(self, payment_reference: str, *, won: bool) -> None:
        """Settle the simulated dispute on a payment (sends ``dispute.closed``)."""
        payment = self._payments[payment_reference]
        body = self._dispute_body(payment, DisputeState.WON if won else DisputeState.LOST)
        promise = self._promised(body, 0.0)

        async def store_then_deliver() -> None:
            await self.promises.add(promise)
            await self._deliver(promise, 0.0, None)

        self._spawn(store_then_deliver())

    async def fetch_payment(self, reference: str) -> PaymentResult:
        known = self._payments.get(reference)
        if known is None:
            raise GatewayOutcomeUnknown("this sandbox process does not know that payment")
        return known

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        verify(body, _header(headers, SIGNATURE_HEADER), self._secret)
        return self.normalize_webhook(body)

    def normalize_webhook(self, body: bytes) -> GatewayEvent:
        """Turn an already verified body into a GatewayEvent.

        :raises InvalidWebhook: the body is not a sandbox event.
        """
        return parse_event(body)

    def public_config(self) -> dict[str, str]:
        return {"mode": "test", "tokens": ",".join(sorted(KNOWN_TOKENS))}

    def return_reference(self, params: Mapping[str, str]) -> str:
        raise GatewayNotSupported("the sandbox's hosted pages report by webhook")

    # ------------------------------------------------------------------ hosted pages
    def seal(self, ticket: Ticket) -> str:
        payload = base64.urlsafe_b64encode(json.dumps(asdict(ticket)).encode()).decode()
        return f"{payload}.{self._mac(payload)}"

    def open(self, sealed: str) -> Ticket | None:
        """The ticket behind a page URL, or None if it was not issued by this sandbox."""
        payload, _, mac = sealed.rpartition(".")
        if not payload or not hmac.compare_digest(mac, self._mac(payload)):
            return None
        try:
            return Ticket(**json.loads(base64.urlsafe_b64decode(payload.encode())))
        except (ValueError, TypeError):
            return None

    async def complete(self, ticket: Ticket, *, approve: bool) -> None:
        """The buyer clicked Pay/Approve or Decline/Fail on a hosted page (the outcome is
        stored before this returns)."""
        decided = PaymentResult(
            state=GatewayState.FAILED,
            reference=ticket.reference,
            amount=ticket.amount,
            currency=ticket.currency,
            failure_code=_failure_code(ticket.kind),
            failure_message="The buyer did not complete the payment.",
        )
        result = self._success(decided) if approve else decided
        self._payment_ids.setdefault(ticket.reference, ticket.payment_id)
        if ticket.reference in self._decided:
            return  # already decided: a second click changes nothing
        await self._schedule(result, 0.0)

    # ------------------------------------------------------------------ webhooks out
    def webhook_body(self, result: PaymentResult) -> bytes:
        return payment_event(result, payment_id=self._payment_ids.get(result.reference))

    def refund_webhook_body(self, result: RefundResult) -> bytes:
        return refund_event(result)

    def dispute_webhook_body(self, dispute: DisputeResult) -> bytes:
        return dispute_event(dispute)

    def signed_headers(self, body: bytes) -> dict[str, str]:
        return {"content-type": "application/json", SIGNATURE_HEADER: sign(body, self._secret)}

    def _success(self, base: PaymentResult) -> PaymentResult:
        fee = ((base.amount or 0) * FEE_BPS * 2 + 10_000) // 20_000  # half-up
        return replace(base, state=GatewayState.SUCCEEDED, next_action=None, fee=fee)

    async def _schedule(self, result: PaymentResult, delay: float) -> None:
        self._decided.add(result.reference)

        def decided() -> None:
            # decided: fetch_payment says so from the moment the webhook leaves
            self._payments[result.reference] = result

        await self._promise(self.webhook_body(result), delay, decided)

    def _dispute_body(self, payment: PaymentResult, state: DisputeState) -> bytes:
        dispute = DisputeResult(
            reference=f"dp_{payment.reference}",
            payment_reference=payment.reference,
            state=state,
            amount=payment.amount or 0,
            currency=payment.currency or "",
            reason="fraudulent",
        )
        return self.dispute_webhook_body(dispute)

    def _settle_refund(self, outcome: RefundResult) -> None:
        if outcome.refund_id:
            self._refunds[outcome.refund_id] = outcome

    def _promised(self, body: bytes, delay: float) -> PromisedWebhook:
        due_at = self.clock() + timedelta(seconds=delay)
        return PromisedWebhook(key=str(json.loads(body)["id"]), body=body, due_at=due_at)

    async def _promise(
        self, body: bytes, delay: float, on_send: Callable[[], None] | None = None
    ) -> None:
        """Store the webhook (durable before the caller answers), then send it after
        ``delay``."""
        promise = self._promised(body, delay)
        await self.promises.add(promise)
        self._spawn(self._deliver(promise, delay, on_send))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _deliver(
        self, promise: PromisedWebhook, delay: float, on_send: Callable[[], None] | None
    ) -> None:
        await asyncio.sleep(delay)  # let the caller's transaction commit first, as in real life
        if on_send is not None:
            on_send()
        if await self._send(promise):
            await self.promises.delivered(promise.key)

    async def _send(self, promise: PromisedWebhook) -> bool:
        try:
            await self.sender.send(promise.body, self.signed_headers(promise.body))
        except WebhookNotDelivered as exc:
            # Kept: a worker's recovery sends it again once it is overdue.
            logger.warning("sandbox webhook %s not delivered (%s)", promise.key, exc)
            return False
        return True

    async def deliver_overdue(self, *, now: datetime, older_than: timedelta) -> int:
        """Send the promised webhooks due more than ``older_than`` before ``now`` and not
        sent (their process went away, or the receiver was down); returns how many."""
        overdue = await self.promises.claim_overdue(
            now=now, older_than=older_than, lease=RECOVERY_LEASE, limit=RECOVERY_BATCH
        )
        for promise in overdue:
            if await self._send(promise):
                await self.promises.settle(promise.key)
        return len(overdue)

    async def drain(self) -> None:
        """Wait until every scheduled webhook has been delivered (tests, shutdown)."""
        while self._deliveries:
            await asyncio.gather(*list(self._deliveries), return_exceptions=True)

    async def aclose(self) -> None:
        """Deliver what was promised, then close the webhook sender's connections."""
        await self.drain()
        close = getattr(self.sender, "aclose", None)
        if close is not None:
            await close()

    def _mac(self, payload: str) -> str:
        return hmac.new(self._secret.encode(), payload.encode(), hashlib.sha256).hexdigest()[:32]


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _failure_code(kind: str) -> str:
    return "authentication_failed" if kind == "3ds" else "checkout_declined"
