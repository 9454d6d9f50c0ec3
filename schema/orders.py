"""Orders: queries (order, orders, payment, refund) and mutations (createOrder, cancelOrder)."""

from typing import Annotated, Any

import strawberry
from graphql import GraphQLError

from resolvers import orders as order_cases
from resolvers import visibility
from resolvers.errors import UserFacingError
from resolvers.ids import try_parse_id
from schema.context import Info
from schema.errors import UserError, attempt
from schema.inputs import (
    CancelOrderInput,
    CreateOrderInput,
    OrderFilterInput,
    check_argument,
    input_errors,
)
from schema.payments import quota, within_limits
from schema.permissions import IsAuthenticated
from schema.types import Order, Payment, Refund

ORDER_NUMBER_LENGTH = 32  # the column; a longer number matches no order
CURSOR_LENGTH = 512  # far beyond any endCursor payql hands out


@strawberry.type(description="Pagination state of a connection.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items after endCursor.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page.")


@strawberry.type(description="An order in a connection, with its cursor.")
class OrderEdge:
    cursor: str = strawberry.field(description="Opaque position of this order.")
    node: Order = strawberry.field(description="The order.")


@strawberry.type(description="A page of orders, newest first.")
class OrderConnection:
    edges: list[OrderEdge] = strawberry.field(description="Orders with cursors.")
    page_info: PageInfo = strawberry.field(description="How to get the next page.")

    @strawberry.field(description="The orders without cursors.")
    def nodes(self) -> list[Order]:
        return [edge.node for edge in self.edges]


@strawberry.type(description="Result of an order mutation.")
class OrderPayload:
    order: Order | None = strawberry.field(description="The order, unless errors is non-empty.")
    errors: list[UserError] = strawberry.field(description="Why it failed; empty on success.")


def _payload(row: Any, errors: list[UserError]) -> OrderPayload:
    return OrderPayload(order=Order(row=row) if row is not None else None, errors=errors)


@strawberry.type
class OrderQuery:
    @strawberry.field(
        description="One order by id or number. Null when it does not exist or is not yours.",
        permission_classes=[IsAuthenticated],
    )
    async def order(
        self,
        info: Info,
        id: Annotated[strawberry.ID | None, strawberry.argument(description="Order id.")] = None,
        number: Annotated[str | None, strawberry.argument(description="Order number.")] = None,
    ) -> Order | None:
        principal = info.context.authenticated()
        check_argument(number, field=["number"], max_length=ORDER_NUMBER_LENGTH)
        if id is not None:
            order_id = try_parse_id(id)
            row = await visibility.readable_order(principal, order_id) if order_id else None
        elif number is not None:
            row = await visibility.readable_order_by_number(principal, number)
        else:
            raise GraphQLError("give id or number", extensions={"code": "BAD_USER_INPUT"})
        return Order(row=row) if row is not None else None

    @strawberry.field(
        description="Orders you may see, newest first: yours, and your workspaces' if staff.",
        permission_classes=[IsAuthenticated],
    )
    async def orders(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="Page size, 1 to 100.")] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="endCursor of the previous page.")
        ] = None,
        filter: Annotated[
            OrderFilterInput | None, strawberry.argument(description="Narrow the list.")
        ] = None,
    ) -> OrderConnection:
        check_argument(after, field=["after"], max_length=CURSOR_LENGTH)
        check_argument(filter, field=["filter"])
        actor = await info.context.actor()
        criteria = visibility.OrderFilter()
        if filter is not None:
            workspace_id = try_parse_id(filter.workspace_id) if filter.workspace_id else None
            if filter.workspace_id and workspace_id is None:
                raise GraphQLError("malformed workspaceId", extensions={"code": "BAD_USER_INPUT"})
            criteria = visibility.OrderFilter(
                status=filter.status, workspace_id=workspace_id, search=filter.search
            )
        try:
            page = await visibility.list_orders(actor, first=first, after=after, filter=criteria)
        except UserFacingError as exc:
            raise GraphQLError(exc.message, extensions={"code": "BAD_USER_INPUT"}) from None
        edges = [
            OrderEdge(cursor=visibility.encode_cursor(row), node=Order(row=row))
            for row in page.orders
        ]
        return OrderConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )

    @strawberry.field(
        description="One payment, if its order is visible to you.",
        permission_classes=[IsAuthenticated],
    )
    async def payment(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="Payment id.")],
    ) -> Payment | None:
        payment_id = try_parse_id(id)
        if payment_id is None:
            return None
        row = await visibility.visible_payment(await info.context.actor(), payment_id)
        return Payment(row=row) if row is not None else None

    @strawberry.field(
        description="One refund, if its order is visible to you.",
        permission_classes=[IsAuthenticated],
    )
    async def refund(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="Refund id.")],
    ) -> Refund | None:
        refund_id = try_parse_id(id)
        if refund_id is None:
            return None
        row = await visibility.visible_refund(await info.context.actor(), refund_id)
        return Refund(row=row) if row is not None else None


@strawberry.type
class OrderMutation:
    @strawberry.mutation(
        description=(
            "Price items from the catalog and hold them as a PENDING order. A customer's "
            "seats on hold are rate-limited (null with a RATE_LIMITED error when refused)."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def create_order(
        self,
        info: Info,
        input: Annotated[
            CreateOrderInput, strawberry.argument(description="What to do; see the input type.")
        ],
    ) -> OrderPayload | None:
        if errors := input_errors(input):
            return _payload(None, errors)
        request = order_cases.OrderRequest(
            workspace_id=input.workspace_id,
            items=[order_cases.ItemRequest(i.product_id, i.quantity) for i in input.items],
            voucher_code=input.voucher_code,
            metadata=input.metadata if input.metadata is not None else {},
            success_url=input.success_url,
            failure_url=input.failure_url,
        )
        call = order_cases.create_order(
            request=request,
            actor=await info.context.actor(),
            now=info.context.now(),
            idempotency_key=input.idempotency_key,
            quota=quota(info),
        )
        row, errors = await attempt(within_limits(call))
        return _payload(row, errors)

    @strawberry.mutation(
        description="Cancel a PENDING order (yours, or your workspace's) and release its seats.",
        permission_classes=[IsAuthenticated],
    )
    async def cancel_order(
        self,
        info: Info,
        input: Annotated[
            CancelOrderInput, strawberry.argument(description="What to do; see the input type.")
        ],
    ) -> OrderPayload:
        if errors := input_errors(input):
            return _payload(None, errors)
        row, errors = await attempt(
            order_cases.cancel_order(
                order_id=input.order_id, actor=await info.context.actor(), now=info.context.now()
            )
        )
        return _payload(row, errors)
