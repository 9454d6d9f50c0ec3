"""The webhook inbox: store every delivery, verify it, apply it once, retry what waits.

    receive ──► check_delivery (headers, body) ─┐
                      ▼                          │
               parse_webhook (signature) ────────┼──✗──► stored as a bounded rejected
                      ▼                          │       record, caller answers 400
               check_event (storable values) ────┘
                      │ ✓
                      ▼
               insert (gateway, event_id) ──duplicate, processed──► "duplicate" (no change)
                      │ new (or stored but not yet applied)
                      ▼
               apply_gateway_event ──payment unknown yet──► "pending" (kept, retried)
                      │
                      ▼
               processed ──► "processed" / "ignored" (a type payql does not act on)

Every delivery is counted in ``payql_webhooks_received_total`` by gateway and outcome
(``rejected`` included); an applied one's wait from receipt to application is observed in
``payql_webhook_lag_seconds`` and it is marked with the workspace of what it concerns
(what staff see of the inbox, ``resolvers/webhook_events.py``, where a stored verified
delivery can also be applied again on request, through :func:`process_webhook` like the
retry job).

A rejected delivery is stored under a fresh id, never under the event id it claims, so a
forged delivery cannot make the genuine one look like a duplicate, and only as a bounded
record (reason, size, a short excerpt): unsigned bodies cannot fill the disk.

A waiting delivery is retried with exponential backoff (``next_attempt_at``), claimed with
``SELECT … FOR UPDATE SKIP LOCKED`` so that workers retrying at the same moment take
different rows, and given up (a WARNING) after ``RetryPolicy.max_attempts``. Processed and
rejected rows are pruned after their retention; waiting ones never are.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID, uuid4

from prometheus_client import Counter, Histogram
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Subquery
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from gateways.base import (
    Gateway,
    GatewayError,
    GatewayEvent,
    GatewayOutcomeUnknown,
    InvalidWebhook,
)
from gateways.registry import GatewayRegistry
from models.order import Order
from models.payment import Dispute, Payment, Refund
from models.records import WebhookEvent
from resolvers.disputes import apply_dispute
from resolvers.payments import PaymentNotFound, apply_gateway_event
from resolvers.refunds import RefundNotFound, apply_refund_outcome
from resolvers.webhook_input import (
    InvalidWebhookField,
    RejectionBudget,
    check_delivery,
    check_event,
    excerpt,
)

logger = logging.getLogger("payql.webhooks")

MAX_ERROR_CHARS = 255

RECEIVED = Counter(
    "payql_webhooks_received",
    "Inbound gateway webhook deliveries, by outcome.",
    ["gateway", "outcome"],
)
LAG = Histogram(
    "payql_webhook_lag_seconds",
    "Time from a webhook's receipt to its application.",
    ["gateway"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 21600.0),
)


class Receipt(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When a waiting delivery is tried again: ``first`` after its first attempt, then
    twice as long each time, never more than ``cap`` apart, at most ``max_attempts``
    times. ``lease`` is how long a claimed (or just received) row is left to the worker
    holding it before another may take it. ``batch`` rows are claimed per round."""

    first: timedelta = timedelta(seconds=2)
    cap: timedelta = timedelta(hours=1)
    max_attempts: int = 20
    lease: timedelta = timedelta(minutes=5)
    batch: int = 100

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th attempt."""
        doublings = min(max(attempts - 1, 0), 40)  # 2**40 × first is past any cap
        longer: timedelta = self.first * 2**doublings
        return min(self.cap, longer)


DEFAULT_RETRY = RetryPolicy()


async def receive_webhook(
    *,
    gateway: Gateway,
    body: bytes,
    headers: dict[str, str],
    now: datetime,
    retry: RetryPolicy = DEFAULT_RETRY,
    rejections: RejectionBudget | None = None,
) -> Receipt:
    """Store, verify and apply one delivery.

    :raises InvalidWebhook: the signature, headers or body do not verify, or a value in it
        cannot be stored (stored as a bounded rejected record, within ``rejections``).
    """
    try:
        raw = check_delivery(body, headers)
        event = gateway.parse_webhook(body, headers)
        check_event(event)
    except InvalidWebhook as exc:
        reason = f"{exc.code}: {exc.field}" if isinstance(exc, InvalidWebhookField) else exc.code
        RECEIVED.labels(gateway.name, "rejected").inc()
        await _reject(gateway.name, body, reason, now=now, rejections=rejections)
        raise
    try:
        row = await WebhookEvent.create(
            gateway=gateway.name,
            event_id=event.event_id,
            event_type=event.type,
            raw_body=raw,
            body_size=len(body),
            verified=True,
            next_attempt_at=now + retry.lease,  # a worker dying here leaves it to the retry
        )
    except IntegrityError:
        row = await WebhookEvent.get(gateway=gateway.name, event_id=event.event_id)
        if row.processed:
            RECEIVED.labels(gateway.name, Receipt.DUPLICATE.value).inc()
            return Receipt.DUPLICATE
    receipt = await process_webhook(row, event, now=now, gateway=gateway, retry=retry)
    RECEIVED.labels(gateway.name, receipt.value).inc()
    return receipt


async def _reject(
    gateway_name: str,
    body: bytes,
    reason: str,
    *,
    now: datetime,
    rejections: RejectionBudget | None,
) -> None:
    seen = rejections.count(gateway_name, now) if rejections else 0
    if rejections and seen > rejections.per_minute:
        if seen == rejections.per_minute + 1:
            logger.warning(
                "over %d rejected %s webhooks this minute; counting, not recording, the rest",
                rejections.per_minute,
                gateway_name,
            )
        return
    await WebhookEvent.create(
        gateway=gateway_name,
        event_id=f"rejected:{uuid4()}",
        raw_body="",
        body_size=len(body),
        excerpt=excerpt(body),
        verified=False,
        error=reason[:MAX_ERROR_CHARS],
    )
    logger.warning("%s webhook rejected: %s (%d bytes)", gateway_name, reason, len(body))


async def process_webhook(
    row: WebhookEvent,
    event: GatewayEvent,
    *,
    now: datetime,
    gateway: Gateway | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> Receipt:
    """Apply a stored, verified event; mark it processed unless what it is about is unknown
    yet (then it stays ``pending`` for the retry job, due again after ``retry``'s delay)."""
    try:
        concerned = await _apply(row, event, now=now, gateway=gateway)
        if concerned is None:
            await _mark_done(row, now=now, error=None)
            return Receipt.IGNORED
    except (PaymentNotFound, RefundNotFound) as exc:
        await _mark_waiting(row, now=now, error=f"not found yet: {exc}", retry=retry)
        return Receipt.PENDING
    except GatewayOutcomeUnknown as exc:
        await _mark_waiting(row, now=now, error=f"not verified yet: {exc.code}", retry=retry)
        return Receipt.PENDING
    except GatewayError as exc:  # the gateway denies what the event claims: apply nothing
        logger.warning(
            "%s event %s not confirmed by the gateway: %s", row.gateway, row.event_id, exc.code
        )
        await _mark_done(row, now=now, error=f"not confirmed: {exc.code}")
        return Receipt.IGNORED
    workspace_id = await _workspace_of(concerned)
    await _mark_done(row, now=now, error=None, workspace_id=workspace_id)
    LAG.labels(row.gateway).observe(max(0.0, (now - row.created_at).total_seconds()))
    return Receipt.PROCESSED


async def _apply(
    row: WebhookEvent, event: GatewayEvent, *, now: datetime, gateway: Gateway | None
) -> Payment | Refund | Dispute | None:
    """Apply the event through the use case of what it is about; what that was (None for
    a type payql does not act on)."""
    actor = f"gateway:{row.gateway.lower()}"
    if event.payment is not None:
        result = event.payment
        if gateway is not None and gateway.reverify_webhooks:
            # No timestamp in the signature: a replay would verify. Ask the gateway.
            result = await gateway.fetch_payment(event.payment.reference)
        return await apply_gateway_event(
            gateway_name=row.gateway,
            result=result,
            payment_id=_uuid(event.payment_id),
            actor=actor,
            now=now,
            gateway=gateway,
        )
    if event.refund is not None:
        return await apply_refund_outcome(
            gateway_name=row.gateway,
            result=event.refund,
            refund_id=_uuid(event.refund.refund_id),
            actor=actor,
            now=now,
        )
    if event.dispute is not None:
        return await apply_dispute(
            gateway_name=row.gateway, dispute=event.dispute, actor=actor, now=now
        )
    return None


async def _workspace_of(concerned: Payment | Refund | Dispute) -> UUID | None:
    if isinstance(concerned, Payment):
        return concerned.workspace_id  # the write path's case: no query
    order = await Order.get_or_none(id=concerned.order_id)
    return order.workspace_id if order is not None else None


async def retry_pending_webhooks(
    *, gateways: GatewayRegistry, now: datetime, retry: RetryPolicy = DEFAULT_RETRY
) -> int:
    """Re-apply verified deliveries that are still waiting (e.g. arrived before their
    payment) and are due. Returns how many were processed this time."""
    done = 0
    for row in await _claim_due(now=now, retry=retry):
        gateway = gateways.get(row.gateway)
        if gateway is None:
            continue  # disabled since: due again after the lease
        try:
            event = gateway.normalize_webhook(row.raw_body.encode())
        except InvalidWebhook as exc:
            await _give_up(row, now=now, error=exc.code)
            continue
        receipt = await process_webhook(row, event, now=now, gateway=gateway, retry=retry)
        if receipt is not Receipt.PENDING:
            done += 1
    return done


async def _claim_due(*, now: datetime, retry: RetryPolicy) -> list[WebhookEvent]:
    """Due waiting rows, each leased to this caller: rows another transaction has locked
    are skipped, and the lease hides the claimed ones from rounds that start later."""
    async with in_transaction():
        rows = (
            await WebhookEvent.filter(
                verified=True,
                processed=False,
                attempts__lt=retry.max_attempts,
                next_attempt_at__lte=now,
            )
            .order_by("next_attempt_at")
            .limit(retry.batch)
            .select_for_update(skip_locked=True)
        )
        if rows:
            await WebhookEvent.filter(id__in=[row.id for row in rows]).update(
                next_attempt_at=now + retry.lease
            )
    return list(rows)


async def _mark_done(
    row: WebhookEvent, *, now: datetime, error: str | None, workspace_id: UUID | None = None
) -> None:
    updates = {"workspace_id": workspace_id} if workspace_id is not None else {}
    await WebhookEvent.filter(id=row.id).update(
        processed=True,
        processed_at=now,
        next_attempt_at=None,
        error=error[:MAX_ERROR_CHARS] if error else None,
        attempts=F("attempts") + 1,
        updated_at=now,
        **updates,
    )


async def _mark_waiting(
    row: WebhookEvent, *, now: datetime, error: str, retry: RetryPolicy
) -> None:
    attempts = row.attempts + 1
    if attempts >= retry.max_attempts:
        await _give_up(row, now=now, error=error)
        return
    await WebhookEvent.filter(id=row.id).update(
        processed=False,
        processed_at=None,
        next_attempt_at=now + retry.delay(attempts),
        error=error[:MAX_ERROR_CHARS],
        attempts=F("attempts") + 1,
        updated_at=now,
    )


async def _give_up(row: WebhookEvent, *, now: datetime, error: str) -> None:
    """Stop retrying a row (kept, never pruned, for a person to look at)."""
    logger.warning(
        "%s event %s given up after %d attempts: %s",
        row.gateway,
        row.event_id,
        row.attempts + 1,
        error,
    )
    await WebhookEvent.filter(id=row.id).update(
        next_attempt_at=None,
        error=error[:MAX_ERROR_CHARS],
        attempts=F("attempts") + 1,
        updated_at=now,
    )


async def prune_webhooks(
    *, now: datetime, processed_for: timedelta, rejected_for: timedelta, batch: int
) -> int:
    """Delete up to ``batch`` processed rows older than ``processed_for`` and up to
    ``batch`` rejected rows older than ``rejected_for``; waiting rows are kept. Returns how
    many rows were deleted."""
    processed = WebhookEvent.filter(processed=True, created_at__lt=now - processed_for)
    rejected = WebhookEvent.filter(
        verified=False, processed=False, created_at__lt=now - rejected_for
    )
    return await _delete_some(processed, batch) + await _delete_some(rejected, batch)


async def _delete_some(rows: QuerySet[WebhookEvent], batch: int) -> int:
    ids = rows.order_by("created_at").limit(batch).values("id")
    return await WebhookEvent.filter(id__in=Subquery(ids)).delete()


def _uuid(value: str | None) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        return None
