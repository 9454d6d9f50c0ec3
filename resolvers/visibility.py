"""What an actor may see: customers their own orders, staff their workspaces, admins all.

An order the actor may not see is reported exactly like one that does not exist.
"""

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from models.enums import OrderStatus
from models.order import Order
from models.payment import Payment, Refund
from models.prepared import PreparedQuery
from models.workspace import Membership
from resolvers.actor import Actor, Principal
from resolvers.errors import InvalidInput

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


def visible_orders(actor: Actor) -> QuerySet[Order]:
    """Orders the actor may see."""
    if actor.is_admin:
        return Order.all()
    condition = Q(customer_id=actor.user_id)
    if actor.staff_workspace_ids:
        condition |= Q(workspace_id__in=list(actor.staff_workspace_ids))
    return Order.filter(condition)


async def visible_order(actor: Actor, order_id: UUID) -> Order | None:
    """The order if the actor may see it: :func:`readable_order`'s prepared statement (it
    reads the memberships in SQL, as they are now, rather than the roles loaded with the
    actor)."""
    return await readable_order(actor.principal, order_id)


def _readable_orders(user_id: UUID) -> QuerySet[Order]:
    """A non-admin's orders with the memberships as a subquery (no roles loaded)."""
    staff_of = Membership.filter(user_id=user_id).values("workspace_id")
    return Order.filter(Q(customer_id=user_id) | Q(workspace_id__in=Subquery(staff_of)))


_readable_by_id = PreparedQuery(
    Order,
    lambda user_id, order_id: _readable_orders(user_id).filter(id=order_id),
    user_id=UUID,
    order_id=UUID,
)
_readable_by_number = PreparedQuery(
    Order,
    lambda user_id, number: _readable_orders(user_id).filter(number=number),
    user_id=UUID,
    number=str,
)


async def readable_order(principal: Principal, order_id: UUID) -> Order | None:
    """What :func:`visible_order` finds, for a principal whose roles are not loaded: one
    prepared statement (the hot path of ``order(id)``; use cases that act on an order
    load the actor instead)."""
    if principal.is_admin:
        return await Order.get_or_none(id=order_id)
    return await _readable_by_id.first(user_id=principal.user_id, order_id=order_id)


async def readable_order_by_number(principal: Principal, number: str) -> Order | None:
    number = number.strip().upper()
    if principal.is_admin:
        return await Order.get_or_none(number=number)
    return await _readable_by_number.first(user_id=principal.user_id, number=number)


@dataclass(frozen=True, slots=True)
class OrderFilter:
    status: OrderStatus | None = None
    workspace_id: UUID | None = None
    search: str | None = None


@dataclass(frozen=True, slots=True)
class OrderPage:
    orders: list[Order]
    has_next_page: bool


class Keyed(Protocol):
    """A row paged by keyset on (created_at, id)."""

    created_at: datetime
    id: UUID


def encode_cursor(row: Keyed) -> str:
    """The opaque cursor after ``row`` in a newest-first keyset page."""
    raw = f"{row.created_at.isoformat()}|{row.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The (created_at, id) key of a cursor from :func:`encode_cursor`.

    :raises InvalidInput: the cursor is malformed.
    """
    try:
        created, _, ident = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(created), UUID(ident)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("malformed cursor", field=["after"]) from None


async def list_orders(
    actor: Actor, *, first: int, after: str | None, filter: OrderFilter
) -> OrderPage:
    """A page of visible orders, newest first, by keyset on (created_at, id).

    :raises InvalidInput: ``first`` outside 1–100, or a malformed cursor.
    """
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise InvalidInput(f"first must be between 1 and {MAX_PAGE_SIZE}", field=["first"])
    query = visible_orders(actor)
    if filter.status is not None:
        query = query.filter(status=filter.status)
    if filter.workspace_id is not None:
        query = query.filter(workspace_id=filter.workspace_id)
    if filter.search:
        term = filter.search.strip()
        query = query.filter(Q(number__icontains=term) | Q(customer__email__icontains=term))
    if after is not None:
        created, ident = decode_cursor(after)
        query = query.filter(Q(created_at__lt=created) | Q(created_at=created, id__lt=ident))
    rows = await query.order_by("-created_at", "-id").limit(first + 1)
    return OrderPage(orders=rows[:first], has_next_page=len(rows) > first)


async def visible_payment(actor: Actor, payment_id: UUID) -> Payment | None:
    payment = await Payment.get_or_none(id=payment_id)
    if payment is None or await visible_order(actor, payment.order_id) is None:
        return None
    return payment


async def visible_refund(actor: Actor, refund_id: UUID) -> Refund | None:
    refund = await Refund.get_or_none(id=refund_id)
    if refund is None or await visible_order(actor, refund.order_id) is None:
        return None
    return refund
