"""Use cases: initiate and confirm payments, and apply every gateway outcome.

``apply_gateway_event`` is the one place a payment's status changes on a gateway's word:
webhooks, ``confirmPayment`` and reconciliation all call it. It locks the payment row,
moves it only along ``PAYMENT_TRANSITIONS`` (a late or duplicate outcome never moves it
backwards), credits the order, and writes the history and outbox rows in the same
transaction. Gateways are always called outside any transaction or row lock, with an
idempotency key derived from the payment id, so a retry can never charge twice.
"""

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from events.record import EventBatch, OrderRef
from gateways.base import (
    Gateway,
    GatewayBadRequest,
    GatewayDeclined,
    GatewayError,
    GatewayOutcomeUnknown,
    GatewayState,
    PaymentRequest,
    PaymentResult,
)
from gateways.registry import NO_GATEWAY, GatewayRegistry
from models.catalog import Product
from models.enums import OrderStatus, PaymentStatus, RefundReason
from models.order import Order, OrderItem
from models.payment import Payment, Refund
from models.prepared import PreparedQuery, by_id
from models.states import can_transition
from resolvers import idempotency
from resolvers.actor import Actor
from resolvers.errors import (
    GatewayNotEnabled,
    InvalidInput,
    NotFound,
    OrderNotPayable,
    PaymentMethodInvalid,
)
from resolvers.ids import parse_id
from resolvers.orders import is_web_url, workspace_by_id
from resolvers.rate_limits import UNLIMITED, Action, Quota
from resolvers.refunds import reserve_refund, submit_refund
from resolvers.visibility import visible_order, visible_payment

logger = logging.getLogger("payql.payments")

IN_FLIGHT = (PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION, PaymentStatus.PROCESSING)
TERMINAL = (PaymentStatus.SUCCEEDED, PaymentStatus.FAILED, PaymentStatus.CANCELLED)


class PaymentNotFound(LookupError):
    """A gateway outcome for a payment payql does not have (yet)."""


@dataclass(frozen=True, slots=True)
class PaymentAttempt:
    """What initiatePayment asks of the gateway."""

    order_id: str
    gateway: str
    payment_method_token: str | None = None
    return_url: str | None = None


async def initiate_payment(
    *,
    attempt: PaymentAttempt,
    actor: Actor,
    now: datetime,
    gateways: GatewayRegistry,
    idempotency_key: str | None = None,
    quota: Quota = UNLIMITED,
) -> Payment:
    """Start collecting an order's balance through a gateway (or return the one in flight).

    :raises InvalidInput: malformed ids or return URL.
    :raises NotFound: no such order visible to the actor.
    :raises OrderNotPayable: the order is paid, cancelled, expired, past its hold or free.
    :raises GatewayNotEnabled: the gateway is not configured or not enabled by the workspace.
    :raises PaymentMethodInvalid: the gateway does not accept the token.
    :raises IdempotencyKeyReused: the key was used with different input.
    :raises RateLimited: the actor started too many payments lately.
    """
    await quota.spend(Action.INITIATE_PAYMENT)
    scope = idempotency.scope_for(
        user_id=actor.user_id,
        operation="initiatePayment",
        key=idempotency_key,
        request={
            "order_id": attempt.order_id,
            "gateway": attempt.gateway,
            "token": attempt.payment_method_token,
            "return_url": attempt.return_url,
        },
    )
    if scope is not None and (replayed := await idempotency.find_replay(scope, now=now)):
        return await Payment.get(id=replayed)
    order = await visible_order(actor, parse_id(attempt.order_id, field=["input", "orderId"]))
    if order is None:
        raise NotFound("order not found", field=["input", "orderId"])
    check_payable(order, now)
    gateway = await _gateway_for(order, attempt.gateway, gateways)
    if attempt.return_url is not None and not is_web_url(attempt.return_url):
        raise InvalidInput("must be an absolute http(s) URL", field=["input", "returnUrl"])
    payment_id = uuid4()
    request = PaymentRequest(
        payment_id=str(payment_id),
        order_number=order.number,
        amount=order.balance_due,
        currency=order.currency,
        idempotency_key=f"payql-payment-{payment_id}",
        payment_method_token=attempt.payment_method_token,
        return_url=attempt.return_url or order.success_url,
        description=f"Order {order.number}",
    )
    try:
        gateway.check_request(request)
    except GatewayBadRequest as exc:
        raise PaymentMethodInvalid(str(exc), field=["input", "paymentMethodToken"]) from None
    payment, charge = await _create_attempt(order, gateway, request, scope, actor, now)
    if charge is None:
        return payment  # never charge twice for one order at once
    return await _call_gateway(gateway, payment, charge, now)


async def confirm_payment(
    *,
    payment_id: str,
    actor: Actor,
    now: datetime,
    gateways: GatewayRegistry,
    idempotency_key: str | None = None,
    quota: Quota = UNLIMITED,
) -> Payment:
    """Ask the gateway where a payment stands and apply it (after 3-D Secure or a redirect).

    The client's word is never taken: only the gateway's answer changes anything.

    :raises InvalidInput: malformed id.  :raises NotFound: not visible to the actor.
    :raises IdempotencyKeyReused: the key was used with different input.
    :raises RateLimited: the actor asked too often lately.
    """
    await quota.spend(Action.CONFIRM_PAYMENT)
    scope = idempotency.scope_for(
        user_id=actor.user_id,
        operation="confirmPayment",
        key=idempotency_key,
        request={"payment_id": payment_id},
    )
    if scope is not None:
        await idempotency.find_replay(scope, now=now)  # raises on reuse with other input
    payment = await visible_payment(actor, parse_id(payment_id, field=["input", "paymentId"]))
    if payment is None:
        raise NotFound("payment not found", field=["input", "paymentId"])
    gateway = gateways.get(payment.gateway)
    if payment.status in TERMINAL or not payment.reference or gateway is None:
        return payment
    try:
        result = await gateway.fetch_payment(payment.reference)
    except GatewayOutcomeUnknown:
        return payment  # unknown is not failed: nothing changes
    return await apply_gateway_answer(gateway, result, payment_id=payment.id, now=now)


async def apply_gateway_answer(
    gateway: Gateway, result: PaymentResult, *, payment_id: UUID, now: datetime, actor: str = ""
) -> Payment:
    """:func:`apply_gateway_event` for what payql itself asked ``gateway`` about a payment
    it knows (a create, a confirm, a return, reconciliation); the actor defaults to
    ``gateway:<name>``."""
    return await apply_gateway_event(
        gateway_name=gateway.name,
        result=result,
        payment_id=payment_id,
        actor=actor or f"gateway:{gateway.name.lower()}",
        now=now,
        gateway=gateway,
    )


async def apply_gateway_event(
    *,
    gateway_name: str,
    result: PaymentResult,
    payment_id: UUID | None,
    actor: str,
    now: datetime,
    gateway: Gateway | None = None,
) -> Payment:
    """Apply a gateway's view of a payment: the one way a payment changes on its word.

    A success on an order that was cancelled or expired meanwhile pays the order if its
    seats can be held again, and is otherwise refunded automatically (``ORDER_EXPIRED``)
    through ``gateway`` (or, without one, by the refund job).

    :raises PaymentNotFound: no payment matches (yet); the caller keeps the event to retry.
    """
    events = EventBatch(actor=actor)
    refund: Refund | None = None
    failed_now = False
    async with in_transaction():
        payment = await _locked_payment(gateway_name, payment_id, result.reference)
        if payment.reference and result.reference and payment.reference != result.reference:
            logger.warning("payment %s: ignoring outcome for reference mismatch", payment.id)
            return payment
        updates = _details(payment, result)
        target = _checked_target(payment, result)
        if target != payment.status and can_transition(payment.status, target):
            updates.update(_status_fields(payment, target, result, now))
            # Only a success changes the order, so only a success reads and locks it.
            order: Order | OrderRef = (
                await _order_locked.get(id=payment.order_id)
                if target is PaymentStatus.SUCCEEDED
                else OrderRef(id=payment.order_id, workspace_id=payment.workspace_id)
            )
            await events.record(
                order=order,
                type=f"payment.{target.value.lower()}",
                from_status=payment.status,
                to_status=target,
                payment_id=payment.id,
                data={"failure_code": updates.get("failure_code")}
                if target is PaymentStatus.FAILED
                else {},
                gateway=payment.gateway,
            )
            if isinstance(order, Order):
                refund = await credit_order(order, payment, events, now)
            failed_now = target is PaymentStatus.FAILED
        else:
            _log_ignored(payment, target)
        if updates:
            updates["updated_at"] = now
            await Payment.filter(id=payment.id).update(**updates)
    await events.publish()
    if refund is not None:
        # Reserving the refund changed the row (and submitting it may change it again).
        if gateway is not None:
            await submit_refund(gateway, refund, now=now)
        payment = await Payment.get(id=payment.id)
    else:
        for name, value in updates.items():  # the row as just written, without reading it
            setattr(payment, name, value)
    if failed_now and gateway is not None and payment.reference:
        await _close_at_gateway(gateway, payment.reference)
    return payment


def _log_ignored(payment: Payment, target: PaymentStatus) -> None:
    if target is PaymentStatus.SUCCEEDED and payment.status is not PaymentStatus.SUCCEEDED:
        # The gateway took money for an attempt payql already closed (a late capture
        # after a failure). Not credited automatically: loud, for a person to refund.
        logger.error(
            "payment %s: gateway reports SUCCEEDED after %s; check and refund by hand",
            payment.id,
            payment.status,
        )
    elif target != payment.status:
        logger.info(
            "payment %s: ignored %s -> %s (late or out of order)",
            payment.id,
            payment.status,
            target,
        )


async def _close_at_gateway(gateway: Gateway, reference: str) -> None:
    """A FAILED attempt is final in payql, so close it at the gateway too: a Stripe intent
    left in ``requires_payment_method`` could otherwise still be confirmed and take money
    payql would not count. Best effort: a gateway that already closed it says so."""
    try:
        await gateway.cancel_payment(reference)
    except GatewayError as exc:
        logger.info(
            "%s payment %s not cancelled after failure: %s", gateway.name, reference, exc.code
        )


def check_payable(order: Order, now: datetime) -> None:
    field = ["input", "orderId"]
    if order.status is not OrderStatus.PENDING:
        raise OrderNotPayable(f"order {order.number} is {order.status}", field=field)
    if order.hold_expires_at is not None and order.hold_expires_at <= now:
        raise OrderNotPayable(f"the hold on order {order.number} has expired", field=field)
    if order.balance_due <= 0:
        raise OrderNotPayable(f"order {order.number} has nothing left to pay", field=field)


_order_locked = by_id(Order, for_update=True)
_payment_locked = by_id(Payment, for_update=True)
_attempts_of = PreparedQuery(
    Payment, lambda order_id: Payment.filter(order_id=order_id).order_by("-attempt"), order_id=UUID
)


async def _gateway_for(order: Order, name: str, gateways: GatewayRegistry) -> Gateway:
    workspace = await workspace_by_id.get(id=order.workspace_id)
    gateway = gateways.get(name)
    if gateway is None or name.upper() not in {g.upper() for g in workspace.enabled_gateways}:
        raise GatewayNotEnabled(
            f"{name} is not enabled for this workspace", field=["input", "gateway"]
        )
    return gateway


async def _in_flight(order_id: UUID) -> Payment | None:
    return (
        await Payment.filter(order_id=order_id, status__in=IN_FLIGHT).order_by("-attempt").first()
    )


async def _create_attempt(
    order: Order,
    gateway: Gateway,
    request: PaymentRequest,
    scope: idempotency.IdempotencyScope | None,
    actor: Actor,
    now: datetime,
) -> tuple[Payment, PaymentRequest | None]:
    """Insert the PENDING attempt: (payment, the request to send the gateway), or (the
    winner of a race, None).

    The order row is locked while the in-flight check and the insert happen, so two
    requests for one order can never both start a payment (on SQLite writers serialize).
    The amount is the balance as it stands under that lock: a manual payment recorded since
    the order was first read lowers what the gateway is asked for.
    """
    payment_id = UUID(request.payment_id)
    events = EventBatch(actor=actor.label())
    try:
        async with in_transaction():
            locked = await _order_locked.get(id=order.id)
            check_payable(locked, now)
            earlier = await _attempts_of.all(order_id=order.id)
            if winner := next((p for p in earlier if p.status in IN_FLIGHT), None):
                return winner, None
            if locked.balance_due != request.amount:
                request = replace(request, amount=locked.balance_due)
            attempt = len(earlier) + 1
            if scope is not None:
                await idempotency.claim(scope, resource_id=payment_id, now=now)
            payment = await Payment.create(
                id=payment_id,
                order_id=order.id,
                workspace_id=order.workspace_id,
                gateway=gateway.name,
                status=PaymentStatus.PENDING,
                amount=request.amount,
                currency=request.currency,
                attempt=attempt,
            )
            await events.record(
                order=order,
                type="payment.created",
                to_status=PaymentStatus.PENDING,
                payment_id=payment.id,
                data={"gateway": gateway.name, "amount": request.amount, "attempt": attempt},
            )
    except IntegrityError:
        # Same key, or another attempt on this order, committed first: return that one.
        if scope is not None and (replayed := await idempotency.find_replay(scope, now=now)):
            return await Payment.get(id=replayed), None
        if (winner := await _in_flight(order.id)) is not None:
            return winner, None
        raise
    await events.publish()
    return payment, request


async def _call_gateway(
    gateway: Gateway, payment: Payment, request: PaymentRequest, now: datetime
) -> Payment:
    """Call the gateway (no lock held) and apply its synchronous answer."""
    try:
        result = await gateway.create_payment(request)
    except (GatewayDeclined, GatewayBadRequest) as exc:
        result = _failed(exc)
    except GatewayOutcomeUnknown as exc:
        # A timeout is not a failure: the charge may exist. Reconciliation asks later (by
        # the reference, when the gateway's reference is known before it answers).
        result = PaymentResult(state=GatewayState.PROCESSING, reference=exc.reference)
    return await apply_gateway_answer(gateway, result, payment_id=payment.id, now=now)


def _failed(exc: GatewayError) -> PaymentResult:
    return PaymentResult(
        state=GatewayState.FAILED,
        reference=exc.reference,
        failure_code=exc.code,
        failure_message=str(exc),
    )


async def _locked_payment(gateway_name: str, payment_id: UUID | None, reference: str) -> Payment:
    """The gateway's payment by payql's id, else by the gateway's reference, locked for the
    caller's transaction."""
    payment = await _payment_locked.first(id=payment_id) if payment_id is not None else None
    if payment is not None and payment.gateway != gateway_name:
        payment = None  # another gateway's payment: this outcome is not about it
    if payment is None and reference:
        payment = (
            await Payment.filter(gateway=gateway_name, reference=reference)
            .select_for_update()
            .first()
        )
    if payment is None:
        raise PaymentNotFound(f"{gateway_name} payment {payment_id or reference}")
    return payment


def _details(payment: Payment, result: PaymentResult) -> dict[str, Any]:
    """Reference, client secret, next action and fee: recorded whatever the status does."""
    updates: dict[str, Any] = {}
    if result.reference and not payment.reference:
        updates["reference"] = result.reference
    if result.client_secret and not payment.client_secret:
        updates["client_secret"] = result.client_secret
    if result.next_action is not None:
        updates["next_action"] = {
            "type": result.next_action.type,
            "redirectUrl": result.next_action.redirect_url,
        }
    if result.fee is not None:
        updates["gateway_fee"] = result.fee
    if result.raw:
        updates["gateway_response"] = dict(result.raw)
    return updates


def _checked_target(payment: Payment, result: PaymentResult) -> PaymentStatus:
    """The status the result asks for; a success for the wrong (or unstated) money is a
    failure: nothing is marked paid unless the gateway confirms this amount and currency."""
    target = PaymentStatus(result.state.value)
    if target is PaymentStatus.SUCCEEDED and _mismatch(payment, result):
        logger.error(
            "payment %s: gateway reported %s %s, expected %s %s",
            payment.id,
            result.amount,
            result.currency,
            payment.amount,
            payment.currency,
        )
        return PaymentStatus.FAILED
    return target


def _mismatch(payment: Payment, result: PaymentResult) -> str | None:
    """``currency_mismatch`` / ``amount_mismatch`` when a success is for other money."""
    if result.currency is None or result.currency.upper() != payment.currency:
        return "currency_mismatch"
    if result.amount is None or result.amount != payment.amount:
        return "amount_mismatch"
    return None


def _status_fields(
    payment: Payment, target: PaymentStatus, result: PaymentResult, now: datetime
) -> dict[str, Any]:
    fields: dict[str, Any] = {"status": target}
    if target is PaymentStatus.SUCCEEDED:
        fields["succeeded_at"] = now
        fields["next_action"] = None
    elif target is PaymentStatus.FAILED:
        is_mismatch = result.state is GatewayState.SUCCEEDED
        fields["failure_code"] = _mismatch(payment, result) if is_mismatch else result.failure_code
        fields["failure_message"] = (
            "The gateway reported a different amount or currency."
            if is_mismatch
            else result.failure_message
        )
        fields["next_action"] = None
    elif target is PaymentStatus.CANCELLED:
        fields["next_action"] = None
    return fields


async def credit_order(
    order: Order, payment: Payment, events: EventBatch, now: datetime
) -> Refund | None:
    """Add a succeeded payment to its (locked) order; PAID once what it keeps (paid minus
    refunded) covers the total.

    On a cancelled or expired order: pay it if every seat can be held again, else reserve an
    automatic full refund (returned, for the caller to submit after commit).
    """
    paid = order.amount_paid + payment.amount
    updates: dict[str, Any] = {"amount_paid": paid, "updated_at": now}
    refund = None
    closed = order.status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED)
    if paid - order.amount_refunded >= order.total and (
        order.status is OrderStatus.PENDING or (closed and await _hold_again(order))
    ):
        updates.update(status=OrderStatus.PAID, paid_at=now)
        await events.record(
            order=order,
            type="order.paid",
            from_status=order.status,
            to_status=OrderStatus.PAID,
            payment_id=payment.id,
            data={"reinstated": True} if closed else {},
        )
    elif closed:
        logger.warning(
            "payment %s succeeded on %s order %s: refunding it", payment.id, order.status, order.id
        )
        locked = await Payment.filter(id=payment.id).get()
        refund = await reserve_refund(
            locked,
            order,
            amount=payment.amount,
            reason=RefundReason.ORDER_EXPIRED,
            description=f"Automatic: the order was {order.status.value.lower()} before the "
            "payment succeeded and its seats are gone.",
            requested_by=None,
            events=events,
        )
    excess = min(paid - order.amount_refunded - order.total, payment.amount)
    if refund is None and excess > 0 and payment.gateway not in NO_GATEWAY:
        # A gateway took more than the order costs (it was paid meanwhile: staff cash, a
        # second attempt): give the excess back instead of keeping a double charge.
        logger.warning(
            "payment %s overpays order %s by %d: refunding it", payment.id, order.id, excess
        )
        locked = await Payment.filter(id=payment.id).get()
        refund = await reserve_refund(
            locked,
            order,
            amount=excess,
            reason=RefundReason.DUPLICATE,
            description="Automatic: the order was already paid when this payment succeeded.",
            requested_by=None,
            events=events,
        )
    await Order.filter(id=order.id).update(**updates)
    return refund


async def _hold_again(order: Order) -> bool:
    """Hold a closed order's seats again, all or none (conditional UPDATEs, undone on a miss)."""
    taken: list[tuple[UUID, int]] = []
    for product_id, quantity in await OrderItem.filter(order_id=order.id).values_list(
        "product_id", "quantity"
    ):
        held = (
            await Product.filter(id=product_id)
            .filter(Q(capacity__isnull=True) | Q(capacity__gte=F("held") + quantity))
            .update(held=F("held") + quantity)
        )
        if not held:
            for undo_id, undo_quantity in taken:
                await Product.filter(id=undo_id).update(held=F("held") - undo_quantity)
            return False
        taken.append((product_id, quantity))
    return True
