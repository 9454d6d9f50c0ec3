"""SANDBOX: the built-in, offline test gateway (see ``gateways.sandbox.gateway``)."""

from gateways.sandbox.gateway import KNOWN_TOKENS, SandboxGateway, Ticket
from gateways.sandbox.sender import HttpWebhookSender, WebhookSender

__all__ = ["KNOWN_TOKENS", "HttpWebhookSender", "SandboxGateway", "Ticket", "WebhookSender"]
