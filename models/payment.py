"""Money movement: Payment (one collection attempt), Refund, Dispute."""

from datetime import datetime
from typing import Any
from uuid import UUID

from tortoise import fields

from models.base import Entity
from models.enums import DisputeStatus, GatewayName, PaymentStatus, RefundReason, RefundStatus
from models.order import Order
from models.workspace import User, Workspace


class Payment(Entity):
    """One attempt to collect money for an order through one gateway."""

    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="payments", on_delete=fields.RESTRICT
    )
    order_id: UUID
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="payments", on_delete=fields.RESTRICT
    )
    workspace_id: UUID
    gateway = fields.CharEnumField(GatewayName, max_length=16)
    status = fields.CharEnumField(PaymentStatus, max_length=24, default=PaymentStatus.PENDING)
    amount = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    amount_refunded = fields.BigIntField(default=0)
    # Reserved by PENDING refunds; SUM(non-failed refunds) = amount_refunded + refund_reserved.
    refund_reserved = fields.BigIntField(default=0)
    gateway_fee = fields.BigIntField(null=True)
    reference = fields.CharField(max_length=255, null=True, db_index=True)
    # Returned to the order's owner only (Stripe.js needs it); never logged.
    client_secret = fields.CharField(max_length=255, null=True)
    next_action: dict[str, Any] | None = fields.JSONField(null=True)
    failure_code = fields.CharField(max_length=64, null=True)
    failure_message = fields.TextField(null=True)
    attempt = fields.IntField(default=1)
    recorded_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="recorded_payments", null=True, on_delete=fields.SET_NULL
    )
    recorded_by_id: UUID | None
    note = fields.TextField(null=True)
    gateway_response: dict[str, Any] | None = fields.JSONField(null=True)
    succeeded_at: datetime | None = fields.DatetimeField(null=True)
    # Reconciliation's own bookkeeping (not a change of the payment: updated_at stays put):
    # look-ups so far, when the next one is due, and when it stopped asking.
    reconcile_attempts = fields.IntField(default=0)
    reconcile_next_at: datetime | None = fields.DatetimeField(null=True)
    reconcile_gave_up_at: datetime | None = fields.DatetimeField(null=True)

    class Meta:
        table = "payment"
        unique_together = (("order", "attempt"),)
        indexes = (("gateway", "reference"), ("status", "updated_at"))


class Refund(Entity):
    """Money returned against one payment. Σ non-failed refunds ≤ the payment's amount."""

    payment: fields.ForeignKeyRelation[Payment] = fields.ForeignKeyField(
        "models.Payment", related_name="refunds", on_delete=fields.RESTRICT
    )
    payment_id: UUID
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="refunds", on_delete=fields.RESTRICT
    )
    order_id: UUID
    amount = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    reason = fields.CharEnumField(RefundReason, max_length=32)
    description = fields.TextField(default="")
    status = fields.CharEnumField(RefundStatus, max_length=16, default=RefundStatus.PENDING)
    gateway_refund_id = fields.CharField(max_length=255, null=True, db_index=True)
    failure_code = fields.CharField(max_length=64, null=True)
    requested_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="requested_refunds", null=True, on_delete=fields.SET_NULL
    )
    requested_by_id: UUID | None

    class Meta:
        table = "refund"


class Dispute(Entity):
    """A chargeback reported by a gateway. An open dispute blocks refunds of its payment."""

    payment: fields.ForeignKeyRelation[Payment] = fields.ForeignKeyField(
        "models.Payment", related_name="disputes", on_delete=fields.RESTRICT
    )
    payment_id: UUID
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="disputes", on_delete=fields.RESTRICT
    )
    order_id: UUID
    gateway_dispute_id = fields.CharField(max_length=255)
    amount = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    reason = fields.CharField(max_length=64, default="")
    status = fields.CharEnumField(DisputeStatus, max_length=16, default=DisputeStatus.OPEN)

    class Meta:
        table = "dispute"
        unique_together = (("payment", "gateway_dispute_id"),)
