"""The httpx plumbing shared by the gateways without an async SDK (Paystack, Flutterwave,
Razorpay): one pooled client, explicit timeouts, and payql's error tree applied to HTTP.

===========================  ==========================================
timeout, connection error    GatewayOutcomeUnknown (the call may have landed)
429, 5xx                     GatewayOutcomeUnknown
other 4xx                    GatewayBadRequest (nothing happened), unless
                             the gateway's own mapping says "declined"
non-JSON body                GatewayOutcomeUnknown
===========================  ==========================================

Messages carry the gateway's words and status, never the request's headers (keys).
"""

import logging
from collections.abc import Mapping
from typing import Any

import httpx

from gateways.base import GatewayBadRequest, GatewayOutcomeUnknown

logger = logging.getLogger("payql.gateways.http")

DEFAULT_TIMEOUT = 30.0


class JsonApi:
    """A gateway's JSON API: ``await api.call("POST", "/path", json=…)`` → the parsed body."""

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=dict(headers or {}),
            auth=auth,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
        )

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, Any]:
        """Send one request; returns ``(status, body)`` for 2xx and 4xx (except 429).

        :raises GatewayOutcomeUnknown: timeout, connection error, 429, 5xx, non-JSON.
        """
        try:
            response = await self._client.request(
                method, path, json=json, params=params, headers=headers
            )
        except httpx.TimeoutException:
            raise GatewayOutcomeUnknown(f"{self.name} timed out", code="timeout") from None
        except httpx.TransportError as exc:
            raise GatewayOutcomeUnknown(
                f"{self.name} unreachable: {type(exc).__name__}", code="network_error"
            ) from None
        if response.status_code == 429 or response.status_code >= 500:
            raise GatewayOutcomeUnknown(
                f"{self.name} answered HTTP {response.status_code}",
                code=f"http_{response.status_code}",
            )
        try:
            body = response.json()
        except ValueError:
            raise GatewayOutcomeUnknown(
                f"{self.name} answered HTTP {response.status_code} without JSON",
                code="bad_response",
            ) from None
        return response.status_code, body

    async def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        """Like :meth:`call`, but a 4xx is a :class:`GatewayBadRequest`."""
        status, body = await self.call(method, path, **kwargs)
        if status >= 400:
            raise GatewayBadRequest(
                f"{self.name} refused the request (HTTP {status}): {error_text(body)}",
                code=f"http_{status}",
            )
        return body

    async def aclose(self) -> None:
        await self._client.aclose()


def error_text(body: Any) -> str:
    """The gateway's own explanation, as short text (``message`` / ``error.description``)."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("description"):
            return str(error["description"])[:200]
        if body.get("message"):
            return str(body["message"])[:200]
    return "no details"
