"""A recording fake gateway, for proving how often payql calls a gateway."""

import asyncio
from collections.abc import Mapping

from gateways.base import (
    GatewayEvent,
    GatewayNotSupported,
    GatewayOutcomeUnknown,
    GatewayState,
    InvalidWebhook,
    PaymentRequest,
    PaymentResult,
    RefundRequest,
    RefundResult,
    RefundState,
)


class RecordingGateway:
    """Answers every payment with PROCESSING and every refund with SUCCEEDED after
    ``latency``, and remembers each call."""

    reverify_webhooks = False

    def __init__(self, name: str = "SANDBOX", *, latency: float = 0.05) -> None:
        self.name = name
        self.latency = latency
        self.calls: list[PaymentRequest] = []
        self.refunds: list[RefundRequest] = []

    def check_request(self, request: PaymentRequest) -> None:
        return None

    async def create_payment(self, request: PaymentRequest) -> PaymentResult:
        self.calls.append(request)
        await asyncio.sleep(self.latency)  # hold the race window open
        return PaymentResult(
            state=GatewayState.PROCESSING,
            reference=f"rec_{request.payment_id}",
            amount=request.amount,
            currency=request.currency,
        )

    async def create_refund(self, request: RefundRequest) -> RefundResult:
        self.refunds.append(request)
        await asyncio.sleep(self.latency)
        return RefundResult(
            state=RefundState.SUCCEEDED,
            reference=f"rf_{request.refund_id}",
            refund_id=request.refund_id,
            amount=request.amount,
        )

    async def cancel_payment(self, reference: str) -> PaymentResult:
        raise GatewayOutcomeUnknown("the recording gateway keeps no state")

    async def fetch_payment(self, reference: str) -> PaymentResult:
        raise GatewayOutcomeUnknown("the recording gateway keeps no state")

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        raise InvalidWebhook("the recording gateway sends no webhooks")

    def normalize_webhook(self, body: bytes) -> GatewayEvent:
        raise InvalidWebhook("the recording gateway sends no webhooks")

    def public_config(self) -> dict[str, str]:
        return {}

    def return_reference(self, params: Mapping[str, str]) -> str:
        raise GatewayNotSupported("no return route")
