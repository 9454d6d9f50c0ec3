"""Use cases for workspace staff: products and vouchers."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from models.catalog import Product, Voucher
from models.enums import VoucherKind
from models.money import UnknownCurrency, normalize_currency
from models.workspace import Workspace
from resolvers.actor import Actor
from resolvers.errors import (
    AlreadyExists,
    CapacityBelowHeld,
    ErrorCode,
    Forbidden,
    InvalidInput,
    NotFound,
)
from resolvers.ids import parse_id

MAX_PRICE = 10**15  # minor units; far beyond any ticket, well inside int64
MAX_NAME = 200


@dataclass(frozen=True, slots=True)
class ProductDraft:
    name: str
    price: int
    currency: str | None = None
    capacity: int | None = None
    starts_at: datetime | None = None
    active: bool = True
    description: str = ""


@dataclass(frozen=True, slots=True)
class VoucherDraft:
    code: str
    percent_off: int | None = None
    amount_off: int | None = None
    currency: str | None = None
    max_uses: int | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None


async def staff_workspace(actor: Actor, raw_id: str, *, field: list[str]) -> Workspace:
    """The workspace, if the actor is its staff (or an admin).

    :raises NotFound: unknown workspace.
    :raises Forbidden: the actor is not staff of it.
    """
    workspace = await Workspace.get_or_none(id=parse_id(raw_id, field=field))
    if workspace is None:
        raise NotFound("workspace not found", field=field)
    if not actor.is_staff_of(workspace.id):
        raise Forbidden("only this workspace's staff can do that", field=field)
    return workspace


async def create_product(*, actor: Actor, workspace_id: str, draft: ProductDraft) -> Product:
    """Add a product to a workspace's catalog.

    :raises InvalidInput: empty name, price < 0, capacity < 0, unknown currency.
    :raises NotFound: unknown workspace.  :raises Forbidden: not staff.
    """
    workspace = await staff_workspace(actor, workspace_id, field=["input", "workspaceId"])
    fields = _product_fields(
        {
            "name": draft.name,
            "price": draft.price,
            "currency": draft.currency or workspace.default_currency,
            "capacity": draft.capacity,
            "starts_at": draft.starts_at,
            "active": draft.active,
            "description": draft.description,
        }
    )
    return await Product.create(workspace_id=workspace.id, **fields)


async def update_product(*, actor: Actor, product_id: str, changes: dict[str, Any]) -> Product:
    """Change the given fields of a product (``capacity: None`` means unlimited).

    :raises InvalidInput: as for create; :raises CapacityBelowHeld: capacity < seats held.
    :raises NotFound: unknown product, or not staff of its workspace (indistinguishable).
    """
    product = await Product.get_or_none(id=parse_id(product_id, field=["input", "productId"]))
    if product is None or not actor.is_staff_of(product.workspace_id):
        raise NotFound("product not found", field=["input", "productId"])
    fields = _product_fields(changes)
    capacity = fields.get("capacity", product.capacity)
    if "capacity" in fields and capacity is not None:
        # Conditional update: a concurrent order cannot slip in between check and write.
        updated = await Product.filter(id=product.id, held__lte=capacity).update(**fields)
        if not updated:
            await product.refresh_from_db()
            raise CapacityBelowHeld(
                f"{product.held} seats are already held or sold", field=["input", "capacity"]
            )
    elif fields:
        await Product.filter(id=product.id).update(**fields)
    await product.refresh_from_db()
    return product


def _product_fields(values: dict[str, Any]) -> dict[str, Any]:
    fields = dict(values)
    if "name" in fields:
        fields["name"] = str(fields["name"]).strip()
        if not fields["name"] or len(fields["name"]) > MAX_NAME:
            raise InvalidInput("name must be 1 to 200 characters", field=["input", "name"])
    if "price" in fields and not 0 <= fields["price"] <= MAX_PRICE:
        raise InvalidInput("price must be ≥ 0 minor units", field=["input", "price"])
    if fields.get("capacity") is not None and fields["capacity"] < 0:
        raise InvalidInput("capacity must be ≥ 0 (or null: unlimited)", field=["input", "capacity"])
    if "currency" in fields:
        fields["currency"] = _currency(fields["currency"], field=["input", "currency"])
    return fields


def _currency(code: str, *, field: list[str]) -> str:
    try:
        return normalize_currency(code)
    except UnknownCurrency:
        raise InvalidInput(
            f"{code!r} is not an ISO 4217 currency", field=field, code=ErrorCode.INVALID_CURRENCY
        ) from None


async def create_voucher(*, actor: Actor, workspace_id: str, draft: VoucherDraft) -> Voucher:
    """Create a voucher: exactly one of percentOff (1–100) or amountOff (with a currency).

    :raises InvalidInput: bad terms or window.  :raises AlreadyExists: the code is taken.
    :raises NotFound: unknown workspace.  :raises Forbidden: not staff.
    """
    workspace = await staff_workspace(actor, workspace_id, field=["input", "workspaceId"])
    code = draft.code.strip().upper()
    if not code or len(code) > 64:
        raise InvalidInput("code must be 1 to 64 characters", field=["input", "code"])
    if (draft.percent_off is None) == (draft.amount_off is None):
        raise InvalidInput("give exactly one of percentOff or amountOff", field=["input"])
    if draft.percent_off is not None and not 1 <= draft.percent_off <= 100:
        raise InvalidInput("percentOff must be 1 to 100", field=["input", "percentOff"])
    if draft.amount_off is not None and not 0 < draft.amount_off <= MAX_PRICE:
        raise InvalidInput("amountOff must be > 0 minor units", field=["input", "amountOff"])
    if draft.max_uses is not None and draft.max_uses < 1:
        raise InvalidInput("maxUses must be ≥ 1 (or null)", field=["input", "maxUses"])
    if draft.valid_from and draft.valid_until and draft.valid_until <= draft.valid_from:
        raise InvalidInput("validUntil must be after validFrom", field=["input", "validUntil"])
    currency = None
    if draft.amount_off is not None:
        currency = _currency(
            draft.currency or workspace.default_currency, field=["input", "currency"]
        )
    try:
        return await Voucher.create(
            workspace_id=workspace.id,
            code=code,
            kind=VoucherKind.PERCENT if draft.percent_off is not None else VoucherKind.FIXED,
            percent_off=draft.percent_off,
            amount_off=draft.amount_off,
            currency=currency,
            max_uses=draft.max_uses,
            valid_from=draft.valid_from,
            valid_until=draft.valid_until,
        )
    except IntegrityError:
        raise AlreadyExists(f"voucher {code} already exists", field=["input", "code"]) from None
