"""The webhook inbox: store every delivery, verify it, apply it once, retry what waits.

    receive ──► parse_webhook (signature) ──✗──► stored as rejected, caller answers 400
                      │ ✓
                      ▼
               insert (gateway, event_id) ──duplicate, processed──► "duplicate" (no change)
                      │ new (or stored but not yet applied)
                      ▼
               apply_gateway_event ──payment unknown yet──► "pending" (kept, retried)
                      │
                      ▼
               processed ──► "processed" / "ignored" (a type payql does not act on)

A rejected delivery is stored under a fresh id, never under the event id it claims, so a
forged delivery cannot make the genuine one look like a duplicate.
"""

import logging
from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid4

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from gateways.base import (
    Gateway,
    GatewayError,
    GatewayEvent,
    GatewayOutcomeUnknown,
    InvalidWebhook,
)
from gateways.registry import GatewayRegistry
from models.records import WebhookEvent
from resolvers.disputes import apply_dispute
from resolvers.payments import PaymentNotFound, apply_gateway_event
from resolvers.refunds import RefundNotFound, apply_refund_outcome

logger = logging.getLogger("payql.webhooks")

MAX_ATTEMPTS = 50
RETRY_BATCH = 100


class Receipt(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    PENDING = "pending"


async def receive_webhook(
    *, gateway: Gateway, body: bytes, headers: dict[str, str], now: datetime
) -> Receipt:
    """Store, verify and apply one delivery.

    :raises InvalidWebhook: the signature or body does not verify (stored as rejected).
    """
    raw = body.decode("utf-8", errors="replace")
    try:
        event = gateway.parse_webhook(body, headers)
    except InvalidWebhook as exc:
        await WebhookEvent.create(
            gateway=gateway.name,
            event_id=f"rejected:{uuid4()}",
            raw_body=raw,
            verified=False,
            error=exc.code,
        )
        logger.warning("%s webhook rejected: %s", gateway.name, exc.code)
        raise
    try:
        row = await WebhookEvent.create(
            gateway=gateway.name,
            event_id=event.event_id,
            event_type=event.type,
            raw_body=raw,
            verified=True,
        )
    except IntegrityError:
        row = await WebhookEvent.get(gateway=gateway.name, event_id=event.event_id)
        if row.processed:
            return Receipt.DUPLICATE
    return await process_webhook(row, event, now=now, gateway=gateway)


async def process_webhook(
    row: WebhookEvent, event: GatewayEvent, *, now: datetime, gateway: Gateway | None = None
) -> Receipt:
    """Apply a stored, verified event; mark it processed unless what it is about is unknown
    yet (then it stays ``pending`` for the retry job)."""
    actor = f"gateway:{row.gateway.lower()}"
    try:
        if event.payment is not None:
            result = event.payment
            if gateway is not None and gateway.reverify_webhooks:
                # No timestamp in the signature: a replay would verify. Ask the gateway.
                result = await gateway.fetch_payment(event.payment.reference)
            await apply_gateway_event(
                gateway_name=row.gateway,
                result=result,
                payment_id=_uuid(event.payment_id),
                actor=actor,
                now=now,
                gateway=gateway,
            )
        elif event.refund is not None:
            await apply_refund_outcome(
                gateway_name=row.gateway,
                result=event.refund,
                refund_id=_uuid(event.refund.refund_id),
                actor=actor,
                now=now,
            )
        elif event.dispute is not None:
            await apply_dispute(
                gateway_name=row.gateway, dispute=event.dispute, actor=actor, now=now
            )
        else:
            await _mark(row, now=now, processed=True, error=None)
            return Receipt.IGNORED
    except (PaymentNotFound, RefundNotFound) as exc:
        await _mark(row, now=now, processed=False, error=f"not found yet: {exc}")
        return Receipt.PENDING
    except GatewayOutcomeUnknown as exc:
        await _mark(row, now=now, processed=False, error=f"not verified yet: {exc.code}")
        return Receipt.PENDING
    except GatewayError as exc:  # the gateway denies what the event claims: apply nothing
        logger.warning(
            "%s event %s not confirmed by the gateway: %s", row.gateway, row.event_id, exc.code
        )
        await _mark(row, now=now, processed=True, error=f"not confirmed: {exc.code}")
        return Receipt.IGNORED
    await _mark(row, now=now, processed=True, error=None)
    return Receipt.PROCESSED


async def retry_pending_webhooks(*, gateways: GatewayRegistry, now: datetime) -> int:
    """Re-apply verified deliveries that are still waiting (e.g. arrived before their
    payment). Returns how many were processed this time."""
    done = 0
    rows = (
        await WebhookEvent.filter(verified=True, processed=False, attempts__lt=MAX_ATTEMPTS)
        .order_by("created_at")
        .limit(RETRY_BATCH)
    )
    for row in rows:
        gateway = gateways.get(row.gateway)
        if gateway is None:
            continue
        try:
            event = gateway.normalize_webhook(row.raw_body.encode())
        except InvalidWebhook as exc:
            await _mark(row, now=now, processed=False, error=exc.code, attempts=MAX_ATTEMPTS)
            continue
        if await process_webhook(row, event, now=now, gateway=gateway) is not Receipt.PENDING:
            done += 1
    return done


async def _mark(
    row: WebhookEvent,
    *,
    now: datetime,
    processed: bool,
    error: str | None,
    attempts: int | None = None,
) -> None:
    await WebhookEvent.filter(id=row.id).update(
        processed=processed,
        processed_at=now if processed else None,
        error=error,
        attempts=attempts if attempts is not None else F("attempts") + 1,
        updated_at=now,
    )


def _uuid(value: str | None) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        return None
