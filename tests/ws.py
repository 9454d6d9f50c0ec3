"""A small GraphQL-over-websocket client speaking both protocols, for tests.

Messages from either protocol are normalized to ``(kind, id, payload)`` where kind is
``next``, ``error`` or ``complete``.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"


class GraphQLWebSocket:
    def __init__(self, connection: ClientConnection, protocol: str) -> None:
        self.connection = connection
        self.protocol = protocol

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def receive(self, wait: float = 10.0) -> dict[str, Any]:
        while True:
            raw = await asyncio.wait_for(self.connection.recv(), wait)
            message: dict[str, Any] = json.loads(raw)
            if message.get("type") == "ping":
                await self.send({"type": "pong"})
                continue
            if message.get("type") in ("ka", "pong"):
                continue
            return message

    async def init(self, token: str | None) -> dict[str, Any]:
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await self.send({"type": "connection_init", "payload": payload})
        return await self.receive()

    async def subscribe(
        self, op_id: str, query: str, variables: dict[str, Any] | None = None
    ) -> None:
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        await self.send(
            {"id": op_id, "type": kind, "payload": {"query": query, "variables": variables or {}}}
        )

    async def stop(self, op_id: str) -> None:
        kind = "complete" if self.protocol == TRANSPORT_WS else "stop"
        await self.send({"id": op_id, "type": kind})

    async def next_event(self, wait: float = 10.0) -> tuple[str, str | None, Any]:
        message = await self.receive(wait)
        kind = message["type"]
        if kind == "data":  # legacy protocol
            kind = "next"
        return kind, message.get("id"), message.get("payload")

    async def collect(self, op_id: str, wait: float = 10.0) -> list[tuple[str, Any]]:
        """Every message for ``op_id`` until it completes (or errors)."""
        received: list[tuple[str, Any]] = []
        while True:
            kind, mid, payload = await self.next_event(wait)
            if mid != op_id:
                continue
            received.append((kind, payload))
            if kind in ("complete", "error"):
                return received


@asynccontextmanager
async def graphql_ws(url: str, protocol: str = TRANSPORT_WS) -> AsyncIterator[GraphQLWebSocket]:
    async with connect(url, subprotocols=[protocol]) as connection:  # type: ignore[list-item]
        assert connection.subprotocol == protocol
        yield GraphQLWebSocket(connection, protocol)
