"""The Strawberry ASGI app with payql's context: auth from the header or connection_init.

Over HTTP, GraphQL over HTTP per its spec (graphql.github.io/graphql-over-http):

- the answer is ``application/graphql-response+json`` when the client's ``Accept`` prefers
  it, ``application/json`` otherwise (no ``Accept``, ``*/*``, or anything else);
- with ``application/graphql-response+json``, a request that fails before execution (a
  document that does not parse or validate, variables that do not coerce) is a 400 without
  a ``data`` entry; with ``application/json`` it stays 200 with ``"data": null`` (the spec's
  rules for legacy clients);
- errors raised before execution carry ``extensions.code``: ``GRAPHQL_PARSE_FAILED``,
  ``GRAPHQL_VALIDATION_FAILED`` (the depth, alias and introspection rules included),
  ``BAD_USER_INPUT`` (variables), or their own (``QUERY_TOO_COSTLY``);
- a request refused outright (malformed JSON, no query, an unknown operation, an
  unsupported content type) is a 4xx JSON body in GraphQL's error shape with a code and
  the request id; a mutation over GET is 405 with ``Allow: POST``;
- subscriptions stream over Server-Sent Events (the graphql-sse protocol, distinct
  connections mode: ``Accept: text/event-stream``) and Apollo's multipart subscriptions
  (``Accept: multipart/mixed;subscriptionSpec=1.0``), with the same token, limits and cost
  as any request; a subscription asking for a single JSON answer is refused with 406,
  code ``STREAM_REQUIRED``.

Browser pages on other origins: CORS (``app/main.py``) and the websocket handshake accept
the origins in ``PAYQL_ALLOWED_ORIGINS`` and, unless ``PAYQL_ALLOW_LOCAL_ORIGINS`` is off
(the production default), ``http://localhost:<port>`` and ``http://127.0.0.1:<port>``.

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
import logging
import re
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from contextlib import suppress
from json import JSONDecodeError
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.exceptions import NonJsonMessageReceived, NonTextMessageReceived
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import (
    GRAPHQL_SSE_PROTOCOL,
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionInitMessage as LegacyConnectionInitMessage,
)
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UnsetType

from app.auth import InvalidToken, principal_from_header
from app.graphiql import graphiql_page
from app.graphql_http import (
    APPLICATION_JSON,
    RequestRefused,
    graphql_response,
    refused,
    response_media_type,
)
from app.metrics import subscription_ended, subscription_started
from app.middleware import request_id_var
from app.settings import Settings
from app.shared_streams import GONE, SharedStreams, SharingTransportWSHandler, is_subscription
from gateways.registry import GatewayRegistry
from schema.context import Context

MESSAGE_TOO_BIG = 1009
IDLE = 1000
PROTOCOLS = (
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
    GRAPHQL_SSE_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)
# A page served from this machine, on any port: a frontend's dev server.
LOCAL_ORIGIN = re.compile(r"http://(localhost|127\.0\.0\.1)(:[0-9]{1,5})?")
STREAM_REQUIRED = (
    "A subscription is answered as a stream: send it with `Accept: text/event-stream` "
    "(graphql-sse), `Accept: multipart/mixed;subscriptionSpec=1.0` (Apollo's multipart "
    "subscriptions), or over a websocket to /graphql."
)
logger = logging.getLogger("payql.graphql")


def local_origins_allowed(settings: Settings) -> bool:
    """Whether pages on ``http://localhost:*`` and ``http://127.0.0.1:*`` may call payql
    from a browser: ``PAYQL_ALLOW_LOCAL_ORIGINS``, by default on in development only."""
    if settings.allow_local_origins is None:
        return settings.dev_defaults
    return settings.allow_local_origins


class _NoStrawberryOriginAdvice(logging.Filter):
    """Drops Strawberry's own line for a refused websocket origin: it names a Python
    argument; payql logs its own line, naming the setting."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Rejected WebSocket connection from origin")


_ORIGIN_ADVICE_FILTER = _NoStrawberryOriginAdvice()


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


def _wrong_transport(operation: OperationType, method: str) -> RequestRefused:
    """The refusal of an operation this request cannot carry."""
    if operation is OperationType.SUBSCRIPTION:
        return RequestRefused(406, STREAM_REQUIRED, code="STREAM_REQUIRED")
    return RequestRefused(
        405,
        f"A {operation.value} is sent with POST, not {method}.",
        headers={"Allow": "POST"},
    )


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

    async def handle_async_results(
        self,
        operation_id: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, object] | None,
    ) -> None:
        documents = self.schema.documents  # type: ignore[attr-defined]
        if not is_subscription(query, operation_name, documents):
            await super().handle_async_results(operation_id, query, operation_name, variables)
            return
        subscription_started()
        try:
            await super().handle_async_results(operation_id, query, operation_name, variables)
        finally:
            subscription_ended()


class PayqlGraphQL(GraphQL[Context, None]):
    """GraphQL over HTTP and websockets, with a typed context per request or connection.

    graphql-transport-ws subscriptions to event streams share one execution per group of
    identical subscribers (``app/shared_streams.py``)."""

    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler
    websocket_adapter_class = LimitedWebSocketAdapter

    def __init__(self, *, settings: Settings, gateways: GatewayRegistry, **kwargs: Any) -> None:
        kwargs.setdefault("subscription_protocols", PROTOCOLS)
        super().__init__(**kwargs)
        self.settings = settings
        self.gateways = gateways
        self.shared_streams = SharedStreams()
        self.local_origins = local_origins_allowed(settings)
        logging.getLogger("strawberry.ws").addFilter(_ORIGIN_ADVICE_FILTER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Strawberry's handling, with every refused HTTP request answered as JSON."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            response = await self.run(request)
        except HTTPException as exc:
            response = refused(exc, response_media_type(request.headers.get("accept", "")))
        await response(scope, receive, send)

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = response_media_type(request.headers.get("accept", ""))
        return sub_response

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        media_type = response_media_type(request.headers.get("accept", ""))
        return graphql_response(result, media_type)

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        """The JSON answer, in the negotiated media type; 400 for a request error answered
        without ``data`` (only graphql-response+json drops it)."""
        failed = isinstance(response_data, dict) and "data" not in response_data
        response = Response(
            self.encode_json(response_data),
            status_code=sub_response.status_code or (400 if failed else 200),
            media_type=sub_response.media_type or APPLICATION_JSON,
        )
        response.headers.raw.extend(sub_response.headers.raw)
        response.background = sub_response.background
        return response

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """One operation answered as one JSON body: queries, and mutations over POST.

        :raises RequestRefused: no query, no such operation, a mutation over GET (405), or
            a subscription (406: it needs a stream).
        """
        method = request_adapter.method
        allowed = {OperationType.QUERY}
        if method == "POST":
            allowed.add(OperationType.MUTATION)
        try:
            return await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except MissingQueryError as exc:
            raise RequestRefused(400, "No GraphQL query found in the request.") from exc
        except CannotGetOperationTypeError as exc:
            raise RequestRefused(400, exc.as_http_error_reason()) from exc
        except InvalidOperationTypeError as exc:
            raise _wrong_transport(exc.operation_type, method) from exc

    def is_websocket_origin_allowed(self, request: WebSocket, origin: str) -> bool:
        """The origins in ``PAYQL_ALLOWED_ORIGINS``, and local pages unless turned off."""
        if super().is_websocket_origin_allowed(request, origin):
            return True
        if self.local_origins and LOCAL_ORIGIN.fullmatch(origin):
            return True
        logger.warning(
            "refused a websocket from origin %r: if pages there may use payql, add it to "
            "PAYQL_ALLOWED_ORIGINS (a JSON list, e.g. '[\"https://shop.example.com\"]')",
            origin[:200],
        )
        return False

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

    async def create_streaming_response(
        self,
        request: Request | WebSocket,
        stream: Callable[[], AsyncIterator[str]],
        sub_response: Response,
        headers: Mapping[str, str],
    ) -> Response:
        """A subscription over Server-Sent Events or multipart HTTP, counted as live for as
        long as it streams."""

        async def counted() -> AsyncIterator[str]:
            subscription_started()
            try:
                async for chunk in stream():
                    yield chunk
            finally:
                subscription_ended()

        return await super().create_streaming_response(request, counted, sub_response, headers)

    async def render_graphql_ide(self, request: Request) -> Response:
        """payql's GraphiQL page, its scripts served by payql itself (``app/graphiql.py``)."""
        return graphiql_page(request.scope.get("root_path", ""))
