"""Custom scalars: ``Long``, a 64-bit integer (GraphQL's ``Int`` is only 32-bit).

``Long`` is a NewType of int for type checkers; ``SCALAR_MAP`` tells Strawberry how to
serialize and parse it (``StrawberryConfig(scalar_map=...)``).
"""

import re
from typing import NewType

import strawberry

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_DIGITS = re.compile(r"-?\d{1,19}")


def parse_long(value: object) -> int:
    """Accept a JSON integer or a string of digits within int64; nothing else."""
    if isinstance(value, bool):
        raise ValueError("Long must be an integer, not a boolean")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value):
        number = int(value)
    else:
        raise ValueError("Long must be an integer number of minor units")
    if not INT64_MIN <= number <= INT64_MAX:
        raise ValueError("Long must fit in 64 bits")
    return number


Long = NewType("Long", int)

LONG_SCALAR = strawberry.scalar(
    name="Long",
    description=(
        "A 64-bit signed integer, serialized as a JSON number. Money amounts are Longs in the "
        "currency's minor unit (cents for USD, yen for JPY, fils for KWD). Inputs also accept "
        "a string of digits."
    ),
    serialize=int,
    parse_value=parse_long,
)

SCALAR_MAP = {Long: LONG_SCALAR}
