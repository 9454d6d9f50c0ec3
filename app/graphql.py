"""The Strawberry ASGI app with payql's context: auth from the header or connection_init."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from app.auth import InvalidToken, principal_from_header
from app.middleware import request_id_var
from app.settings import Settings
from resolvers.actor import Principal
from schema.context import Context


class PayqlGraphQL(GraphQL[Context, None]):
    """GraphQL over HTTP and websockets, with a typed context per request or connection."""

    def __init__(self, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None
    ) -> Context:
        header = request.headers.get("authorization")
        if isinstance(request, WebSocket):
            header = header or _connection_init_auth(request)
        principal: Principal | None = None
        auth_error: str | None = None
        try:
            principal = principal_from_header(self.settings, header)
        except InvalidToken as exc:
            auth_error = str(exc)
        return Context(
            request=request,
            principal=principal,
            auth_error=auth_error,
            request_id=request_id_var.get(),
        )


def _connection_init_auth(websocket: WebSocket) -> str | None:
    """``{"Authorization": "Bearer …"}`` from the websocket's connection_init payload."""
    payload = websocket.scope.get("connection_params") or {}
    for key in ("Authorization", "authorization"):
        value = payload.get(key) if isinstance(payload, dict) else None
        if isinstance(value, str):
            return value
    return None
