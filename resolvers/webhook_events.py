"""The webhook inbox as staff see it: list a workspace's inbound deliveries, and apply a
stored one again.

============================  ==========================================================
who                           sees / may replay
============================  ==========================================================
staff (or owner) of W         deliveries marked with workspace W: those applied to a
                              payment, refund or dispute of W
admin                         every workspace's, and the *unmatched* ones: rejected
                              deliveries and verified ones whose payment is not known yet
anyone else                   nothing (``Forbidden``), whether W exists or not
============================  ==========================================================

A replay applies a verified, not yet processed delivery now, through
:func:`resolvers.webhooks.process_webhook`, the same step as the retry job, whatever its
retry schedule (a delivery the retry job gave up on included). A delivery already processed
is not applied twice: the replay changes nothing and answers ``ALREADY_PROCESSED``.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from gateways.base import InvalidWebhook
from gateways.registry import GatewayRegistry
from models.records import WebhookEvent
from resolvers.actor import Actor
from resolvers.errors import Forbidden, GatewayNotEnabled, InvalidInput, NotFound
from resolvers.visibility import MAX_PAGE_SIZE, decode_cursor
from resolvers.webhooks import Receipt, process_webhook


class WebhookReplayOutcome(StrEnum):
    """What a replay did."""

    PROCESSED = "PROCESSED"
    IGNORED = "IGNORED"
    PENDING = "PENDING"
    ALREADY_PROCESSED = "ALREADY_PROCESSED"


@dataclass(frozen=True, slots=True)
class WebhookEventFilter:
    gateway: str | None = None
    verified: bool | None = None
    processed: bool | None = None
    type: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookEventPage:
    events: list[WebhookEvent]
    has_next_page: bool


def _visible(actor: Actor, workspace_id: UUID | None) -> QuerySet[WebhookEvent]:
    """The deliveries of ``workspace_id`` (None: the unmatched ones) ``actor`` may see.

    :raises Forbidden: the actor is not staff of that workspace (nor an admin), or asks
        for the unmatched deliveries without being an admin.
    """
    if workspace_id is None:
        if not actor.is_admin:
            raise Forbidden("only admins see deliveries that match no workspace")
        return WebhookEvent.filter(workspace_id=None)
    if not actor.is_staff_of(workspace_id):
        raise Forbidden("only the workspace's staff see its webhook deliveries")
    return WebhookEvent.filter(workspace_id=workspace_id)


async def list_webhook_events(
    actor: Actor,
    *,
    workspace_id: UUID | None,
    first: int,
    after: str | None,
    filter: WebhookEventFilter,
) -> WebhookEventPage:
    """A page of a workspace's inbound deliveries (None: the unmatched ones), newest first,
    by keyset on (received at, id).

    :raises Forbidden: see :func:`_visible`.
    :raises InvalidInput: ``first`` outside 1–100, or a malformed cursor.
    """
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise InvalidInput(f"first must be between 1 and {MAX_PAGE_SIZE}", field=["first"])
    query = _visible(actor, workspace_id)
    if filter.gateway is not None:
        query = query.filter(gateway=filter.gateway)
    if filter.verified is not None:
        query = query.filter(verified=filter.verified)
    if filter.processed is not None:
        query = query.filter(processed=filter.processed)
    if filter.type is not None:
        query = query.filter(event_type=filter.type)
    if after is not None:
        created, ident = decode_cursor(after)
        query = query.filter(Q(created_at__lt=created) | Q(created_at=created, id__lt=ident))
    rows = await query.order_by("-created_at", "-id").limit(first + 1)
    return WebhookEventPage(events=rows[:first], has_next_page=len(rows) > first)


async def replay_webhook_event(
    *, webhook_event_id: UUID, actor: Actor, gateways: GatewayRegistry, now: datetime
) -> tuple[WebhookEvent, WebhookReplayOutcome]:
    """Apply a stored verified delivery again (see the module docstring); the row as it is
    afterwards, and what the replay did.

    :raises NotFound: no such delivery, or not one the actor may see.
    :raises InvalidInput: the delivery was rejected (never verified), or its stored body
        no longer parses.
    :raises GatewayNotEnabled: its gateway is not enabled on this server now.
    """
    row = await WebhookEvent.get_or_none(id=webhook_event_id)
    if row is None or not _may_see(actor, row):
        raise NotFound("no such webhook delivery", field=["input", "webhookEventId"])
    if not row.verified:
        raise InvalidInput(
            "a rejected delivery was never verified and cannot be applied",
            field=["input", "webhookEventId"],
        )
    if row.processed:
        return row, WebhookReplayOutcome.ALREADY_PROCESSED
    gateway = gateways.get(row.gateway)
    if gateway is None:
        raise GatewayNotEnabled(f"{row.gateway} is not enabled on this server")
    try:
        event = gateway.normalize_webhook(row.raw_body.encode())
    except InvalidWebhook:
        raise InvalidInput(
            "the stored delivery no longer parses", field=["input", "webhookEventId"]
        ) from None
    receipt = await process_webhook(row, event, now=now, gateway=gateway)
    return await WebhookEvent.get(id=row.id), _REPLAYS[receipt]


_REPLAYS = {
    Receipt.PROCESSED: WebhookReplayOutcome.PROCESSED,
    Receipt.IGNORED: WebhookReplayOutcome.IGNORED,
    Receipt.PENDING: WebhookReplayOutcome.PENDING,
    Receipt.DUPLICATE: WebhookReplayOutcome.ALREADY_PROCESSED,
}


def _may_see(actor: Actor, row: WebhookEvent) -> bool:
    if actor.is_admin:
        return True
    return row.workspace_id is not None and actor.is_staff_of(row.workspace_id)
