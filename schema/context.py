"""The per-request (or per-websocket) context handed to every field function."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import strawberry
from starlette.requests import Request
from starlette.websockets import WebSocket

from gateways.registry import GatewayRegistry
from resolvers.actor import Actor, Principal, load_actor
from schema.dataloaders import Loaders


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Context:
    """Who is asking, their loaders and the clock.

    ``principal`` is None for anonymous requests; ``auth_error`` is set when a token was
    sent but rejected (protected fields then answer UNAUTHENTICATED).
    """

    request: Request | WebSocket | None
    principal: Principal | None
    auth_error: str | None = None
    request_id: str = "-"
    clock: Callable[[], datetime] = utc_now
    gateways: GatewayRegistry = field(default_factory=lambda: GatewayRegistry({}))
    connection_params: dict[str, object] | None = None  # websocket connection_init payload
    _actor: Actor | None = None
    _loaders: Loaders | None = None

    @property
    def loaders(self) -> Loaders:
        """This request's DataLoaders, built on first use (an idle websocket holds none)."""
        if self._loaders is None:
            self._loaders = Loaders()
        return self._loaders

    def fresh_loaders(self) -> Loaders:
        """New DataLoaders: a subscription calls this before each update, or it serves
        rows cached when the connection opened."""
        self._loaders = Loaders()
        return self._loaders

    def now(self) -> datetime:
        return self.clock()

    def authenticated(self) -> Principal:
        """The verified principal (guarded by IsAuthenticated first); no query."""
        if self.principal is None:
            raise PermissionError("not authenticated")
        return self.principal

    async def actor(self) -> Actor:
        """The authenticated actor with roles loaded (one query, cached per context)."""
        if self._actor is None:
            self._actor = await load_actor(self.authenticated())
        return self._actor

    async def optional_actor(self) -> Actor | None:
        return None if self.principal is None else await self.actor()


Info = strawberry.Info[Context, None]
