"""Write a state change's history row and outbox row in the caller's transaction, and
publish them once that transaction has committed.

    batch = EventBatch(actor="user:ann@example.com")
    async with in_transaction():
        ...change rows...
        await batch.record(order=order, type="payment.succeeded", ...)
    await batch.publish()          # after commit: never announce what may roll back

Rows left unpublished (a crash between commit and publish) stay in the outbox with
``dispatched_at`` NULL for the outbox dispatcher to send. Rows published this way are
marked dispatched in batches (:class:`DispatchMarks`), not one UPDATE per unit of work.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from prometheus_client import Counter
from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from events.broker import current_broker
from models.order import Order
from models.records import OutboxEvent, PaymentEvent

logger = logging.getLogger("payql.events")

# Counted when a batch is published, after its commit: a rolled-back change counts nothing.
STATUS_CHANGES = {
    "payment": Counter(
        "payql_payments_total", "Payments that reached a status.", ["gateway", "status"]
    ),
    "refund": Counter(
        "payql_refunds_total", "Refunds that reached a status.", ["gateway", "status"]
    ),
}
# Actors that speak for a gateway: "gateway:stripe", "reconciliation:stripe".
_GATEWAY_ACTORS = ("gateway:", "reconciliation:")


@dataclass(frozen=True, slots=True)
class OrderRef:
    """What an event needs of its order, when the order row itself was not read."""

    id: UUID
    workspace_id: UUID


class EventBatch:
    """The events of one unit of work."""

    def __init__(self, *, actor: str) -> None:
        self.actor = actor
        self._outbox: list[OutboxEvent | _Written] = []
        self._statuses: list[tuple[str, str, str]] = []  # (kind, gateway, status) to count

    async def record(
        self,
        *,
        order: Order | OrderRef,
        type: str,
        from_status: str | None = None,
        to_status: str | None = None,
        payment_id: UUID | None = None,
        refund_id: UUID | None = None,
        data: dict[str, Any] | None = None,
        gateway: str | None = None,
    ) -> None:
        """Append a PaymentEvent and its OutboxEvent. Call inside the changing transaction.

        A payment's or refund's new status is counted in ``payql_payments_total`` /
        ``payql_refunds_total`` once the batch is published, under ``gateway`` (else the
        one named in ``data`` or by the actor)."""
        kind = type.partition(".")[0]
        if to_status is not None and kind in STATUS_CHANGES:
            label = gateway or (data or {}).get("gateway") or self._actor_gateway()
            self._statuses.append((kind, str(label), str(to_status)))
        payload = {
            "event_id": None,  # the PaymentEvent's id, once it has one
            "type": type,
            "workspace_id": str(order.workspace_id),
            "order_id": str(order.id),
            "payment_id": str(payment_id) if payment_id else None,
            "refund_id": str(refund_id) if refund_id else None,
            "from_status": from_status,
            "to_status": to_status,
        }
        db = PaymentEvent._choose_db(True)
        if isinstance(db, AsyncpgDBClient):  # its transactions too
            self._outbox.append(await _insert_both(db, payload, actor=self.actor, data=data))
            return
        event = await PaymentEvent.create(
            workspace_id=order.workspace_id,
            order_id=order.id,
            payment_id=payment_id,
            refund_id=refund_id,
            type=type,
            from_status=from_status,
            to_status=to_status,
            actor=self.actor,
            data=data or {},
        )
        payload["event_id"] = event.id
        outbox = await OutboxEvent.create(
            topic=f"workspace:{order.workspace_id}", type=type, payload=payload
        )
        self._outbox.append(outbox)

    async def publish(self) -> None:
        """Send the batch to the broker (call after commit); it is marked dispatched with
        the next batch of marks."""
        rows, self._outbox = self._outbox, []
        statuses, self._statuses = self._statuses, []
        for kind, gateway, status in statuses:
            STATUS_CHANGES[kind].labels(gateway, status).inc()
        if rows and await _send(rows):
            await dispatch_marks.add([row.id for row in rows])

    def _actor_gateway(self) -> str:
        for prefix in _GATEWAY_ACTORS:
            if self.actor.startswith(prefix):
                return self.actor.removeprefix(prefix).upper()
        return "unknown"


@dataclass(frozen=True, slots=True)
class _Written:
    """An outbox row as written: what publishing and marking need of it."""

    id: int
    payload: dict[str, Any]


# PostgreSQL writes an event's two rows in one statement: the history row's id comes back
# through RETURNING into the outbox row's payload (one round trip instead of two, and no
# model instances; these rows are a good share of a sandbox order's statements).
_BOTH_ROWS = """
WITH event AS (
    INSERT INTO "payment_event" ("created_at", "workspace_id", "order_id", "payment_id",
        "refund_id", "type", "from_status", "to_status", "actor", "data")
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)
    RETURNING "id"
)
INSERT INTO "outbox_event" ("created_at", "topic", "type", "payload", "attempts")
SELECT $1, $11, $6, jsonb_set($12::jsonb, '{event_id}', to_jsonb(event."id")), 0 FROM event
RETURNING "id", ("payload"->>'event_id')::bigint AS "event_id"
"""


async def _insert_both(
    db: Any, payload: dict[str, Any], *, actor: str, data: dict[str, Any] | None
) -> _Written:
    encode = PaymentEvent._meta.fields_map["data"].encoder  # type: ignore[attr-defined]
    rows = await db.execute_query_dict(
        _BOTH_ROWS,
        [
            datetime.now(UTC),
            payload["workspace_id"],
            payload["order_id"],
            payload["payment_id"],
            payload["refund_id"],
            payload["type"],
            payload["from_status"],
            payload["to_status"],
            actor,
            encode(data or {}),
            f"workspace:{payload['workspace_id']}",
            encode(payload),
        ],
    )
    written = rows[0]
    return _Written(id=written["id"], payload=payload | {"event_id": written["event_id"]})


class DispatchMarks:
    """Outbox rows this worker has published and not yet marked dispatched.

    One UPDATE per unit of work cost four statements per sandbox order (a visible share of
    the write path's CPU, ``bench/README.md``). The ids wait here instead and are marked in
    one UPDATE when ``batch`` of them have gathered, every half second (at most a quarter
    of the outbox delay; ``app/jobs.py``, so other workers' dispatchers find them marked),
    at the start of every outbox dispatch round (before it looks for rows to send again)
    and at shutdown. Marks lost with the process only mean the dispatcher sends those rows
    again after its delay; subscribers skip event ids they have sent, or re-read state.
    """

    def __init__(self, batch: int = 200) -> None:
        self.batch = batch
        self._ids: list[int] = []

    async def add(self, ids: list[int]) -> None:
        self._ids.extend(ids)
        if len(self._ids) >= self.batch:
            await self.flush()

    async def flush(self) -> int:
        """Mark every waiting row dispatched; how many were waiting."""
        ids, self._ids = self._ids, []
        if not ids:
            return 0
        try:
            await _set_dispatched(ids)
        except BaseException as exc:  # kept for the next flush (marking twice is harmless)
            self._ids[:0] = ids
            if not isinstance(exc, Exception):
                raise  # cancelled
            logger.warning("outbox %d rows not marked dispatched yet (%s)", len(ids), exc)
        return len(ids)

    def forget(self) -> None:
        """Drop waiting marks without writing them (tests, after emptying the database)."""
        self._ids = []

    @property
    def waiting(self) -> int:
        return len(self._ids)


dispatch_marks = DispatchMarks()


def topics_of(payload: dict[str, Any]) -> list[str]:
    topics = [f"workspace:{payload['workspace_id']}", f"order:{payload['order_id']}"]
    if payload.get("payment_id"):
        topics.append(f"payment:{payload['payment_id']}")
    return topics


async def _send(rows: Sequence[OutboxEvent | _Written]) -> bool:
    """Publish ``rows`` (one broker call, in order). A broker failure is logged, never
    raised: the change is committed, and the dispatcher sends the rows later (subscribers
    re-read state or skip event ids they have sent, so the ones that went out before the
    failure do no harm when sent again)."""
    messages = [(topic, row.payload) for row in rows for topic in topics_of(row.payload)]
    try:
        await current_broker().publish_many(messages)
    except Exception as exc:  # any broker failure: the outbox keeps the rows
        ids = [row.id for row in rows]
        logger.warning("outbox %s not published (%s); the dispatcher will retry", ids, exc)
        return False
    return True


async def publish_outbox(rows: list[OutboxEvent]) -> int:
    """Publish ``rows`` and mark them dispatched at once; how many went out."""
    if not rows or not await _send(rows):
        return 0
    await _set_dispatched([row.id for row in rows])
    return len(rows)


async def _set_dispatched(ids: list[int]) -> None:
    await OutboxEvent.filter(id__in=ids, dispatched_at=None).update(dispatched_at=datetime.now(UTC))


async def dispatch_outbox(*, now: datetime, older_than: timedelta, limit: int = 200) -> int:
    """Re-publish outbox rows nobody dispatched ``older_than`` after their commit (the
    worker died, or the broker was down). Rows are claimed with ``SELECT … FOR UPDATE SKIP
    LOCKED`` (PostgreSQL), so workers running this at once never send a row twice at the
    same time. Subscribers re-read state, so a rare duplicate is harmless.

    This worker's waiting marks are written first: its own rows are not sent twice."""
    await dispatch_marks.flush()
    async with in_transaction():
        rows = (
            await OutboxEvent.filter(dispatched_at=None, created_at__lte=now - older_than)
            .order_by("id")
            .limit(limit)
            .select_for_update(skip_locked=True)
        )
        if not rows:
            return 0
        await OutboxEvent.filter(id__in=[row.id for row in rows]).update(attempts=F("attempts") + 1)
        return await publish_outbox(list(rows))
