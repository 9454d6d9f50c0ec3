"""Order and its immutable line items."""

from datetime import datetime
from typing import Any
from uuid import UUID

from tortoise import fields

from models.base import Entity
from models.catalog import Product, Voucher
from models.enums import OrderStatus
from models.workspace import User, Workspace


class Order(Entity):
    """A priced basket held for a customer until it is paid, cancelled or expires.

    ``amount_paid`` and ``amount_refunded`` are kept in step with the order's payments in
    the same transaction that changes them, so reads need no aggregate query.
    """

    number = fields.CharField(max_length=32, unique=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="orders", on_delete=fields.RESTRICT
    )
    workspace_id: UUID
    customer: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="orders", on_delete=fields.RESTRICT
    )
    customer_id: UUID
    voucher: fields.ForeignKeyNullableRelation[Voucher] = fields.ForeignKeyField(
        "models.Voucher", related_name="orders", null=True, on_delete=fields.SET_NULL
    )
    voucher_id: UUID | None
    currency = fields.CharField(max_length=3)
    subtotal = fields.BigIntField()
    discount = fields.BigIntField(default=0)
    tax = fields.BigIntField(default=0)
    fee = fields.BigIntField(default=0)
    total = fields.BigIntField()
    amount_paid = fields.BigIntField(default=0)
    amount_refunded = fields.BigIntField(default=0)
    status = fields.CharEnumField(OrderStatus, max_length=24, default=OrderStatus.PENDING)
    hold_expires_at: datetime | None = fields.DatetimeField(null=True)
    metadata: dict[str, Any] = fields.JSONField(default=dict)
    success_url = fields.CharField(max_length=2048, null=True)
    failure_url = fields.CharField(max_length=2048, null=True)
    paid_at: datetime | None = fields.DatetimeField(null=True)
    cancelled_at: datetime | None = fields.DatetimeField(null=True)
    expired_at: datetime | None = fields.DatetimeField(null=True)

    class Meta:
        table = "order"
        indexes = (("workspace", "created_at"), ("customer", "created_at"), ("status",))

    @property
    def balance_due(self) -> int:
        """What is still to be paid: the total less what the order keeps (paid − refunded)."""
        if self.status is not OrderStatus.PENDING:
            return 0
        return max(int(self.total) - int(self.amount_paid) + int(self.amount_refunded), 0)


class OrderItem(Entity):
    """A snapshot of a product, its quantity and unit price at order time. Never edited."""

    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="items", on_delete=fields.CASCADE
    )
    order_id: UUID
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "models.Product", related_name="order_items", on_delete=fields.RESTRICT
    )
    product_id: UUID
    product_name = fields.CharField(max_length=200)
    quantity = fields.IntField()
    unit_price = fields.BigIntField()
    line_total = fields.BigIntField()
    currency = fields.CharField(max_length=3)

    class Meta:
        table = "order_item"
        ordering = ("created_at",)
