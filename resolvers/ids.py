"""Parsing the opaque ids clients send back."""

from collections.abc import Sequence
from uuid import UUID

from resolvers.errors import ErrorCode, InvalidInput


def parse_id(value: str, *, field: Sequence[str]) -> UUID:
    """The UUID behind an opaque id.

    :raises InvalidInput: (INVALID_ID) the value is not an id payql issued.
    """
    try:
        return UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise InvalidInput(
            f"{value!r} is not a valid id", field=field, code=ErrorCode.INVALID_ID
        ) from None


def try_parse_id(value: str) -> UUID | None:
    """The UUID behind an opaque id, or None when malformed (reads: "not found")."""
    try:
        return UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None
