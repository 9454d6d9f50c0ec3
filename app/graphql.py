"""The Strawberry ASGI app with payql's context: auth from the header or connection_init."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.types.unset import UnsetType

from app.auth import InvalidToken, principal_from_header
from app.middleware import request_id_var
from app.settings import Settings
from app.shared_streams import SharedStreams, SharingTransportWSHandler
from gateways.registry import GatewayRegistry
from schema.context import Context


class PayqlGraphQL(GraphQL[Context, None]):
    """GraphQL over HTTP and websockets, with a typed context per request or connection.

    graphql-transport-ws subscriptions to event streams share one execution per group of
    identical subscribers (``app/shared_streams.py``)."""

    graphql_transport_ws_handler_class = SharingTransportWSHandler

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
        payload as ``{"Authorization": "Bearer …"}``."""
        params = context.connection_params or {}
        header = params.get("Authorization") or params.get("authorization")
        if isinstance(header, str):
            self._authenticate(context, header)
        # Verified once; nothing reads the payload later, and the bearer token is not kept
        # for the life of the connection (an idle websocket's memory, bench scenario g).
        context.connection_params = None
        return await super().on_ws_connect(context)

    def _authenticate(self, context: Context, header: str | None) -> None:
        try:
            context.principal = principal_from_header(self.settings, header)
            context.auth_error = None
        except InvalidToken as exc:
            context.principal, context.auth_error = None, str(exc)
        context._actor = None
