"""Disputes (chargebacks) reported by gateways, tied to the payment and its order.

A dispute is created OPEN (event ``dispute.opened``) and later closed WON, LOST or CLOSED
(``dispute.closed``); an OPEN dispute blocks refunds of its payment. A LOST dispute means
the gateway took the money back: it is recorded on the dispute, and payql does not also
refund it (staff see it in ``order.disputes`` and ``workspaceEvents``).
"""

import logging
from datetime import datetime

from tortoise.transactions import in_transaction

from events.record import EventBatch
from gateways.base import DisputeResult
from models.enums import DisputeStatus
from models.order import Order
from models.payment import Dispute, Payment
from resolvers.payments import PaymentNotFound

logger = logging.getLogger("payql.disputes")


async def apply_dispute(
    *, gateway_name: str, dispute: DisputeResult, actor: str, now: datetime
) -> Dispute:
    """Create or update the dispute a gateway reports; duplicates and late events are no-ops.

    :raises PaymentNotFound: the disputed payment is not known (yet).
    """
    payment = await Payment.get_or_none(gateway=gateway_name, reference=dispute.payment_reference)
    if payment is None:
        raise PaymentNotFound(f"{gateway_name} payment {dispute.payment_reference}")
    target = DisputeStatus(dispute.state.value)
    events = EventBatch(actor=actor)
    async with in_transaction():
        await Payment.filter(id=payment.id).select_for_update().get()
        order = await Order.get(id=payment.order_id)
        row = (
            await Dispute.filter(payment_id=payment.id, gateway_dispute_id=dispute.reference)
            .select_for_update()
            .first()
        )
        if row is None:
            row = await Dispute.create(
                payment_id=payment.id,
                order_id=order.id,
                gateway_dispute_id=dispute.reference,
                amount=dispute.amount,
                currency=dispute.currency.upper(),
                reason=dispute.reason[:64],
                status=target,
            )
            await events.record(
                order=order,
                type="dispute.opened" if target is DisputeStatus.OPEN else "dispute.closed",
                to_status=target,
                payment_id=payment.id,
                data={"dispute_id": str(row.id), "amount": dispute.amount},
            )
        elif row.status is DisputeStatus.OPEN and target is not DisputeStatus.OPEN:
            await Dispute.filter(id=row.id).update(status=target, updated_at=now)
            await events.record(
                order=order,
                type="dispute.closed",
                from_status=DisputeStatus.OPEN,
                to_status=target,
                payment_id=payment.id,
                data={"dispute_id": str(row.id)},
            )
        else:
            logger.info("dispute %s: ignored %s -> %s", row.id, row.status, target)
    await events.publish()
    return await Dispute.get(id=row.id)
