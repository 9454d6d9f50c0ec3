"""GraphQL object types: thin views over model rows. Relations go through DataLoaders."""

from datetime import datetime
from typing import Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON

import models
from models import money
from schema.context import Info
from schema.enums import (
    DisputeStatus,
    GatewayName,
    OrderStatus,
    PaymentStatus,
    RefundReason,
    RefundStatus,
    Role,
)
from schema.scalars import Long


def _id(value: object) -> strawberry.ID:
    return strawberry.ID(str(value))


@strawberry.type(description="An amount of money in one currency.")
class Money:
    amount: Long = strawberry.field(
        description="Integer amount in the currency's minor unit (1250 USD = $12.50)."
    )
    currency: str = strawberry.field(description="ISO 4217 currency code.")

    @strawberry.field(description='Exact decimal in major units, e.g. "12.50" (display only).')
    def decimal(self) -> str:
        return money.decimal_string(self.amount, self.currency)

    @strawberry.field(description='Localized display string, e.g. "$12.50" (en_US).')
    def formatted(self) -> str:
        return money.formatted(self.amount, self.currency)


def _money(amount: int, currency: str) -> Money:
    return Money(amount=Long(amount), currency=currency)


@strawberry.type(description="A person, identified by the email in their token.")
class User:
    row: strawberry.Private[models.User]

    @strawberry.field(description="Opaque id.")
    def id(self) -> strawberry.ID:
        return _id(self.row.id)

    @strawberry.field(description="Email address from the token.")
    def email(self) -> str:
        return self.row.email


@strawberry.type(description="A role in a workspace.")
class Membership:
    workspace: Annotated["Workspace", strawberry.lazy("schema.types")] = strawberry.field(
        description="The workspace."
    )
    role: Role = strawberry.field(description="STAFF or OWNER.")


@strawberry.type(description="The caller: who the token says they are, and their roles.")
class Me:
    user_id: strawberry.ID = strawberry.field(description="Opaque id of the caller.")
    email: str = strawberry.field(description="Email from the token.")
    is_admin: bool = strawberry.field(description="Admins see every workspace.")
    memberships: list[Membership] = strawberry.field(description="Workspaces the caller staffs.")


@strawberry.type(description="Something for sale: a ticket type, a booking slot, a seat class.")
class Product:
    row: strawberry.Private[models.Product]

    @strawberry.field(description="Opaque id.")
    def id(self) -> strawberry.ID:
        return _id(self.row.id)

    @strawberry.field(description="Display name.")
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="Longer description.")
    def description(self) -> str:
        return self.row.description

    @strawberry.field(description="Unit price.")
    def price(self) -> Money:
        return _money(self.row.price, self.row.currency)

    @strawberry.field(description="Total seats; null means unlimited.")
    def capacity(self) -> int | None:
        return self.row.capacity

    @strawberry.field(description="Seats not yet held or sold; null means unlimited.")
    def remaining(self) -> int | None:
        return self.row.remaining

    @strawberry.field(
        description="When the event or booking starts; sales and refunds by customers close then."
    )
    def starts_at(self) -> datetime | None:
        return self.row.starts_at

    @strawberry.field(description="Whether it is on sale.")
    def active(self) -> bool:
        return self.row.active


@strawberry.type(description="A discount code.")
class Voucher:
    row: strawberry.Private[models.Voucher]

    @strawberry.field(description="Opaque id.")
    def id(self) -> strawberry.ID:
        return _id(self.row.id)

    @strawberry.field(description="The code buyers type (upper case).")
    def code(self) -> str:
        return self.row.code

    @strawberry.field(description="Percent off the subtotal (1–100), if a percentage voucher.")
    def percent_off(self) -> int | None:
        return self.row.percent_off

    @strawberry.field(description="Fixed amount off, if a fixed voucher.")
    def amount_off(self) -> Money | None:
        if self.row.amount_off is None or self.row.currency is None:
            return None
        return _money(self.row.amount_off, self.row.currency)

    @strawberry.field(description="How many orders may use it; null means unlimited.")
    def max_uses(self) -> int | None:
        return self.row.max_uses

    @strawberry.field(description="How many live orders use it.")
    def uses(self) -> int:
        return self.row.uses

    @strawberry.field(description="Not valid before this time.")
    def valid_from(self) -> datetime | None:
        return self.row.valid_from

    @strawberry.field(description="Not valid from this time on.")
    def valid_until(self) -> datetime | None:
        return self.row.valid_until


@strawberry.type(description="An organizer or merchant: owns products, orders and settings.")
class Workspace:
    row: strawberry.Private[models.Workspace]

    @strawberry.field(description="Opaque id.")
    def id(self) -> strawberry.ID:
        return _id(self.row.id)

    @strawberry.field(description="URL-friendly unique name.")
    def slug(self) -> str:
        return self.row.slug

    @strawberry.field(description="Display name.")
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="Currency new products default to.")
    def default_currency(self) -> str:
        return self.row.default_currency

    @strawberry.field(description="Processing fee passed to buyers, in basis points (300 = 3%).")
    def fee_bps(self) -> int:
        return self.row.fee_bps

    @strawberry.field(description="Tax on the discounted subtotal, in basis points.")
    def tax_bps(self) -> int:
        return self.row.tax_bps

    @strawberry.field(description="How long a new order holds its seats before it expires.")
    def hold_minutes(self) -> int:
        return self.row.hold_minutes

    @strawberry.field(description="Products on sale (staff also see inactive ones).")
    async def products(self, info: Info) -> list[Product]:
        rows = await info.context.loaders.products_by_workspace_id.load(self.row.id)
        actor = await info.context.optional_actor()
        staff = actor is not None and actor.is_staff_of(self.row.id)
        return [Product(row=row) for row in rows if row.active or staff]


@strawberry.type(description="A line of an order: a snapshot taken when the order was made.")
class OrderItem:
    row: strawberry.Private[models.OrderItem]

    @strawberry.field(description="Opaque id.")
    def id(self) -> strawberry.ID:
        return _id(self.row.id)

    @strawberry.field(description="The product's id.")
    def product_id(self) -> strawberry.ID:
        return _id(self.row.product_id)

    @strawberry.field(description="The product's name at order time.")
    def product_name(self) -> str:
        return self.row.product_name

    @strawberry.field(description="How many.")
    def quantity(self) -> int:
        return self.row.quantity

    @strawberry.field(description="Unit price at order time.")
    def unit_price(self) -> Money:
        return _money(self.row.unit_price, self.row.currency)

    @strawberry.field(description="unitPrice × quantity.")
    def line_total(self) -> Money:
        return _money(self.row.line_total, self.row.currency)


@strawberry.type(description="A refund of (part of) one payment.")
class Refund:
    row: strawberry.Private[models.Refund]

    @strawberry.field(description="Opaque id.")
    def id(self) -> strawberry.ID:
        return _id(self.row.id)

    @strawberry.field(description="The refunded payment's id.")
    def payment_id(self) -> strawberry.ID:
        return _id(self.row.payment_id)

    @strawberry.field(description="PENDING until the gateway answers.")
    def status(self) -> RefundStatus:
        return self.row.status

    @strawberry.field(description="Amount returned.")
    def amount(self) -> Money:
        return _money(self.row.amount, self.row.currency)

    @strawberry.field(description="Why.")
    def reason(self) -> RefundReason:
        return self.row.reason

    @strawberry.field(description="Free-text explanation.")
    def description(self) -> str:
        return self.row.description

    @strawberry.field(description="Why it failed: the gateway's code.")
    def failure_code(self) -> str | None:
        return self.row.failure_code

    @strawberry.field(description="When it was requested.")
    def created_at(self) -> datetime:
        return self.row.created_at


@strawberry.type(description="A chargeback on a payment, reported by its gateway.")
class Dispute:
    row: strawberry.Private[models.Dispute]

    @strawberry.field(description="Opaque id.")
    def id(self) -> strawberry.ID:
        return _id(self.row.id)

    @strawberry.field(description="The disputed payment's id.")
    def payment_id(self) -> strawberry.ID:
        return _id(self.row.payment_id)

    @strawberry.field(description="OPEN blocks refunds of the payment.")
    def status(self) -> DisputeStatus:
        return self.row.status

    @strawberry.field(description="Disputed amount.")
    def amount(self) -> Money:
        return _money(self.row.amount, self.row.currency)

    @strawberry.field(description="The gateway's reason code.")
    def reason(self) -> str:
        return self.row.reason

    @strawberry.field(description="When it was opened.")
    def created_at(self) -> datetime:
        return self.row.created_at


@strawberry.type(description="What the buyer must do to continue a payment.")
class NextAction:
    type: str = strawberry.field(
        description="REDIRECT: send the buyer to redirectUrl. USE_STRIPE_SDK: finish with "
        "Stripe.js (handleNextAction or confirmPayment) using the payment's clientSecret."
    )
    redirect_url: str | None = strawberry.field(description="Gateway page to open.")

    @classmethod
    def of(cls, stored: dict[str, Any] | None) -> "NextAction | None":
        if not stored:
            return None
        return cls(type=str(stored.get("type")), redirect_url=stored.get("redirectUrl"))


@strawberry.type(description="One attempt to collect money for an order through one gateway.")
class Payment:
    row: strawberry.Private[models.Payment]
    status_override: strawberry.Private[PaymentStatus | None] = None

    @strawberry.field(description="Opaque id.")
    def id(self) -> strawberry.ID:
        return _id(self.row.id)

    @strawberry.field(description="The order's id.")
    def order_id(self) -> strawberry.ID:
        return _id(self.row.order_id)

    @strawberry.field(description="How it is paid.")
    def gateway(self) -> GatewayName:
        return self.row.gateway

    @strawberry.field(description="Where it is.")
    def status(self) -> PaymentStatus:
        return self.status_override or self.row.status

    @strawberry.field(description="Amount to collect.")
    def amount(self) -> Money:
        return _money(self.row.amount, self.row.currency)

    @strawberry.field(description="Amount refunded so far.")
    def amount_refunded(self) -> Money:
        return _money(self.row.amount_refunded, self.row.currency)

    @strawberry.field(description="The gateway's reference (or the staff's, for manual payments).")
    def reference(self) -> str | None:
        return self.row.reference

    @strawberry.field(description="What the buyer must do next (3-D Secure, hosted checkout).")
    def next_action(self) -> NextAction | None:
        return NextAction.of(self.row.next_action)

    @strawberry.field(description="Why it failed: a machine-readable code.")
    def failure_code(self) -> str | None:
        return self.row.failure_code

    @strawberry.field(description="Why it failed, for people.")
    def failure_message(self) -> str | None:
        return self.row.failure_message

    @strawberry.field(description="1 for the first attempt on the order, 2 for the retry, …")
    def attempt(self) -> int:
        return self.row.attempt

    @strawberry.field(description="Refunds of this payment.")
    async def refunds(self, info: Info) -> list[Refund]:
        # Loaded by order, so a page asking for order.refunds and payments.refunds shares one
        # query (the orders page stays at a constant number of queries).
        rows = await info.context.loaders.refunds_by_order_id.load(self.row.order_id)
        return [Refund(row=row) for row in rows if row.payment_id == self.row.id]

    @strawberry.field(description="Chargebacks on this payment.")
    async def disputes(self, info: Info) -> list[Dispute]:
        rows = await info.context.loaders.disputes_by_payment_id.load(self.row.id)
        return [Dispute(row=row) for row in rows]

    @strawberry.field(description="The gateway's own fee for this payment, where it reports one.")
    def gateway_fee(self) -> Money | None:
        if self.row.gateway_fee is None:
            return None
        return _money(self.row.gateway_fee, self.row.currency)

    @strawberry.field(description="Staff's note on a manual payment.")
    def note(self) -> str | None:
        return self.row.note

    @strawberry.field(
        description="Email of the staff member who recorded a manual payment (staff only)."
    )
    async def recorded_by(self, info: Info) -> str | None:
        if self.row.recorded_by_id is None:
            return None
        actor = await info.context.optional_actor()
        if actor is None or not actor.is_staff_of(self.row.workspace_id):
            return None
        user = await info.context.loaders.user_by_id.load(self.row.recorded_by_id)
        return user.email if user else None

    @strawberry.field(description="When the attempt started.")
    def created_at(self) -> datetime:
        return self.row.created_at


@strawberry.type(name="PaymentEvent", description="One state change in an order's history.")
class PaymentEventType:
    row: strawberry.Private[models.PaymentEvent]

    @strawberry.field(description="Monotonic id: later events have larger ids.")
    def id(self) -> strawberry.ID:
        return _id(self.row.id)

    @strawberry.field(description="Dotted event type, e.g. order.created, payment.succeeded.")
    def type(self) -> str:
        return self.row.type

    @strawberry.field(description="Status before the change.")
    def from_status(self) -> str | None:
        return self.row.from_status

    @strawberry.field(description="Status after the change.")
    def to_status(self) -> str | None:
        return self.row.to_status

    @strawberry.field(description="Who caused it (user:<email>, gateway:<name>, system:<job>).")
    def actor(self) -> str:
        return self.row.actor

    @strawberry.field(description="The payment concerned, if any.")
    def payment_id(self) -> strawberry.ID | None:
        return None if self.row.payment_id is None else _id(self.row.payment_id)

    @strawberry.field(description="When it happened.")
    def created_at(self) -> datetime:
        return self.row.created_at


@strawberry.type(description="A priced basket for one customer, paid by one or more payments.")
class Order:
    row: strawberry.Private[models.Order]

    @strawberry.field(description="Opaque id.")
    def id(self) -> strawberry.ID:
        return _id(self.row.id)

    @strawberry.field(description="Public order number, e.g. PQ-7K3M9XQ2RT: safe to print.")
    def number(self) -> str:
        return self.row.number

    @strawberry.field(description="Where the order is.")
    def status(self) -> OrderStatus:
        return self.row.status

    @strawberry.field(description="ISO 4217 currency of every amount on the order.")
    def currency(self) -> str:
        return self.row.currency

    @strawberry.field(description="Σ unit price × quantity.")
    def subtotal(self) -> Money:
        return _money(self.row.subtotal, self.row.currency)

    @strawberry.field(description="Voucher discount.")
    def discount(self) -> Money:
        return _money(self.row.discount, self.row.currency)

    @strawberry.field(description="Tax on the discounted subtotal.")
    def tax(self) -> Money:
        return _money(self.row.tax, self.row.currency)

    @strawberry.field(description="Processing fee passed to the buyer.")
    def fee(self) -> Money:
        return _money(self.row.fee, self.row.currency)

    @strawberry.field(description="subtotal − discount + tax + fee: what the buyer pays.")
    def total(self) -> Money:
        return _money(self.row.total, self.row.currency)

    @strawberry.field(description="Σ succeeded payments.")
    def amount_paid(self) -> Money:
        return _money(self.row.amount_paid, self.row.currency)

    @strawberry.field(description="Σ succeeded refunds.")
    def amount_refunded(self) -> Money:
        return _money(self.row.amount_refunded, self.row.currency)

    @strawberry.field(description="What is left to pay.")
    def balance_due(self) -> Money:
        return _money(self.row.balance_due, self.row.currency)

    @strawberry.field(description="What the caller stored with the order, returned as given.")
    def metadata(self) -> JSON:
        return cast(JSON, self.row.metadata)

    @strawberry.field(description="Seats are held until then; a PENDING order then expires.")
    def hold_expires_at(self) -> datetime | None:
        return self.row.hold_expires_at

    @strawberry.field(description="Where redirect gateways send the buyer after paying.")
    def success_url(self) -> str | None:
        return self.row.success_url

    @strawberry.field(description="Where redirect gateways send the buyer after a failure.")
    def failure_url(self) -> str | None:
        return self.row.failure_url

    @strawberry.field(description="When it was created.")
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="When it became PAID.")
    def paid_at(self) -> datetime | None:
        return self.row.paid_at

    @strawberry.field(description="The lines, as priced at order time.")
    async def items(self, info: Info) -> list[OrderItem]:
        return [
            OrderItem(row=r) for r in await info.context.loaders.items_by_order_id.load(self.row.id)
        ]

    @strawberry.field(description="Payment attempts, oldest first.")
    async def payments(self, info: Info) -> list[Payment]:
        rows = await info.context.loaders.payments_by_order_id.load(self.row.id)
        return [Payment(row=row) for row in rows]

    @strawberry.field(description="Refunds, oldest first.")
    async def refunds(self, info: Info) -> list[Refund]:
        rows = await info.context.loaders.refunds_by_order_id.load(self.row.id)
        return [Refund(row=row) for row in rows]

    @strawberry.field(description="Chargebacks, oldest first.")
    async def disputes(self, info: Info) -> list[Dispute]:
        rows = await info.context.loaders.disputes_by_order_id.load(self.row.id)
        return [Dispute(row=row) for row in rows]

    @strawberry.field(description="Every state change, oldest first. Append-only.")
    async def events(self, info: Info) -> list[PaymentEventType]:
        rows = await info.context.loaders.events_by_order_id.load(self.row.id)
        return [PaymentEventType(row=row) for row in rows]

    @strawberry.field(description="The selling workspace.")
    async def workspace(self, info: Info) -> Workspace:
        row = await info.context.loaders.workspace_by_id.load(self.row.workspace_id)
        assert row is not None  # noqa: S101 - FK with RESTRICT: it exists
        return Workspace(row=row)

    @strawberry.field(description="The buyer.")
    async def customer(self, info: Info) -> User:
        row = await info.context.loaders.user_by_id.load(self.row.customer_id)
        assert row is not None  # noqa: S101 - FK with RESTRICT: it exists
        return User(row=row)
