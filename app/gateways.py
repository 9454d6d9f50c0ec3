"""Build the process's gateway registry from settings."""

from app.settings import Settings
from gateways.base import Gateway
from gateways.registry import GatewayRegistry
from gateways.sandbox import HttpWebhookSender, SandboxGateway, WebhookSender


def build_registry(
    settings: Settings, *, sandbox_sender: WebhookSender | None = None
) -> GatewayRegistry:
    """Every gateway whose settings are present (the sandbox in development)."""
    gateways: dict[str, Gateway] = {}
    if settings.sandbox_enabled:
        public = settings.public_url.rstrip("/")
        gateways["SANDBOX"] = SandboxGateway(
            secret=settings.sandbox_secret,
            public_url=public,
            sender=sandbox_sender or HttpWebhookSender(f"{public}/webhooks/sandbox"),
        )
    return GatewayRegistry(gateways)
