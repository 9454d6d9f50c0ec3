"""Live updates over graphql-transport-ws and graphql-ws.

Each subscription listens on its broker topic *before* reading the current state, so no
change between the read and the subscribe is lost; then it sends the current state, and
one update per change. DataLoaders are rebuilt before every update (a websocket keeps one
context for its whole life).
"""

from collections.abc import AsyncGenerator
from typing import Annotated
from uuid import UUID

import strawberry
from graphql import GraphQLError

import models
from events.broker import current_broker
from events.history import RecentIds, recorded_event
from models.enums import OrderStatus, PaymentStatus
from models.states import can_transition
from resolvers.ids import try_parse_id
from resolvers.payments import TERMINAL
from resolvers.visibility import visible_order, visible_payment
from schema.context import Info
from schema.permissions import IsAuthenticated
from schema.types import Order, Payment, PaymentEventType

RESYNC = "resync"
CLOSED_ORDER = (OrderStatus.REFUNDED, OrderStatus.CANCELLED, OrderStatus.EXPIRED)


def _not_found(what: str) -> GraphQLError:
    return GraphQLError(f"{what} not found", extensions={"code": "NOT_FOUND"})


@strawberry.type(description="Live updates.")
class Subscription:
    @strawberry.subscription(
        description=(
            "The payment now, then after every status change; completes when it is SUCCEEDED, "
            "FAILED or CANCELLED."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def payment_status(
        self,
        info: Info,
        payment_id: Annotated[strawberry.ID, strawberry.argument(description="Payment id.")],
    ) -> AsyncGenerator[Payment, None]:
        actor = await info.context.actor()
        parsed = try_parse_id(payment_id)
        if parsed is None or await visible_payment(actor, parsed) is None:
            raise _not_found("payment")
        async with current_broker().subscribe(f"payment:{parsed}") as messages:
            row = await models.Payment.get(id=parsed)
            info.context.fresh_loaders()
            yield Payment(row=row)
            last = row.status
            if last in TERMINAL:
                return
            async for message in messages:
                if message.get("type") == RESYNC:  # the broker reconnected: re-read
                    row = await models.Payment.get(id=parsed)
                    if row.status == last:
                        continue
                    last = row.status
                else:
                    target = message.get("to_status")
                    if not target or message.get("payment_id") != str(parsed):
                        continue
                    if not can_transition(last, PaymentStatus(target)):
                        continue  # a late or re-dispatched message: never show a step back
                    last = PaymentStatus(target)
                    row = await models.Payment.get(id=parsed)
                info.context.fresh_loaders()
                yield Payment(row=row, status_override=last)
                if last in TERMINAL:
                    return

    @strawberry.subscription(
        description="The order now, then after every change (payments, refunds, expiry).",
        permission_classes=[IsAuthenticated],
    )
    async def order_updates(
        self,
        info: Info,
        order_id: Annotated[strawberry.ID, strawberry.argument(description="Order id.")],
    ) -> AsyncGenerator[Order, None]:
        actor = await info.context.actor()
        parsed = try_parse_id(order_id)
        if parsed is None or await visible_order(actor, parsed) is None:
            raise _not_found("order")
        async with current_broker().subscribe(f"order:{parsed}") as messages:
            yield await _fresh_order(info, parsed)
            async for _ in messages:
                order = await _fresh_order(info, parsed)
                yield order
                if order.row.status in CLOSED_ORDER:
                    return

    @strawberry.subscription(
        description="Every payment event of a workspace, live (staff only).",
        permission_classes=[IsAuthenticated],
    )
    async def workspace_events(
        self,
        info: Info,
        workspace_id: Annotated[strawberry.ID, strawberry.argument(description="Workspace id.")],
    ) -> AsyncGenerator[PaymentEventType, None]:
        actor = await info.context.actor()
        parsed = try_parse_id(workspace_id)
        if parsed is None or not actor.is_staff_of(parsed):
            raise _not_found("workspace")
        floor = await _latest_event_id(parsed)  # history before the subscription is not sent
        sent = RecentIds()
        async with current_broker().subscribe(f"workspace:{parsed}") as messages:
            async for message in messages:
                if message.get("type") == RESYNC:
                    # The broker reconnected: send what was recorded meanwhile, from history.
                    rows = await models.PaymentEvent.filter(
                        workspace_id=parsed, id__gt=sent.since(floor)
                    ).order_by("id")
                else:
                    event_id = message.get("event_id")
                    found = await recorded_event(event_id) if isinstance(event_id, int) else None
                    rows = [found] if found is not None else []
                for event in rows:
                    if event.id in sent:  # re-dispatched by the outbox, or seen at resync
                        continue
                    sent.add(event.id)
                    yield PaymentEventType(row=event)


async def _latest_event_id(workspace_id: UUID) -> int:
    latest = await models.PaymentEvent.filter(workspace_id=workspace_id).order_by("-id").first()
    return latest.id if latest is not None else 0


async def _fresh_order(info: Info, order_id: UUID) -> Order:
    info.context.fresh_loaders()
    return Order(row=await models.Order.get(id=order_id))
