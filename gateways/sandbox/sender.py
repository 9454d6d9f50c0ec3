"""How the sandbox delivers its webhooks: an HTTP POST, like any real gateway's."""

import asyncio
import logging
from collections.abc import Mapping
from typing import Protocol

import httpx

logger = logging.getLogger("payql.gateways.sandbox")


class WebhookSender(Protocol):
    async def send(self, body: bytes, headers: Mapping[str, str]) -> None: ...


class HttpWebhookSender:
    """POST to ``url``; retry a few times with backoff on errors or non-2xx answers.

    One HTTP client (and its connection pool) serves every delivery: building an
    ``httpx.AsyncClient`` loads the CA bundle, about 45 ms of CPU, which made a client per
    webhook the most expensive part of a sandbox payment (``bench/``, scenario d).
    """

    def __init__(
        self,
        url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        attempts: int = 5,
        timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.transport = transport
        self.attempts = attempts
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _http(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:  # pools belong to one loop
            self._client = httpx.AsyncClient(transport=self.transport, timeout=self.timeout)
            self._loop = loop
        return self._client

    async def send(self, body: bytes, headers: Mapping[str, str]) -> None:
        delay = 0.2
        client = self._http()
        for attempt in range(1, self.attempts + 1):
            try:
                response = await client.post(self.url, content=body, headers=dict(headers))
                if response.status_code < 500:
                    return
                reason = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                reason = type(exc).__name__
            logger.warning("sandbox webhook attempt %d failed: %s", attempt, reason)
            await asyncio.sleep(delay)
            delay *= 2

    async def aclose(self) -> None:
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.aclose()
        self._client = self._loop = None
