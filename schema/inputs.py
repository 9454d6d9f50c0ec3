"""GraphQL input types: one ``<MutationName>Input`` per mutation, and the check every
mutation runs on its input before calling a use case.

A string field's ``metadata={"max_length": n}`` is its column's length; without one a string
may hold :data:`resolvers.text.MAX_TEXT` characters. :func:`input_errors` walks an input
(nested inputs, lists, JSON, dates) and reports the first value the database could not
take (NUL, an unpaired surrogate, too long, a date out of range) as ``INVALID_INPUT`` with
its path; :func:`check_argument` does the same for a query's plain arguments.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import cast

import strawberry
from graphql import GraphQLError
from strawberry.scalars import JSON
from strawberry.types.base import has_object_definition
from strawberry.utils.str_converters import to_camel_case

from resolvers.errors import ErrorCode
from resolvers.text import MAX_TEXT, Problem, datetime_problem, json_problem, text_problem
from schema.enums import OrderStatus
from schema.errors import UserError
from schema.scalars import Long

MAX_LENGTH = "max_length"


def column(length: int) -> dict[str, int]:
    """Field metadata: the longest string the field's column holds."""
    return {MAX_LENGTH: length}


@cache
def _fields(cls: type) -> tuple[tuple[str, str, int], ...]:
    """(python name, GraphQL name, max length) of an input type's fields, once per type."""
    return tuple(
        (
            f.python_name,
            f.graphql_name or to_camel_case(f.python_name),
            int(f.metadata.get(MAX_LENGTH, MAX_TEXT)),
        )
        for f in cls.__strawberry_definition__.fields  # type: ignore[attr-defined]
    )


def value_problem(
    value: object, path: tuple[str, ...], *, max_length: int = MAX_TEXT
) -> Problem | None:
    """The first value under ``value`` that cannot be stored, with its full path."""
    if isinstance(value, list):
        items = ((str(i), item, max_length) for i, item in enumerate(value))
        return _first_problem(items, path)
    if has_object_definition(value):
        fields = _fields(cast(type, type(value)))
        items = ((graphql, getattr(value, name), length) for name, graphql, length in fields)
        return _first_problem(items, path)
    found: Problem | None = None
    if isinstance(value, str):
        found = text_problem(value, max_length=max_length)
    elif isinstance(value, datetime):
        found = datetime_problem(value)
    elif isinstance(value, dict):
        found = json_problem(value)
    return Problem(found.message, (*path, *found.path)) if found is not None else None


def _first_problem(
    items: Iterable[tuple[str, object, int]], path: tuple[str, ...]
) -> Problem | None:
    for name, item, length in items:
        if item is None or item is strawberry.UNSET:
            continue
        if (found := value_problem(item, (*path, name), max_length=length)) is not None:
            return found
    return None


def input_errors(input: object) -> list[UserError]:
    """A mutation's ``errors`` for the first unstorable value in its ``input``, or []."""
    found = value_problem(input, ("input",))
    if found is None:
        return []
    return [UserError(code=ErrorCode.INVALID_INPUT, message=found.message, field=list(found.path))]


def check_argument(value: object, *, field: Sequence[str], max_length: int = MAX_TEXT) -> None:
    """Refuse a query argument the database could not compare against.

    :raises GraphQLError: ``INVALID_INPUT`` with the argument's path in ``extensions.field``.
    """
    if value is None:
        return
    found = value_problem(value, tuple(field), max_length=max_length)
    if found is not None:
        raise GraphQLError(
            f"{'.'.join(found.path)}: {found.message}",
            extensions={"code": ErrorCode.INVALID_INPUT.value, "field": list(found.path)},
        )


@strawberry.input(description="One line of a new order. The price comes from the catalog.")
class OrderItemInput:
    product_id: strawberry.ID = strawberry.field(description="Product to buy.")
    quantity: int = strawberry.field(description="How many, 1 to 100.")


@strawberry.input(description="A new order. Totals are computed by the server.")
class CreateOrderInput:
    workspace_id: strawberry.ID = strawberry.field(description="Selling workspace.")
    items: list[OrderItemInput] = strawberry.field(description="What to buy (one currency).")
    voucher_code: str | None = strawberry.field(
        default=None, description="Discount code.", metadata=column(64)
    )
    metadata: JSON | None = strawberry.field(
        default=None, description="Any JSON object (≤ 16 KiB), returned as given on the order."
    )
    success_url: str | None = strawberry.field(
        default=None,
        description="Where redirect gateways send the buyer after paying.",
        metadata=column(2048),
    )
    failure_url: str | None = strawberry.field(
        default=None,
        description="Where redirect gateways send the buyer after a failure.",
        metadata=column(2048),
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Retry-safe key: the same key and input return the same order for 24 h.",
        metadata=column(255),
    )


@strawberry.input(description="Cancel a PENDING order and release its seats.")
class CancelOrderInput:
    order_id: strawberry.ID = strawberry.field(description="Order to cancel.")


@strawberry.input(description="Filter for the orders connection.")
class OrderFilterInput:
    status: OrderStatus | None = strawberry.field(default=None, description="Only this status.")
    workspace_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only this workspace."
    )
    search: str | None = strawberry.field(
        default=None,
        description="Part of the order number or the customer's email.",
        metadata=column(320),
    )


@strawberry.input(description="A new product (staff).")
class CreateProductInput:
    workspace_id: strawberry.ID = strawberry.field(description="Workspace to add it to.")
    name: str = strawberry.field(description="Display name.", metadata=column(200))
    price: Long = strawberry.field(description="Unit price in minor units.")
    currency: str | None = strawberry.field(
        default=None,
        description="ISO 4217 code; default: the workspace's currency.",
        metadata=column(8),
    )
    capacity: int | None = strawberry.field(default=None, description="Seats; null: unlimited.")
    starts_at: datetime | None = strawberry.field(default=None, description="Start time.")
    active: bool = strawberry.field(default=True, description="On sale now.")
    description: str = strawberry.field(default="", description="Longer description.")


@strawberry.input(description="Change a product (staff). Omitted fields stay as they are.")
class UpdateProductInput:
    product_id: strawberry.ID = strawberry.field(description="Product to change.")
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Display name.", metadata=column(200)
    )
    price: Long | None = strawberry.field(
        default=strawberry.UNSET, description="Unit price in minor units (future orders only)."
    )
    capacity: int | None = strawberry.field(
        default=strawberry.UNSET, description="Seats; null: unlimited. Not below seats held."
    )
    starts_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="Start time; null: none."
    )
    active: bool | None = strawberry.field(default=strawberry.UNSET, description="On sale.")
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="Longer description."
    )


@strawberry.input(description="A new voucher (staff): give percentOff or amountOff.")
class CreateVoucherInput:
    workspace_id: strawberry.ID = strawberry.field(description="Workspace it belongs to.")
    code: str = strawberry.field(
        description="Code buyers type (stored upper case).", metadata=column(64)
    )
    percent_off: int | None = strawberry.field(default=None, description="1–100 % off.")
    amount_off: Long | None = strawberry.field(
        default=None, description="Fixed amount off, in minor units."
    )
    currency: str | None = strawberry.field(
        default=None,
        description="Currency of amountOff; default: the workspace's.",
        metadata=column(8),
    )
    max_uses: int | None = strawberry.field(default=None, description="Null: unlimited.")
    valid_from: datetime | None = strawberry.field(default=None, description="Valid from.")
    valid_until: datetime | None = strawberry.field(default=None, description="Valid until.")
