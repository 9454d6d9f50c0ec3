"""What is for sale: Product (with held capacity) and Voucher."""

from datetime import datetime
from uuid import UUID

from tortoise import fields

from models.base import Entity
from models.enums import VoucherKind
from models.workspace import Workspace


class Product(Entity):
    """A sellable item with a unit price in minor units and optional capacity.

    ``held`` counts seats held by pending orders plus seats sold; ``remaining`` is
    ``capacity - held``. It only changes through conditional UPDATEs, so it never exceeds
    ``capacity`` under any concurrency.
    """

    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="products", on_delete=fields.CASCADE
    )
    workspace_id: UUID
    name = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    price = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    capacity = fields.IntField(null=True)
    held = fields.IntField(default=0)
    starts_at: datetime | None = fields.DatetimeField(null=True)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "product"
        ordering = ("created_at",)

    @property
    def remaining(self) -> int | None:
        return None if self.capacity is None else max(self.capacity - self.held, 0)


class Voucher(Entity):
    """A discount code: a percentage or a fixed amount off, with a use limit and window."""

    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="vouchers", on_delete=fields.CASCADE
    )
    workspace_id: UUID
    code = fields.CharField(max_length=64)
    kind = fields.CharEnumField(VoucherKind, max_length=16)
    percent_off = fields.IntField(null=True)
    amount_off = fields.BigIntField(null=True)
    currency = fields.CharField(max_length=3, null=True)
    max_uses = fields.IntField(null=True)
    uses = fields.IntField(default=0)
    valid_from: datetime | None = fields.DatetimeField(null=True)
    valid_until: datetime | None = fields.DatetimeField(null=True)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "voucher"
        unique_together = (("workspace", "code"),)
