"""Subscribers that would get the same frames share one GraphQL execution per event.

A staff dashboard holds a ``workspaceEvents`` subscription. Executed once per subscriber,
every event costs a GraphQL execution per open dashboard (~0.5 ms each: 5,000 dashboards
took 5.5 s to all get one event, ``bench/``). Subscriptions with the same document,
operation name, variables and actor (principal and its workspace roles as loaded when it
subscribes) get the same frames, so they form a *group*: one ``schema.stream`` runs for
the group, each result is JSON-encoded once, and every member gets that payload under its
own operation id.

What is shared, and why only that:

- Only the event streams in ``SHARED_FIELDS`` (``workspaceEvents``). A member that joins
  a running group gets the events from then on, which is what a subscription of its own
  would have sent. ``paymentStatus`` and ``orderUpdates`` open with the current state,
  which a joiner would miss, and have one subscriber per buyer's screen anyway: each keeps
  its own execution (Strawberry's handler, unchanged).
- Only graphql-transport-ws. The legacy graphql-ws protocol runs one execution per
  subscription, as before.
- The actor is part of the key: a subscriber whose roles changed since the group formed
  gets a group (and a permission check) of its own.

The group's execution runs with the context of the member that formed it and outlives
that member if others remain; it stops when the last member leaves. Each member writes its
own frames from a backlog in its own operation task, so a slow client never holds up the
others; one that falls ``MAX_BACKLOG`` frames behind is disconnected (close code 1013,
"try again later") rather than buffered without bound: its client reconnects and reads
what it missed from the history.
"""

import asyncio
import json
import logging
from collections import deque
from contextlib import suppress
from functools import lru_cache
from typing import Any

from graphql import FieldNode, GraphQLError, OperationType, get_operation_ast, parse
from starlette.websockets import WebSocketDisconnect
from strawberry.schema import BaseSchema
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
    _OperationStreamClosed,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import CompleteMessage
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from schema.context import Context

logger = logging.getLogger("payql.subscriptions")

SHARED_FIELDS = frozenset({"workspaceEvents"})
MAX_BACKLOG = 1000
TOO_SLOW = 1013

_Key = tuple[Any, ...]
_closing: set[asyncio.Task[None]] = set()  # slow subscribers being disconnected


@lru_cache(maxsize=256)
def shared_root_field(query: str, operation_name: str | None) -> str | None:
    """The root field of a subscription document if it is one of ``SHARED_FIELDS``."""
    try:
        operation = get_operation_ast(parse(query, no_location=True), operation_name)
    except GraphQLError:
        return None  # Strawberry reports it
    if operation is None or operation.operation != OperationType.SUBSCRIPTION:
        return None
    selections = operation.selection_set.selections
    if len(selections) != 1 or not isinstance(selections[0], FieldNode):
        return None
    name = selections[0].name.value
    return name if name in SHARED_FIELDS else None


class _Ended:
    """How a group's stream ended, for each member to act on in its own task."""

    def __init__(self, first: object | None = None) -> None:
        self.first = first  # a PreExecutionError or a non-ExecutionResult, else None


class Member:
    """One subscription in a group: its frames wait in ``backlog`` until its task writes them."""

    __slots__ = ("backlog", "ended", "handler", "operation", "prefix", "wakeup")

    def __init__(self, handler: "SharingTransportWSHandler", operation: Operation[Any, Any]):
        self.handler = handler
        self.operation = operation
        self.prefix = '{"id":' + json.dumps(operation.id) + ',"type":"next","payload":'
        self.backlog: deque[str] = deque()
        self.ended: _Ended | None = None
        self.wakeup: asyncio.Future[None] | None = None

    def push(self, payload: str) -> bool:
        """Queue one encoded payload; False when the member is too far behind."""
        if len(self.backlog) >= MAX_BACKLOG:
            return False
        self.backlog.append(payload)
        self._wake()
        return True

    def end(self, ended: _Ended) -> None:
        self.ended = ended
        self._wake()

    def _wake(self) -> None:
        if self.wakeup is not None and not self.wakeup.done():
            self.wakeup.set_result(None)

    async def serve(self) -> _Ended | None:
        """Write frames until the group ends (its outcome) or the client goes (None)."""
        websocket = self.handler.websocket.ws  # type: ignore[attr-defined]
        while True:
            while self.backlog:
                try:
                    await websocket.send_text(self.prefix + self.backlog.popleft() + "}")
                except (WebSocketDisconnect, OSError, RuntimeError):
                    return None
            if self.ended is not None:
                return self.ended
            self.wakeup = asyncio.get_running_loop().create_future()
            await self.wakeup
            self.wakeup = None


class Group:
    """One execution of a shared subscription, and the members it writes to."""

    def __init__(self, streams: "SharedStreams", key: _Key) -> None:
        self.streams = streams
        self.key = key
        self.members: set[Member] = set()
        self.task: asyncio.Task[None] | None = None

    def start(self, schema: BaseSchema, context: Context, operation: Operation[Any, Any]) -> None:
        self.task = asyncio.create_task(self._run(schema, context, operation))

    async def _run(
        self, schema: BaseSchema, context: Context, operation: Operation[Any, Any]
    ) -> None:
        ended = _Ended()
        try:
            source = await schema.stream(
                operation.query,
                variable_values=operation.variables,
                context_value=context,
                root_value=None,
                operation_name=operation.operation_name,
            )
            async with aclosing(source):
                first = True
                async for result in source:
                    if not isinstance(result, ExecutionResult) or (
                        first and isinstance(result, PreExecutionError)
                    ):
                        ended = _Ended(first=result)
                        return
                    first = False
                    self._broadcast(json.dumps(_next_payload(result), separators=(",", ":")))
        except asyncio.CancelledError:
            raise  # the last member left
        except Exception:
            logger.exception("shared subscription failed; its members complete")
        finally:
            self.streams.forget(self)
            for member in self.members:
                member.end(ended)

    def _broadcast(self, payload: str) -> None:
        for member in list(self.members):
            if not member.push(payload):
                logger.warning("a subscriber fell %d frames behind; disconnecting it", MAX_BACKLOG)
                self.members.discard(member)
                closing = asyncio.create_task(_close_slow(member))
                _closing.add(closing)
                closing.add_done_callback(_closing.discard)

    def leave(self, member: Member) -> None:
        self.members.discard(member)
        if not self.members and self.task is not None and not self.task.done():
            self.streams.forget(self)
            self.task.cancel()


class SharedStreams:
    """The groups of one app (one worker process)."""

    def __init__(self) -> None:
        self.groups: dict[_Key, Group] = {}

    def forget(self, group: Group) -> None:
        if self.groups.get(group.key) is group:
            del self.groups[group.key]

    def join(
        self, key: _Key, handler: "SharingTransportWSHandler", operation: Operation[Any, Any]
    ) -> tuple[Group, Member]:
        group = self.groups.get(key)
        member = Member(handler, operation)
        if group is None:
            group = self.groups[key] = Group(self, key)
            group.start(handler.schema, handler.context, operation)
        group.members.add(member)
        return group, member

    def member_count(self) -> int:
        return sum(len(group.members) for group in self.groups.values())


class SharingTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with the subscriptions in ``SHARED_FIELDS`` shared (see module)."""

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        key = await self._share_key(operation)
        if key is None:
            await super().run_operation(operation)
            return
        streams: SharedStreams = self.view.shared_streams  # type: ignore[attr-defined]
        group, member = streams.join(key, self, operation)
        try:
            ended = await member.serve()
        finally:
            group.leave(member)
        if ended is None:
            return  # the client went away
        if ended.first is None:
            complete = CompleteMessage(id=operation.id, type="complete")
            await operation.send_operation_message(complete)
            return

        async def first_only() -> Any:
            yield ended.first

        # Strawberry's own handling of a first result that is not a plain result (an
        # invalid document, incremental delivery): an error message, or a close.
        with suppress(_OperationStreamClosed):
            await self._send_result_stream(operation, first_only())

    async def _share_key(self, operation: Operation[Context, None]) -> _Key | None:
        if shared_root_field(operation.query, operation.operation_name) is None:
            return None
        if self.context.principal is None:
            return None  # answered UNAUTHENTICATED by its own execution
        actor = await self.context.actor()
        return (
            operation.query,
            operation.operation_name,
            json.dumps(operation.variables, sort_keys=True, default=str),
            actor.principal,
            frozenset(actor.roles.items()),
        )


def _next_payload(result: ExecutionResult) -> dict[str, Any]:
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return payload


async def _close_slow(member: Member) -> None:
    with suppress(WebSocketDisconnect, OSError, RuntimeError):
        await member.handler.websocket.close(code=TOO_SLOW, reason="subscriber too slow")
    member.end(_Ended())
