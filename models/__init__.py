"""Tortoise models, money rules and state machines. Knows nothing of GraphQL or gateways."""

from models.catalog import Product, Voucher
from models.order import Order, OrderItem
from models.payment import Dispute, Payment, Refund
from models.records import IdempotencyKey, OutboxEvent, PaymentEvent, WebhookEvent
from models.workspace import Membership, User, Workspace

__all__ = [
    "Dispute",
    "IdempotencyKey",
    "Membership",
    "Order",
    "OrderItem",
    "OutboxEvent",
    "Payment",
    "PaymentEvent",
    "Product",
    "Refund",
    "User",
    "Voucher",
    "WebhookEvent",
    "Workspace",
]
