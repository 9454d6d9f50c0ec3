"""The domain enums, registered with Strawberry once, before any type uses them, each value
with its description (the Python enums stay plain: models know nothing of GraphQL)."""

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

import strawberry

from models.enums import (
    DisputeStatus,
    GatewayName,
    OrderStatus,
    PaymentStatus,
    RefundReason,
    RefundStatus,
    Role,
)

E = TypeVar("E", bound=type[StrEnum])


def described_enum(cls: E, description: str, values: Mapping[str, str]) -> E:
    """Register ``cls`` as a GraphQL enum described by ``description``, each value by
    ``values[name]`` (names and values unchanged)."""
    strawberry.enum(cls, description=description)
    for value in cls.__strawberry_definition__.values:  # type: ignore[attr-defined]
        value.description = values.get(value.name)
    return cls


described_enum(
    OrderStatus,
    "Where an order is in its life.",
    {
        "PENDING": "Created; seats are held until holdExpiresAt while it waits for payment.",
        "PAID": "Succeeded payments cover the total.",
        "PARTIALLY_REFUNDED": "Paid, and part of the money has been refunded.",
        "REFUNDED": "Paid, and all of the money has been refunded.",
        "CANCELLED": "Cancelled before it was paid; its seats are released.",
        "EXPIRED": "Not paid before its hold expired; its seats are released.",
    },
)
described_enum(
    PaymentStatus,
    "Where a payment attempt is.",
    {
        "PENDING": "Created; not yet sent to the gateway, or sent without an answer yet.",
        "REQUIRES_ACTION": "The buyer must act: open nextAction.redirectUrl (a hosted page or "
        "3-D Secure).",
        "PROCESSING": "The gateway has it and has not decided; the outcome arrives by webhook.",
        "SUCCEEDED": "The money was taken (final; refunds are tracked by amountRefunded).",
        "FAILED": "Declined or failed; see failureCode (final: retry with a new attempt).",
        "CANCELLED": "Abandoned before it completed, e.g. when the order expired (final).",
    },
)
described_enum(
    RefundStatus,
    "Where a refund is.",
    {
        "PENDING": "Requested; its amount is reserved while the gateway works on it.",
        "SUCCEEDED": "The money was returned.",
        "FAILED": "The gateway refused; the reserved amount can be refunded again.",
    },
)
described_enum(
    DisputeStatus,
    "Where a chargeback is.",
    {
        "OPEN": "The buyer's bank disputes the payment; refunds wait until it closes.",
        "WON": "Decided for the merchant: the money stays.",
        "LOST": "Decided for the buyer: the money went back to them.",
        "CLOSED": "Closed with any other outcome the gateway reports.",
    },
)
described_enum(
    GatewayName,
    "A way to take payment.",
    {
        "SANDBOX": "payql's built-in test gateway with a hosted checkout page (development).",
        "STRIPE": "Stripe: cards through Stripe.js and Payment Intents.",
        "PAYSTACK": "Paystack: a hosted page the buyer is redirected to.",
        "FLUTTERWAVE": "Flutterwave: a hosted page the buyer is redirected to.",
        "RAZORPAY": "Razorpay: a checkout page the buyer is redirected to.",
        "MANUAL": "Cash or another tender entered by staff.",
        "COMP": "A free order (total zero), complete at once.",
    },
)
described_enum(
    RefundReason,
    "Why money is returned.",
    {
        "REQUESTED_BY_CUSTOMER": "The buyer asked for it.",
        "DUPLICATE": "The buyer paid twice.",
        "FRAUDULENT": "The payment was not the card holder's.",
        "EVENT_CANCELLED": "The event or booking will not take place.",
        "ORDER_EXPIRED": "Paid after the order expired or was cancelled, with no seats left "
        "(refunded by payql itself).",
        "OTHER": "Any other reason; say which in the description.",
    },
)
described_enum(
    Role,
    "A member's role in a workspace.",
    {
        "STAFF": "Sees and manages the workspace's orders, payments and catalog.",
        "OWNER": "Staff who also own the workspace.",
    },
)

__all__ = [
    "DisputeStatus",
    "GatewayName",
    "OrderStatus",
    "PaymentStatus",
    "RefundReason",
    "RefundStatus",
    "Role",
    "described_enum",
]
