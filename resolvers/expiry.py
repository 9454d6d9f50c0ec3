"""Hold expiry: PENDING orders past ``hold_expires_at`` become EXPIRED, once.

Rows are claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` (PostgreSQL), so workers running
the job at the same moment take different orders; the status change is also a conditional
UPDATE (``WHERE status = 'PENDING'``), so even overlapping claims expire an order once.
After commit, each expired order's in-flight gateway payment is cancelled at the gateway
(outside any lock). A payment that cannot be cancelled any more (already decided) is left
to its webhook: a late success then pays the order again or is refunded automatically.
"""

import logging
from datetime import datetime
from uuid import UUID

from tortoise.transactions import in_transaction

from events.record import EventBatch
from gateways.base import GatewayError
from gateways.registry import GatewayRegistry
from models.enums import OrderStatus
from models.order import Order
from models.payment import Payment
from resolvers.orders import release_holds
from resolvers.payments import IN_FLIGHT, apply_gateway_answer

logger = logging.getLogger("payql.expiry")

BATCH = 100


async def expire_holds(*, gateways: GatewayRegistry, now: datetime, limit: int = BATCH) -> int:
    """Expire up to ``limit`` overdue PENDING orders; returns how many this call expired."""
    events = EventBatch(actor="system:expiry")
    expired: list[UUID] = []
    async with in_transaction():
        claimed = (
            await Order.filter(status=OrderStatus.PENDING, hold_expires_at__lte=now)
            .order_by("hold_expires_at")
            .limit(limit)
            .select_for_update(skip_locked=True)
        )
        for order in claimed:
            changed = await Order.filter(id=order.id, status=OrderStatus.PENDING).update(
                status=OrderStatus.EXPIRED, expired_at=now, updated_at=now
            )
            if not changed:
                continue
            await release_holds(order)
            await events.record(
                order=order,
                type="order.expired",
                from_status=OrderStatus.PENDING,
                to_status=OrderStatus.EXPIRED,
            )
            expired.append(order.id)
    await events.publish()
    for order_id in expired:
        await _cancel_in_flight(order_id, gateways, now)
    return len(expired)


async def _cancel_in_flight(order_id: UUID, gateways: GatewayRegistry, now: datetime) -> None:
    for payment in await Payment.filter(order_id=order_id, status__in=IN_FLIGHT):
        gateway = gateways.get(payment.gateway)
        if gateway is None or not payment.reference:
            continue  # never sent, or its answer is pending: its outcome will be applied
        try:
            result = await gateway.cancel_payment(payment.reference)
        except GatewayError as exc:
            logger.info("payment %s not cancelled at %s: %s", payment.id, gateway.name, exc.code)
            continue
        await apply_gateway_answer(
            gateway, result, payment_id=payment.id, now=now, actor="system:expiry"
        )
