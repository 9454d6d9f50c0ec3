"""Stripe-style webhook signatures: ``t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>``."""

import hashlib
import hmac
import time

from gateways.base import InvalidWebhook

DEFAULT_TOLERANCE = 300


def sign(body: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """The signature header value for ``body``."""
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def verify(
    body: bytes,
    header: str | None,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Check ``header`` signs ``body`` with ``secret`` within ``tolerance`` seconds.

    :raises InvalidWebhook: missing, malformed, wrong or stale signature.
    """
    if not header:
        raise InvalidWebhook("missing signature", code="signature_missing")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        raise InvalidWebhook("malformed signature header", code="signature_malformed") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise InvalidWebhook("signature timestamp outside tolerance", code="signature_stale")
    expected = sign(body, secret, timestamp=timestamp).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", [])):
        raise InvalidWebhook("signature does not match", code="signature_mismatch")
