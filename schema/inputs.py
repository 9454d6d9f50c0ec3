"""GraphQL input types: one ``<MutationName>Input`` per mutation."""

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from schema.enums import OrderStatus
from schema.scalars import Long


@strawberry.input(description="One line of a new order. The price comes from the catalog.")
class OrderItemInput:
    product_id: strawberry.ID = strawberry.field(description="Product to buy.")
    quantity: int = strawberry.field(description="How many, 1 to 100.")


@strawberry.input(description="A new order. Totals are computed by the server.")
class CreateOrderInput:
    workspace_id: strawberry.ID = strawberry.field(description="Selling workspace.")
    items: list[OrderItemInput] = strawberry.field(description="What to buy (one currency).")
    voucher_code: str | None = strawberry.field(default=None, description="Discount code.")
    metadata: JSON | None = strawberry.field(
        default=None, description="Any JSON object (≤ 16 KiB), returned as given on the order."
    )
    success_url: str | None = strawberry.field(
        default=None, description="Where redirect gateways send the buyer after paying."
    )
    failure_url: str | None = strawberry.field(
        default=None, description="Where redirect gateways send the buyer after a failure."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Retry-safe key: the same key and input return the same order for 24 h.",
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
        default=None, description="Part of the order number or the customer's email."
    )


@strawberry.input(description="A new product (staff).")
class CreateProductInput:
    workspace_id: strawberry.ID = strawberry.field(description="Workspace to add it to.")
    name: str = strawberry.field(description="Display name.")
    price: Long = strawberry.field(description="Unit price in minor units.")
    currency: str | None = strawberry.field(
        default=None, description="ISO 4217 code; default: the workspace's currency."
    )
    capacity: int | None = strawberry.field(default=None, description="Seats; null: unlimited.")
    starts_at: datetime | None = strawberry.field(default=None, description="Start time.")
    active: bool = strawberry.field(default=True, description="On sale now.")
    description: str = strawberry.field(default="", description="Longer description.")


@strawberry.input(description="Change a product (staff). Omitted fields stay as they are.")
class UpdateProductInput:
    product_id: strawberry.ID = strawberry.field(description="Product to change.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Display name.")
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
    code: str = strawberry.field(description="Code buyers type (stored upper case).")
    percent_off: int | None = strawberry.field(default=None, description="1–100 % off.")
    amount_off: Long | None = strawberry.field(
        default=None, description="Fixed amount off, in minor units."
    )
    currency: str | None = strawberry.field(
        default=None, description="Currency of amountOff; default: the workspace's."
    )
    max_uses: int | None = strawberry.field(default=None, description="Null: unlimited.")
    valid_from: datetime | None = strawberry.field(default=None, description="Valid from.")
    valid_until: datetime | None = strawberry.field(default=None, description="Valid until.")
