"""What a client's strings, JSON and dates must be before they are stored or queried.

PostgreSQL rejects a NUL byte in text and JSON, a lone UTF-16 surrogate cannot be encoded
for the wire, a value longer than its column fails the insert, and a datetime near year
9999 overflows Python's datetime when shifted to UTC. Each of those escaped as an
unexpected error; :func:`text_problem`, :func:`json_problem` and :func:`datetime_problem`
name the problem instead, for the API layer to report as ``INVALID_INPUT``.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

MAX_TEXT = 20_000  # free-text fields without a tighter column (descriptions, notes)
MIN_YEAR, MAX_YEAR = 1900, 2999  # any real event or voucher; far from datetime's limits


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a value is refused, and where it is (relative to the value checked)."""

    message: str
    path: tuple[str, ...] = ()


def text_problem(value: str, *, max_length: int = MAX_TEXT) -> Problem | None:
    """Why ``value`` cannot be stored as text, or None."""
    if len(value) > max_length:
        return Problem(f"at most {max_length} characters")
    if "\x00" in value:
        return Problem("must not contain NUL characters")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return Problem("must be valid Unicode (no unpaired surrogates)")
    return None


def json_problem(value: object, *, path: Sequence[str] = ()) -> Problem | None:
    """Why the JSON ``value`` cannot be stored, or None: checks every key and string."""
    if isinstance(value, str):
        found = text_problem(value)
        return Problem(found.message, tuple(path)) if found else None
    if isinstance(value, dict):
        for key, item in value.items():
            if (found := text_problem(str(key))) is not None:
                return Problem(f"keys {found.message}", tuple(path))
            if (found := json_problem(item, path=[*path, str(key)])) is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if (found := json_problem(item, path=[*path, str(index)])) is not None:
                return found
    return None


def datetime_problem(value: datetime) -> Problem | None:
    """Why ``value`` is outside the dates payql stores, or None."""
    try:
        year = value.astimezone(UTC).year if value.tzinfo else value.year
    except OverflowError:
        year = MAX_YEAR + 1
    if not MIN_YEAR <= year <= MAX_YEAR:
        return Problem(f"dates must be between the years {MIN_YEAR} and {MAX_YEAR}")
    return None
