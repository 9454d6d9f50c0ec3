"""Append-only records: PaymentEvent history, webhook inbox, idempotency keys, outbox."""

from datetime import datetime
from typing import Any
from uuid import UUID

from tortoise import fields
from tortoise.models import Model

from models.base import Entity
from models.order import Order
from models.payment import Payment
from models.workspace import User, Workspace


class PaymentEvent(Model):
    """One state change (what, from → to, actor, when). Written once, never edited."""

    id = fields.BigIntField(primary_key=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="payment_events", on_delete=fields.RESTRICT
    )
    workspace_id: UUID
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="events", on_delete=fields.RESTRICT
    )
    order_id: UUID
    payment: fields.ForeignKeyNullableRelation[Payment] = fields.ForeignKeyField(
        "models.Payment", related_name="events", null=True, on_delete=fields.RESTRICT
    )
    payment_id: UUID | None
    refund_id = fields.UUIDField(null=True)
    type = fields.CharField(max_length=64)
    from_status = fields.CharField(max_length=32, null=True)
    to_status = fields.CharField(max_length=32, null=True)
    actor = fields.CharField(max_length=320)
    data: dict[str, Any] = fields.JSONField(default=dict)

    class Meta:
        table = "payment_event"
        ordering = ("id",)
        indexes = (("order", "id"), ("workspace", "id"))


class WebhookEvent(Entity):
    """Every inbound gateway webhook, stored before it is processed.

    A verified delivery keeps its whole body (``raw_body``), which the retry job parses
    again. A rejected one keeps an empty ``raw_body`` and a bounded record: ``error`` (the reason),
    ``body_size`` and a short, printable ``excerpt``; a client sending megabytes of
    unsigned bodies must not be able to fill the disk. ``next_attempt_at`` is when a
    waiting (verified, not yet applied) delivery is tried again.
    """

    gateway = fields.CharField(max_length=16)
    event_id = fields.CharField(max_length=255)
    event_type = fields.CharField(max_length=128, default="")
    raw_body = fields.TextField()
    body_size = fields.IntField(default=0)
    excerpt = fields.CharField(max_length=512, default="")
    verified = fields.BooleanField(default=False)
    processed = fields.BooleanField(default=False)
    processed_at: datetime | None = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)
    next_attempt_at: datetime | None = fields.DatetimeField(null=True)
    error = fields.TextField(null=True)
    # The workspace of the payment, refund or dispute it concerns, once it was applied:
    # what staff may see of the inbox (a rejected or unmatched delivery has none).
    workspace_id = fields.UUIDField(null=True)

    class Meta:
        table = "webhook_event"
        unique_together = (("gateway", "event_id"),)
        indexes = (
            ("processed", "created_at"),
            ("verified", "processed", "next_attempt_at"),
            ("workspace_id", "created_at"),
        )


class IdempotencyKey(Entity):
    """A client's idempotency key within (user, operation), with what it produced."""

    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="idempotency_keys", on_delete=fields.CASCADE
    )
    user_id: UUID
    operation = fields.CharField(max_length=64)
    key = fields.CharField(max_length=255)
    fingerprint = fields.CharField(max_length=64)
    resource_id = fields.UUIDField(null=True)
    response: dict[str, Any] | None = fields.JSONField(null=True)
    expires_at: datetime = fields.DatetimeField()

    class Meta:
        table = "idempotency_key"
        unique_together = (("user", "operation", "key"),)
        indexes = (("expires_at",),)


class OutboxEvent(Model):
    """A domain event written in the same transaction as the change it describes."""

    id = fields.BigIntField(primary_key=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    topic = fields.CharField(max_length=128)
    type = fields.CharField(max_length=64)
    payload: dict[str, Any] = fields.JSONField(default=dict)
    dispatched_at: datetime | None = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)

    class Meta:
        table = "outbox_event"
        indexes = (("dispatched_at", "id"),)
