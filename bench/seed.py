"""Bench data on top of the demo workspace (``payql migrate`` + ``payql seed`` run first).

- ``buyer@example.com`` gets ``READ_ORDERS`` paid orders, each with an item, a succeeded
  payment and a succeeded partial refund: what ``order(id)`` and ``orders(first:)`` read.
- A ``Bench Unlimited`` product with no capacity limit: what the write path buys.
- ``webhooks@example.com`` gets PENDING orders, each with a PROCESSING sandbox payment
  waiting for its ``payment.succeeded`` webhook: what webhook ingestion and fan-out send.

Rows are written with bulk inserts through the models (no GraphQL: seeding is not timed).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from models import Order, OrderItem, Payment, Product, Refund, User, Workspace
from models.enums import OrderStatus, PaymentStatus, RefundReason, RefundStatus
from models.workspace import user_id_for_email
from resolvers.orders import new_order_number

BUYER = "buyer@example.com"
STAFF = "staff@example.com"
WRITER = "writer@example.com"
WEBHOOK_CUSTOMER = "webhooks@example.com"
READ_ORDERS = 200
PRICE = 1500
REFUNDED = 100


@dataclass(frozen=True)
class BenchData:
    workspace_id: str
    product_id: str
    read_order_ids: list[str]
    # [payment id, gateway reference, amount, currency] per PROCESSING payment
    waiting_payments: list[list[Any]]


async def _user(email: str) -> User:
    user, _ = await User.get_or_create(id=user_id_for_email(email), defaults={"email": email})
    return user


def _order(workspace: Workspace, customer: User, status: OrderStatus, now: datetime) -> Order:
    return Order(
        number=new_order_number(),
        workspace_id=workspace.id,
        customer_id=customer.id,
        currency="USD",
        subtotal=PRICE,
        total=PRICE,
        amount_paid=PRICE if status is not OrderStatus.PENDING else 0,
        amount_refunded=REFUNDED if status is OrderStatus.PARTIALLY_REFUNDED else 0,
        status=status,
        hold_expires_at=now + timedelta(days=1) if status is OrderStatus.PENDING else None,
        paid_at=now if status is not OrderStatus.PENDING else None,
        metadata={},
        created_at=now,
        updated_at=now,
    )


async def seed_bench(*, waiting: int, now: datetime | None = None) -> BenchData:
    """Write the bench rows; ``waiting`` PROCESSING payments for webhooks."""
    now = now or datetime.now(UTC)
    workspace = await Workspace.get(slug="demo")
    product = await Product.create(
        workspace_id=workspace.id, name="Bench Unlimited", price=PRICE, currency="USD"
    )
    buyer, webhook_customer = await _user(BUYER), await _user(WEBHOOK_CUSTOMER)
    await _user(WRITER)

    # Distinct creation times, newest first in `orders`, as real orders would have.
    reads = [
        _order(workspace, buyer, OrderStatus.PARTIALLY_REFUNDED, now - timedelta(seconds=n))
        for n in range(READ_ORDERS)
    ]
    await Order.bulk_create(reads)
    await OrderItem.bulk_create([_item(order, product) for order in reads])
    paid = [_payment(order, PaymentStatus.SUCCEEDED) for order in reads]
    await Payment.bulk_create(paid)
    await Refund.bulk_create(
        [
            Refund(
                payment_id=payment.id,
                order_id=payment.order_id,
                amount=REFUNDED,
                currency="USD",
                status=RefundStatus.SUCCEEDED,
                reason=RefundReason.REQUESTED_BY_CUSTOMER,
            )
            for payment in paid
        ]
    )

    pending = [
        _order(workspace, webhook_customer, OrderStatus.PENDING, now) for _ in range(waiting)
    ]
    await Order.bulk_create(pending, batch_size=1000)
    await OrderItem.bulk_create([_item(order, product) for order in pending], batch_size=1000)
    processing = [_payment(order, PaymentStatus.PROCESSING) for order in pending]
    await Payment.bulk_create(processing, batch_size=1000)
    return BenchData(
        workspace_id=str(workspace.id),
        product_id=str(product.id),
        read_order_ids=[str(order.id) for order in reads],
        waiting_payments=[[str(p.id), p.reference, p.amount, p.currency] for p in processing],
    )


def _item(order: Order, product: Product) -> OrderItem:
    return OrderItem(
        order_id=order.id,
        product_id=product.id,
        product_name=product.name,
        quantity=1,
        unit_price=PRICE,
        line_total=PRICE,
        currency="USD",
    )


def _payment(order: Order, status: PaymentStatus) -> Payment:
    payment = Payment(
        order_id=order.id,
        workspace_id=order.workspace_id,
        gateway="SANDBOX",
        status=status,
        amount=order.total,
        currency=order.currency,
        amount_refunded=REFUNDED if status is PaymentStatus.SUCCEEDED else 0,
        attempt=1,
    )
    payment.reference = f"sbx_{payment.id}"
    return payment
