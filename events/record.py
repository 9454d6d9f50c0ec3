"""Write a state change's history row and outbox row, in the caller's transaction."""

from typing import Any
from uuid import UUID

from models.order import Order
from models.records import OutboxEvent, PaymentEvent


async def record_event(
    *,
    order: Order,
    type: str,
    actor: str,
    from_status: str | None = None,
    to_status: str | None = None,
    payment_id: UUID | None = None,
    refund_id: UUID | None = None,
    data: dict[str, Any] | None = None,
) -> PaymentEvent:
    """Append a PaymentEvent and its OutboxEvent. Call inside the changing transaction."""
    event = await PaymentEvent.create(
        workspace_id=order.workspace_id,
        order_id=order.id,
        payment_id=payment_id,
        refund_id=refund_id,
        type=type,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        data=data or {},
    )
    await OutboxEvent.create(
        topic=f"workspace:{order.workspace_id}",
        type=type,
        payload={
            "event_id": event.id,
            "workspace_id": str(order.workspace_id),
            "order_id": str(order.id),
            "payment_id": str(payment_id) if payment_id else None,
            "refund_id": str(refund_id) if refund_id else None,
            "from_status": from_status,
            "to_status": to_status,
        },
    )
    return event
