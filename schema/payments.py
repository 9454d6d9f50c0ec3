"""Payments: the ``gateways`` query and the money-moving mutations.

Money-moving mutations are rate-limited per actor (``resolvers/rate_limits.py``). A refusal
is a GraphQL error on the mutation's field, ``extensions: {code: "RATE_LIMITED",
retryAfter: <seconds>}``, not an entry of the payload's ``errors``: a client's retry logic
finds it where it finds every other "try again later", and nothing was attempted, so there
is no payload to report on. Those mutations' payloads are nullable so that a refusal nulls
only its own field, never the results of the mutations before it in the same document.
"""

from collections.abc import Awaitable
from typing import Annotated, TypeVar, cast

import strawberry
from graphql import GraphQLError
from strawberry.scalars import JSON

import models
from models.enums import RefundReason
from resolvers import manual as manual_cases
from resolvers import payments as payment_cases
from resolvers import refunds as refund_cases
from resolvers.ids import try_parse_id
from resolvers.rate_limits import UNLIMITED, Quota, RateLimited, RateLimiter
from schema.context import Info
from schema.enums import GatewayName
from schema.errors import UserError, attempt
from schema.inputs import column, input_errors
from schema.permissions import IsAuthenticated
from schema.scalars import Long
from schema.types import NextAction, Payment, Refund

T = TypeVar("T")


def quota(info: Info) -> Quota:
    """The caller's rate-limit allowances: by user id, or by address without a token."""
    request = info.context.request
    limiter = getattr(request.app.state, "rate_limiter", None) if request is not None else None
    if not isinstance(limiter, RateLimiter) or request is None:
        return UNLIMITED
    principal = info.context.principal
    if principal is not None:
        return limiter.quota(f"user:{principal.user_id}")
    return limiter.quota(f"ip:{request.client.host if request.client else '-'}")


async def within_limits(call: Awaitable[T]) -> T:
    """Await a use case; a rate-limit refusal becomes a GraphQL error with ``retryAfter``.

    :raises GraphQLError: ``RATE_LIMITED``, ``extensions.retryAfter`` in whole seconds.
    """
    try:
        return await call
    except RateLimited as exc:
        raise GraphQLError(
            exc.message,
            extensions={"code": exc.code.value, "retryAfter": exc.retry_after},
        ) from None


@strawberry.type(description="A gateway a workspace accepts, with what clients may know of it.")
class GatewayInfo:
    name: GatewayName = strawberry.field(description="The gateway.")
    config: JSON = strawberry.field(
        description="Public configuration, e.g. Stripe's publishableKey. Never a secret."
    )


@strawberry.input(description="Start paying an order's balance through a gateway.")
class InitiatePaymentInput:
    order_id: strawberry.ID = strawberry.field(description="Order to pay.")
    gateway: GatewayName = strawberry.field(description="How to pay (see `gateways`).")
    payment_method_token: str | None = strawberry.field(
        default=None,
        description=(
            "A gateway payment-method token (e.g. pm_card_visa on the sandbox). Without one, "
            "nextAction.redirectUrl leads to the gateway's hosted checkout."
        ),
        metadata=column(255),
    )
    return_url: str | None = strawberry.field(
        default=None,
        description="Where to send the buyer back to after a redirect.",
        metadata=column(2048),
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Retry-safe key: the same key and input return the same payment.",
        metadata=column(255),
    )


@strawberry.input(
    description="Ask the gateway where a payment stands (after 3-D Secure or a redirect)."
)
class ConfirmPaymentInput:
    payment_id: strawberry.ID = strawberry.field(description="Payment to confirm.")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Retry-safe key.", metadata=column(255)
    )


@strawberry.input(description="Return money from a succeeded payment.")
class RequestRefundInput:
    payment_id: strawberry.ID = strawberry.field(description="Payment to refund.")
    amount: Long | None = strawberry.field(
        default=None,
        description="Minor units to refund; default: all that is left of the payment.",
    )
    reason: RefundReason = strawberry.field(
        default=RefundReason.REQUESTED_BY_CUSTOMER, description="Why."
    )
    description: str = strawberry.field(default="", description="Free-text explanation.")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Retry-safe key.", metadata=column(255)
    )


@strawberry.input(description="Money staff received outside payql (cash, bank transfer).")
class RecordManualPaymentInput:
    order_id: strawberry.ID = strawberry.field(description="Order paid.")
    amount: Long = strawberry.field(description="Minor units received (> 0).")
    reference: str | None = strawberry.field(
        default=None, description="Receipt or transfer reference."
    )
    note: str | None = strawberry.field(default=None, description="Anything worth keeping.")
    allow_overpayment: bool = strawberry.field(
        default=False,
        description=(
            "Accept more than the balance due (refused otherwise), up to the balance due "
            "plus the order's total."
        ),
    )
    idempotency_key: str | None = strawberry.field(
        default=None, description="Retry-safe key.", metadata=column(255)
    )


@strawberry.type(description="Result of requestRefund.")
class RefundPayload:
    refund: Refund | None = strawberry.field(description="The refund, unless errors.")
    errors: list[UserError] = strawberry.field(description="Why it failed; empty on success.")


@strawberry.type(description="Result of a payment mutation.")
class PaymentPayload:
    payment: Payment | None = strawberry.field(description="The payment, unless errors.")
    next_action: NextAction | None = strawberry.field(description="What the buyer must do next.")
    errors: list[UserError] = strawberry.field(description="Why it failed; empty on success.")
    row: strawberry.Private[models.Payment | None] = None

    @strawberry.field(
        description="For client-side SDKs (Stripe.js). Shown only to the order's owner."
    )
    async def client_secret(self, info: Info) -> str | None:
        # Resolved only when asked for: the owner check reads the order.
        if self.row is None or not self.row.client_secret:
            return None
        order = await models.Order.get(id=self.row.order_id)
        actor = await info.context.actor()
        return self.row.client_secret if order.customer_id == actor.user_id else None


def _payload(row: models.Payment | None, errors: list[UserError]) -> PaymentPayload:
    if row is None:
        return PaymentPayload(payment=None, next_action=None, errors=errors)
    return PaymentPayload(
        payment=Payment(row=row),
        next_action=NextAction.of(row.next_action),
        errors=errors,
        row=row,
    )


@strawberry.type
class PaymentQuery:
    @strawberry.field(
        description="Gateways the workspace accepts, with their public configuration."
    )
    async def gateways(
        self,
        info: Info,
        workspace_id: Annotated[strawberry.ID, strawberry.argument(description="Workspace id.")],
    ) -> list[GatewayInfo]:
        parsed = try_parse_id(workspace_id)
        workspace = await models.Workspace.get_or_none(id=parsed) if parsed else None
        if workspace is None:
            return []
        return [
            GatewayInfo(name=models.enums.GatewayName(g.name), config=cast(JSON, g.public_config()))
            for g in info.context.gateways.enabled_for(workspace.enabled_gateways)
        ]


@strawberry.type
class PaymentMutation:
    @strawberry.mutation(
        description=(
            "Start paying an order. If a payment for it is already in flight, that payment is "
            "returned instead of charging again; after a failure a new attempt is made. "
            "Rate-limited per caller (null with a RATE_LIMITED error when refused)."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def initiate_payment(
        self,
        info: Info,
        input: Annotated[
            InitiatePaymentInput, strawberry.argument(description="What to pay and how.")
        ],
    ) -> PaymentPayload | None:
        if errors := input_errors(input):
            return _payload(None, errors)
        call = payment_cases.initiate_payment(
            attempt=payment_cases.PaymentAttempt(
                order_id=input.order_id,
                gateway=input.gateway.value,
                payment_method_token=input.payment_method_token,
                return_url=input.return_url,
            ),
            actor=await info.context.actor(),
            now=info.context.now(),
            gateways=info.context.gateways,
            idempotency_key=input.idempotency_key,
            quota=quota(info),
        )
        row, errors = await attempt(within_limits(call))
        return _payload(row, errors)

    @strawberry.mutation(
        description=(
            "Ask the gateway for the payment's status and apply it (never the client's). "
            "Rate-limited per caller."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def confirm_payment(
        self,
        info: Info,
        input: Annotated[ConfirmPaymentInput, strawberry.argument(description="Which payment.")],
    ) -> PaymentPayload | None:
        if errors := input_errors(input):
            return _payload(None, errors)
        call = payment_cases.confirm_payment(
            payment_id=input.payment_id,
            actor=await info.context.actor(),
            now=info.context.now(),
            gateways=info.context.gateways,
            idempotency_key=input.idempotency_key,
            quota=quota(info),
        )
        row, errors = await attempt(within_limits(call))
        return _payload(row, errors)

    @strawberry.mutation(
        description=(
            "Refund a succeeded payment, fully or partly. Customers may refund their own order "
            "until its event starts (if the workspace allows it); staff at any time. Refused "
            "while a dispute is open. The refund is PENDING until the gateway settles it. "
            "Rate-limited per caller."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def request_refund(
        self,
        info: Info,
        input: Annotated[RequestRefundInput, strawberry.argument(description="What to refund.")],
    ) -> RefundPayload | None:
        if errors := input_errors(input):
            return RefundPayload(refund=None, errors=errors)
        call = refund_cases.request_refund(
            payment_id=input.payment_id,
            amount=None if input.amount is None else int(input.amount),
            reason=input.reason,
            description=input.description,
            actor=await info.context.actor(),
            now=info.context.now(),
            gateways=info.context.gateways,
            idempotency_key=input.idempotency_key,
            quota=quota(info),
        )
        row, errors = await attempt(within_limits(call))
        return RefundPayload(refund=Refund(row=row) if row else None, errors=errors)

    @strawberry.mutation(
        description=(
            "Staff only: record a cash or transfer payment. Payments accumulate; the order is "
            "PAID once they cover its total. Rate-limited per caller."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def record_manual_payment(
        self,
        info: Info,
        input: Annotated[
            RecordManualPaymentInput, strawberry.argument(description="What was received.")
        ],
    ) -> PaymentPayload | None:
        if errors := input_errors(input):
            return _payload(None, errors)
        call = manual_cases.record_manual_payment(
            order_id=input.order_id,
            amount=int(input.amount),
            reference=input.reference,
            note=input.note,
            allow_overpayment=input.allow_overpayment,
            actor=await info.context.actor(),
            now=info.context.now(),
            idempotency_key=input.idempotency_key,
            quota=quota(info),
        )
        row, errors = await attempt(within_limits(call))
        return _payload(row, errors)
