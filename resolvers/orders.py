"""Use cases: create and cancel orders, holding and releasing product capacity.

Capacity is held by a conditional UPDATE (``held + q <= capacity``), which PostgreSQL
re-checks on the locked row: concurrent orders for the last seats can never oversell, and
no row lock is held beyond the order's own short transaction.
"""

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from events.record import EventBatch
from models.catalog import Product, Voucher
from models.enums import GatewayName, OrderStatus, PaymentStatus, VoucherKind
from models.order import Order, OrderItem
from models.payment import Payment
from models.prepared import by_id
from models.workspace import Workspace
from resolvers import idempotency
from resolvers.actor import Actor
from resolvers.errors import (
    CurrencyMismatch,
    ErrorCode,
    InvalidInput,
    NotFound,
    OrderNotCancellable,
    ProductUnavailable,
    SoldOut,
    VoucherInvalid,
)
from resolvers.ids import parse_id
from resolvers.people import ensure_user
from resolvers.pricing import Discount, Line, quote
from resolvers.rate_limits import UNLIMITED, Action, Quota
from resolvers.visibility import visible_order

MAX_QUANTITY = 100
MAX_LINES = 50
MAX_METADATA_BYTES = 16_384
NUMBER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud at a box office
NUMBER_LENGTH = 10


@dataclass(frozen=True, slots=True)
class ItemRequest:
    product_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class OrderRequest:
    workspace_id: str
    items: Sequence[ItemRequest]
    voucher_code: str | None = None
    metadata: object = field(default_factory=dict)
    success_url: str | None = None
    failure_url: str | None = None

    def as_fingerprint_input(self) -> dict[str, Any]:
        return {
            "workspace_id": self.workspace_id,
            "items": [[i.product_id, i.quantity] for i in self.items],
            "voucher_code": self.voucher_code,
            "metadata": self.metadata,
            "success_url": self.success_url,
            "failure_url": self.failure_url,
        }


@dataclass(frozen=True, slots=True)
class _PlannedLine:
    product: Product
    quantity: int
    index: int


def new_order_number() -> str:
    return "PQ-" + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(NUMBER_LENGTH))


async def create_order(
    *,
    request: OrderRequest,
    actor: Actor,
    now: datetime,
    idempotency_key: str | None = None,
    quota: Quota = UNLIMITED,
) -> Order:
    """Price ``request`` from the catalog and hold its capacity as a PENDING order.

    A customer's seats count against their seat allowance (``Action.HOLD_SEATS``, cost: the
    seats), so one account cannot hold a whole event again and again; the workspace's staff
    sell at the box office and are not counted.

    :raises InvalidInput: malformed ids, quantities, metadata or URLs.
    :raises NotFound: unknown workspace or product.
    :raises ProductUnavailable: an inactive product, or one whose start time has passed.
    :raises CurrencyMismatch: products (or a fixed voucher) in different currencies.
    :raises VoucherInvalid: unknown, expired or used-up voucher.
    :raises SoldOut: not enough capacity left.
    :raises IdempotencyKeyReused: the key was used with different input.
    :raises RateLimited: the customer put too many seats on hold lately.
    """
    scope = idempotency.scope_for(
        user_id=actor.user_id,
        operation="createOrder",
        key=idempotency_key,
        request=request.as_fingerprint_input(),
    )
    if scope is not None:
        replayed = await idempotency.find_replay(scope, now=now)
        if replayed is not None:
            return await Order.get(id=replayed)

    workspace = await _workspace(request.workspace_id)
    lines = await _plan_lines(workspace, request.items, now=now)
    if not actor.is_staff_of(workspace.id):
        await quota.spend(Action.HOLD_SEATS, cost=sum(line.quantity for line in lines))
    currency = lines[0].product.currency
    voucher = await _voucher(workspace, request.voucher_code, currency=currency, now=now)
    _check_extras(request)
    priced = quote(
        [Line(unit_price=line.product.price, quantity=line.quantity) for line in lines],
        discount=_discount_of(voucher),
        tax_bps=workspace.tax_bps,
        fee_bps=workspace.fee_bps,
    )
    await ensure_user(actor.principal)
    comp = priced.total == 0  # a free product or a 100 % voucher: paid at once, no gateway
    order_id = uuid4()
    events = EventBatch(actor=actor.label())
    try:
        async with in_transaction():
            if scope is not None:
                await idempotency.claim(scope, resource_id=order_id, now=now)
            await _hold(lines)
            if voucher is not None:
                await _use_voucher(voucher)
            order = await Order.create(
                id=order_id,
                number=new_order_number(),
                workspace_id=workspace.id,
                customer_id=actor.user_id,
                voucher_id=voucher.id if voucher else None,
                currency=currency,
                subtotal=priced.subtotal,
                discount=priced.discount,
                tax=priced.tax,
                fee=priced.fee,
                total=priced.total,
                status=OrderStatus.PAID if comp else OrderStatus.PENDING,
                hold_expires_at=None if comp else now + timedelta(minutes=workspace.hold_minutes),
                paid_at=now if comp else None,
                metadata=request.metadata,
                success_url=request.success_url,
                failure_url=request.failure_url,
            )
            await OrderItem.bulk_create(
                [
                    OrderItem(
                        order_id=order.id,
                        product_id=line.product.id,
                        product_name=line.product.name,
                        quantity=line.quantity,
                        unit_price=line.product.price,
                        line_total=line.product.price * line.quantity,
                        currency=currency,
                    )
                    for line in lines
                ]
            )
            await events.record(
                order=order,
                type="order.created",
                to_status=OrderStatus.PENDING,
                data={"total": priced.total, "currency": currency},
            )
            if comp:
                await _complimentary(order, events)
    except IntegrityError:
        if scope is None:
            raise
        # A concurrent request with the same key won the claim; replay its result.
        replayed = await idempotency.find_replay(scope, now=now)
        if replayed is None:
            raise
        return await Order.get(id=replayed)
    await events.publish()
    return order


async def _complimentary(order: Order, events: EventBatch) -> None:
    """The COMP payment of a zero-total order, inside its creating transaction."""
    payment = await Payment.create(
        order_id=order.id,
        workspace_id=order.workspace_id,
        gateway=GatewayName.COMP,
        status=PaymentStatus.SUCCEEDED,
        amount=0,
        currency=order.currency,
        attempt=1,
        succeeded_at=order.paid_at,
    )
    await events.record(
        order=order,
        type="payment.succeeded",
        to_status=PaymentStatus.SUCCEEDED,
        payment_id=payment.id,
        data={"gateway": "COMP", "amount": 0},
    )
    await events.record(
        order=order,
        type="order.paid",
        from_status=OrderStatus.PENDING,
        to_status=OrderStatus.PAID,
        payment_id=payment.id,
    )


async def cancel_order(*, order_id: str, actor: Actor, now: datetime) -> Order:
    """Cancel a PENDING order and release what it held.

    :raises InvalidInput: malformed id.
    :raises NotFound: no such order visible to the actor.
    :raises OrderNotCancellable: the order is no longer PENDING.
    """
    order = await visible_order(actor, parse_id(order_id, field=["input", "orderId"]))
    if order is None:
        raise NotFound("order not found", field=["input", "orderId"])
    events = EventBatch(actor=actor.label())
    async with in_transaction():
        changed = await Order.filter(id=order.id, status=OrderStatus.PENDING).update(
            status=OrderStatus.CANCELLED, cancelled_at=now, updated_at=now
        )
        if not changed:
            raise OrderNotCancellable(
                f"order {order.number} is {order.status} and can no longer be cancelled",
                field=["input", "orderId"],
            )
        await release_holds(order)
        await events.record(
            order=order,
            type="order.cancelled",
            from_status=OrderStatus.PENDING,
            to_status=OrderStatus.CANCELLED,
        )
    await events.publish()
    await order.refresh_from_db()
    return order


async def release_holds(order: Order) -> None:
    """Give back the capacity and voucher use an order held. Call inside its transaction."""
    for product_id, quantity in await OrderItem.filter(order_id=order.id).values_list(
        "product_id", "quantity"
    ):
        await Product.filter(id=product_id).update(held=F("held") - quantity)
    if order.voucher_id is not None:
        await Voucher.filter(id=order.voucher_id, uses__gt=0).update(uses=F("uses") - 1)


workspace_by_id = by_id(Workspace)


async def _workspace(raw_id: str) -> Workspace:
    workspace = await workspace_by_id.first(id=parse_id(raw_id, field=["input", "workspaceId"]))
    if workspace is None:
        raise NotFound("workspace not found", field=["input", "workspaceId"])
    return workspace


async def _plan_lines(
    workspace: Workspace, items: Sequence[ItemRequest], *, now: datetime
) -> list[_PlannedLine]:
    if not items:
        raise InvalidInput("an order needs at least one item", field=["input", "items"])
    if len(items) > MAX_LINES:
        raise InvalidInput(f"at most {MAX_LINES} items per order", field=["input", "items"])
    wanted: dict[UUID, tuple[int, int]] = {}  # product id -> (quantity, first index)
    for index, item in enumerate(items):
        path = ["input", "items", str(index)]
        product_id = parse_id(item.product_id, field=[*path, "productId"])
        quantity = item.quantity + wanted.get(product_id, (0, index))[0]
        if item.quantity <= 0 or quantity > MAX_QUANTITY:
            raise InvalidInput(
                f"quantity must be between 1 and {MAX_QUANTITY}",
                field=[*path, "quantity"],
                code=ErrorCode.INVALID_QUANTITY,
            )
        wanted[product_id] = (quantity, wanted.get(product_id, (0, index))[1])
    products = {
        p.id: p for p in await Product.filter(id__in=list(wanted), workspace_id=workspace.id)
    }
    lines: list[_PlannedLine] = []
    for product_id, (quantity, index) in wanted.items():
        lines.append(_plan_line(products.get(product_id), quantity, index, now=now))
    currencies = {line.product.currency for line in lines}
    if len(currencies) > 1:
        odd = next(line for line in lines if line.product.currency != lines[0].product.currency)
        raise CurrencyMismatch(
            f"all items must be in one currency; found {', '.join(sorted(currencies))}",
            field=["input", "items", str(odd.index), "productId"],
        )
    return lines


def _plan_line(
    product: Product | None, quantity: int, index: int, *, now: datetime
) -> _PlannedLine:
    path = ["input", "items", str(index), "productId"]
    if product is None:
        raise NotFound("product not found in this workspace", field=path)
    if not product.active:
        raise ProductUnavailable(f"{product.name} is not on sale", field=path)
    if product.starts_at is not None and product.starts_at <= now:
        raise ProductUnavailable(f"{product.name} has already started", field=path)
    if product.remaining is not None and product.remaining < quantity:
        raise SoldOut(
            f"only {product.remaining} left of {product.name}",
            field=["input", "items", str(index), "quantity"],
        )
    return _PlannedLine(product=product, quantity=quantity, index=index)


async def _voucher(
    workspace: Workspace, code: str | None, *, currency: str, now: datetime
) -> Voucher | None:
    if code is None or not code.strip():
        return None
    path = ["input", "voucherCode"]
    voucher = await Voucher.get_or_none(workspace_id=workspace.id, code=code.strip().upper())
    if voucher is None or not voucher.active:
        raise VoucherInvalid("unknown voucher code", field=path)
    if (voucher.valid_from and now < voucher.valid_from) or (
        voucher.valid_until and now >= voucher.valid_until
    ):
        raise VoucherInvalid(
            "this voucher is not valid now", field=path, code=ErrorCode.VOUCHER_EXPIRED
        )
    if voucher.max_uses is not None and voucher.uses >= voucher.max_uses:
        raise VoucherInvalid(
            "this voucher has been used up", field=path, code=ErrorCode.VOUCHER_USED_UP
        )
    if voucher.kind is VoucherKind.FIXED and voucher.currency != currency:
        raise CurrencyMismatch(f"this voucher is in {voucher.currency}, not {currency}", field=path)
    return voucher


def _discount_of(voucher: Voucher | None) -> Discount | None:
    if voucher is None:
        return None
    if voucher.kind is VoucherKind.PERCENT:
        return Discount(percent=voucher.percent_off)
    return Discount(amount=voucher.amount_off)


def _check_extras(request: OrderRequest) -> None:
    if not isinstance(request.metadata, dict):
        raise InvalidInput("metadata must be a JSON object", field=["input", "metadata"])
    if len(json.dumps(request.metadata, default=str)) > MAX_METADATA_BYTES:
        raise InvalidInput(
            f"metadata must be at most {MAX_METADATA_BYTES} bytes of JSON",
            field=["input", "metadata"],
        )
    for name, url in (("successUrl", request.success_url), ("failureUrl", request.failure_url)):
        if url is not None and not is_web_url(url):
            raise InvalidInput("must be an absolute http(s) URL", field=["input", name])


def is_web_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and len(url) <= 2048


async def _hold(lines: Sequence[_PlannedLine]) -> None:
    for line in lines:
        held = (
            await Product.filter(id=line.product.id)
            .filter(Q(capacity__isnull=True) | Q(capacity__gte=F("held") + line.quantity))
            .update(held=F("held") + line.quantity)
        )
        if not held:
            raise SoldOut(
                f"{line.product.name} sold out while ordering",
                field=["input", "items", str(line.index), "quantity"],
            )


async def _use_voucher(voucher: Voucher) -> None:
    used = (
        await Voucher.filter(id=voucher.id)
        .filter(Q(max_uses__isnull=True) | Q(max_uses__gt=F("uses")))
        .update(uses=F("uses") + 1)
    )
    if not used:
        raise VoucherInvalid(
            "this voucher has been used up",
            field=["input", "voucherCode"],
            code=ErrorCode.VOUCHER_USED_UP,
        )
