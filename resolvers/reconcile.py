"""Reconciliation: ask the gateway about payments stuck in flight, and apply its answer.

A payment still ``PENDING``, ``REQUIRES_ACTION`` or ``PROCESSING`` whose row has not changed
for ``stale_after`` is looked up with the gateway (``fetch_payment``) and the answer goes
through ``apply_gateway_event`` like any webhook. Workers claim a payment with a
conditional update of ``updated_at`` (no lock is held across the network call), so two
workers never ask about the same payment in the same round. A payment without a gateway
reference (its creation timed out) cannot be looked up; hold expiry closes it.
"""

import logging
from datetime import datetime, timedelta

from gateways.base import GatewayError
from gateways.registry import GatewayRegistry
from models.payment import Payment
from resolvers.payments import IN_FLIGHT, apply_gateway_answer

logger = logging.getLogger("payql.reconcile")

BATCH = 50


async def reconcile_payments(
    *, gateways: GatewayRegistry, now: datetime, stale_after: timedelta, limit: int = BATCH
) -> int:
    """One round; returns how many payments were looked up."""
    candidates = (
        await Payment.filter(
            status__in=IN_FLIGHT, updated_at__lte=now - stale_after, reference__isnull=False
        )
        .order_by("updated_at")
        .limit(limit)
    )
    asked = 0
    for payment in candidates:
        gateway = gateways.get(payment.gateway)
        if gateway is None or not payment.reference:
            continue
        claimed = await Payment.filter(id=payment.id, updated_at=payment.updated_at).update(
            updated_at=now
        )
        if not claimed:
            continue  # another worker took it, or it changed meanwhile
        asked += 1
        try:
            result = await gateway.fetch_payment(payment.reference)
        except GatewayError as exc:
            logger.info("payment %s: gateway could not say (%s)", payment.id, exc.code)
            continue
        await apply_gateway_answer(
            gateway,
            result,
            payment_id=payment.id,
            now=now,
            actor=f"reconciliation:{gateway.name.lower()}",
        )
    return asked
