"""Typed, user-facing errors raised by use cases.

Every expected failure is a :class:`UserFacingError` carrying an :class:`ErrorCode` and the
input path it concerns; ``schema/`` turns them into a payload's ``errors`` list. Anything
else that escapes a use case is a bug: masked for the client, logged in full.

    UserFacingError
    ├── InvalidInput          VALIDATION, INVALID_ID, INVALID_QUANTITY, INVALID_CURRENCY
    ├── NotFound              NOT_FOUND (also: exists but is not yours)
    ├── Forbidden             FORBIDDEN
    ├── ProductUnavailable    PRODUCT_UNAVAILABLE
    ├── SoldOut               SOLD_OUT
    ├── CurrencyMismatch      CURRENCY_MISMATCH
    ├── VoucherInvalid        VOUCHER_INVALID, VOUCHER_EXPIRED, VOUCHER_USED_UP
    ├── OrderNotCancellable   ORDER_NOT_CANCELLABLE
    ├── OrderNotPayable       ORDER_NOT_PAYABLE
    ├── GatewayNotEnabled     GATEWAY_NOT_ENABLED
    ├── PaymentMethodInvalid  PAYMENT_METHOD_INVALID
    ├── CapacityBelowHeld     CAPACITY_BELOW_HELD
    ├── AlreadyExists         ALREADY_EXISTS
    ├── IdempotencyKeyReused  IDEMPOTENCY_KEY_REUSED
    └── RateLimited           RATE_LIMITED (``resolvers/rate_limits.py``; the API reports it
                              as a GraphQL error with ``extensions.retryAfter``)

Values the database could not store (NUL, unpaired surrogates, too long, far dates) are
refused as INVALID_INPUT before any use case runs (``resolvers/text.py``).
"""

from collections.abc import Sequence
from enum import StrEnum


class ErrorCode(StrEnum):
    VALIDATION = "VALIDATION"
    INVALID_ID = "INVALID_ID"
    INVALID_QUANTITY = "INVALID_QUANTITY"
    INVALID_CURRENCY = "INVALID_CURRENCY"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    PRODUCT_UNAVAILABLE = "PRODUCT_UNAVAILABLE"
    SOLD_OUT = "SOLD_OUT"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    VOUCHER_INVALID = "VOUCHER_INVALID"
    VOUCHER_EXPIRED = "VOUCHER_EXPIRED"
    VOUCHER_USED_UP = "VOUCHER_USED_UP"
    ORDER_NOT_CANCELLABLE = "ORDER_NOT_CANCELLABLE"
    ORDER_NOT_PAYABLE = "ORDER_NOT_PAYABLE"
    GATEWAY_NOT_ENABLED = "GATEWAY_NOT_ENABLED"
    PAYMENT_METHOD_INVALID = "PAYMENT_METHOD_INVALID"
    CAPACITY_BELOW_HELD = "CAPACITY_BELOW_HELD"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    REFUND_EXCEEDS_BALANCE = "REFUND_EXCEEDS_BALANCE"
    PAYMENT_NOT_REFUNDABLE = "PAYMENT_NOT_REFUNDABLE"
    REFUND_NOT_ALLOWED = "REFUND_NOT_ALLOWED"
    DISPUTE_OPEN = "DISPUTE_OPEN"
    OVERPAYMENT = "OVERPAYMENT"
    INVALID_INPUT = "INVALID_INPUT"
    RATE_LIMITED = "RATE_LIMITED"
    QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"


class UserFacingError(Exception):
    """An expected failure the client can act on."""

    code: ErrorCode = ErrorCode.VALIDATION

    def __init__(
        self, message: str, *, field: Sequence[str] | None = None, code: ErrorCode | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = list(field) if field is not None else None
        if code is not None:
            self.code = code


class InvalidInput(UserFacingError):
    code = ErrorCode.VALIDATION


class NotFound(UserFacingError):
    code = ErrorCode.NOT_FOUND


class Forbidden(UserFacingError):
    code = ErrorCode.FORBIDDEN


class ProductUnavailable(UserFacingError):
    code = ErrorCode.PRODUCT_UNAVAILABLE


class SoldOut(UserFacingError):
    code = ErrorCode.SOLD_OUT


class CurrencyMismatch(UserFacingError):
    code = ErrorCode.CURRENCY_MISMATCH


class VoucherInvalid(UserFacingError):
    code = ErrorCode.VOUCHER_INVALID


class OrderNotCancellable(UserFacingError):
    code = ErrorCode.ORDER_NOT_CANCELLABLE


class OrderNotPayable(UserFacingError):
    code = ErrorCode.ORDER_NOT_PAYABLE


class GatewayNotEnabled(UserFacingError):
    code = ErrorCode.GATEWAY_NOT_ENABLED


class PaymentMethodInvalid(UserFacingError):
    code = ErrorCode.PAYMENT_METHOD_INVALID


class CapacityBelowHeld(UserFacingError):
    code = ErrorCode.CAPACITY_BELOW_HELD


class AlreadyExists(UserFacingError):
    code = ErrorCode.ALREADY_EXISTS


class IdempotencyKeyReused(UserFacingError):
    code = ErrorCode.IDEMPOTENCY_KEY_REUSED


class RefundExceedsBalance(UserFacingError):
    code = ErrorCode.REFUND_EXCEEDS_BALANCE


class PaymentNotRefundable(UserFacingError):
    code = ErrorCode.PAYMENT_NOT_REFUNDABLE


class RefundNotAllowed(UserFacingError):
    code = ErrorCode.REFUND_NOT_ALLOWED


class DisputeOpen(UserFacingError):
    code = ErrorCode.DISPUTE_OPEN


class Overpayment(UserFacingError):
    code = ErrorCode.OVERPAYMENT
