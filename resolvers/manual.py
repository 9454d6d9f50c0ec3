"""Staff-entered payments (cash, bank transfer): no gateway, they accumulate on the order."""

from datetime import datetime
from uuid import uuid4

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from events.record import EventBatch
from models.enums import GatewayName, PaymentStatus
from models.money import formatted
from models.order import Order
from models.payment import Payment
from resolvers import idempotency
from resolvers.actor import Actor
from resolvers.errors import Forbidden, InvalidInput, NotFound, Overpayment
from resolvers.ids import parse_id
from resolvers.payments import check_payable, credit_order
from resolvers.people import ensure_user
from resolvers.rate_limits import UNLIMITED, Action, Quota
from resolvers.visibility import visible_order


async def record_manual_payment(
    *,
    order_id: str,
    amount: int,
    reference: str | None,
    note: str | None,
    allow_overpayment: bool,
    actor: Actor,
    now: datetime,
    idempotency_key: str | None = None,
    quota: Quota = UNLIMITED,
) -> Payment:
    """Record money staff received outside payql; the order is PAID once payments cover it.

    Without ``allow_overpayment`` the amount is at most the balance due; with it, at most
    the balance due plus the order's total (a tip or a double transfer, never an amount no
    order could explain).

    :raises InvalidInput: malformed id, amount ≤ 0, reference or note too long.
    :raises NotFound: no such order visible to the actor.
    :raises Forbidden: the actor is not staff of the order's workspace.
    :raises OrderNotPayable: the order is not PENDING (or its hold expired).
    :raises Overpayment: more than the balance due, without ``allow_overpayment``; more
        than the balance due plus the total, with it.
    :raises IdempotencyKeyReused: the key was used with different input.
    :raises RateLimited: the actor recorded too many payments lately.
    """
    await quota.spend(Action.RECORD_MANUAL_PAYMENT)
    scope = idempotency.scope_for(
        user_id=actor.user_id,
        operation="recordManualPayment",
        key=idempotency_key,
        request={
            "order_id": order_id,
            "amount": amount,
            "reference": reference,
            "note": note,
            "allow_overpayment": allow_overpayment,
        },
    )
    if scope is not None and (replayed := await idempotency.find_replay(scope, now=now)):
        return await Payment.get(id=replayed)
    field = ["input", "orderId"]
    order = await visible_order(actor, parse_id(order_id, field=field))
    if order is None:
        raise NotFound("order not found", field=field)
    if not actor.is_staff_of(order.workspace_id):
        raise Forbidden("only workspace staff can record manual payments", field=field)
    _validate(amount, reference, note)
    await ensure_user(actor.principal)
    events = EventBatch(actor=actor.label())
    payment_id = uuid4()
    try:
        async with in_transaction():
            locked = await Order.filter(id=order.id).select_for_update().get()
            check_payable(locked, now)
            _check_bound(locked, amount, allow_overpayment=allow_overpayment)
            if scope is not None:
                await idempotency.claim(scope, resource_id=payment_id, now=now)
            payment = await Payment.create(
                id=payment_id,
                order_id=locked.id,
                workspace_id=locked.workspace_id,
                gateway=GatewayName.MANUAL,
                status=PaymentStatus.SUCCEEDED,
                amount=amount,
                currency=locked.currency,
                attempt=await Payment.filter(order_id=locked.id).count() + 1,
                reference=reference,
                note=note,
                recorded_by_id=actor.user_id,
                succeeded_at=now,
            )
            await events.record(
                order=locked,
                type="payment.succeeded",
                to_status=PaymentStatus.SUCCEEDED,
                payment_id=payment.id,
                data={"gateway": "MANUAL", "amount": amount},
            )
            await credit_order(locked, payment, events, now)
    except IntegrityError:
        if scope is not None and (replayed := await idempotency.find_replay(scope, now=now)):
            return await Payment.get(id=replayed)
        raise
    await events.publish()
    return payment


def _check_bound(order: Order, amount: int, *, allow_overpayment: bool) -> None:
    due = order.balance_due
    if amount > due and not allow_overpayment:
        raise Overpayment(
            f"the balance due is {formatted(due, order.currency)}; "
            "set allowOverpayment to record more",
            field=["input", "amount"],
        )
    if amount > due + order.total:
        raise Overpayment(
            f"at most {formatted(due + order.total, order.currency)} (the balance due plus "
            "the order's total) can be recorded",
            field=["input", "amount"],
        )


def _validate(amount: int, reference: str | None, note: str | None) -> None:
    if amount <= 0:
        raise InvalidInput("must be greater than zero", field=["input", "amount"])
    if reference is not None and len(reference) > 255:
        raise InvalidInput("at most 255 characters", field=["input", "reference"])
    if note is not None and len(note) > 2000:
        raise InvalidInput("at most 2000 characters", field=["input", "note"])
