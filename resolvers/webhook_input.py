"""What an inbound delivery must look like before any of it reaches the database.

PostgreSQL refuses NUL characters and lone surrogates in text and JSON columns, and
``varchar(n)`` refuses longer values; SQLite accepts all three. A delivery is checked
before it is stored, so a bad one is a typed refusal (:class:`InvalidWebhook`) on every
database instead of an error on one:

- ``check_delivery``: the body is UTF-8 without NUL bytes; header values are short,
  printable ASCII (signature comparison needs ASCII, and a header can become an event id).
- ``check_event``: every text a gateway read out of a verified body fits its column and
  holds no NUL or lone surrogate (JSON escapes such as ``\\u0000`` decode to them).
- ``excerpt``: the short, printable start of a body, all a rejected delivery keeps.
- ``RejectionBudget``: how many rejected deliveries a worker records per gateway and
  minute; past it they are answered the same but only counted, so a flood of unsigned
  bodies cannot grow the table without bound either.
"""

import dataclasses
import re
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

from gateways.base import GatewayEvent, InvalidWebhook
from resolvers.text import text_problem

MAX_HEADER_CHARS = 8192
EXCERPT_BYTES = 256
DEFAULT_MAX_CHARS = 255
MAX_NESTING = 16

# Column widths of what an event's fields become (payment, refund, dispute, webhook rows),
# by ``Class.field`` or by field name. A payment's currency is only compared, never stored.
FIELD_MAX_CHARS: Mapping[str, int] = {
    "event_id": 255,
    "type": 128,
    "DisputeResult.currency": 3,
    "currency": 16,
    "failure_code": 64,
    "reason": 64,
    "failure_message": 2000,
    "redirect_url": 2048,
}

_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class InvalidWebhookField(InvalidWebhook):
    """A verified delivery carries a value payql cannot store (``field`` names it)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, code="invalid_field")
        self.field = field


class RejectionBudget:
    """At most ``per_minute`` rejected deliveries recorded per gateway and minute."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._windows: dict[str, tuple[int, int]] = {}  # gateway → (minute, rejections)

    def count(self, gateway: str, now: datetime) -> int:
        """Count one rejection; returns its number within this gateway's current minute
        (recorded while it is at most ``per_minute``)."""
        minute = int(now.timestamp() // 60)
        start, seen = self._windows.get(gateway, (minute, 0))
        seen = seen + 1 if start == minute else 1
        self._windows[gateway] = (minute, seen)
        return seen


def check_delivery(body: bytes, headers: Mapping[str, str]) -> str:
    """The body as text, once it and the headers are safe to hand to a gateway.

    :raises InvalidWebhook: ``malformed_body`` (not UTF-8, or a NUL byte) or
        ``malformed_header`` (a header value too long or not printable ASCII).
    """
    for value in headers.values():
        if len(value) > MAX_HEADER_CHARS or not _HEADER_VALUE.fullmatch(value):
            raise InvalidWebhook("a header value is too long or not ASCII", code="malformed_header")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidWebhook("the body is not UTF-8", code="malformed_body") from None
    if "\x00" in text:
        raise InvalidWebhook("the body holds a NUL byte", code="malformed_body")
    return text


def check_event(event: GatewayEvent) -> None:
    """Refuse an event holding text that would not fit, or not be accepted, where it goes.

    :raises InvalidWebhookField: a value is too long or holds NUL or a lone surrogate.
    """
    _check_value("event", event, DEFAULT_MAX_CHARS, depth=0)


def excerpt(body: bytes) -> str:
    """The first bytes of ``body`` as printable text (invalid UTF-8 and control characters
    become U+FFFD), at most :data:`EXCERPT_BYTES` characters."""
    text = body[:EXCERPT_BYTES].decode("utf-8", errors="replace")
    return _UNPRINTABLE.sub("\ufffd", text)


def _check_value(name: str, value: Any, limit: int, *, depth: int) -> None:
    if depth > MAX_NESTING:
        raise InvalidWebhookField(f"{name} is nested too deeply", field=name)
    if isinstance(value, str):
        _check_text(name, value, limit)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field_name, field_limit in _limits_of(type(value)):
            child = getattr(value, field_name)
            if child is not None and not isinstance(child, int):
                _check_value(field_name, child, field_limit, depth=depth + 1)
    elif isinstance(value, Mapping):
        for key, child in value.items():
            _check_value(name, str(key), DEFAULT_MAX_CHARS, depth=depth + 1)
            _check_value(name, child, FIELD_MAX_CHARS["failure_message"], depth=depth + 1)
    elif isinstance(value, list | tuple):
        for child in value:
            _check_value(name, child, FIELD_MAX_CHARS["failure_message"], depth=depth + 1)


@cache
def _limits_of(kind: type) -> tuple[tuple[str, int], ...]:
    """Each field of a dataclass with its limit (by ``Class.field``, else by name)."""
    return tuple(
        (
            item.name,
            FIELD_MAX_CHARS.get(
                f"{kind.__name__}.{item.name}", FIELD_MAX_CHARS.get(item.name, DEFAULT_MAX_CHARS)
            ),
        )
        for item in dataclasses.fields(kind)
    )


def _check_text(name: str, value: str, limit: int) -> None:
    problem = text_problem(value, max_length=limit)
    if problem is not None:
        raise InvalidWebhookField(f"{name}: {problem.message}", field=name)
