"""Reconciliation: ask the gateway about payments stuck in flight, and apply its answer.

A payment still ``PENDING``, ``REQUIRES_ACTION`` or ``PROCESSING`` whose row has not changed
for ``stale_after`` is looked up with the gateway (``fetch_payment``) and the answer goes
through ``apply_gateway_event`` like any webhook. A payment the gateway still cannot settle
is asked again later and later: after its n-th look-up it waits ``stale_after`` × 2ⁿ⁻¹, at
most ``max_backoff``. Once it is older than ``give_up_after`` reconciliation stops asking,
says so in a WARNING and counts it in :data:`abandoned`
(``payql_reconciliation_abandoned_total``, by gateway): the payment stays in
flight for a person to resolve, since payql never invents an outcome.

Workers claim a look-up with a conditional update of the payment's attempt count (no lock
is held across the network call), so two workers never ask about the same payment in the
same round. A payment without a gateway reference (its creation timed out) cannot be
looked up; hold expiry closes it.

Gateways that promise outcomes later (the sandbox's delayed webhooks) keep those promises
across restarts: :func:`deliver_overdue_outcomes` sends the ones whose process went away.
"""

import logging
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from prometheus_client import Counter
from tortoise.expressions import Q

from gateways.base import GatewayError
from gateways.registry import GatewayRegistry
from models.payment import Payment
from resolvers.payments import IN_FLIGHT, apply_gateway_answer

logger = logging.getLogger("payql.reconcile")

BATCH = 50
MIN_BACKOFF = timedelta(seconds=1)
MAX_BACKOFF = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(days=1)

abandoned = Counter(
    "payql_reconciliation_abandoned",
    "Payments reconciliation gave up on (left in flight for a person).",
    ["gateway"],
)


@runtime_checkable
class KeepsPromises(Protocol):
    """A gateway that stores the outcomes it promised to send later."""

    async def deliver_overdue(self, *, now: datetime, older_than: timedelta) -> int:
        """Send the promised outcomes due more than ``older_than`` ago and still unsent."""


def backoff(attempts: int, *, stale_after: timedelta, cap: timedelta) -> timedelta:
    """The wait after a payment's ``attempts``-th look-up: doubling from ``stale_after``."""
    base = max(stale_after, MIN_BACKOFF)
    doublings = min(max(attempts - 1, 0), 30)
    return min(base * (1 << doublings), cap)


async def reconcile_payments(
    *,
    gateways: GatewayRegistry,
    now: datetime,
    stale_after: timedelta,
    max_backoff: timedelta = MAX_BACKOFF,
    give_up_after: timedelta = GIVE_UP_AFTER,
    limit: int = BATCH,
) -> int:
    """One round; returns how many payments were looked up."""
    candidates = (
        await Payment.filter(
            status__in=IN_FLIGHT,
            updated_at__lte=now - stale_after,
            reference__isnull=False,
            reconcile_gave_up_at__isnull=True,
        )
        .filter(Q(reconcile_next_at__isnull=True) | Q(reconcile_next_at__lte=now))
        .order_by("updated_at")
        .limit(limit)
    )
    asked = 0
    for payment in candidates:
        gateway = gateways.get(payment.gateway)
        if gateway is None or not payment.reference:
            continue
        if payment.created_at <= now - give_up_after:
            await _give_up(payment, now)
            continue
        wait = backoff(payment.reconcile_attempts + 1, stale_after=stale_after, cap=max_backoff)
        if not await _claim(payment, next_at=now + wait):
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


async def _claim(payment: Payment, *, next_at: datetime) -> bool:
    claimed = await Payment.filter(
        id=payment.id, status__in=IN_FLIGHT, reconcile_attempts=payment.reconcile_attempts
    ).update(reconcile_attempts=payment.reconcile_attempts + 1, reconcile_next_at=next_at)
    return bool(claimed)


async def _give_up(payment: Payment, now: datetime) -> None:
    claimed = await Payment.filter(id=payment.id, reconcile_gave_up_at__isnull=True).update(
        reconcile_gave_up_at=now
    )
    if not claimed:
        return  # another worker gave up on it first
    abandoned.labels(str(payment.gateway)).inc()
    logger.warning(
        "payment %s (%s) still %s since %s after %d look-ups: reconciliation gave up; "
        "resolve it with the gateway by hand",
        payment.id,
        payment.gateway,
        payment.status,
        payment.created_at.isoformat(),
        payment.reconcile_attempts,
    )


async def deliver_overdue_outcomes(
    *, gateways: GatewayRegistry, now: datetime, older_than: timedelta
) -> int:
    """Have every gateway that keeps promised outcomes send those left unsent."""
    sent = 0
    for name in gateways.names():
        gateway = gateways.get(name)
        if isinstance(gateway, KeepsPromises):
            sent += await gateway.deliver_overdue(now=now, older_than=older_than)
    return sent
