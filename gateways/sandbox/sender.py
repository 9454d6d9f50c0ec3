"""How the sandbox delivers its webhooks: an HTTP POST, like any real gateway's."""

import asyncio
import logging
from collections.abc import Mapping
from typing import Protocol

import httpx

logger = logging.getLogger("payql.gateways.sandbox")


class WebhookNotDelivered(Exception):
    """Every attempt to deliver a webhook failed; the caller may keep it and try later."""


class WebhookSender(Protocol):
    async def send(self, body: bytes, headers: Mapping[str, str]) -> None:
        """Deliver one webhook.

        :raises WebhookNotDelivered: it could not be delivered.
        """


class HttpWebhookSender:
    """POST to ``url``; retry a few times with backoff on errors or 5xx answers, then raise
    :class:`WebhookNotDelivered`.

    One HTTP client (and its connection pool) serves every delivery: building an
    ``httpx.AsyncClient`` loads the CA bundle, which made a client per webhook the most
    expensive part of a sandbox payment (``bench/README.md``, scenario d).
    At most ``concurrency`` deliveries are in flight; the others wait their turn here. Left
    to queue inside the pool, hundreds of waiting requests cost more than the deliveries:
    httpcore scans its connections for every queued request on each change (measured with
    py-spy under load, ``bench/README.md``).
    """

    def __init__(
        self,
        url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        attempts: int = 5,
        timeout: float = 10.0,
        concurrency: int = 8,
    ) -> None:
        self.url = url
        self.transport = transport
        self.attempts = attempts
        self.timeout = timeout
        self.concurrency = concurrency
        self._slots: asyncio.Semaphore | None = None
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _http(self) -> tuple[httpx.AsyncClient, asyncio.Semaphore]:
        loop = asyncio.get_running_loop()
        # Pools belong to one event loop.
        if self._client is None or self._slots is None or self._loop is not loop:
            limits = httpx.Limits(
                max_connections=self.concurrency, max_keepalive_connections=self.concurrency
            )
            self._client = httpx.AsyncClient(
                transport=self.transport, timeout=self.timeout, limits=limits
            )
            self._slots = asyncio.Semaphore(self.concurrency)
            self._loop = loop
        return self._client, self._slots

    async def send(self, body: bytes, headers: Mapping[str, str]) -> None:
        delay = 0.2
        reason = "no attempt"
        client, slots = self._http()
        for attempt in range(1, self.attempts + 1):
            try:
                async with slots:
                    response = await client.post(self.url, content=body, headers=dict(headers))
                if response.status_code < 500:
                    return
                reason = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                reason = type(exc).__name__
            logger.warning("sandbox webhook attempt %d failed: %s", attempt, reason)
            if attempt < self.attempts:
                await asyncio.sleep(delay)
                delay *= 2
        raise WebhookNotDelivered(reason)

    async def aclose(self) -> None:
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.aclose()
        self._client = self._loop = self._slots = None
