"""Refunds: reserve under a row lock, call the gateway outside it, settle from its answer.

Per payment, always: ``amount_refunded`` (settled) + ``refund_reserved`` (PENDING refunds)
≤ ``amount``. A refund is reserved in the transaction that holds the payment's row lock
(``SELECT … FOR UPDATE``), so concurrent requests cannot both take the last of the balance;
the gateway is called afterwards, with no lock held, under the idempotency key
``payql-refund-<refund id>``. A refusal releases the reservation (``FAILED``); an unknown
outcome keeps it (``PENDING``) until a webhook or the refund job settles it.

Lock order everywhere: payment → refund → order.
"""

import logging
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from events.record import EventBatch
from gateways.base import (
    Gateway,
    GatewayBadRequest,
    GatewayDeclined,
    GatewayNotSupported,
    GatewayOutcomeUnknown,
    RefundRequest,
    RefundResult,
    RefundState,
)
from gateways.registry import GatewayRegistry
from models.catalog import Product
from models.enums import (
    DisputeStatus,
    GatewayName,
    OrderStatus,
    PaymentStatus,
    RefundReason,
    RefundStatus,
)
from models.money import formatted
from models.order import Order, OrderItem
from models.payment import Dispute, Payment, Refund
from models.workspace import Workspace
from resolvers import idempotency
from resolvers.actor import Actor
from resolvers.errors import (
    DisputeOpen,
    GatewayNotEnabled,
    InvalidInput,
    NotFound,
    PaymentNotRefundable,
    RefundExceedsBalance,
    RefundNotAllowed,
)
from resolvers.ids import parse_id
from resolvers.orders import release_holds
from resolvers.people import ensure_user
from resolvers.rate_limits import UNLIMITED, Action, Quota
from resolvers.visibility import visible_payment

logger = logging.getLogger("payql.refunds")

NO_GATEWAY = (GatewayName.MANUAL, GatewayName.COMP)
STUCK_AFTER = timedelta(seconds=30)


class RefundNotFound(LookupError):
    """A gateway outcome for a refund payql does not have (yet)."""


async def request_refund(
    *,
    payment_id: str,
    amount: int | None,
    reason: RefundReason,
    description: str,
    actor: Actor,
    now: datetime,
    gateways: GatewayRegistry,
    idempotency_key: str | None = None,
    quota: Quota = UNLIMITED,
) -> Refund:
    """Refund ``amount`` of a payment (all that is left when None).

    Policy: workspace staff (and admins) at any time; the order's customer until the
    earliest product's ``starts_at``, unless the workspace turned customer refunds off.
    Manual payments are refunded by staff only, without a gateway.

    :raises InvalidInput: malformed id, amount ≤ 0, description too long.
    :raises NotFound: no such payment visible to the actor.
    :raises RefundNotAllowed: the policy refuses this actor now.
    :raises PaymentNotRefundable: the payment has not succeeded.
    :raises DisputeOpen: a chargeback is open on the payment.
    :raises RefundExceedsBalance: more than what is left to refund.
    :raises IdempotencyKeyReused: the key was used with different input.
    :raises RateLimited: the actor requested too many refunds lately.
    """
    await quota.spend(Action.REQUEST_REFUND)
    scope = idempotency.scope_for(
        user_id=actor.user_id,
        operation="requestRefund",
        key=idempotency_key,
        request={
            "payment_id": payment_id,
            "amount": amount,
            "reason": reason.value,
            "description": description,
        },
    )
    if scope is not None and (replayed := await idempotency.find_replay(scope, now=now)):
        return await Refund.get(id=replayed)
    field = ["input", "paymentId"]
    payment = await visible_payment(actor, parse_id(payment_id, field=field))
    if payment is None:
        raise NotFound("payment not found", field=field)
    _validate(amount, description)
    order = await Order.get(id=payment.order_id)
    await _check_policy(actor, order, payment, now)
    gateway = _gateway_for(payment, gateways)
    await ensure_user(actor.principal)
    events = EventBatch(actor=actor.label())
    try:
        async with in_transaction():
            locked = await Payment.filter(id=payment.id).select_for_update().get()
            await check_refundable(locked)
            value = _amount_to_refund(locked, amount)
            refund_id = uuid4()
            if scope is not None:
                await idempotency.claim(scope, resource_id=refund_id, now=now)
            refund = await reserve_refund(
                locked,
                order,
                amount=value,
                reason=reason,
                description=description,
                requested_by=actor.user_id,
                events=events,
                refund_id=refund_id,
            )
    except IntegrityError:
        if scope is not None and (replayed := await idempotency.find_replay(scope, now=now)):
            return await Refund.get(id=replayed)
        raise
    await events.publish()
    if gateway is None:  # manual or comp: staff returned the money themselves
        result = RefundResult(state=RefundState.SUCCEEDED, reference="", refund_id=str(refund.id))
        await apply_refund_outcome(
            gateway_name=payment.gateway.value,
            result=result,
            refund_id=refund.id,
            actor=actor.label(),
            now=now,
        )
    else:
        await submit_refund(gateway, refund, now=now)
    return await Refund.get(id=refund.id)


def _validate(amount: int | None, description: str) -> None:
    if amount is not None and amount <= 0:
        raise InvalidInput("must be greater than zero", field=["input", "amount"])
    if len(description) > 2000:
        raise InvalidInput("at most 2000 characters", field=["input", "description"])


def _gateway_for(payment: Payment, gateways: GatewayRegistry) -> Gateway | None:
    """The gateway to refund through; None for manual and comp payments."""
    if payment.gateway in NO_GATEWAY:
        return None
    gateway = gateways.get(payment.gateway)
    if gateway is None:
        raise GatewayNotEnabled(
            f"{payment.gateway} is not configured on this server", field=["input", "paymentId"]
        )
    return gateway


async def check_refundable(payment: Payment) -> None:
    """Call with the payment row locked."""
    field = ["input", "paymentId"]
    if payment.status is not PaymentStatus.SUCCEEDED:
        raise PaymentNotRefundable(f"the payment is {payment.status}", field=field)
    if await Dispute.filter(payment_id=payment.id, status=DisputeStatus.OPEN).exists():
        raise DisputeOpen("a dispute is open on this payment", field=field)


def _amount_to_refund(payment: Payment, amount: int | None) -> int:
    remaining = payment.amount - payment.amount_refunded - payment.refund_reserved
    value = remaining if amount is None else amount
    if value <= 0 or value > remaining:
        raise RefundExceedsBalance(
            f"{formatted(max(remaining, 0), payment.currency)} is left to refund",
            field=["input", "amount"],
        )
    return value


async def reserve_refund(
    payment: Payment,
    order: Order,
    *,
    amount: int,
    reason: RefundReason,
    description: str,
    requested_by: UUID | None,
    events: EventBatch,
    refund_id: UUID | None = None,
) -> Refund:
    """Reserve ``amount`` and create the PENDING refund. Call with the payment row locked."""
    await Payment.filter(id=payment.id).update(refund_reserved=F("refund_reserved") + amount)
    refund = await Refund.create(
        id=refund_id or uuid4(),
        payment_id=payment.id,
        order_id=order.id,
        amount=amount,
        currency=payment.currency,
        reason=reason,
        description=description,
        status=RefundStatus.PENDING,
        requested_by_id=requested_by,
    )
    await events.record(
        order=order,
        type="refund.requested",
        to_status=RefundStatus.PENDING,
        payment_id=payment.id,
        refund_id=refund.id,
        data={"amount": amount, "reason": reason.value},
        gateway=payment.gateway,
    )
    return refund


async def submit_refund(gateway: Gateway, refund: Refund, *, now: datetime) -> None:
    """Ask the gateway to refund (no lock held) and apply its synchronous answer."""
    payment = await Payment.get(id=refund.payment_id)
    request = RefundRequest(
        refund_id=str(refund.id),
        payment_reference=payment.reference or "",
        amount=refund.amount,
        currency=refund.currency,
        idempotency_key=f"payql-refund-{refund.id}",
        reason=refund.reason.value,
    )
    try:
        result = await gateway.create_refund(request)
    except (GatewayDeclined, GatewayBadRequest, GatewayNotSupported) as exc:
        result = RefundResult(
            state=RefundState.FAILED, reference="", refund_id=str(refund.id), failure_code=exc.code
        )
    except GatewayOutcomeUnknown:
        logger.warning("refund %s: outcome unknown; it stays PENDING", refund.id)
        return
    await apply_refund_outcome(
        gateway_name=gateway.name,
        result=result,
        refund_id=refund.id,
        actor=f"gateway:{gateway.name.lower()}",
        now=now,
    )


async def apply_refund_outcome(
    *,
    gateway_name: str,
    result: RefundResult,
    refund_id: UUID | None,
    actor: str,
    now: datetime,
) -> Refund:
    """Settle a PENDING refund from the gateway's word (answer, webhook or reconciliation).

    :raises RefundNotFound: no refund matches (yet); the caller keeps the event to retry.
    """
    found = await _find_refund(gateway_name, refund_id, result.reference)
    events = EventBatch(actor=actor)
    async with in_transaction():
        await Payment.filter(id=found.payment_id).select_for_update().get()
        refund = await Refund.filter(id=found.id).select_for_update().get()
        updates: dict[str, Any] = {}
        if result.reference and not refund.gateway_refund_id:
            updates["gateway_refund_id"] = result.reference
        target = RefundStatus(result.state.value)
        if refund.status is RefundStatus.PENDING and target is not RefundStatus.PENDING:
            updates.update(status=target, failure_code=result.failure_code)
            await _settle(refund, target, events, now)
        elif target is not refund.status:
            logger.info("refund %s: ignored %s -> %s", refund.id, refund.status, target)
        if updates:
            await Refund.filter(id=refund.id).update(**updates, updated_at=now)
    await events.publish()
    return await Refund.get(id=found.id)


async def _settle(refund: Refund, target: RefundStatus, events: EventBatch, now: datetime) -> None:
    """Move the reservation: to refunded on success, back to the balance on failure."""
    order = await Order.filter(id=refund.order_id).select_for_update().get()
    if target is RefundStatus.FAILED:
        await Payment.filter(id=refund.payment_id).update(
            refund_reserved=F("refund_reserved") - refund.amount
        )
        await events.record(
            order=order,
            type="refund.failed",
            from_status=RefundStatus.PENDING,
            to_status=RefundStatus.FAILED,
            payment_id=refund.payment_id,
            refund_id=refund.id,
        )
        return
    await Payment.filter(id=refund.payment_id).update(
        refund_reserved=F("refund_reserved") - refund.amount,
        amount_refunded=F("amount_refunded") + refund.amount,
    )
    await events.record(
        order=order,
        type="refund.succeeded",
        from_status=RefundStatus.PENDING,
        to_status=RefundStatus.SUCCEEDED,
        payment_id=refund.payment_id,
        refund_id=refund.id,
        data={"amount": refund.amount},
    )
    refunded = order.amount_refunded + refund.amount
    updates: dict[str, Any] = {"amount_refunded": refunded, "updated_at": now}
    if order.status in (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED):
        status = status_after_refunds(order, refunded)
        if status is not order.status:
            updates["status"] = status
            await events.record(
                order=order,
                type=f"order.{status.value.lower()}",
                from_status=order.status,
                to_status=status,
                payment_id=refund.payment_id,
                refund_id=refund.id,
            )
            if status is OrderStatus.REFUNDED:
                await release_holds(order)  # the seats go back on sale
    await Order.filter(id=order.id).update(**updates)


def status_after_refunds(order: Order, refunded: int) -> OrderStatus:
    """A paid order's status once ``refunded`` has gone back: REFUNDED when everything
    collected is returned, PARTIALLY_REFUNDED when what is kept no longer covers the total,
    else still PAID (e.g. only an overpayment was returned)."""
    if refunded >= order.amount_paid:
        return OrderStatus.REFUNDED
    if order.amount_paid - refunded < order.total:
        return OrderStatus.PARTIALLY_REFUNDED
    return OrderStatus.PAID


async def submit_stuck_refunds(*, gateways: GatewayRegistry, now: datetime) -> int:
    """Resubmit PENDING refunds the gateway never acknowledged (a crash, a timeout): the
    idempotency key makes a resubmission safe. Returns how many were resubmitted."""
    stuck = await Refund.filter(
        status=RefundStatus.PENDING,
        gateway_refund_id__isnull=True,
        created_at__lte=now - STUCK_AFTER,
    ).limit(100)
    done = 0
    for refund in stuck:
        payment = await Payment.get(id=refund.payment_id)
        gateway = gateways.get(payment.gateway)
        if gateway is None:
            continue
        await submit_refund(gateway, refund, now=now)
        done += 1
    return done


async def _check_policy(actor: Actor, order: Order, payment: Payment, now: datetime) -> None:
    if actor.is_staff_of(order.workspace_id):
        return
    field = ["input", "paymentId"]
    if payment.gateway in NO_GATEWAY:
        raise RefundNotAllowed("manual payments are refunded by workspace staff", field=field)
    workspace = await Workspace.get(id=order.workspace_id)
    if not workspace.customer_refunds_allowed:
        raise RefundNotAllowed("this workspace does not accept refund requests", field=field)
    product_ids = await OrderItem.filter(order_id=order.id).values_list("product_id", flat=True)
    starts: list[datetime] = [
        product.starts_at
        for product in await Product.filter(id__in=list(product_ids))
        if product.starts_at is not None
    ]
    if starts and now >= min(starts):
        raise RefundNotAllowed("refunds close when the event starts", field=field)


async def _find_refund(gateway_name: str, refund_id: UUID | None, reference: str) -> Refund:
    refund = None
    if refund_id is not None:
        refund = await Refund.get_or_none(id=refund_id, payment__gateway=gateway_name)
    if refund is None and reference:
        refund = await Refund.get_or_none(
            gateway_refund_id=reference, payment__gateway=gateway_name
        )
    if refund is None:
        raise RefundNotFound(f"{gateway_name} refund {refund_id or reference}")
    return refund
