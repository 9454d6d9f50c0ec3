"""The domain enums, registered with Strawberry once, before any type uses them."""

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

strawberry.enum(OrderStatus, description="Where an order is in its life.")
strawberry.enum(PaymentStatus, description="Where a payment attempt is.")
strawberry.enum(RefundStatus, description="Where a refund is.")
strawberry.enum(DisputeStatus, description="Where a chargeback is.")
strawberry.enum(GatewayName, description="A way to take payment.")
strawberry.enum(RefundReason, description="Why money is returned.")
strawberry.enum(Role, description="A member's role in a workspace.")

__all__ = [
    "DisputeStatus",
    "GatewayName",
    "OrderStatus",
    "PaymentStatus",
    "RefundReason",
    "RefundStatus",
    "Role",
]
