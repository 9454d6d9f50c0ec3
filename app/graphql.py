"""The Strawberry ASGI app with payql's context: auth from the header or connection_init.

Over websockets, besides what the protocols themselves say:

- a message longer than ``PAYQL_MAX_BODY_BYTES`` closes the connection (1009, "message too
  big"), as a body that long gets 413 over HTTP; the document inside any message is held
  to the same limits as over HTTP by the schema;
- a ``connection_init`` whose token (or the upgrade request's) is refused is not
  acknowledged: graphql-transport-ws closes with 4403, the legacy graphql-ws sends
  ``connection_error`` and closes;
- a connection not signed in (no token yet, or none at all) is closed (1000, "idle") when,
  checked every ``PAYQL_WS_IDLE_TIMEOUT`` seconds, it runs no operation: it holds a socket
  and memory and can see nothing that needs a websocket.
"""

import asyncio
from collections.abc import AsyncGenerator, Callable
from contextlib import suppress
from json import JSONDecodeError
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import NonJsonMessageReceived, NonTextMessageReceived
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionInitMessage as LegacyConnectionInitMessage,
)
from strawberry.types.unset import UnsetType

from app.auth import InvalidToken, principal_from_header
from app.middleware import request_id_var
from app.settings import Settings
from app.shared_streams import GONE, SharedStreams, SharingTransportWSHandler
from gateways.registry import GatewayRegistry
from schema.context import Context

MESSAGE_TOO_BIG = 1009
IDLE = 1000


class LimitedWebSocketAdapter(ASGIWebSocketAdapter):
    """Strawberry's websocket adapter, refusing messages longer than the HTTP body limit."""

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object]:
        limit = self.view.settings.max_body_bytes  # type: ignore[attr-defined]
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                text = await self.ws.receive_text()
                if len(text) > limit:
                    await self.ws.close(code=MESSAGE_TOO_BIG, reason="message too big")
                    return
                try:
                    yield self.view.decode_json(text)
                except JSONDecodeError as exc:
                    if not ignore_parsing_errors:
                        raise NonJsonMessageReceived from exc
        except KeyError as exc:
            raise NonTextMessageReceived from exc
        except WebSocketDisconnect:
            pass


class IdleWatch:
    """Closes a connection that is not signed in once a check, every ``PAYQL_WS_IDLE_TIMEOUT``
    seconds from its opening, finds no operation running.

    A timer, not a task: thousands of signed-in subscribers then hold nothing for it (their
    timer is cancelled as soon as their ``connection_init`` is acknowledged)."""

    def __init__(self, handler: Any, running: Callable[[], bool]) -> None:
        self.handler = handler
        self.running = running
        self.timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Arm the first check, unless the upgrade request already signed the client in."""
        if self.handler.context.principal is None:
            every = self.handler.view.settings.ws_idle_timeout_seconds
            self.timer = asyncio.get_running_loop().call_later(every, self._check)

    def stop(self) -> None:
        """No more checks (the connection signed in or ended)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _check(self) -> None:
        self.timer = None
        if self.handler.context.principal is not None:
            return
        if self.running():
            self.start()
            return
        task = asyncio.ensure_future(self._close())
        _closing.add(task)
        task.add_done_callback(_closing.discard)

    async def _close(self) -> None:
        with suppress(*GONE):
            await self.handler.websocket.close(code=IDLE, reason="idle")


_closing: set["asyncio.Future[None]"] = set()  # idle closes under way (nobody awaits them)


class TransportWSHandler(SharingTransportWSHandler):
    """graphql-transport-ws, shared streams, and idle anonymous connections closed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.idle = IdleWatch(self, lambda: bool(self.operations))

    async def handle(self) -> None:
        self.idle.start()
        await super().handle()

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        if self.context.principal is not None:
            self.idle.stop()

    async def shutdown(self) -> None:
        self.idle.stop()
        await super().shutdown()


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    """The legacy graphql-ws protocol, with idle anonymous connections closed (this protocol
    has no timeout of its own for a connection that never sends ``connection_init``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.idle = IdleWatch(self, lambda: bool(self.tasks))

    async def handle(self) -> None:
        self.idle.start()
        await super().handle()

    async def handle_connection_init(self, message: LegacyConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        if self.context.principal is not None:
            self.idle.stop()

    async def cleanup(self) -> None:
        self.idle.stop()
        await super().cleanup()


class PayqlGraphQL(GraphQL[Context, None]):
    """GraphQL over HTTP and websockets, with a typed context per request or connection.

    graphql-transport-ws subscriptions to event streams share one execution per group of
    identical subscribers (``app/shared_streams.py``)."""

    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler
    websocket_adapter_class = LimitedWebSocketAdapter

    def __init__(self, *, settings: Settings, gateways: GatewayRegistry, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.gateways = gateways
        self.shared_streams = SharedStreams()

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None
    ) -> Context:
        context = Context(
            request=request,
            principal=None,
            request_id=request_id_var.get(),
            gateways=self.gateways,
        )
        self._authenticate(context, request.headers.get("authorization"))
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Browsers cannot set headers on websockets: the token comes in connection_init's
        payload as ``{"Authorization": "Bearer …"}``. A token that is refused refuses the
        connection (the client learns at once, not at its first subscription).

        :raises ConnectionRejectionError: the payload carries a token that is not valid.
        """
        params = context.connection_params or {}
        header = params.get("Authorization", params.get("authorization"))
        # Verified once; nothing reads the payload later, and the bearer token is not kept
        # for the life of the connection (an idle websocket's memory, bench scenario g).
        context.connection_params = None
        if header is not None:
            if not isinstance(header, str):
                raise ConnectionRejectionError({"message": "Authorization must be a string"})
            self._authenticate(context, header)
        if context.auth_error is not None:  # from the payload, or the upgrade's header
            raise ConnectionRejectionError({"message": "invalid or expired token"})
        return await super().on_ws_connect(context)

    def _authenticate(self, context: Context, header: str | None) -> None:
        try:
            context.principal = principal_from_header(self.settings, header)
            context.auth_error = None
        except InvalidToken as exc:
            context.principal, context.auth_error = None, str(exc)
        context._actor = None
