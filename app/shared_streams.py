"""Subscribers that would get the same frames share one GraphQL execution per event.

A staff dashboard holds a ``workspaceEvents`` subscription. Executed once per subscriber,
every event costs a GraphQL execution per open dashboard, and with thousands open the last
waits seconds for each event (``bench/README.md``). Subscriptions with the same document,
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
that member if others remain; it stops when the last member leaves. The group writes each
frame straight to every member's websocket, and an idle member holds no task: only a write
that has to wait (the client's socket buffer is full) gets a task, with later frames queued
behind it in order, so a slow client never holds up the others. One that falls
``MAX_BACKLOG`` frames behind is disconnected (close code 1013, "try again later") rather
than buffered without bound: its client reconnects and reads what it missed.
"""

import asyncio
import json
import logging
import types
from collections import deque
from collections.abc import Coroutine, Generator
from contextlib import suppress
from typing import Any

from graphql import FieldNode, GraphQLError, OperationType, get_operation_ast
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

from app.metrics import subscription_ended, subscription_started
from schema.context import Context
from schema.documents import DocumentCache

logger = logging.getLogger("payql.subscriptions")

SHARED_FIELDS = frozenset({"workspaceEvents"})
MAX_BACKLOG = 1000
TOO_SLOW = 1013

_Key = tuple[Any, ...]
GONE = (WebSocketDisconnect, OSError, RuntimeError)  # what a send raises once the client left
_tasks: set[asyncio.Task[None]] = set()  # writes that had to wait, completions, closes


def is_subscription(query: str, operation_name: str | None, documents: DocumentCache) -> bool:
    """Whether the operation ``operation_name`` of ``query`` is a subscription (a query
    that is not even text is not: Strawberry answers it with an error)."""
    if not isinstance(query, str):
        return False
    try:
        operation = get_operation_ast(documents.get(query).document, operation_name)
    except GraphQLError:
        return False
    return operation is not None and operation.operation == OperationType.SUBSCRIPTION


def shared_root_field(
    query: str, operation_name: str | None, documents: DocumentCache
) -> str | None:
    """The root field of a subscription document if it is one of ``SHARED_FIELDS``
    (parsed through the schema's document cache, within its limits)."""
    try:
        operation = get_operation_ast(documents.get(query).document, operation_name)
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
    """How a group's stream ended, for each member to act on."""

    def __init__(self, first: object | None = None) -> None:
        self.first = first  # a PreExecutionError or a non-ExecutionResult, else None


class Member:
    """One subscription in a group. It has no task of its own while it waits: the group
    writes each frame straight to its websocket. Only a write that has to wait (the
    client's socket is full) gets a task, ``writer``, and later frames queue behind it in
    ``backlog`` so they keep their order."""

    __slots__ = ("backlog", "group", "handler", "operation", "prefix", "writer")

    def __init__(
        self, handler: "SharingTransportWSHandler", operation: Operation[Any, Any], group: "Group"
    ) -> None:
        self.handler = handler
        self.operation = operation
        self.group = group
        self.prefix = '{"id":' + json.dumps(operation.id) + ',"type":"next","payload":'
        self.backlog: deque[str] | None = None
        self.writer: asyncio.Task[None] | None = None

    def push(self, payload: str) -> bool:
        """Write one encoded payload now, or queue it; False when too far behind."""
        text = self.prefix + payload + "}"
        if self.writer is not None:
            if self.backlog is None:
                self.backlog = deque()
            if len(self.backlog) >= MAX_BACKLOG:
                return False
            self.backlog.append(text)
            return True
        send = self.handler.websocket.ws.send_text(text)  # type: ignore[attr-defined]
        try:
            waiting = send.send(None)  # runs to completion unless the socket is full
        except StopIteration:
            return True
        except GONE:
            self.leave()  # the client went away; its handler cleans up the rest
            return True
        self.writer = _spawn(self._write_on(send, waiting))
        return True

    async def _write_on(self, send: Coroutine[Any, Any, None], waiting: Any) -> None:
        websocket = self.handler.websocket.ws  # type: ignore[attr-defined]
        try:
            await _resume(send, waiting)
            while self.backlog:
                await websocket.send_text(self.backlog.popleft())
        except GONE:
            self.leave()
        finally:
            self.writer = None

    async def drained(self) -> None:
        while self.writer is not None:
            await asyncio.wait([self.writer])

    def leave(self) -> None:
        """Stop writing to this member (its client completed the operation or went away)."""
        self.group.leave(self)
        self.backlog = None
        if self.writer is not None and self.writer is not asyncio.current_task():
            self.writer.cancel()
            self.writer = None


@types.coroutine
def _resume(coro: Coroutine[Any, Any, None], waiting: Any) -> Generator[Any, Any, None]:
    """Go on running ``coro``, which already ran until it yielded ``waiting`` (a future the
    event loop must wake it from) to :meth:`Member.push` instead of to a task."""
    while True:
        try:
            value = yield waiting
        except BaseException as exc:  # cancellation: into the coroutine, as a task would
            try:
                waiting = coro.throw(exc)
            except StopIteration:
                return
        else:
            try:
                waiting = coro.send(value)
            except StopIteration:
                return


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
                _spawn(member.handler.end_member(member, ended))

    def _broadcast(self, payload: str) -> None:
        for member in list(self.members):
            if not member.push(payload):
                logger.warning("a subscriber fell %d frames behind; disconnecting it", MAX_BACKLOG)
                member.leave()
                _spawn(_close_slow(member))

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
    ) -> Member:
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group(self, key)
            group.start(handler.schema, handler.context, operation)
        member = Member(handler, operation, group)
        group.members.add(member)
        return member


class SharingTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with the subscriptions in ``SHARED_FIELDS`` shared (see module).

    A shared operation's task ends once it has joined its group (an idle subscription
    then holds no task or coroutine frames); the member is found again by operation id
    when the client completes the operation or goes away."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.members: dict[str, Member] | None = None

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        try:
            key = await self._share_key(operation)
        except Exception:
            key = None
        if key is None:
            await self._run_counted(operation)
            return
        streams: SharedStreams = self.view.shared_streams  # type: ignore[attr-defined]
        if self.members is None:
            self.members = {}
        self.members[operation.id] = streams.join(key, self, operation)
        subscription_started()  # ended where the member is removed, below or in end_member

    async def _run_counted(self, operation: Operation[Context, None]) -> None:
        documents: DocumentCache = self.schema.documents  # type: ignore[attr-defined]
        if not is_subscription(operation.query, operation.operation_name, documents):
            await super().run_operation(operation)
            return
        subscription_started()
        try:
            await super().run_operation(operation)
        finally:
            subscription_ended()

    async def cleanup_operation(self, operation_id: str) -> None:
        member = self.members.pop(operation_id, None) if self.members else None
        if member is not None:
            member.leave()
            subscription_ended()
        await super().cleanup_operation(operation_id)

    async def end_member(self, member: Member, ended: _Ended) -> None:
        """The group's stream ended: complete the operation (or report its first result)."""
        await member.drained()
        if self.members is None or self.members.get(member.operation.id) is not member:
            return  # completed by the client (its id may already serve a new subscription)
        del self.members[member.operation.id]
        subscription_ended()
        operation = member.operation
        if ended.first is None:
            complete = CompleteMessage(id=operation.id, type="complete")
            with suppress(*GONE):
                await operation.send_operation_message(complete)
            return

        async def first_only() -> Any:
            yield ended.first

        # Strawberry's own handling of a first result that is not a plain result (an
        # invalid document, incremental delivery): an error message, or a close.
        with suppress(_OperationStreamClosed, *GONE):
            await self._send_result_stream(operation, first_only())

    async def _share_key(self, operation: Operation[Context, None]) -> _Key | None:
        documents: DocumentCache = self.schema.documents  # type: ignore[attr-defined]
        if shared_root_field(operation.query, operation.operation_name, documents) is None:
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
    with suppress(*GONE):
        await member.handler.websocket.close(code=TOO_SLOW, reason="subscriber too slow")


def _spawn(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    """A task kept referenced until it is done (nobody awaits it)."""
    task = asyncio.ensure_future(coro)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    return task
