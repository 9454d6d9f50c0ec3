"""The webhook inbox for staff: ``webhookEvents`` (a workspace's deliveries),
``unmatchedWebhookEvents`` (admins: rejected and unmatched deliveries) and
``replayWebhookEvent``. Who sees what: ``resolvers/webhook_events.py``."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

import strawberry
from graphql import GraphQLError

from models.enums import GatewayName
from models.records import WebhookEvent as WebhookEventRow
from resolvers import webhook_events as cases
from resolvers.errors import ErrorCode, UserFacingError
from resolvers.ids import parse_id, try_parse_id
from resolvers.visibility import encode_cursor
from schema.context import Info
from schema.enums import described_enum
from schema.errors import UserError, attempt
from schema.inputs import check_argument, column, input_errors
from schema.orders import CURSOR_LENGTH, PageInfo
from schema.permissions import IsAuthenticated

described_enum(
    cases.WebhookReplayOutcome,
    "What replaying a stored webhook delivery did.",
    {
        "PROCESSED": "It was applied now.",
        "IGNORED": "It was handled: payql does not act on its type, or the gateway denied it.",
        "PENDING": "What it concerns is still unknown; it stays waiting for the retry job.",
        "ALREADY_PROCESSED": "It had been processed before; nothing changed.",
    },
)


@strawberry.type(description="One inbound webhook delivery from a gateway, as stored.")
class WebhookEvent:
    row: strawberry.Private[WebhookEventRow]

    @strawberry.field(description="The delivery's id in payql.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field(description="The gateway it came from.")
    def gateway(self) -> GatewayName:
        return GatewayName(self.row.gateway)

    @strawberry.field(description="The gateway's event type, e.g. payment.succeeded.")
    def type(self) -> str:
        return self.row.event_type

    @strawberry.field(description="The gateway's id of the event (empty for rejected ones).")
    def event_id(self) -> str:
        return "" if not self.row.verified else self.row.event_id

    @strawberry.field(description="Whether its signature verified.")
    def verified(self) -> bool:
        return self.row.verified

    @strawberry.field(description="Whether it has been applied (or handled as ignorable).")
    def processed(self) -> bool:
        return self.row.processed

    @strawberry.field(description="Why it was rejected, or why it waits; null when fine.")
    def error(self) -> str | None:
        return self.row.error

    @strawberry.field(description="How many times payql has tried to apply it.")
    def attempts(self) -> int:
        return self.row.attempts

    @strawberry.field(description="When payql received it.")
    def received_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="When it was applied; null while it waits.")
    def processed_at(self) -> datetime | None:
        return self.row.processed_at

    @strawberry.field(description="When the retry job tries it next; null when it will not.")
    def next_attempt_at(self) -> datetime | None:
        return self.row.next_attempt_at


@strawberry.type(description="A webhook delivery in a connection, with its cursor.")
class WebhookEventEdge:
    cursor: str = strawberry.field(description="Opaque position of this delivery.")
    node: WebhookEvent = strawberry.field(description="The delivery.")


@strawberry.type(description="A page of webhook deliveries, newest first.")
class WebhookEventConnection:
    edges: list[WebhookEventEdge] = strawberry.field(description="Deliveries with cursors.")
    page_info: PageInfo = strawberry.field(description="How to get the next page.")

    @strawberry.field(description="The deliveries without cursors.")
    def nodes(self) -> list[WebhookEvent]:
        return [edge.node for edge in self.edges]


@strawberry.input(description="Filter for the webhook deliveries connection.")
class WebhookEventFilter:
    gateway: GatewayName | None = strawberry.field(default=None, description="Only this gateway.")
    verified: bool | None = strawberry.field(default=None, description="Only (un)verified ones.")
    processed: bool | None = strawberry.field(
        default=None, description="Only processed (true) or waiting (false) ones."
    )
    type: str | None = strawberry.field(
        default=None, description="Only this event type.", metadata=column(128)
    )


@strawberry.input(description="Apply a stored, verified webhook delivery again (staff).")
class ReplayWebhookEventInput:
    webhook_event_id: strawberry.ID = strawberry.field(description="The delivery to replay.")


@strawberry.type(description="Result of replaying a webhook delivery.")
class ReplayWebhookEventPayload:
    webhook_event: WebhookEvent | None = strawberry.field(
        description="The delivery as it is now, unless errors is non-empty."
    )
    outcome: cases.WebhookReplayOutcome | None = strawberry.field(
        description="What the replay did, unless errors is non-empty."
    )
    errors: list[UserError] = strawberry.field(description="Why it failed; empty on success.")


FirstArgument = Annotated[int, strawberry.argument(description="Page size, 1 to 100.")]
AfterArgument = Annotated[
    str | None, strawberry.argument(description="endCursor of the previous page.")
]
FilterArgument = Annotated[
    WebhookEventFilter | None, strawberry.argument(description="Narrow the list.")
]


@strawberry.type
class WebhookEventQuery:
    @strawberry.field(
        description=(
            "A workspace's inbound webhook deliveries, newest first (staff of the "
            "workspace, or admins); FORBIDDEN for anyone else."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def webhook_events(
        self,
        info: Info,
        workspace_id: Annotated[strawberry.ID, strawberry.argument(description="Workspace.")],
        first: FirstArgument = 20,
        after: AfterArgument = None,
        filter: FilterArgument = None,
    ) -> WebhookEventConnection:
        parsed = try_parse_id(workspace_id)
        if parsed is None:
            raise GraphQLError("malformed workspaceId", extensions={"code": "BAD_USER_INPUT"})
        return await _page(info, parsed, first=first, after=after, filter=filter)

    @strawberry.field(
        description=(
            "Deliveries that match no workspace (rejected, or about a payment payql does "
            "not know yet), newest first; admins only."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def unmatched_webhook_events(
        self,
        info: Info,
        first: FirstArgument = 20,
        after: AfterArgument = None,
        filter: FilterArgument = None,
    ) -> WebhookEventConnection:
        return await _page(info, None, first=first, after=after, filter=filter)


async def _page(
    info: Info,
    workspace_id: UUID | None,
    *,
    first: int,
    after: str | None,
    filter: WebhookEventFilter | None,
) -> WebhookEventConnection:
    check_argument(after, field=["after"], max_length=CURSOR_LENGTH)
    check_argument(filter, field=["filter"])
    criteria = cases.WebhookEventFilter()
    if filter is not None:
        gateway = filter.gateway.value if filter.gateway is not None else None
        criteria = cases.WebhookEventFilter(
            gateway=gateway, verified=filter.verified, processed=filter.processed, type=filter.type
        )
    try:
        page = await cases.list_webhook_events(
            await info.context.actor(),
            workspace_id=workspace_id,
            first=first,
            after=after,
            filter=criteria,
        )
    except UserFacingError as exc:
        code = "FORBIDDEN" if exc.code is ErrorCode.FORBIDDEN else "BAD_USER_INPUT"
        raise GraphQLError(exc.message, extensions={"code": code}) from None
    edges = [
        WebhookEventEdge(cursor=encode_cursor(row), node=WebhookEvent(row=row))
        for row in page.events
    ]
    end = edges[-1].cursor if edges else None
    return WebhookEventConnection(
        edges=edges, page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=end)
    )


@strawberry.type
class WebhookEventMutation:
    @strawberry.mutation(
        description=(
            "Apply a stored, verified webhook delivery again, now (staff of its workspace, "
            "or admins). A delivery already processed is left as it is (ALREADY_PROCESSED)."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def replay_webhook_event(
        self,
        info: Info,
        input: Annotated[
            ReplayWebhookEventInput,
            strawberry.argument(description="What to do; see the input type."),
        ],
    ) -> ReplayWebhookEventPayload:
        if errors := input_errors(input):
            return ReplayWebhookEventPayload(webhook_event=None, outcome=None, errors=errors)
        result, errors = await attempt(_replay(info, input.webhook_event_id))
        if result is None:
            return ReplayWebhookEventPayload(webhook_event=None, outcome=None, errors=errors)
        row, outcome = result
        return ReplayWebhookEventPayload(
            webhook_event=WebhookEvent(row=row), outcome=outcome, errors=[]
        )


async def _replay(
    info: Info, webhook_event_id: str
) -> tuple[WebhookEventRow, cases.WebhookReplayOutcome]:
    return await cases.replay_webhook_event(
        webhook_event_id=parse_id(webhook_event_id, field=["input", "webhookEventId"]),
        actor=await info.context.actor(),
        gateways=info.context.gateways,
        now=info.context.now(),
    )
