"""uvicorn's HTTP protocol with a header timeout: a request's headers must arrive in time.

uvicorn closes a connection left idle after a response (``timeout_keep_alive``), but has no
limit on the time a client takes to send a request's headers: a connection that sends
nothing, or half a request line, holds its socket for ever (slowloris). This protocol arms
a timer when a connection opens and after every response; if no new request has started
when it fires, the connection is closed. A connection upgraded to a websocket belongs to
the websocket protocol from then on and is left alone (its pings keep it in check).

``payql serve`` names this class as uvicorn's ``http`` protocol. It relies on uvicorn's
protocol interface (``connection_made``, ``on_response_complete``, ``connection_lost`` and
the ``cycle`` a started request sets); ``tests/test_connections.py`` fails on an upgrade
that changes it.
"""

import asyncio
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.settings import Settings


@cache
def header_timeout() -> float:
    """``PAYQL_HEADER_TIMEOUT``, read once per worker process."""
    return Settings().header_timeout_seconds


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` that closes connections slow to send their headers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        if self.transport.is_closing():
            return
        waiting_after = self.cycle  # a new request replaces it once its headers are in
        self._header_timer = self.loop.call_later(header_timeout(), self._expire, waiting_after)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expire(self, waiting_after: object) -> None:
        self._header_timer = None
        if self.transport.get_protocol() is not self or self.transport.is_closing():
            return  # upgraded to a websocket, or already closing
        started = self.cycle is not waiting_after
        busy = self.cycle is not None and not self.cycle.response_complete  # (pipelined)
        if not started and not busy:
            self.transport.close()
