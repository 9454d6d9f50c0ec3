"""Build the process's gateway registry from settings."""

from app.settings import Settings
from events.sandbox_promises import DatabasePromiseStore
from gateways.base import Gateway
from gateways.flutterwave import FlutterwaveGateway
from gateways.paystack import PaystackGateway
from gateways.razorpay import RazorpayGateway
from gateways.registry import GatewayRegistry
from gateways.sandbox import HttpWebhookSender, SandboxGateway, WebhookSender
from gateways.stripe import StripeGateway


def build_registry(
    settings: Settings, *, sandbox_sender: WebhookSender | None = None
) -> GatewayRegistry:
    """Every gateway whose settings are present (the sandbox in development, Stripe when
    ``STRIPE_SECRET_KEY`` is set)."""
    gateways: dict[str, Gateway] = {}
    if settings.sandbox_enabled:
        # Buyers follow the public URL (perhaps a proxy); the sandbox's own webhooks go
        # straight to this server's listener, so they reach it whatever the public URL says.
        own = settings.listen_url.rstrip("/")
        gateways["SANDBOX"] = SandboxGateway(
            secret=settings.sandbox_secret,
            public_url=settings.public_url.rstrip("/"),
            sender=sandbox_sender or HttpWebhookSender(f"{own}/webhooks/sandbox"),
            promises=DatabasePromiseStore(),  # a promised outcome outlives this process
        )
    if settings.stripe_secret_key:
        gateways["STRIPE"] = StripeGateway(
            secret_key=settings.stripe_secret_key,
            webhook_secret=settings.stripe_webhook_secret,
            publishable_key=settings.stripe_publishable_key,
            api_base=settings.stripe_api_base,
            timeout=settings.stripe_timeout_seconds,
            max_network_retries=settings.stripe_max_network_retries,
            send_refund_reason=settings.stripe_send_refund_reason,
        )
    public = settings.public_url.rstrip("/")
    timeout = settings.gateway_timeout_seconds
    if settings.paystack_secret_key:
        gateways["PAYSTACK"] = PaystackGateway(
            secret_key=settings.paystack_secret_key,
            public_key=settings.paystack_public_key,
            return_url=f"{public}/payments/return/paystack",
            api_base=settings.paystack_api_base,
            timeout=timeout,
        )
    if settings.flutterwave_secret_key:
        gateways["FLUTTERWAVE"] = FlutterwaveGateway(
            secret_key=settings.flutterwave_secret_key,
            public_key=settings.flutterwave_public_key,
            webhook_hash=settings.flutterwave_webhook_hash,
            return_url=f"{public}/payments/return/flutterwave",
            api_base=settings.flutterwave_api_base,
            timeout=timeout,
        )
    if settings.razorpay_key_id and settings.razorpay_key_secret:
        gateways["RAZORPAY"] = RazorpayGateway(
            key_id=settings.razorpay_key_id,
            key_secret=settings.razorpay_key_secret,
            webhook_secret=settings.razorpay_webhook_secret,
            return_url=f"{public}/payments/return/razorpay",
            checkout_url=f"{public}/payments/checkout/razorpay",
            api_base=settings.razorpay_api_base,
            timeout=timeout,
        )
    return GatewayRegistry(gateways)
