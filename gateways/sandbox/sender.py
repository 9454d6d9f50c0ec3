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
    """POST to ``url``; retry a few times with backoff on errors or non-2xx answers."""

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

    async def send(self, body: bytes, headers: Mapping[str, str]) -> None:
        delay = 0.2
        async with httpx.AsyncClient(transport=self.transport, timeout=self.timeout) as client:
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
