"""SANDBOX: the built-in, offline test gateway (see ``gateways.sandbox.gateway``)."""

from gateways.sandbox.cards import KNOWN_TOKENS
from gateways.sandbox.gateway import SandboxGateway, Ticket
from gateways.sandbox.promises import MemoryPromiseStore, PromisedWebhook, PromiseStore
from gateways.sandbox.sender import HttpWebhookSender, WebhookNotDelivered, WebhookSender

__all__ = [
    "KNOWN_TOKENS",
    "HttpWebhookSender",
    "MemoryPromiseStore",
    "PromiseStore",
    "PromisedWebhook",
    "SandboxGateway",
    "Ticket",
    "WebhookNotDelivered",
    "WebhookSender",
]
