"""A lean GraphQL-over-websocket subscriber (graphql-transport-ws) for thousands of clients.

One asyncio Protocol per connection driving websockets' sans-I/O ``ClientProtocol`` (the
handshake, framing, masking and permessage-deflate are the library's), and no task per
connection: the fan-out process holds 5,000 of them and must timestamp each frame the
moment its bytes arrive, so the client's own work stays out of the latency it reports.
It offers ``permessage-deflate`` as browsers do (the server then keeps a compressor per
connection, which counts in its memory).
"""

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any, cast

from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame as WireFrame
from websockets.frames import Opcode
from websockets.http11 import Response
from websockets.typing import Subprotocol
from websockets.uri import parse_uri


@dataclass
class Frame:
    """A ``next`` payload and when its bytes arrived (``time.monotonic``)."""

    at: float
    data: dict[str, Any]


@dataclass
class Subscriber(asyncio.Protocol):
    """One websocket with one subscription; frames land in :attr:`frames`."""

    host: str
    port: int
    token: str
    query: str
    variables: dict[str, Any]
    deflate: bool = True
    frames: list[Frame] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    subscribed: asyncio.Future[None] | None = None
    closed: bool = False

    def __post_init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        extensions = [ClientPerMessageDeflateFactory()] if self.deflate else None
        self.protocol = ClientProtocol(
            parse_uri(f"ws://{self.host}:{self.port}/graphql"),
            subprotocols=[Subprotocol("graphql-transport-ws")],
            extensions=extensions,
        )
        self.partial: list[bytes] = []
        self.deferred: list[tuple[float, bytes]] | None = None

    # ------------------------------------------------------------------ asyncio
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.protocol.send_request(self.protocol.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        arrived = time.monotonic()
        if self.deferred is not None:
            self.deferred.append((arrived, data))
            return
        self._receive(arrived, data)

    def defer(self) -> None:
        """Only timestamp and keep what arrives until :meth:`catch_up`: while a webhook's
        frames arrive, parsing 10,000 of them here would delay reading the sockets, and
        the client's own work would show up as the server's latency."""
        self.deferred = []

    def catch_up(self) -> None:
        """Parse what arrived while deferred, each frame stamped with its bytes' arrival."""
        chunks, self.deferred = self.deferred or [], None
        for arrived, data in chunks:
            self._receive(arrived, data)

    def _receive(self, arrived: float, data: bytes) -> None:
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Response):
                self._on_handshake(event)
            elif isinstance(event, WireFrame):
                self._on_frame(arrived, event)
        self._flush()  # pongs, close replies

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._settle(f"connection lost: {exc}")

    # ------------------------------------------------------------------ protocol
    def _on_handshake(self, response: Response) -> None:
        if self.protocol.handshake_exc is not None:
            self._settle(f"HTTP {response.status_code}: {self.protocol.handshake_exc}")
            return
        self.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}})

    def _on_frame(self, arrived: float, frame: WireFrame) -> None:
        if frame.opcode is Opcode.CLOSE:
            self.closed = True
        elif frame.opcode in (Opcode.TEXT, Opcode.CONT):
            self.partial.append(frame.data)
            if frame.fin:
                message, self.partial = b"".join(self.partial), []
                self._on_message(arrived, message)

    def _on_message(self, arrived: float, raw: bytes) -> None:
        message = json.loads(raw)
        kind = message.get("type")
        if kind == "next":
            payload = message.get("payload") or {}
            if payload.get("errors"):
                self.errors.append(json.dumps(payload["errors"])[:200])
            self.frames.append(Frame(arrived, payload.get("data") or {}))
        elif kind == "connection_ack":
            self.send(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": self.query, "variables": self.variables},
                }
            )
            self._settle(None)
        elif kind == "ping":
            self.send({"type": "pong"})
        elif kind in ("error", "complete"):
            self.errors.append(f"{kind}: {json.dumps(message.get('payload'))[:200]}")

    def _settle(self, error: str | None) -> None:
        if self.subscribed is not None and not self.subscribed.done():
            if error is None:
                self.subscribed.set_result(None)
            else:
                self.subscribed.set_exception(ConnectionError(error))

    def _flush(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        for data in self.protocol.data_to_send():
            if data:
                self.transport.write(data)
            else:  # the protocol wants the TCP connection closed
                self.transport.close()
                return

    def send(self, message: dict[str, Any]) -> None:
        self.protocol.send_text(json.dumps(message).encode())
        self._flush()

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.protocol.send_close(1000)
            self._flush()
            self.transport.close()


async def connect(subscriber: Subscriber, wait: float = 30.0) -> Subscriber:
    """Open the socket, upgrade, init and send the subscription (acknowledged init)."""
    loop = asyncio.get_running_loop()
    subscriber.subscribed = loop.create_future()
    await loop.create_connection(lambda: subscriber, subscriber.host, subscriber.port)
    await asyncio.wait_for(subscriber.subscribed, wait)
    return subscriber
