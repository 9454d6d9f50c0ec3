"""Test helpers: a GraphQL client over the real app, and small data builders."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from starlette.applications import Starlette

from app.auth import issue_token
from app.settings import Settings
from events.broker import MemoryBroker, current_broker
from events.redis_broker import RedisBroker
from gateways.sandbox import SandboxGateway
from models import Membership, Product, User, Voucher, Workspace
from models.enums import Role, VoucherKind
from models.workspace import user_id_for_email


@dataclass
class Response:
    status: int
    body: dict[str, Any]

    @property
    def data(self) -> dict[str, Any]:
        data = self.body.get("data")
        assert isinstance(data, dict), self.body
        return data

    @property
    def errors(self) -> list[dict[str, Any]]:
        errors = self.body.get("errors") or []
        assert isinstance(errors, list)
        return errors

    @property
    def error_codes(self) -> list[str | None]:
        return [e.get("extensions", {}).get("code") for e in self.errors]


class GraphQLClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        settings: Settings,
        *,
        app: Starlette | None = None,
        sandbox: SandboxGateway | None = None,
    ) -> None:
        self.http = http
        self.settings = settings
        self._app = app
        self._sandbox = sandbox

    @property
    def app(self) -> Starlette:
        assert self._app is not None
        return self._app

    @property
    def sandbox(self) -> SandboxGateway:
        assert self._sandbox is not None
        return self._sandbox

    def token(self, email: str, *, admin: bool = False) -> str:
        return issue_token(self.settings, email=email, admin=admin)

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        as_user: str | None = None,
        token: str | None = None,
        admin: bool = False,
    ) -> Response:
        headers = {}
        if as_user is not None:
            token = self.token(as_user, admin=admin)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        return Response(response.status_code, response.json())


def future(days: int = 30) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


async def make_workspace(slug: str = "acme", **fields: Any) -> Workspace:
    defaults: dict[str, Any] = {
        "name": slug.title(),
        "default_currency": "USD",
        "enabled_gateways": ["SANDBOX"],
        "fee_bps": 0,
        "tax_bps": 0,
    }
    return await Workspace.create(slug=slug, **{**defaults, **fields})


async def make_product(workspace: Workspace, **fields: Any) -> Product:
    defaults: dict[str, Any] = {
        "name": "Ticket",
        "price": 1000,
        "currency": workspace.default_currency,
        "capacity": 100,
        "starts_at": future(),
    }
    return await Product.create(workspace_id=workspace.id, **{**defaults, **fields})


async def make_voucher(workspace: Workspace, code: str, **fields: Any) -> Voucher:
    kind = VoucherKind.FIXED if fields.get("amount_off") else VoucherKind.PERCENT
    return await Voucher.create(workspace_id=workspace.id, code=code, kind=kind, **fields)


async def make_staff(email: str, workspace: Workspace, role: Role = Role.STAFF) -> User:
    user = await User.create(id=user_id_for_email(email), email=email)
    await Membership.create(user_id=user.id, workspace_id=workspace.id, role=role)
    return user


CREATE_ORDER = """
mutation Create($input: CreateOrderInput!) {
  createOrder(input: $input) {
    order {
      id number status currency metadata holdExpiresAt
      subtotal { amount currency decimal formatted }
      discount { amount } tax { amount } fee { amount }
      total { amount currency decimal formatted }
      balanceDue { amount } amountPaid { amount }
      items { productId productName quantity unitPrice { amount } lineTotal { amount } }
      events { type toStatus actor }
    }
    errors { code message field }
  }
}
"""


def order_input(workspace: Workspace, *lines: tuple[Product, int], **extra: Any) -> dict[str, Any]:
    return {
        "input": {
            "workspaceId": str(workspace.id),
            "items": [{"productId": str(p.id), "quantity": q} for p, q in lines],
            **extra,
        }
    }


@dataclass
class LiveServer:
    """A real uvicorn serving payql: ``base_url`` for websockets, ``client`` for HTTP."""

    base_url: str
    client: GraphQLClient

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/graphql"


async def wait_subscribed(topic: str, count: int = 1) -> None:
    """Wait until the server has registered ``count`` subscribers on ``topic``."""
    broker = current_broker()
    assert isinstance(broker, MemoryBroker | RedisBroker)
    for _ in range(500):
        if broker.subscriber_count(topic) >= count and (
            not isinstance(broker, RedisBroker) or broker.listening(topic)
        ):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"nobody subscribed to {topic}")
