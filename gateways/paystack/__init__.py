"""PAYSTACK: hosted checkout, refunds and signed webhooks over httpx (see
``gateways.paystack.gateway``)."""

from gateways.paystack.gateway import PaystackGateway

__all__ = ["PaystackGateway"]
