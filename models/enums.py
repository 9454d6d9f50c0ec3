"""Enumerations stored in the database and exposed (unchanged) through GraphQL."""

from enum import StrEnum


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    PAID = "PAID"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"


class PaymentStatus(StrEnum):
    PENDING = "PENDING"
    REQUIRES_ACTION = "REQUIRES_ACTION"
    PROCESSING = "PROCESSING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class RefundStatus(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class DisputeStatus(StrEnum):
    OPEN = "OPEN"
    WON = "WON"
    LOST = "LOST"
    CLOSED = "CLOSED"


class GatewayName(StrEnum):
    SANDBOX = "SANDBOX"
    STRIPE = "STRIPE"
    PAYSTACK = "PAYSTACK"
    FLUTTERWAVE = "FLUTTERWAVE"
    RAZORPAY = "RAZORPAY"
    MANUAL = "MANUAL"
    COMP = "COMP"


class RefundReason(StrEnum):
    REQUESTED_BY_CUSTOMER = "REQUESTED_BY_CUSTOMER"
    DUPLICATE = "DUPLICATE"
    FRAUDULENT = "FRAUDULENT"
    EVENT_CANCELLED = "EVENT_CANCELLED"
    ORDER_EXPIRED = "ORDER_EXPIRED"
    OTHER = "OTHER"


class Role(StrEnum):
    STAFF = "STAFF"
    OWNER = "OWNER"


class VoucherKind(StrEnum):
    PERCENT = "PERCENT"
    FIXED = "FIXED"
