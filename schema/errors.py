"""Typed mutation errors: ``UserError { code message field }`` from use-case exceptions."""

from collections.abc import Awaitable
from typing import TypeVar

import strawberry

from resolvers.errors import ErrorCode, UserFacingError
from schema.enums import described_enum

T = TypeVar("T")

described_enum(
    ErrorCode,
    "Why a mutation could not do what was asked.",
    {
        "VALIDATION": "An input value breaks a rule; message and field say which.",
        "INVALID_ID": "An id is not one payql issued.",
        "INVALID_QUANTITY": "A quantity is zero, negative or too large.",
        "INVALID_CURRENCY": "Not an ISO 4217 currency code.",
        "NOT_FOUND": "No such object, or it is not yours to see.",
        "FORBIDDEN": "The caller may not do this (e.g. not staff of the workspace).",
        "PRODUCT_UNAVAILABLE": "The product is not on sale (inactive, or already started).",
        "SOLD_OUT": "Not enough seats remain for the quantity asked.",
        "CURRENCY_MISMATCH": "The items, voucher or amount are in different currencies.",
        "VOUCHER_INVALID": "No such voucher code in this workspace.",
        "VOUCHER_EXPIRED": "The voucher is not valid now (outside its validity window).",
        "VOUCHER_USED_UP": "The voucher has reached its maximum uses.",
        "ORDER_NOT_CANCELLABLE": "Only a pending order can be cancelled.",
        "ORDER_NOT_PAYABLE": "The order is not pending, its hold expired, or nothing is due.",
        "GATEWAY_NOT_ENABLED": "The workspace, or this server, does not offer that gateway.",
        "PAYMENT_METHOD_INVALID": "The gateway does not accept that payment method or token.",
        "CAPACITY_BELOW_HELD": "The new capacity is below the seats already sold or held.",
        "ALREADY_EXISTS": "Something with that unique value exists already.",
        "IDEMPOTENCY_KEY_REUSED": "The idempotency key was used before with a different request.",
        "REFUND_EXCEEDS_BALANCE": "More than is left to refund on the payment.",
        "PAYMENT_NOT_REFUNDABLE": "Only a succeeded payment can be refunded.",
        "REFUND_NOT_ALLOWED": "The refund policy forbids it (e.g. the event has started).",
        "DISPUTE_OPEN": "An open chargeback blocks refunds of this payment.",
        "OVERPAYMENT": "The amount exceeds the order's balance due.",
        "INVALID_INPUT": "A value payql cannot store (NUL, lone surrogate, too long, far date).",
        "RATE_LIMITED": "Too many such requests; retry after extensions.retryAfter seconds.",
        "QUERY_TOO_COSTLY": "The operation's static cost exceeds the server's limit.",
    },
)


@strawberry.type(description="An expected failure the client can act on.")
class UserError:
    code: ErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation, safe to show.")
    field: list[str] | None = strawberry.field(
        description="Path to the input field concerned, e.g. [input, items, 0, quantity]."
    )

    @classmethod
    def of(cls, exc: UserFacingError) -> "UserError":
        return cls(code=exc.code, message=exc.message, field=exc.field)


async def attempt(call: Awaitable[T]) -> tuple[T | None, list[UserError]]:
    """Await a use case; expected failures become ``errors``, anything else propagates."""
    try:
        return await call, []
    except UserFacingError as exc:
        return None, [UserError.of(exc)]
